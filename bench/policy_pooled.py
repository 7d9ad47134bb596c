"""Pool `empathy policy simulate --json` reports over seeds: seeds as independent units.

    python -m empathy.bench.policy_pooled REPORT.json [REPORT.json ...] [--policy bandit]

Each report is one seed's screenings (its own audiences, its own best fixed plan in
hindsight). Per seed the script takes the policy's mean regret against `best_fixed`, its
`regret_trend` change (last fifth less first) and slope per 100 screenings; over the seeds
it prints each one's mean with a 95 % t-interval (mean +- t(0.975, k - 1) * sd / sqrt(k),
k seeds): what another seed's audiences may give, not the screenings' own noise alone,
which each seed's interval already holds. Fewer than two reports: the values, no interval.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
from scipy import stats

FIELDS = ("regret_vs_best_fixed", "change", "slope_per_100")


def seed_values(report: dict, policy: str) -> dict[str, float]:
    """One seed's figures for `policy` from its simulate report."""
    p = report["policies"][policy]
    trend = p["regret_trend"]
    out = {"regret_vs_best_fixed": p["regret_vs_best_fixed"]["mean"],
           "change": trend["change"]["mean"], "slope_per_100": trend["slope_per_100"]["mean"]}
    for name, v in out.items():  # (json reads NaN, Infinity and true as numbers)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} {v!r} is not a finite number")
    return out


def pooled(values: list[dict[str, float]]) -> dict:
    """Mean and 95 % t-interval over seeds of each of FIELDS."""
    out = {"seeds": len(values)}
    for f in FIELDS:
        x = np.array([v[f] for v in values], float)
        m = float(x.mean())
        if len(x) < 2:
            out[f] = {"mean": round(m, 4), "ci95": [None, None], "per_seed": x.tolist()}
            continue
        half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
        out[f] = {"mean": round(m, 4), "ci95": [round(m - half, 4), round(m + half, 4)],
                  "per_seed": x.round(4).tolist()}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--policy", default="bandit")
    args = ap.parse_args(argv)
    values = []
    for path in args.reports:
        try:
            with open(path, encoding="utf-8") as f:
                values.append(seed_values(json.load(f), args.policy))
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"error: {path}: not a policy simulate report with {args.policy!r} "
                  f"({type(e).__name__}: {e})", file=sys.stderr)
            return 1
    print(json.dumps(pooled(values), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
