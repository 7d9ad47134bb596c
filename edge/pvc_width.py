"""Premature ventricular beats told from the ECG alone: QRS width, prematurity, shape.

For scoring, not for detection: the PPG records' pulse-deficit score (`pulse_deficit`) needs
the R peaks that are PVCs without asking any PPG detector. The rule is Hamilton's OSEA beat
classifier (Hamilton 2002, "Open source ECG analysis", Computers in Cardiology 29:101-104;
EP Limited's analbeat.c and classify.c), cut down to its width and rhythm rules:

- a QRS's onset and offset are where its slope, searched back from the first of its
  steepest rise and fall and on from the last, falls under SLOPE_FRAC of the smaller of
  the two, a dip under it shorter than INFLECT_S being an inflection inside the complex,
  each moved to an isoelectric stretch within SNAP_S of it (AnalyzeBeat: a quarter, 40 ms,
  under 0.1 mV for 80 ms before and 50 ms after, 50 ms);
- the dominant width is the median width of the beats that came on time;
- wide: WIDE_S or wider and wider than the dominant by DIFF_S[0] (dominant under BREAK_S)
  or DIFF_S[1] (rule 11: 110 ms; 40, 60 ms past 140 ms);
- a PVC is wide and premature (ectopic_beats' timing: early, or a little early with a
  pause), or wide, unlike the dominant shape and followed by a pause, or early and unlike
  the dominant shape (rule 2), or early, not like it and followed by a compensatory pause
  (an atrial beat resets the sinus node: a shorter pause). A late PVC (end-diastolic) fills
  the heart and makes a pulse.

OSEA's templates, its noise checks and its post-classification are left out. On the
labelled tuning ECG records (`python -m empathy.bench.pvc_width`, 698 V beats): Se 0.877,
+P 0.987 (width and timing alone 0.715 / 0.986); resampled to 125 Hz 0.897 / 0.984. Its
false PVCs are APCs of MIT-BIH 118 in noise (7) and one AF beat of 203; it misses V beats
no wider than the dominant and on time (paced 107, bundle-branch 109, QT sel15814).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from empathy.edge.ectopic_beats import _reference, _timing, shape_match

BAND_HZ = (1.0, 30.0)  # zero-phase: a width is read on the complex, not on a filter's delay
SEARCH_S = 0.12  # the steepest slopes looked for within this of the R peak
SLOPE_FRAC, INFLECT_S = 0.25, 0.04  # OSEA's AnalyzeBeat
# ...and its isoelectric segments: under ISO_MV peak to peak over ISO_S (before the QRS;
# ISO_SHORT_S after it); a slope edge within SNAP_S of one moves to it
ISO_MV, ISO_S, ISO_SHORT_S, SNAP_S = 0.1, 0.08, 0.05, 0.05
WIDE_S, BREAK_S, DIFF_S = 0.110, 0.140, (0.040, 0.060)  # OSEA's rule 11
# OSEA's rule 2 compares a premature beat with the dominant template; here the slope
# correlation with the on-time beats' median (ectopic_beats.shape_match) under this. On the
# tuning records 0.3-0.5 differ by 8 V beats and no other (fixed at 0.5, rounded)
UNLIKE = 0.5
# a wide beat unlike the dominant one, barely early (0.85-0.9) but with a pause after it
# (the interval after at least PAUSE times the one before) is a PVC too: bidmc-04's two
# such beats make no pulse. On the tuning records' labels: Se 0.794 -> 0.819, no false one
# more at 360 Hz (1.05: 4 more; no pause asked: 89 more, MIT-BIH 101's noise, 104's paced)
PAUSE = 1.1
# an early beat not like the dominant one (under LIKE) with a compensatory pause after it
# (the interval after at least COMPENSATE normal ones: the sinus node not reset, as an atrial
# beat resets it) is a PVC however narrow (MIT-BIH 105's, 106's). Fitted on the tuning
# records' labels: their early S and A beats under LIKE paused at most 1.24 (at 125 Hz 1.32),
# the V beats missed before a median 1.35; Se 0.819 -> 0.877, false PVCs 7 -> 8 (MIT-BIH 203's
# AF); at 125 Hz 0.852 -> 0.897, 8 -> 10 (COMPENSATE 1.25: 0.888, but 12 at 125 Hz)
LIKE, COMPENSATE = 0.85, 1.3


def _edge(d: np.ndarray, i: int, step: int, thr: float, gap: int) -> int:
    """From index i, walk by step while |d| is over thr, over dips under it shorter than
    gap samples; the last index over it."""
    last, j, n = i, i, len(d)
    while 0 <= j < n and abs(j - last) <= gap:
        if abs(d[j]) > thr:
            last = j
        j += step
    return last


def _iso(y: np.ndarray, start: int, step: int, n: int, stop: int) -> int:
    """The first i from start (by step, not past stop) where y[i:i+n] spans under ISO_MV,
    or stop."""
    i = start
    while (i - stop) * step < 0 and 0 <= i and i + n <= len(y):
        if np.ptp(y[i:i + n]) < ISO_MV:
            return i
        i += step
    return stop


def qrs_widths(ecg, fs: float, r_s) -> np.ndarray:
    """Each R peak's QRS width in s (NaN where the lead is flat around it)."""
    x = np.asarray(ecg, float)
    b, a = signal.butter(2, [BAND_HZ[0], min(BAND_HZ[1], 0.45 * fs)], "bandpass", fs=fs)
    y = signal.filtfilt(b, a, x)
    d = np.gradient(y) * fs
    w, gap = int(round(SEARCH_S * fs)), max(int(round(INFLECT_S * fs)), 1)
    n_iso, n_short, snap = (int(round(v * fs)) for v in (ISO_S, ISO_SHORT_S, SNAP_S))
    out = np.full(len(r_s), np.nan)
    for k, t in enumerate(np.asarray(r_s, float)):
        i = int(round(t * fs))
        lo, hi = max(i - w, 0), min(i + w + 1, len(d))
        if hi - lo < 3:
            continue
        seg = d[lo:hi]
        up, down = int(np.argmax(seg)) + lo, int(np.argmin(seg)) + lo
        thr = SLOPE_FRAC * min(d[up], -d[down])
        if thr <= 0:
            continue
        on = _edge(d, min(up, down), -1, thr, gap)
        off = _edge(d, max(up, down), 1, thr, gap)
        iso_on = _iso(y, i - n_iso, -1, n_iso, max(i - 4 * n_iso, 0)) + n_iso - 1
        iso_off = _iso(y, i, 1, n_short, min(i + 4 * n_iso, len(y)))
        if 0 <= on - iso_on < snap:
            on = iso_on
        if iso_off - off < snap:
            off = iso_off
        out[k] = (off - on + 1) / fs
    return out


