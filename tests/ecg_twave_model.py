"""A tall T wave behind an inverted QRS, made from a tuning ECG record's own beats, for
tests/test_heart_ecg_twave.py.

A model of what the fresh QT Database set showed (heart_passes.md, thirty-fourth pass:
an exercise test's lead with a deep negative QS complex and a positive T wave as tall) that
shares nothing with the detector. Each annotated beat's waveform above its baseline (the
line through the medians of the PR segments of it and the next beat) is kept, but for two
smooth weights: around the R peak (the QRS) it is multiplied by `qrs_sign` (-1: the lead's
axis turned over), and over the T wave (from T_FROM_S after the R peak to T_UPTO of the
interval) by a gain that brings the T wave's median peak to `ratio` of the QRS's median
depth. With `narrow` over 1 each T wave is first narrowed that many times about its peak (a
peaked T, as in an exercise test). Nothing else moves: the rhythm, the P waves, the noise
are the record's.
"""

from __future__ import annotations

import numpy as np

from empathy.edge.heart_corpus import annotated_beats, record, record_data

QRS_HALF_S = 0.05  # the QRS weight is 1 this far either side of the R peak,
EDGE_S = 0.03  # and falls to 0 over this long (a raised cosine)
PR_S = (0.12, 0.07)  # the PR segment: from this long before the R peak to this long before
T_FROM_S = 0.1  # the T weight rises from here after the R peak,
T_UPTO = 0.6  # ends at this fraction of the interval to the next R peak (a raised cosine)


def _ramp(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))


def beats(name: str) -> tuple[np.ndarray, float, np.ndarray]:
    """(x, fs, annotated R peaks as sample indices) of a tuning record."""
    rec = record(name)
    assert not rec.held_out, f"{name} is held out: build no model on it"
    x, fs = record_data(rec)
    r = np.round(annotated_beats(rec, len(x), fs) * fs).astype(int)
    return np.asarray(x, float), fs, r


def tall_t(name: str, ratio: float = 1.0, qrs_sign: float = -1.0, narrow: float = 1.0):
    """(x, fs, R peaks in seconds): the record's beats with the QRS times `qrs_sign` and the
    T wave (narrowed `narrow` times about its peak) scaled to `ratio` of the QRS's depth, as
    the module says."""
    x, fs, r = beats(name)
    pr = [round(s * fs) for s in PR_S]
    r = r[(r > pr[0]) & (r < len(x) - 1)]
    base_at = np.array([np.median(x[i - pr[0]:i - pr[1]]) for i in r])
    base = np.interp(np.arange(len(x)), r - (pr[0] + pr[1]) // 2, base_at)
    y = x - base
    wq, wt = np.zeros(len(x)), np.zeros(len(x))
    half, edge = round(QRS_HALF_S * fs), round(EDGE_S * fs)
    qrs_shape = np.concatenate((_ramp(edge), np.ones(2 * half + 1), _ramp(edge)[::-1]))
    t_peaks, depths = [], []
    for a, b in zip(r[:-1], r[1:]):
        lo, hi = a - half - edge, a + half + edge + 1
        if lo >= 0:
            wq[lo:hi] = np.maximum(wq[lo:hi], qrs_shape)
        t0, t1 = a + round(T_FROM_S * fs), a + round(T_UPTO * (b - a))
        if t1 - t0 > 4:
            wt[t0:t1] = np.sin(np.linspace(0.0, np.pi, t1 - t0)) ** 2
            t_peaks.append(float(np.max(y[t0:t1])))
            if narrow != 1.0:  # (its peak stays where and as tall as it was)
                i, k = np.arange(t1 - t0), int(np.argmax(y[t0:t1]))
                y[t0:t1] = np.interp(k + (i - k) * narrow, i, y[t0:t1])
        depths.append(float(np.max(np.abs(y[a - half:a + half + 1]))))
    gain = ratio * np.median(depths) / max(np.median(t_peaks), 1e-9)
    out = base + y * (1.0 + (qrs_sign - 1.0) * wq + (gain - 1.0) * wt)
    return out, fs, r / fs
