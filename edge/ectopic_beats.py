"""Which beats of a recording are ectopic, from their timing and (ECG) their shape.

The RR artefact corrector (`rr_artefacts`) adapts its thresholds to the series it reads,
so frequent ectopy (bigeminy, trigeminy) becomes its normal: its steps stop standing out
against thresholds that the ectopy itself has widened. This labeller measures each beat against the local *normal* interval
instead, taken as the running median of two-interval means: a compensatory pause makes
an early beat's two intervals add up to two normal ones, so that mean holds through
bigeminy as through sinus rhythm. A beat is ectopic when it comes early (under EARLY of
the normal interval) and either a pause follows (its two intervals add up to about two
normal ones, or the next is over PAUSE normal ones) or the next beat comes on time (an
interpolated beat: the two add up to about one normal interval); a run of early beats
ending so is ectopic throughout. A PVC may come only a little early (MIT-BIH 200's
bigeminy: 0.8-0.9) where sinus arrhythmia and atrial fibrillation make such short-long
pairs of normal beats too: there, with the ECG at hand, the beat must also differ in shape
from the beats that come on time (slope correlation under SHAPE). A beat of the opposite
shape (under ODD) between two that match (over SHAPE) counts when it is barely early
(under ODD_EARLY) and the next interval is longer (by ODD_LONGER): MIT-BIH 109's and 200's
PVCs come 2-18 % early, with no pause by timing. A beat only unlike the on-time ones
(under UNLIKE), between two like them (over LIKE), counts when a little early (under
UNLIKE_EARLY) and the next interval is longer (by ODD_LONGER), and so does a couplet of
such beats holding one of opposite shape: QT Database sel15814's late PVCs (0.86-0.94, match
0.4-0.7). By timing or shape alone such beats are not told from normal ones: on the tuning
records, short-long pairs of beats of normal shape gave 2-3 ectopic beats per false one
(most on QT Database sel853), on-time beats unlike the rest 1-5 per 13-60 false (noise on
NSTDB 118, QT Database sel117's N beats).
"""

from __future__ import annotations

import numpy as np

from empathy.edge.ecg_ectopic import PRE, POST, _slope, _unit

EARLY = 0.8  # an interval under this many normal ones ends an early beat
PAUSE = 1.05  # the interval after an early beat over this many normal ones: a pause
PAIR_TOL = 0.15  # a compensatory pair within this of two normal intervals
NORMAL_N = 9  # two-interval means in the running median (centred)
LOST_S = 2.0  # a PPG's 'pause' this long is a drop-out (hrv.RR_RANGE_MS's top)
# a little early (under SOFT_EARLY), a pause after (over SOFT_PAUSE normal ones and RATIO
# times the early interval), and of another shape than on-time beats (under SHAPE)
SOFT_EARLY, SOFT_PAUSE, RATIO, SHAPE = 0.92, 1.12, 1.3, 0.8
# on the ECG tuning records (by annotation): ODD_EARLY 0.95-1.0 by ODD_LONGER 1.0-1.1 gave
# 20-26 more ectopic beats and no false one but at (1.0, 1.0) (1, QT Database sel117);
# ODD 0.3 let in 3 noisy beats (NSTDB 118e06); without the neighbours' match, 18 (MIT-BIH
# 101 9, 118e00 4, 106's V1 3, 108 1, 118 1)
ODD, ODD_EARLY, ODD_LONGER = 0.0, 0.97, 1.05
# a beat (or two in a row) unlike the on-time beats (under UNLIKE) between two like them
# (over LIKE), the first under UNLIKE_EARLY normal ones and the interval after the run
# ODD_LONGER times that. On the ECG tuning records: 12 more ectopic beats, no false one at
# the records' rates or 130 Hz; LIKE 0.9 let in a noisy beat at 130 Hz (NSTDB 118e06, its
# neighbours 0.91 and 0.93), couplets with none of opposite shape 6 (MIT-BIH 104, QT
# Database sel821 and sel15814: a fusion or a normal beat of poor match after the PVC)
# Held out, scored once after: Se 0.654 -> 0.700, +P 0.947 -> 0.947 (130 Hz: Se 0.673)
UNLIKE, LIKE, UNLIKE_EARLY = 0.75, 0.92, 0.95


