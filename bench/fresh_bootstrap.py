"""A blind set's pooled F1 with a 95 % interval, ours against each peer, from the corpus page.
`python -m empathy.bench.fresh_bootstrap [PAGE] [--set FRESH|FRESH2|FRESH3|FRESH_ECG] [--json]`.

A fresh set holds 8-24 records, so its pooled F1 moves with which records it happens to hold:
the interval resamples whole records (20,000 times, a fixed seed), pooling each resample's
true, missed and extra beats. The counts come from the page's detail rows (`Se`, `+P` and
the reference's beats, as `python -m empathy.edge.heart_validation DIR` wrote them), so this
scores nothing again: it reads the one scoring the page records.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from empathy.edge import heart_records

RESAMPLES = 20_000
SETS = ("FRESH", "FRESH2", "FRESH3", "FRESH_ECG")


def counts(page: str, record: str) -> dict[str, tuple[int, int, int]]:
    """{detector: (true, missed, extra)} of one record, from its summary and detail rows."""
    ref = re.search(rf"^\| {re.escape(record)} \| [^|]+ \| (\d+) \|", page, re.M)
    if ref is None:
        raise ValueError(f"{record}: no summary row on the page")
    beats, out = int(ref.group(1)), {}
    for m in re.finditer(rf"^\| {re.escape(record)} \| ([^|]+?) \| (\d\.\d+) \| (\d\.\d+) \|",
                         page, re.M):
        se, pp = float(m.group(2)), float(m.group(3))
        true = round(se * beats)
        out[m.group(1)] = (true, beats - true, round(true / pp) - true if pp else 0)
    return out


def f1(rows: np.ndarray) -> np.ndarray:
    """Pooled F1 over the last axis but one: rows [..., records, (true, missed, extra)]."""
    t, m, e = (rows[..., i].sum(-1) for i in range(3))
    return 2 * t / np.maximum(2 * t + m + e, 1)


def bootstrap(page: str, records: list[str], seed: int = 35) -> dict:
    per = [counts(page, r) for r in records]
    detectors = [d for d in per[0] if all(d in p for p in per)]
    table = {d: np.array([p[d] for p in per], float) for d in detectors}
    pick = np.random.default_rng(seed).integers(0, len(records), (RESAMPLES, len(records)))
    ours = f1(table["ours"][pick])
    out = {"records": records, "detectors": {}}
    for d in detectors:
        boot = f1(table[d][pick])
        row = {"f1": round(float(f1(table[d])), 4),
               "f1_95": [round(float(x), 4) for x in np.percentile(boot, [2.5, 97.5])]}
        if d != "ours":
            diff = ours - boot
            row["ours_minus"] = round(float(f1(table["ours"]) - f1(table[d])), 4)
            row["ours_minus_95"] = [round(float(x), 4) for x in np.percentile(diff, [2.5, 97.5])]
            row["ours_at_least_share"] = round(float((diff >= 0).mean()), 3)
        out["detectors"][d] = row
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.bench.fresh_bootstrap",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("page", nargs="?", default="docs/heart-corpus.md")
    ap.add_argument("--set", choices=SETS, default="FRESH3")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    try:
        page = Path(a.page).read_text(encoding="utf-8")
        res = bootstrap(page, sorted(getattr(heart_records, a.set)))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        print(f"fresh_bootstrap: {e}: give the page `heart_validation` wrote", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{a.set}: {len(res['records'])} records, {RESAMPLES} record resamples")
    for d, r in res["detectors"].items():
        extra = "" if d == "ours" else (
            f"  ours minus: {r['ours_minus']:+.4f} ({r['ours_minus_95'][0]:+.4f} to "
            f"{r['ours_minus_95'][1]:+.4f}; ours at least as high in "
            f"{100 * r['ours_at_least_share']:.0f} %)")
        print(f"  {d:14s} F1 {r['f1']:.4f} ({r['f1_95'][0]:.4f}-{r['f1_95'][1]:.4f}){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
