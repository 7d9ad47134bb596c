"""Which way a PPG file's pulses point: `oriented(x, fs, "auto")` for `empathy signal hr`.

A board's raw counts are absorbance-shaped: the count FALLS with each pulse (a MAX3010x's
IR and red; sensors/serial/board.py flips its own stream, a user's CSV of raw counts is not
flipped), and the detector, which looks for pulses rising to a peak, then places its beats
on the feet a few hundred ms off (ppg_boards: systole-ppg as inverted counts, F1 0.997 ->
0.03). Two signs of an upright pulse, read on the band-passed waveform (zero-phase, so
its shape is kept): the systolic upstroke is the steepest slope of the cycle (the 99th
percentile of the slope over the 1st's, log) and the systolic peak is sharp over a broad
trough (skewness). Neither holds everywhere on the corpus's tuning records (HeartPy's
recordings fall as steeply as they rise; cinc15-v102s's broad notched top has no skew),
their sum does: +0.4 to +2.3 on the clean records, and flipped under -1.0 on all but
heartpy-data2, -data3 and cinc15-v102s (-0.4 to -1.0). The wrist records during exercise
read -0.9 to +0.1 as given (motion, not pulses, shapes them), so only a sum under -SURE
turns the waveform over; between -SURE and +SURE it is taken as given and said to be
unsure (then `--polarity inverted` turns it).
"""

from __future__ import annotations

import numpy as np
from scipy import signal, stats

SURE = 1.0  # |score| from which the waveform says which way its pulses point
BAND_HZ = (0.5, 8.0)  # the detector's PPG band (heart_method)
SLOPE_CAP = 2.0  # what the slope sign may count for at most
CHOICES = ("auto", "upright", "inverted")


def polarity_score(x, fs: float) -> float:
    """Over 0: pulses point up; under 0: down (see the module's docstring)."""
    x = np.asarray(x, float)
    if len(x) < 4 * fs or np.ptp(x) == 0:
        return 0.0
    y = signal.sosfiltfilt(signal.butter(3, BAND_HZ, "bandpass", fs=fs, output="sos"), x)
    d = np.diff(y)
    lo, hi = np.percentile(d, [1, 99])
    # (bounded: on a coarsely quantised waveform one side's slopes may all but vanish)
    slope = float(np.clip(np.log(hi / -lo), -SLOPE_CAP, SLOPE_CAP)) if lo < 0 < hi else 0.0
    return slope + float(stats.skew(y))


def oriented(x, fs: float, how: str = "auto") -> tuple[np.ndarray, dict]:
    """(x with its pulses pointing up, what was decided): `how` is auto, upright (as
    given) or inverted (turned over)."""
    if how not in CHOICES:
        raise ValueError(f"polarity {how!r}: one of {', '.join(CHOICES)}")
    score = polarity_score(x, fs) if how == "auto" else None
    flip = how == "inverted" or (score is not None and score <= -SURE)
    said = {"polarity": "inverted" if flip else "upright", "polarity_how": how,
            "polarity_score": None if score is None else round(score, 2),
            "polarity_sure": score is None or abs(score) >= SURE}
    return (-np.asarray(x, float) if flip else np.asarray(x, float)), said