def normal_interval(rr: np.ndarray) -> np.ndarray:
    """Per interval, the local normal interval: running median of two-interval means."""
    if len(rr) < 2:
        return rr.astype(float)
    pair = np.concatenate(([rr[0]], (rr[1:] + rr[:-1]) / 2))
    h = NORMAL_N // 2  # (odd: the median is the middle value, np.median's bits without
    # its checks' cost; a seat labels its window at each beat)
    pad = np.concatenate((np.full(h, pair[0]), pair, np.full(h, pair[-1])))
    return np.partition(np.lib.stride_tricks.sliding_window_view(pad, NORMAL_N), h, axis=1)[:, h]


def _reference(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(intervals of beat times t, the normal interval at each inner beat k+1)."""
    rr = np.diff(t)
    return rr, normal_interval(rr)[:-1]


def _timing(rr: np.ndarray, ref: np.ndarray):
    """(early, the strict timing flag, the soft one) per inner beat k+1 (`_reference`)."""
    before, after = rr[:-1], rr[1:]  # beat k+1 sits between rr[k] and rr[k+1]
    early = before < EARLY * ref
    pause = (np.abs(before + after - 2 * ref) <= PAIR_TOL * 2 * ref) | (after > PAUSE * ref)
    interp = np.abs(before + after - ref) <= PAIR_TOL * ref
    soft = (before < SOFT_EARLY * ref) & (after > SOFT_PAUSE * ref) & (after > RATIO * before)
    return early, early & (pause | interp), soft & ~early


def shape_match(x: np.ndarray, fs: float, idx: np.ndarray) -> np.ndarray:
    """Per beat (sample idx), the correlation of its slope with the on-time beats' median
    slope (1 where its window is cut or too few beats to judge)."""
    return slope_match(beat_slopes(x, fs, idx), idx)


def beat_slopes(x: np.ndarray, fs: float, idx: np.ndarray) -> np.ndarray:
    """Per beat (sample idx), its slope from PRE before to POST after, less its line and of
    unit norm (a row each; NaN where its window is cut)."""
    pre, post = int(round(PRE * fs)), int(round(POST * fs))
    out = np.full((len(idx), pre + post + 1), np.nan)
    w = [_slope(np.asarray(x, float), int(i), pre, post, 0) for i in idx]
    cut = np.array([v is None for v in w], bool)
    if not cut.all():
        out[~cut] = _unit(np.array([v for v in w if v is not None]))
    return out


def slope_match(u: np.ndarray, t) -> np.ndarray:
    """shape_match from the beats' `beat_slopes` rows and their times t (a seat keeps the
    rows, not the samples: edge/heart_window.py)."""
    out = np.ones(len(t))
    cut = np.isnan(u[:, 0]) if len(u) else np.ones(0, bool)
    if len(t) < 4 or cut.all():
        return out
    early, strict, soft = _timing(*_reference(np.asarray(t, float)))
    on_time = ~np.concatenate(([False], early | soft, [False]))[~cut]
    if on_time.sum() < 3:
        return out
    v = u[~cut]
    on, h = v[on_time], int(on_time.sum()) // 2  # np.median's bits, without its checks' cost
    part = np.partition(on, (h - 1, h), axis=0)  # (a seat asks once a beat)
    out[~cut] = v @ _unit((part[h] if len(on) % 2 else (part[h - 1] + part[h]) / 2)[None])[0]
    return out


def _unlike_runs(rr: np.ndarray, ref: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """Per inner beat: in a run of one or two beats of another shape (under UNLIKE) between
    two of the on-time beats' (over LIKE), a little early, a longer interval after the run."""
    un, like = sh < UNLIKE, sh > LIKE
    first = rr[:-1] < UNLIKE_EARLY * ref  # per inner beat k+1
    out = np.zeros(len(sh) - 2, bool)
    for n in (1, 2):
        k = np.arange(1, len(sh) - n)  # the run's first beat
        run = like[k - 1] & like[k + n] & np.all([un[k + j] for j in range(n)], axis=0)
        run &= first[k - 1] & (rr[k + n - 1] > ODD_LONGER * rr[k - 1])
        if n == 2:  # a couplet's second beat may be a fusion's or a noisy normal one
            run &= np.minimum(sh[k], sh[k + 1]) < ODD
        for j in range(n):
            out[k[run] + j - 1] = True
    return out


