"""How far the ECG band choice (edge/ecg_band.py) is from choosing otherwise, on the tuning set.

For every ECG tuning record of heart_corpus (never the held-out ones) and every stress case
of edge/ecg_stress.py: the 5-20 Hz and 20-45 Hz contrasts (`ecg_band.contrast`) over each
CAL_S window starting every 30 s, and which band a stream starting there would take. The
rule is set on where streams start (their first CAL_S); the other windows show how thin its
margin is for a stream that starts anywhere else.

    python -m empathy.bench.ecg_band
"""

from __future__ import annotations

import warnings

import numpy as np

from empathy.edge.beat_score import peer_beats
from empathy.edge.ecg_band import CAL_S, LOW_CONTRAST, contrast, noisy_low_band
from empathy.edge.ecg_stress import stress_cases
from empathy.edge.heart import ECG_HIGH, METHODS
from empathy.edge.heart_corpus import RECORDS, available, peer_cache_dir, record_data
from empathy.edge.heart_validation import STRESS_S, reference

STEP_S = 30.0


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
    """(start s, low contrast, high contrast, takes the high band) per CAL_S window."""
    low, high = METHODS["ecg"].band_hz, ECG_HIGH.band_hz
    rows, n = [], int(CAL_S * fs)
    for a in range(0, len(x) - n + 1, int(STEP_S * fs)):
        w = x[a:a + n]
        rows.append((a / fs, contrast(w, fs, low), contrast(w, fs, high),
                     noisy_low_band(w, fs, low, high)))
    return rows


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{'record':30s} first {CAL_S:g} s: low/high contrast, band | other windows' low "
          f"contrast (min-max), how many take 20-45 Hz")
    for name, (x, fs) in tuning_ecg().items():
        rows = windows(x, fs)
        if not rows:
            continue
        t, lo, hi, alt = rows[0]
        rest = [r[1] for r in rows[1:]]
        span = f"{min(rest):5.1f}-{max(rest):5.1f}" if rest else "    -      "
        print(f"{name:30s} {lo:6.1f} / {hi:7.1f}  {'20-45' if alt else ' 5-20'} Hz | {span}  "
              f"{sum(r[3] for r in rows[1:])} of {len(rest)}")
    print(f"(a stream takes 20-45 Hz when its low contrast is under {LOW_CONTRAST:g} and the "
          "high one at least twice it)")


if __name__ == "__main__":
    main()
