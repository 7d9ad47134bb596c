"""The audience estimate against the simulated truth on the TUNING seeds (docs/evaluation.md).

Anything tuned for the estimate (windows, weights, gains, thresholds) is judged here, on
demos with seeds 101-105, never on the figure the demo reports (its default seed, 1,
is the reported set). Per seed: the whole demo (8 seats, 60 s, real edge processes); then
the mean r over seeds with a 95 % interval across seeds (Fisher z, t with 4 df), for the
estimate, each channel alone and each ablation. The peer of each ablation is the full
estimate: a ratio below 1 means the channel left out was helping.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

TUNING_SEEDS = (101, 102, 103, 104, 105)
REPORTED_SEEDS = (1,)  # `empathy demo`'s default: never tune on these
SEATS, DURATION_S = 8, 60.0
T_975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def _fig(name, value, unit, peer=None, peer_value=None):
    return {"name": name, "value": float(value), "unit": unit, "peer": peer,
            "peer_value": None if peer_value is None else float(peer_value),
            "ratio": None if peer_value in (None, 0) else float(value) / float(peer_value)}


def across_seeds(rs: list[float]) -> tuple[float, float, float]:
    """Mean r over seeds and its 95 % interval (Fisher z, t distribution)."""
    z = np.arctanh(np.clip(rs, -0.999, 0.999))
    m = float(np.mean(z))
    if len(z) < 2:
        return math.tanh(m), float("nan"), float("nan")
    h = T_975.get(len(z) - 1, 1.96) * float(np.std(z, ddof=1)) / math.sqrt(len(z))
    return math.tanh(m), math.tanh(m - h), math.tanh(m + h)


def run(seeds=TUNING_SEEDS, keep: str | None = None) -> list[dict]:
    """`keep`: a folder to keep each seed's demo in (seed101/, ...) for a closer look."""
    from empathy.host.demo import run_demo

    if set(seeds) & set(REPORTED_SEEDS):
        raise ValueError(f"seeds {sorted(set(seeds) & set(REPORTED_SEEDS))} are the reported "
                         "set: tune on others")
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            s = run_demo(Path(keep or tmp) / f"seed{seed}", SEATS, DURATION_S, seed=seed, quiet=True)
            ev = s.get("estimate_vs_truth") or {}
            parts = {"estimate": ev, **{f"{c} alone": a for c, a in ev.get("channels", {}).items()},
                     **{k.replace("_", " "): a for k, a in ev.get("ablations", {}).items()}}
            for name, a in parts.items():
                if a.get("r") is not None:
                    rows.setdefault(name, []).append(a["r"])
    out = []
    full = across_seeds(rows["estimate"])[0] if rows.get("estimate") else None
    for name, rs in rows.items():
        m, lo, hi = across_seeds(rs)
        peer = ("estimate", full) if name.startswith("without") else (None, None)
        out.append(_fig(f"tuning r: {name} ({len(rs)} seeds)", m, "r", *peer))
        out.append(_fig(f"tuning r: {name}, 95 % low", lo, "r"))
        out.append(_fig(f"tuning r: {name}, 95 % high", hi, "r"))
    return out