def doubtful_beats(beat_s, shape=None) -> np.ndarray:
    """Indices of the beats whose intervals are no NN, though they are not counted as
    ectopic. By timing: a little early before a pause (`_timing`'s soft ones: a late PVC or
    APC, or sinus arrhythmia's short-long pair) and a little early (under SOFT_EARLY) just
    before an early beat of a run (a couplet's first, 0.85-0.94 of the normal interval on
    QT Database sele0114): a strap's beats come with no shape, and an APC's QRS is a normal
    one. With an ECG's `shape` (shape_match's) also a beat of the opposite shape (under
    ODD), or unlike the on-time beats (under UNLIKE) and a little early, where the interval
    after it is longer (by ODD_LONGER): QT Database sel15814's couplet at 151-152 s (0.84
    early at 0.64, then on time at -0.38; its normal neighbour matched only 0.85). A PPG's
    stay NN: its pulses' timing is looser (`hrv.nn`, a seat's `label_runs`)."""
    t = np.asarray(beat_s, float)
    if len(t) < 4:
        return np.zeros(0, int)
    rr, ref = _reference(t)
    early, flag, soft = _timing(rr, ref)
    out = soft.copy()
    out[:-1] |= (rr[:-2] < SOFT_EARLY * ref[:-1]) & ~early[:-1] & flag[1:] & early[1:]
    if shape is not None:
        sh = np.asarray(shape, float)[1:-1]
        odd = (sh < ODD) | ((sh < UNLIKE) & (rr[:-1] < SOFT_EARLY * ref))
        out |= odd & (rr[1:] > ODD_LONGER * rr[:-1])
    return np.flatnonzero(out) + 1


def ectopic_beats(beat_s, shape=None, good=None) -> np.ndarray:
    """Indices of the ectopic beats of beat_s; `shape`: shape_match's, where known. Without
    it (PPG), `good` (bool per beat: pulse-shaped) must hold for the beat and both its
    neighbours, and the pause be under LOST_S: HeartPy's noisy data2.csv (tuning) had 16
    early beats with pauses by timing, 1 so; the others were next to a wave of poor shape
    or a drop-out of seconds (detector errors and lost contact, not ectopy)."""
    t = np.asarray(beat_s, float)
    if len(t) < 4:
        return np.zeros(0, int)
    rr, ref = _reference(t)
    early, flag, soft = _timing(rr, ref)
    if shape is not None:
        sh = np.asarray(shape, float)
        flag |= soft & (sh[1:-1] < SHAPE)
        odd = (sh[1:-1] < ODD) & (np.minimum(sh[:-2], sh[2:]) > SHAPE)
        barely = rr[:-1] < ODD_EARLY * ref
        flag |= odd & barely & (rr[1:] > ODD_LONGER * rr[:-1])
        flag |= _unlike_runs(rr, ref, sh)
    for k in range(len(flag) - 2, -1, -1):  # a run of early beats that ends in a pause
        if flag[k + 1] and early[k] and early[k + 1]:
            flag[k] = True
    if shape is None and good is not None:
        g = np.asarray(good, bool)
        flag &= g[:-2] & g[1:-1] & g[2:] & (np.diff(t)[1:] < LOST_S)
    return np.flatnonzero(flag) + 1
