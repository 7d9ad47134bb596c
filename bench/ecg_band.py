"""How far the ECG band choice (edge/ecg_band.py) is from choosing otherwise, on the tuning set.

For every ECG tuning record of heart_corpus (never the held-out ones) and every stress case
of edge/ecg_stress.py: the 5-20 Hz and 20-45 Hz contrasts (`ecg_band.contrast`) of the
stream's first CAL_S window, which band it starts in, the lowest 5-20 Hz contrast of its
later windows (those a running stream judges: every CAL_S from its start) and how many of
them the stream spends in 20-45 Hz, switching as `wants_high_band` says. Then MIT-BIH 101
streamed from later starts (every 10 s): where it starts and when it switches.

    python -m empathy.bench.ecg_band
"""

from __future__ import annotations

import warnings

import numpy as np

from empathy.edge.beat_score import peer_beats, reference
from empathy.edge.ecg_band import (CAL_S, LEAVE_CONTRAST, LOW_CONTRAST, contrast,
                                   high_keeps_rhythm, wants_high_band)
from empathy.edge.ecg_stress import stress_cases
from empathy.edge.heart import ECG_HIGH, METHODS, BeatStream
from empathy.edge.heart_corpus import RECORDS, available, peer_cache_dir, record_data
from empathy.edge.heart_validation import STRESS_S

LATE_STARTS_S = range(10, 130, 10)


def tuning_ecg() -> dict:
    """name -> (samples, fs) for every available ECG tuning record and stress case."""
    out = {r.name: record_data(r) for r in RECORDS
           if r.kind == "ecg" and not r.held_out and available(r)}
    x, fs = out["systole-ecg"]
    x = x[:int(STRESS_S * fs)]
    ref = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    for name, (y, _) in stress_cases(x, fs, ref[ref < STRESS_S - 1]).items():
        out[f"stress: {name}"] = (y, fs)
    return out


def windows(x: np.ndarray, fs: float) -> list[tuple[float, float, float, bool]]:
    """(start s, low contrast, high contrast, in the high band after it) per CAL_S window,
    as a stream judges them (see ecg_band.BandSwitch)."""
    low, high = METHODS["ecg"].band_hz, ECG_HIGH.band_hz
    rows, n, in_high = [], int(round(CAL_S * fs)), False
    methods = (METHODS["ecg"], ECG_HIGH)
    rhythm = lambda w: high_keeps_rhythm(w, lambda m: BeatStream(fs, "ecg", m), methods)  # noqa: E731
    for a in range(0, len(x) - n + 1, n):
        w = x[a:a + n]
        in_high = wants_high_band(w, fs, low, high, in_high, rhythm)
        rows.append((a / fs, contrast(w, fs, low), contrast(w, fs, high), in_high))
    return rows


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{'record':30s} first {CAL_S:g} s: low/high contrast, band | later windows' low "
          f"contrast (min-max), how many in 20-45 Hz")
    data = tuning_ecg()
    for name, (x, fs) in data.items():
        rows = windows(x, fs)
        if not rows:
            continue
        t, lo, hi, alt = rows[0]
        rest = [r[1] for r in rows[1:]]
        span = f"{min(rest):5.1f}-{max(rest):5.1f}" if rest else "    -      "
        print(f"{name:30s} {lo:6.1f} / {hi:7.1f}  {'20-45' if alt else ' 5-20'} Hz | {span}  "
              f"{sum(r[3] for r in rows[1:])} of {len(rest)}")
    print(f"(a stream goes to 20-45 Hz on a window whose low contrast is under {LOW_CONTRAST:g} "
          f"and the high one at least twice it, back on one whose low contrast is "
          f"{LEAVE_CONTRAST:g} or more or over the high one; or on a noisy window where the "
          f"high band keeps the rhythm: ecg_band.high_keeps_rhythm)")
    x, fs = data["mitdb-101"]
    for s in LATE_STARTS_S:
        bands = [h for _, _, _, h in windows(x[int(s * fs):], fs)]
        lo = windows(x[int(s * fs):int((s + CAL_S) * fs)], fs)[0][1]
        to = [i for i in range(1, len(bands)) if bands[i] != bands[i - 1]]
        where = ("starts in 20-45 Hz" if bands[0] else "starts in 5-20 Hz")
        where += "".join(f", switches at {s + (i + 1) * CAL_S:g} s" for i in to)
        print(f"mitdb-101 from {s:3d} s: first window's low contrast {lo:4.1f}, {where}")

if __name__ == "__main__":
    main()
