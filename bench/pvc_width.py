"""The ECG's PVC classifier (edge/pvc_width.py) against the experts' V labels.

    python -m empathy.bench.pvc_width [--held-out] [--rate HZ] [--list]

Every labelled ECG record of the corpus (MIT-BIH excerpts, Noise Stress Test, QT Database),
tuning or held out: per record the V beats, those called PVC (TP), other beats called PVC
(FP, with their labels), V beats not called (FN); pooled sensitivity and positive
predictivity, for the whole rule and for its width rule alone (wide and premature).
`--rate` resamples each record first (BIDMC's PPG records' ECG is at 125 Hz).
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter

import numpy as np

from empathy.cli import number_in
from empathy.edge.beat_score import Match, resampled
from empathy.edge.heart_corpus import RECORDS, annotated_beats, available, beat_labels, record_data
from empathy.edge.pvc_width import premature, qrs_widths, ventricular, wide


def record_counts(rec, rate: float = 0.0) -> dict | None:
    """(Match of the rule, Match of its width rule alone, labels of its false PVCs), or None
    for a record without labels."""
    x, fs = record_data(rec)
    labels = beat_labels(rec, len(x))
    if labels is None:
        return None
    t = annotated_beats(rec, len(x), fs)
    order = np.argsort(t, kind="stable")
    t, labels = t[order], labels[order]
    if rate:
        x, fs = resampled(x, fs, rate), rate
    isv = labels == "V"
    _, either = premature(t)
    calls = {"rule": ventricular(x, fs, t),
             "width": wide(qrs_widths(x, fs, t), ~either) & either}
    out = {k: Match(int((v & isv).sum()), int((v & ~isv).sum()), int((~v & isv).sum()))
           for k, v in calls.items()}
    out["false"] = Counter(labels[calls["rule"] & ~isv].tolist())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.bench.pvc_width")
    ap.add_argument("--held-out", action="store_true", help="the held-out records instead")
    ap.add_argument("--rate", type=number_in(float, 0, 2000), default=0.0, help="resample each record to this")
    ap.add_argument("--list", action="store_true", help="a line per record")
    args = ap.parse_args(argv)
    if 0 < args.rate < 50:
        ap.error("--rate: 0 (each record's own) or 50-2000 Hz")
    warnings.filterwarnings("ignore")
    pooled = {"rule": Match(0, 0, 0), "width": Match(0, 0, 0)}
    for rec in RECORDS:
        if rec.kind != "ecg" or rec.held_out != args.held_out or not available(rec):
            continue
        got = record_counts(rec, args.rate)
        if got is None:
            continue
        for k in pooled:
            pooled[k] += got[k]
        if args.list:
            m = got["rule"]
            print(f"{rec.name:16s} V {m.tp + m.fn:4d}  TP {m.tp:4d}  FP {m.fp:3d}  FN {m.fn:3d}"
                  f"  false: {dict(got['false'])}")
    for k, m in pooled.items():
        print(f"{'whole rule' if k == 'rule' else 'width alone':12s} V {m.tp + m.fn}  "
              f"Se {m.se:.3f}  +P {m.ppv:.3f}  (TP {m.tp}, FP {m.fp}, FN {m.fn})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
