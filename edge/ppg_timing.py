"""Where a PPG pulse is, to time the intervals HRV reads: the middle of its rise.

The detector places a pulse on its peak (edge/heart.py), which is where the peers and the
corpus page look for it; but a finger pulse's top is round and flat, so its peak sample
wanders by a sample or more from beat to beat, and every such step enters two successive
differences. The middle of the upstroke is steep: there the waveform crosses half its rise
between two samples, and the crossing is placed between them by a straight line (the
mid-amplitude point, one of the fiducials Peralta et al. 2019 compared for pulse rate
variability). `python -m empathy.bench.ppg_hrv --seat`, tuning records,
RMSSD (ms) of `signal hrv --kind ppg` against the simultaneous ECG's NN RMSSD, peak ->
mid-rise: bidmc-02 43.3 -> 13.0 (ECG 3.9), bidmc-10 21.0 -> 12.6 (3.8), bidmc-12 26.5 ->
10.2 (4.4), bidmc-04 7.5 -> 7.6 (4.2), cinc15-v102s 33.0 -> 33.3 (31.5); worse on
pyphysio-bvp, 2048 Hz, its top half as wide, 37.8 -> 43.1 (31.9). A seat's RMSSD, median
|error| / the ECG's: bidmc-02 9.95 -> 2.36, bidmc-10 2.44 -> 1.35, bidmc-12 2.89 -> 1.06,
the rest within 0.02. What is left on the ICU records is the 125-Hz PPG's own floor.
Held out, scored once after: |RMSSD error| bidmc-01 10.2 -> 7.5, -05 17.1 -> 5.0, -11 7.3
-> 3.8, -13 7.9 -> 1.3, cinc15-a103l 18.6 -> 5.6 ms; worse bidmc-03 12.3 -> 15.1 (its ECG
reads 21.0), neurokit-rest 2.1 -> 2.7; seat median |error| / the ECG's bidmc-05 4.18 ->
1.04, worse cinc15-a103l 0.20 -> 0.34.
"""

from __future__ import annotations

import numpy as np

RISE_S = 0.35  # the pulse's foot is the lowest sample this long before its peak (a finger
# pulse rises in 0.1-0.2 s; at 170 bpm the trough before it is still inside)


def rise_times(x, fs: float, idx) -> np.ndarray:
    """Per pulse (its peak at sample idx of x), the sample (fractional) where the last rise
    to the peak crosses halfway from the foot (the lowest sample in the RISE_S before it) to
    the peak. Where the window is cut by x's start or nothing rises there, the peak less the
    others' median lead (a whole sample's step against a fraction's would be a jump)."""
    x = np.asarray(x, float)
    idx = np.asarray(idx, np.int64)
    out = idx.astype(float)
    back = int(round(RISE_S * fs))
    ok = (idx >= back) & (idx < len(x))
    if back < 2 or not ok.any():
        return out
    w = x[idx[ok, None] + np.arange(-back, 1)]  # each pulse's window, its peak last
    foot = np.argmin(w, axis=1)
    mid = (w.min(axis=1) + w[:, -1]) / 2
    up = (w[:, :-1] < mid[:, None]) & (w[:, 1:] >= mid[:, None])
    up &= np.arange(back)[None, :] >= foot[:, None]
    j = back - 1 - np.argmax(up[:, ::-1], axis=1)  # the last crossing before the peak
    found = up.any(axis=1)
    r = np.arange(len(w))
    a, b = w[r, j], w[r, j + 1]
    t = idx[ok] - back + j + (mid - a) / np.where(b > a, b - a, 1.0)
    at = np.flatnonzero(ok)[found]
    if len(at):
        out[at] = t[found]
        rest = np.setdiff1d(np.arange(len(idx)), at)
        out[rest] -= float(np.median(idx[at] - out[at]))
    return out
