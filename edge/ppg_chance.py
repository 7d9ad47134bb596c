"""`python -m empathy.edge.ppg_chance [--held-out] [--trains N]`: the F1 a beat list with no
pulse information scores against an ECG-referenced PPG record.

The wrist records (Jarchi & Casson 2017: wrist PPG while walking or cycling) are scored as
every ECG-referenced PPG record is (`beat_score.lagged_match`: each detector's beats shifted
by whichever lag in 0-600 ms pairs most of them, then paired within ±150 ms inside the
trusted spans). With beats about 0.8 s apart, a ±150 ms window and 121 lags to choose from,
a train that knows only the heart's rate already pairs many beats. This scores such trains
(the reference's median interval with 10 % jitter, a random phase: no waveform read) so that
a detector's F1 there can be read against what chance gives: a difference between
detectors well inside chance's spread says nothing about pulse detection.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from empathy.cli import number_in
from empathy.edge.beat_score import lagged_match, t_wave_free
from empathy.edge.heart_corpus import (RECORDS, CorpusMissing, annotated_beats, available,
                                        record_data, reference_lead, trusted_spans)

JITTER = 0.1  # of the median interval, each interval's spread (sinus rhythm's is smaller)


def rate_trains(ref_s: np.ndarray, end_s: float, n: int, seed: int = 0) -> list[np.ndarray]:
    """n beat trains (s) over 0..end_s at the reference's median interval, each interval
    jittered by JITTER of it, each at a random phase: the heart's rate and nothing else."""
    iv = float(np.median(np.diff(ref_s)))
    if not (np.isfinite(iv) and iv > 0 and end_s > 0):
        raise ValueError("a reference needs at least two increasing beats and a length")
    rng = np.random.default_rng(seed)
    k = int(end_s / iv) + 20
    out = []
    for _ in range(n):
        b = np.cumsum(rng.normal(iv, JITTER * iv, k)) - rng.uniform(0, iv)
        out.append(b[(b > 0) & (b < end_s)])
    return out


def chance_f1(rec, n: int = 40) -> np.ndarray | None:
    """The F1 (`lagged_match`) of n rate trains against an ECG-referenced record's reference,
    inside its trusted spans (None: the record has no ECG reference)."""
    spans = trusted_spans(rec)
    if spans is None:
        return None
    x, fs = record_data(rec)
    ref = t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)[0]
    return np.array([lagged_match(ref, b, spans)[0].f1
                     for b in rate_trains(ref, len(x) / fs, n)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.edge.ppg_chance",
                                 description="chance F1 of a rate-only beat train")
    ap.add_argument("--held-out", action="store_true", help="the held-out records instead")
    ap.add_argument("--trains", type=number_in(int, 1, 10_000), default=40)
    a = ap.parse_args(argv)
    print("| record | chance F1 median | p10 | p90 |\n|---|---|---|---|")
    for rec in RECORDS:
        if rec.kind != "ppg" or rec.held_out != a.held_out or not available(rec):
            continue
        try:
            f = chance_f1(rec, a.trains)
        except CorpusMissing as e:
            print(f"{rec.name}: {e}", file=sys.stderr)
            continue
        if f is not None:
            p50, p10, p90 = np.percentile(f, [50, 10, 90])
            print(f"| {rec.name} | {p50:.3f} | {p10:.3f} | {p90:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
