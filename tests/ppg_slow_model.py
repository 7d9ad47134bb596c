"""Slow hearts from real pulses (bradycardia, 38-50 bpm at rest): each recorded cycle, foot to
foot, kept as it is, then its last sample carried straight to the next cycle's foot over the
added time, so the systolic and dicrotic waves stay where the heart put them and only the
rest between beats grows. The feet are cut from the recording itself (the lowest sample before
each steepest upstroke), not from the detector under test, and nothing here is shared with it."""

from __future__ import annotations

import numpy as np

MIN_GAP_S = 0.4    # cycles no shorter than this (150 bpm): tuning records run 58-104 bpm
LOCAL_S = 5.0      # seconds either side
FOOT_S = 0.25      # an upstroke's foot lies within this before its steepest point


def upstrokes(x: np.ndarray, fs: float) -> np.ndarray:
    """Index of each cycle's steepest rise: the steepest local slopes over a third of the
    steepest within LOCAL_S, taken steepest first, none within MIN_GAP_S of one already taken (a
    dicrotic or secondary wave's rise, less steep and closer than a beat, is not a cycle)."""
    d = np.convolve(np.diff(x), np.ones(3) / 3, "same")
    cand = np.flatnonzero((d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:])) + 1
    w = int(LOCAL_S * fs)          # pulses grow and shrink along a record: judge locally
    local = np.asarray([d[max(0, j - w):j + w].max() for j in cand])
    cand = cand[d[cand] > 0.33 * local]
    taken: list[int] = []
    for j in cand[np.argsort(-d[cand], kind="stable")]:
        if all(abs(j - k) >= MIN_GAP_S * fs for k in taken):
            taken.append(int(j))
    return np.sort(np.asarray(taken))


def feet(x: np.ndarray, fs: float) -> np.ndarray:
    """The foot of each cycle: the lowest sample in the FOOT_S before its steepest rise."""
    back = max(1, int(FOOT_S * fs))
    return np.asarray([max(0, u - back) + int(np.argmin(x[max(0, u - back):u + 1]))
                       for u in upstrokes(x, fs)])


def slowed(x, fs: float, bpm: float) -> tuple[np.ndarray, np.ndarray]:
    """The record with every cycle lengthened to `bpm` on average; returns the signal and
    where its cycles now start (each cycle's foot)."""
    x = np.asarray(x, float)
    f = feet(x, fs)
    k = 60 * fs / float(np.median(np.diff(f))) / bpm
    if k <= 1.0:
        raise ValueError(f"record already at or under {bpm} bpm")
    parts, starts = [x[:f[0]]], [int(f[0])]
    for a, c in zip(f[:-1], f[1:]):
        cyc = x[a:c]
        parts += [cyc, np.linspace(cyc[-1], x[c], int(round(len(cyc) * (k - 1))) + 2)[1:-1]]
        starts.append(starts[-1] + len(cyc) + len(parts[-1]))
    parts.append(x[f[-1]:])
    return np.concatenate(parts), np.asarray(starts)
