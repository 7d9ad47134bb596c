"""`empathy policy simulate`: policies on simulated audiences, judged against hindsight.

    empathy policy simulate --story S.toml [--impact I.toml] [--policy NAME ...]
                            [--screenings N] [--seats N] [--seed N] [--measurement M.toml]
                            [--record LOG.jsonl] [--plot CURVE.png] [--json]

Every policy screens the same audiences (`sim/audience.py`); each sees what the host would
fuse through the measurement model and learns from what the show would measure (its
arousal corrected for the edge estimate's declared lag, `estimate_lag_s` in the JSON). They are
judged on how the segments really landed (the hidden engagement), with 95 % confidence
intervals over screenings (independent audiences), against the best fixed plan in hindsight
(`best_fixed`) and the best plan for each screening in hindsight (`ceiling`). Regret is
paired per screening; its curve over blocks of screenings says whether learning pays.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from empathy.errors import UserError

Z95 = 1.96


def mean_ci(x) -> dict:
    """Mean and normal-approximation 95 % interval of independent per-screening values."""
    x = np.asarray(x, float)
    m = float(np.mean(x))
    if len(x) < 2:  # one value has no spread: null, not NaN (which JSON does not allow)
        return {"mean": round(m, 4), "ci95": [None, None]}
    half = Z95 * float(np.std(x, ddof=1)) / np.sqrt(len(x))
    return {"mean": round(m, 4), "ci95": [round(m - half, 4), round(m + half, 4)]}


def regret_curve(regret: np.ndarray, blocks: int = 10) -> list[dict]:
    """Mean regret per block of consecutive screenings, with its 95 % interval."""
    out = []
    for part in np.array_split(np.arange(len(regret)), min(blocks, len(regret))):
        if len(part):
            out.append({"from": int(part[0]) + 1, "to": int(part[-1]) + 1, **mean_ci(regret[part])})
    return out


def regret_trend(regret: np.ndarray, part: float = 0.2) -> dict:
    """Whether regret shrank with screenings: the mean over the first and the last `part` of
    the screenings, each with its 95 % interval, their difference (last - first; screenings
    are independent audiences, so the two means' variances add) and the least-squares slope
    per 100 screenings with its 95 % interval. Negative: learning pays."""
    x = np.asarray(regret, float)
    n = len(x)
    k = max(2, int(round(n * part)))
    if n < 2 * k or n < 4:
        return {}
    first, last = x[:k], x[-k:]
    se = lambda v: float(np.std(v, ddof=1)) / np.sqrt(len(v))  # noqa: E731
    d, d_half = float(last.mean() - first.mean()), Z95 * float(np.hypot(se(first), se(last)))
    t = np.arange(n, dtype=float)
    slope, icpt = np.polyfit(t, x, 1)
    resid = x - (slope * t + icpt)
    s_half = Z95 * float(np.sqrt(resid @ resid / (n - 2) / ((t - t.mean()) @ (t - t.mean()))))
    r4 = lambda v: round(float(v), 4)  # noqa: E731
    return {"screenings_each": k, "first": mean_ci(first), "last": mean_ci(last),
            "change": {"mean": r4(d), "ci95": [r4(d - d_half), r4(d + d_half)]},
            "slope_per_100": {"mean": r4(100 * slope),
                              "ci95": [r4(100 * (slope - s_half)), r4(100 * (slope + s_half))]}}


def reward_agreement(log: list[dict], draws: int = 1000, seed: int = 0) -> dict:
    """How the reward the show measures follows the hidden one: Pearson r over the rewarded
    decisions, with a 95 % interval from a bootstrap over screenings (a screening's
    decisions share an audience, so they are resampled together)."""
    by: dict = {}
    for r in log:
        by.setdefault(r["screening"], []).append((r["reward"], r["hidden_reward"]))
    groups = [np.array(v) for v in by.values()]
    if len(groups) < 2:
        return {"r": None, "ci95": [None, None]}
    corr = lambda x: float(np.corrcoef(x[:, 0], x[:, 1])[0, 1])  # noqa: E731
    rng = np.random.default_rng(seed)
    boot = [corr(np.concatenate([groups[i] for i in rng.integers(len(groups), size=len(groups))]))
            for _ in range(draws)]
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return {"r": round(corr(np.concatenate(groups)), 3),
            "ci95": [round(float(lo), 3), round(float(hi), 3)]}


def judge(runs: dict, hind: dict, blocks: int = 10) -> dict:
    """The JSON verdict: each policy's hidden reward with CI, measured reward, how the
    measured reward follows the hidden one, regret against the best fixed plan and the
    ceiling (paired), and the regret curve."""
    best, ceiling = hind["best_fixed"], hind["ceiling"]
    out = {"policies": {}, "best_fixed": {**mean_ci(best), "plan": hind["plan"]},
           "ceiling": mean_ci(ceiling)}
    for name, run in runs.items():
        out["policies"][name] = {
            **mean_ci(run.reward), "measured": mean_ci(run.measured)["mean"],
            "measured_vs_hidden": reward_agreement(run.log),
            "regret_vs_best_fixed": mean_ci(best - run.reward),
            "regret_vs_ceiling": mean_ci(ceiling - run.reward),
            "regret_curve": regret_curve(best - run.reward, blocks),
            "regret_trend": regret_trend(best - run.reward)}
    return out


def simulate(args) -> int:
    from rich.progress import Progress

    from empathy.host.policy_cli import SIM_POLICIES, _policy, _story
    from empathy.sim import audience as sim
    from empathy.sim.impact import story_impacts
    from empathy.sim.measurement import MeasurementModel

    story = _story(args)
    if story is None:
        return 1
    names = args.policy or ([story.policy] if story.policy else list(SIM_POLICIES))
    try:
        measure = MeasurementModel.load(args.measurement)
        impact = story_impacts(story, args.impact)
        with tempfile.TemporaryDirectory() as tmp:
            policies = [_policy(n, args, tmp) for n in names]
            shows = sim.screenings(story, args.screenings, impact, args.seed, args.seats, measure,
                                   args.reward_latency)
            runs, log = {}, []
            with Progress(disable=args.json) as bar:
                for p in policies:
                    task = bar.add_task(f"{p.name:<8}", total=len(shows))
                    runs[p.name] = sim.run_policy(p, shows, progress=lambda: bar.advance(task))
                    log += [{"policy": p.name, **r} for r in runs[p.name].log]
                    if args.state and callable(getattr(p, "save", None)):
                        p.save()
                bar.add_task("fixed plans in hindsight", total=None)
                hind = sim.hindsight(story, shows)
    except (ValueError, KeyError) as e:  # a file that cannot be read: the CLI's boundary
        raise UserError(str(e)) from None
    if args.record:
        with open(args.record, "w") as f:
            for r in log:
                f.write(json.dumps(r) + "\n")
    from empathy.host.policy import estimate_lag_s

    result = {"story": story.title, "screenings": args.screenings, "seats": args.seats,
              "seed": args.seed, "reward_latency_s": args.reward_latency,
              "estimate_lag_s": estimate_lag_s(),
              "measurement": measure.source or str(args.measurement),
              **judge(runs, hind)}
    if args.plot:
        _plot(runs, hind, Path(args.plot), story.title)
    if args.json:
        print(json.dumps(result))
        return 0
    _table(result, story.title, args)
    return 0


def _table(result: dict, title: str, args) -> None:
    from rich.console import Console
    from rich.table import Table

    def fmt(d: dict) -> str:
        lo, hi = d["ci95"]
        return f"{d['mean']:.4f}" + ("" if lo is None else f" [{lo:.4f}, {hi:.4f}]")
    t = Table(title=f"{title}: {args.screenings} simulated screenings, {args.seats} seats "
                    f"(hidden engagement, 95 % CI)")
    for col in ("policy", "reward", "measured", "measured vs hidden r", "regret vs best fixed",
                "vs ceiling", "regret first -> last fifth (change, 95 % CI)"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for n, p in result["policies"].items():
        tr = p["regret_trend"]
        agree = p["measured_vs_hidden"]
        t.add_row(n, fmt(p), f"{p['measured']:.4f}",
                  "—" if agree["r"] is None else f"{agree['r']:.2f} [{agree['ci95'][0]:.2f}, "
                                                 f"{agree['ci95'][1]:.2f}]",
                  fmt(p["regret_vs_best_fixed"]),
                  f"{p['regret_vs_ceiling']['mean']:.4f}",
                  f"{tr['first']['mean']:.4f} -> {tr['last']['mean']:.4f} "
                  f"({tr['change']['mean']:+.4f} [{tr['change']['ci95'][0]:+.4f}, "
                  f"{tr['change']['ci95'][1]:+.4f}])" if tr else "—")
    t.add_row("best fixed", fmt(result["best_fixed"]), "", "", "0", "", "")
    t.add_row("ceiling", fmt(result["ceiling"]), "", "", "", "0", "")
    Console().print(t)
    print("best fixed plan in hindsight: "
          + ", ".join(f"{d} -> {o}" for d, o in result["best_fixed"]["plan"].items()))


def _plot(runs: dict, hind: dict, out: Path, title: str) -> None:
    from empathy.plots import pyplot

    plt = pyplot()

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for name, run in runs.items():
        n = np.arange(1, len(run.reward) + 1)
        ax.plot(n, np.cumsum(run.reward) / n, label=name)
        bx.plot(n, np.cumsum(hind["best_fixed"] - run.reward), label=name)
    ax.axhline(hind["best_fixed"].mean(), color="k", ls="--", lw=1, label="best fixed (hindsight)")
    ax.axhline(hind["ceiling"].mean(), color="k", ls=":", lw=1, label="ceiling (hindsight)")
    ax.set_xlabel("screening")
    ax.set_ylabel("mean hidden engagement so far")
    bx.axhline(0, color="k", lw=0.5)
    bx.set_xlabel("screening")
    bx.set_ylabel("cumulative regret vs best fixed plan")
    ax.set_title(f"{title}: policies on simulated audiences", fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(out, bbox_inches="tight", dpi=100)
    plt.close(fig)
