"""How the reward the show measures relates to the hidden one, per segment.

    python -m empathy.bench.reward_diagnosis [--story sample|two_crowds] [--screenings 40]
                                             [--seed 100] [--lag S] [--seats 30] [--json]

Simulated audiences (`sim/audience.py`) watch every fixed plan of a story; for each segment
played the script keeps the hidden arousal traces and what the host would fuse (through the
measurement model, `sim/measurement.toml`) and scores both with the show's one reward
(`audience.segment_reward`; the seen states' arousal corrected for an estimate lag of
`--lag` seconds as the show corrects it, `audience.measured_segment_reward`: default the
edge's declared lag, 0 the uncorrected reward) and its two terms apart. It reports, pooled over segments (each
centred on its own segment id, so targets do not make the correlation), how the measured
reward and each term follow the hidden ones for several measurement-window delays, the
lag at which the seen audience arousal best follows the hidden one, how much of the
measured synchrony is noise (its value on a segment where the hidden crowd is flat), and
per decision, at the host's reward latency, whether the mean measured reward ranks the
options' best first as the hidden one does (`options_at_latency`) and how the two options'
contrast for the same audience, measured and hidden, follow each other and the audience
arousal the policy saw at the decision (`contrast_at_latency`: where the measured contrast
follows that arousal and the hidden one does not, a learner that reads the room learns the
measurement's lag, not the audience; `error_vs_seen_arousal_r` and `error_slope` say how
the measured contrast's error, measured less hidden, follows that arousal).
Diagnosis only: run it on seeds other than the ones a reward is judged on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from empathy.cli import number_in
from empathy.host.audience import (STATE_HZ, arousal_term, lag_undone, segment_reward,
                                   synchrony_term)
from empathy.host.policy import REWARD_LATENCY_S, estimate_lag_s
from empathy.wire import MAX_ESTIMATE_LAG_MS
from empathy.host.story import load
from empathy.sim import HERE as SIM, SAMPLE_IMPACT, audience as sim
from empathy.sim.impact import story_impacts

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample"
STORIES = {"sample": ("neon_rain.toml", SAMPLE_IMPACT),
           "two_crowds": ("two_crowds.toml", SIM / "two_crowds_impact.toml")}
DELAYS_S = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0)


def _segments(story, impact, seed: int, n: int, seats: int = 30) -> list[dict]:
    """Every segment after the opening that any fixed plan plays, once per screening (of
    `seats` viewers) and path (with what followed it, where a window shifted past its end
    needs that)."""
    rows = []
    for i in range(n):
        show = sim.Screening(story, impact, seed, i, seats)
        sim.plan_rewards(story, [show])  # every fixed plan's paths, simulated and cached
        # sorted: a set of strings iterates in a per-process order, and the arousal-lag
        # figures below take every third path
        paths = sorted({p for p in show._cache if p[-1] != sim.END})  # not after the film
        for path in paths:
            after = [p for p in paths if len(p) == len(path) + 1 and p[:-1] == path] or [path]
            for full in after:
                if len(path) < 2:
                    continue  # the opening is no decision's choice
                rows.append({"show": show, "path": full, "k": len(path) - 1,
                             "choice_at": (i, path[:-1]), "segment": path[-1],
                             "target": story.segments[path[-1]].target_arousal})
    return rows


def _terms(row: dict, which: str, delay_s: float, lag_s: float = 0.0) -> tuple[float, float]:
    """(median state arousal, mean state synchrony) over the segment's window shifted by
    delay_s, from the hidden or the seen traces, as the show's timeline would hold them;
    the arousal corrected for an estimate lag of lag_s as the show's reward corrects it
    (`audience.lag_undone`, as `audience.measured_segment_reward` does)."""
    arousal, sync = row["show"].window_states(row["path"], row["k"], which, delay_s, lag_s)
    if lag_s:
        arousal = lag_undone(np.arange(len(arousal)) / STATE_HZ, arousal, lag_s)
    return float(np.median(arousal)), float(np.mean(sync))


def _options(rows: list[dict], hidden: np.ndarray, measured: np.ndarray) -> dict:
    """Per decision (the path before it): each option's mean hidden and measured reward over
    the screenings, and whether the measured one ranks the best option first, as a learner
    taught by it would end up choosing."""
    by: dict = {}
    for r_, h, m in zip(rows, hidden, measured):
        by.setdefault("/".join(r_["choice_at"][1]), {}).setdefault(r_["segment"], []).append((h, m))
    out = {}
    for at, opts in by.items():
        mean = {o: np.mean(v, axis=0) for o, v in opts.items()}
        if len(mean) > 1:
            out[at] = {"hidden": {o: round(float(v[0]), 3) for o, v in mean.items()},
                       "measured": {o: round(float(v[1]), 3) for o, v in mean.items()},
                       "same_best": max(mean, key=lambda o: mean[o][0])
                       == max(mean, key=lambda o: mean[o][1])}
    return out


def _contrasts(rows: list[dict], hidden: np.ndarray, measured: np.ndarray) -> dict:
    """Per decision with two options: over the screenings, the first option's reward less
    the second's for the same audience (hidden and measured, each averaged over what
    followed), their correlation, their spread, and each one's correlation with the
    audience arousal the policy saw at the decision."""
    by: dict = {}
    for r_, h, m in zip(rows, hidden, measured):
        i, before = r_["choice_at"]
        by.setdefault(before, {}).setdefault(i, {}).setdefault(r_["segment"], []).append(
            (h, m, r_["show"]))
    out = {}
    for before, shows in by.items():
        opts = sorted({o for v in shows.values() for o in v})
        if len(opts) != 2:
            continue
        both = [v for v in shows.values() if len(v) == 2]
        if len(both) < 3:
            continue
        d = np.array([[np.mean([x[j] for x in v[opts[0]]]) - np.mean([x[j] for x in v[opts[1]]])
                       for j in (0, 1)] for v in both])
        seen = np.array([v[opts[0]][0][2].outcome(before).state.arousal for v in both])
        r = lambda x, y: round(float(np.corrcoef(x, y)[0, 1]), 3)  # noqa: E731
        err = d[:, 1] - d[:, 0]
        out["/".join(before)] = {
            "contrast": f"{opts[0]} - {opts[1]}", "screenings": len(both),
            "hidden_mean": round(float(d[:, 0].mean()), 4),
            "measured_mean": round(float(d[:, 1].mean()), 4),
            "hidden_sd": round(float(d[:, 0].std()), 4),
            "measured_sd": round(float(d[:, 1].std()), 4),
            "measured_vs_hidden_r": r(d[:, 1], d[:, 0]),
            "hidden_vs_seen_arousal_r": r(d[:, 0], seen),
            "measured_vs_seen_arousal_r": r(d[:, 1], seen),
            "error_vs_seen_arousal_r": r(err, seen),
            "error_slope": round(float(np.polyfit(seen, err, 1)[0]), 4)}
    return out


def contrasts(story, impact, seed: int, n: int, lag_s: float,
              latency_s: float = REWARD_LATENCY_S, term: str = "reward") -> dict:
    """`contrast_at_latency` alone, at one window shift, of the reward or of one of its
    terms (`term`: "reward", "arousal" or "synchrony")."""
    def score(arousal, sync, target):
        return {"reward": segment_reward([arousal], [sync], target),
                "arousal": arousal_term(arousal, target),
                "synchrony": synchrony_term(sync)}[term]
    rows = _segments(story, impact, seed, n)
    hid = np.array([score(*_terms(r, "hidden", 0.0), r["target"]) for r in rows])
    seen = np.array([score(*_terms(r, "seen", latency_s, lag_s), r["target"]) for r in rows])
    return _contrasts(rows, hid, seen)


def diagnose(story, impact, seed: int, n: int, lag_s: float, seats: int = 30) -> dict:
    rows = _segments(story, impact, seed, n, seats)
    out = {"segments": len(rows), "seats": seats, "lag_s": lag_s, "delays": {}}
    hid = np.array([[*_terms(r, "hidden", 0.0), r["target"]] for r in rows])
    h_rew = np.array([segment_reward([a], [s], t) for a, s, t in hid])  # terms -> reward
    seg_ids = np.array([r["segment"] for r in rows])

    def centred(x):  # within each segment id: targets and segment identity do not count
        x = np.asarray(x, float).copy()
        for sid in set(seg_ids):
            x[seg_ids == sid] -= x[seg_ids == sid].mean()
        return x

    groups = [r_["choice_at"] for r_ in rows]
    contrast_rows = np.array([groups.count(g) > 1 for g in groups])

    def contrast(x):  # against the other options at the same decision, same audience
        x = np.asarray(x, float).copy()
        for g in set(groups):
            idx = [j for j, gg in enumerate(groups) if gg == g]
            x[idx] -= x[idx].mean()
        return x[contrast_rows]

    def r(x, y):
        return {"within_segment": round(float(np.corrcoef(centred(x), centred(y))[0, 1]), 3),
                "between_options": round(float(np.corrcoef(contrast(x), contrast(y))[0, 1]), 3)}

    for delay in DELAYS_S:
        m = np.array([_terms(r_, "seen", delay, lag_s) for r_ in rows])
        m_rew = np.array([segment_reward([a], [s], t) for (a, s), t in zip(m, hid[:, 2])])
        if delay == REWARD_LATENCY_S:
            out["options_at_latency"] = _options(rows, h_rew, m_rew)
            out["contrast_at_latency"] = _contrasts(rows, h_rew, m_rew)
        out["delays"][f"{delay:g}"] = {
            "reward_r": r(m_rew, h_rew), "arousal_r": r(m[:, 0], hid[:, 0]),
            "synchrony_r": r(m[:, 1], hid[:, 1]),
            "closeness_r": r(-np.abs(m[:, 0] - hid[:, 2]), -np.abs(hid[:, 0] - hid[:, 2])),
            "measured_sync_mean": round(float(m[:, 1].mean()), 3),
            "measured_sync_sd": round(float(m[:, 1].std()), 3)}
    # How much of the hidden reward's spread between options each term carries.
    out["hidden_between_options_sd"] = {
        "synchrony_term": round(float(np.std(contrast(0.5 * np.clip(hid[:, 1], 0, 1)))), 4),
        "arousal_term": round(float(np.std(contrast(-0.5 * np.abs(hid[:, 0] - hid[:, 2])))), 4)}
    out["hidden_sync_mean"] = round(float(hid[:, 1].mean()), 3)
    out["hidden_sync_sd"] = round(float(hid[:, 1].std()), 3)
    # Arousal lag: how 1-s changes of the seen audience mean follow the hidden one's, by lag,
    # along whole paths.
    lags, walks = {}, {(id(r_["show"]), r_["path"]): r_ for r_ in rows}
    for lag_s in np.arange(0, 10.5, 0.5):
        k = int(lag_s * sim.RATE_HZ)
        xs, ys = [], []
        for show, path in [(r_["show"], r_["path"]) for r_ in walks.values()][::3]:
            outs = [show.outcome(path[:j + 1]) for j in range(len(path))]
            seen = np.concatenate([o.seen for o in outs], axis=1)
            good = ~np.isnan(seen).any(axis=1)
            hm = np.concatenate([o.hidden for o in outs], axis=1).mean(0)
            sm = seen[good].mean(0)
            dh, ds = hm[10:] - hm[:-10], sm[10:] - sm[:-10]
            xs.append(dh[:len(dh) - k])
            ys.append(ds[k:])
        lags[f"{lag_s:g}"] = round(float(np.corrcoef(np.concatenate(xs),
                                                     np.concatenate(ys))[0, 1]), 3)
    out["arousal_change_r_by_lag_s"] = lags
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--story", choices=STORIES, default="sample")
    ap.add_argument("--screenings", type=number_in(int, 2, 100_000), default=40)
    ap.add_argument("--seed", type=number_in(int, 0, 2**32 - 1), default=100)
    ap.add_argument("--lag", type=number_in(float, 0, MAX_ESTIMATE_LAG_MS / 1000), default=None,
                    help="estimate lag the measured arousal is corrected for (default: the "
                         "edge's declared; 0: uncorrected)")
    ap.add_argument("--seats", type=number_in(int, 1, 5000), default=30,
                    help="viewers per screening (1: a one-viewer kiosk)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    file, impact_file = STORIES[args.story]
    story = load(SAMPLE / file, check_files=False)
    res = diagnose(story, story_impacts(story, impact_file), args.seed, args.screenings,
                   estimate_lag_s() if args.lag is None else args.lag, args.seats)
    print(json.dumps(res, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
