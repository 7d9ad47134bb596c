"""How the reward the show measures relates to the hidden one, per segment.

    python -m empathy.bench.reward_diagnosis [--story sample|two_crowds] [--screenings 40]
                                             [--seed 100] [--json]

Simulated audiences (`sim/audience.py`) watch every fixed plan of a story; for each segment
played the script keeps the hidden arousal traces and what the host would fuse (through the
measurement model, `sim/measurement.toml`) and scores both with the show's one reward
(`audience.segment_reward`) and its two terms apart. It reports, pooled over segments (each
centred on its own segment id, so targets do not make the correlation), how the measured
reward and each term follow the hidden ones for several measurement-window delays, the
lag at which the seen audience arousal best follows the hidden one, and how much of the
measured synchrony is noise (its value on a segment where the hidden crowd is flat).
Diagnosis only: run it on seeds other than the ones a reward is judged on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from empathy.host.audience import STATE_HZ, engagement, trace_states
from empathy.host.story import load
from empathy.sim import HERE as SIM, SAMPLE_IMPACT, audience as sim
from empathy.sim.impact import story_impacts

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample"
STORIES = {"sample": ("neon_rain.toml", SAMPLE_IMPACT),
           "two_crowds": ("two_crowds.toml", SIM / "two_crowds_impact.toml")}
DELAYS_S = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0)


def _segments(story, impact, seed: int, n: int) -> list[dict]:
    """Every (screening, plan, segment): hidden and seen traces, with the next segment's."""
    from empathy.sim.mind import Mind

    rows, done = [], set()
    plans = sim.fixed_plans(story)
    dt = 1 / sim.RATE_HZ
    for i in range(n):
        show = sim.Screening(story, impact, seed, i)
        for plan in plans:
            # the path this plan walks (conditions: a hidden option plays the default)
            path, variables = [story.start], dict(story.variables)
            while True:
                d = story.decision_after(path[-1])
                if d is None:
                    nxt = story.segments[path[-1]].next
                    if nxt is None:
                        break
                    path.append(nxt)
                    continue
                d = d.offer(variables)
                o = plan[d.id] if plan[d.id] in d.options else d.default
                variables = d.take(o, variables)
                path.append(o)
            mind, seen = Mind(show.traits), show._seen.copy()
            hidden, seen_t, bounds = [], [], []
            for k, sid in enumerate(path):
                seg, imp = story.segments[sid], impact[sid]
                rng = np.random.default_rng([seed, i, k + 1, show._order[sid]])
                steps = int(round(seg.duration_s * sim.RATE_HZ))
                a = np.empty((len(show.traits), steps))
                v = np.empty_like(a)
                for j in range(steps):
                    mind.step(dt, sid, j * dt, imp, rng)
                    a[:, j], v[:, j] = mind.arousal, mind.valence
                a_seen, _, good = seen.see(a, v, dt, rng)
                start = sum(h.shape[1] for h in hidden)
                hidden.append(a)
                seen_t.append(np.where(good[:, None], a_seen, np.nan))
                bounds.append((sid, start, start + steps))
            h, s = np.concatenate(hidden, 1), np.concatenate(seen_t, 1)
            s = s[~np.isnan(s).any(1)]
            for k, (sid, a0, a1) in enumerate(bounds):
                key = (i, tuple(path[:k + 1]))
                if k == 0 or key in done:
                    continue  # the opening is no decision's choice; a prefix counts once
                done.add(key)
                rows.append({"screening": i, "choice_at": (i, tuple(path[:k])),
                             "segment": sid, "target": story.segments[sid].target_arousal,
                             "hidden": h, "seen": s, "span": (a0, a1)})
    return rows


def _terms(x: np.ndarray, a0: int, a1: int, delay_s: float) -> tuple[float, float]:
    """(median state arousal, mean state synchrony) over [a0, a1) shifted by delay_s,
    clipped to the traces; states computed as the show's timeline would hold them."""
    shift = int(round(delay_s * sim.RATE_HZ))
    b0, b1 = a0 + shift, min(x.shape[1], a1 + shift)
    arousal, sync = trace_states(x[:, :b1], sim.RATE_HZ)
    step = round(sim.RATE_HZ / STATE_HZ)
    t = np.arange(step - 1, b1, step)
    keep = t >= b0
    return float(np.median(arousal[keep])), float(np.mean(sync[keep]))


def diagnose(story, impact, seed: int, n: int) -> dict:
    rows = _segments(story, impact, seed, n)
    out = {"segments": len(rows), "delays": {}}
    hid = np.array([[*_terms(r["hidden"], *r["span"], 0.0), r["target"]] for r in rows])
    h_rew = np.array([engagement(a, s, t) for a, s, t in hid])
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
        m = np.array([_terms(r_["seen"], *r_["span"], delay) for r_ in rows])
        m_rew = np.array([engagement(a, s, t) for (a, s), t in zip(m, hid[:, 2])])
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
    # Arousal lag: correlation of seen vs hidden audience means (1-s changes) by lag.
    lags = {}
    for lag_s in np.arange(0, 10.5, 0.5):
        k = int(lag_s * sim.RATE_HZ)
        xs, ys = [], []
        for r_ in rows[::7]:
            hm, sm = r_["hidden"].mean(0), r_["seen"].mean(0)
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
    ap.add_argument("--screenings", type=int, default=40)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    file, impact_file = STORIES[args.story]
    story = load(SAMPLE / file, check_files=False)
    res = diagnose(story, story_impacts(story, impact_file), args.seed, args.screenings)
    print(json.dumps(res, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
