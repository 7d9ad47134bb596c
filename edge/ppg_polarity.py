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
their sum, the median over 8-s windows, does: +0.40 (cinc15-v102s) to +2.04 (pyphysio-bvp)
on the clean tuning records as given, the same negated when turned over. The wrist records
during exercise read -0.86 to -0.13 as given (motion, not pulses, shapes them), so only a
score under -SURE turns the waveform over: heartpy-data, systole-ppg, pyphysio-bvp and
bsn-bvp-rest as inverted counts (-1.36 to -2.04), not heartpy-data2, -data3 or
cinc15-v102s (-0.40 to -1.07), which are taken as given and said to be unsure (then
`--polarity inverted` turns them). A clipped waveform reads unsure: its windows sit on a
rail (heartpy's records clipped at their 75th percentile read -0.6 to -1.8 before windows
on a rail were left out). A file whose windows disagree (MIXED_PCT of them sure of the other
way: a board re-seated, two recordings joined) is turned by its median but said unsure, with
that share (`polarity_other_way_pct`): systole-ppg's counts inverted for 70 % of the file read
sure, its last 30 % F1 0.06.
"""

from __future__ import annotations

import numpy as np
from scipy import signal, stats

from empathy.edge.heart_method import SLICE
from empathy.edge.ppg_floor import FloorRestart, railed_pct

SURE = 1.2  # |score| from which the waveform says which way its pulses point
WINDOW_S, MIN_S = 8.0, 4.0  # judged per window this long (the shortest file judged)
RAIL_PCT = 2.0  # and one this much of the time flat at its top or bottom is railed (a
# top three samples long is by chance as often at 25 Hz: bsn-bvp-rest's counts, 1.5 %)
BAND_HZ = (0.5, 8.0)  # the detector's PPG band (heart_method)
SLOPE_CAP = 2.0  # what the slope sign may count for at most
BLOCK = 256  # windows scored at once (bounds the memory on a long file)
MIXED_PCT = 10.0  # this share of the windows sure of the other way: no polarity is sure
CHOICES = ("auto", "upright", "inverted")


def _windows(x, fs: float) -> list[float]:
    """The scores of the WINDOW_S windows that hold no restart of the detector's filter
    (ppg_floor: a drop-out or a jump, a pressed or lifted finger or a light step) and sit
    on no rail (a clipped top): those shape a window, not its pulses."""
    x = np.asarray(x, float)
    if len(x) < MIN_S * fs:
        return []
    w = min(int(WINDOW_S * fs), len(x))
    f = FloorRestart(fs)  # read SLICE at a time, as a stream: the move rule's arrays over
    # a whole 8-h file at 100 Hz took 220 MB
    cuts = np.array([i + c for i in range(0, len(x), SLICE)
                     for c in f.restarts(x[i:i + SLICE], x[max(i - f.history_n, 0):i])], int)
    at = np.arange(0, len(x) - w + 1, w)
    cut = np.searchsorted(cuts, at + w) > np.searchsorted(cuts, at)
    keep = [i for i in at[~cut] if float(np.ptp(x[i:i + w])) > 0
            and sum(railed_pct(x[i:i + w], fs)) < RAIL_PCT]
    sos = signal.butter(3, BAND_HZ, "bandpass", fs=fs, output="sos")
    # windows as rows, BLOCK at once: one call per block, not per window (an 8-h file's
    # 3600 windows, one by one, took 3.4 s, six times its beats' detection)
    return [v for b in range(0, len(keep), BLOCK) for v in
            _scores(np.stack([x[i:i + w] for i in keep[b:b + BLOCK]]), sos).tolist()]


def _scores(z: np.ndarray, sos) -> np.ndarray:
    """Each row's score (a window of the waveform)."""
    y = signal.sosfiltfilt(sos, z, axis=1)
    lo, hi = np.percentile(np.diff(y, axis=1), [1, 99], axis=1)
    # (bounded: on a coarsely quantised waveform one side's slopes may all but vanish)
    both = (lo < 0) & (hi > 0)
    slope = np.zeros(len(z))
    slope[both] = np.clip(np.log(hi[both] / -lo[both]), -SLOPE_CAP, SLOPE_CAP)
    return slope + stats.skew(y, axis=1)


def oriented(x, fs: float, how: str = "auto") -> tuple[np.ndarray, dict]:
    """(x with its pulses pointing up, what was decided): `how` is auto, upright (as
    given) or inverted (turned over)."""
    if how not in CHOICES:
        raise ValueError(f"polarity {how!r}: one of {', '.join(CHOICES)}")
    v = np.array(_windows(x, fs) if how == "auto" else [])
    score = (float(np.median(v)) if v.size else 0.0) if how == "auto" else None
    flip = how == "inverted" or (score is not None and score <= -SURE)
    # windows sure of the other way: part of the file points the other way (a board
    # re-seated or swapped): no one polarity fits it, say so
    other = 100.0 * float(np.mean(v * np.sign(score) <= -SURE)) if v.size and score else 0.0
    said = {"polarity": "inverted" if flip else "upright", "polarity_how": how,
            "polarity_score": None if score is None else round(score, 2),
            "polarity_sure": score is None or (abs(score) >= SURE and other < MIXED_PCT),
            "polarity_other_way_pct": None if score is None else round(other)}
    return (-np.asarray(x, float) if flip else np.asarray(x, float)), said
