"""Which band an ECG stream detects its beats in, chosen on its first seconds.

The detector's 5-20 Hz band holds most of a QRS's energy in most leads, and what usually
spoils ECG there (baseline wander, motion, muscle noise above 20 Hz) is outside it. Not
narrow-band interference at 5-15 Hz: MIT-BIH 101 (lead V1) carries an ~8 Hz oscillation
(tremor-like) as tall as its 0.15 mV QRS in that band, and the detector counted half its
cycles as beats (F1 0.763, HR +29 bpm), while its QRS stands 2-5 times over it at 20-45 Hz.

`contrast` says how far beats stand out of a band: the median of the band-passed signal's
maxima over beat-long windows (about one QRS each) over the median of its magnitude (what
lies between beats). In 5-20 Hz it is 8-66 on every other tuning excerpt and stress case
(10-s windows; the lowest: bundle-branch-wide and paced complexes, MIT-BIH 104 and 107)
and 2.4-7.1 on 101. A stream whose low band stays under LOW_CONTRAST over its first CAL_S,
while the high band shows its beats at least ALT_GAIN times as clearly, detects in the high
band (heart.ECG_HIGH): muscle noise, which fills 20-150 Hz, keeps the low band.
The choice is made once: interference that starts later, or a stream that starts in one of
101's quieter stretches (3 of its 5 later 10-s windows would choose 20-45 Hz:
`python -m empathy.bench.ecg_band`), keeps the low band.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

CAL_S = 10.0  # the band is chosen on a stream's first 10 s
MIN_CAL_S = 3.0  # a shorter stream keeps the usual band
WINDOW_S = 1.5  # about one beat at 40 bpm and up: most windows hold one QRS
SETTLE_S = 0.5  # the filter's start, left out
LOW_CONTRAST = 6.0
ALT_GAIN = 2.0
ALT_MIN_FS = 100.0  # a 45 Hz band edge needs more than 90 Hz


def contrast(x: np.ndarray, fs: float, band: tuple[float, float]) -> float:
    """Median of the beat-long windows' maxima of |band-passed x| over its median."""
    sos = signal.butter(3, band, "bandpass", fs=fs, output="sos")
    y = np.abs(signal.sosfilt(sos, x - x[0]))[int(SETTLE_S * fs):]
    n = int(WINDOW_S * fs)
    k = len(y) // n
    floor = float(np.median(y)) if len(y) else 0.0
    if k == 0 or floor <= 0:
        return float("inf")  # no window, or a flat line: nothing to say against the band
    return float(np.median(y[:k * n].reshape(k, n).max(axis=1))) / floor


def noisy_low_band(x: np.ndarray, fs: float, low: tuple[float, float],
                   high: tuple[float, float]) -> bool:
    """Whether a stream that starts with x should detect in `high` rather than `low`."""
    if len(x) < MIN_CAL_S * fs:
        return False
    c_low = contrast(x, fs, low)
    return c_low < LOW_CONTRAST and contrast(x, fs, high) >= ALT_GAIN * c_low