def premature(r_s) -> tuple[np.ndarray, np.ndarray]:
    """(early, early or soft) per beat by ectopic_beats' timing: its interval under EARLY of
    the local normal interval (a running median of two-interval means, which a compensatory
    pause keeps through bigeminy), or a little early with a pause after (its soft rule, for
    PVCs only 0.8-0.9 early: MIT-BIH 200's bigeminy). The first and last beat: neither."""
    r = np.asarray(r_s, float)
    early, either = np.zeros(len(r), bool), np.zeros(len(r), bool)
    if len(r) >= 4:
        e, _, soft = _timing(*_reference(r))
        early[1:-1], either[1:-1] = e, e | soft
    return early, either


def ventricular(ecg, fs: float, r_s) -> np.ndarray:
    """Which R peaks (in time order) are PVCs: wide (OSEA's rule 11) and premature, or
    early and unlike the dominant beat (OSEA's rule 2), or early, not like it and followed
    by a compensatory pause."""
    r = np.asarray(r_s, float)
    if len(r) < 4:
        return np.zeros(len(r), bool)
    w = qrs_widths(ecg, fs, r)
    early, either = premature(r)
    iv, ref = _reference(r)
    pause, paid = np.zeros(len(r), bool), np.zeros(len(r), bool)
    pause[1:-1] = iv[1:] >= PAUSE * iv[:-1]
    paid[1:-1] = iv[1:] >= COMPENSATE * ref
    shape = shape_match(ecg, fs, np.round(r * fs).astype(int))
    return ((wide(w, ~either) & (either | ((shape < UNLIKE) & pause)))
            | (early & ((shape < UNLIKE) | ((shape < LIKE) & paid))))


def wide(w: np.ndarray, on_time: np.ndarray) -> np.ndarray:
    """OSEA's rule 11 on widths w (s): WIDE_S or more and wider than the dominant width (the
    median of the `on_time` beats') by DIFF_S."""
    ok = on_time & np.isfinite(w)
    if not ok.any():
        return np.zeros(len(w), bool)
    dom = float(np.median(w[ok]))
    w = np.nan_to_num(w, nan=0.0)
    return (w >= WIDE_S) & (w - dom >= (DIFF_S[0] if dom < BREAK_S else DIFF_S[1]))
