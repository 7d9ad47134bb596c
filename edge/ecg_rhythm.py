"""ECG: an extra beat that splits one interval of a steady rhythm, dropped with a look-ahead.

Electrode motion makes QRS-like waves between beats. Where one passes every gate, the
stream gives an early beat (under EARLY of the recent intervals after the last) followed
at once by the true one (under EARLY after it too), and the true one lies where the
rhythm puts the beat: all ten of NSTDB 118e06's extra beats after the thirteenth pass (in
5-20 Hz and in 20-45 Hz alike; 0.57-0.70 intervals after the beat before). The detector's
gates judge a candidate before the next beat is known; this stage waits for the two beats
after an early one and judges it by the rhythm they make: in a steady rhythm (all but one
of the last STEADY_BEATS intervals within STEADY of their median: an APC's may stray), an
early beat whose shape matches the recent beats poorly (sqi under SHAPE, as noise's waves
do) is dropped where, without it, the beat after it comes within FIT of the rhythm's place
after the last beat and the beat after that within FIT again (within FIT_SUM together).

An interpolated PVC splits a regular interval too (MIT-BIH 123: two; shape 0.80-0.82),
but the normal beat after it comes late and the next one early (0.20-0.28 off the
rhythm's place); in bigeminy and atrial fibrillation (MIT-BIH 106, 119, 200, 203, 210,
106's V1) the intervals before are not steady, and nothing is dropped.

An interpolated PVC whose next sinus beat comes on time splits the interval just as
noise's wave does, and its shape is as unlike the recent beats (red team: MIT-BIH 100 with
17 inserted, sqi 0.43-0.46, 15 dropped). What tells them apart is the lead: the low band's
contrast (ecg_band) on the last 10-s window complete before the beat is 4.0-15.7 at every
beat dropped on the tuning records (NSTDB 118e06, 118e00, MIT-BIH 101) and 22.8-29.6 at
those PVCs, so where it reaches CLEAN_CONTRAST nothing is dropped. A lead whose clean
windows read under it (paced or bundle-branch complexes: MIT-BIH 107, 8.6-12.1) still
loses such a PVC if it is the first of its shape: ecg_ectopic keeps those after it.

Decisions depend on the beat sequence and the windows already judged alone, so streaming
still equals batch whatever the chunks. Latency: an early beat of poor shape in a steady
rhythm, and the beats after it, wait for the next two beats (about two intervals more);
every other beat passes at once.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from empathy.edge.heart_beats import _EMPTY, Beats, _join, _median

EARLY = 0.75  # an interval under this many recent ones is early
STEADY_BEATS = 8  # the intervals the rhythm is judged on
STEADY = 0.2  # all but one within this fraction of their median: a steady rhythm
SHAPE = 0.75  # an early beat that matches the recent beats' shape under this may be noise
CLEAN_CONTRAST = 20.0  # unless the low band's last window showed beats this clearly (clean)
FIT, FIT_SUM = 0.15, 0.2  # without it, the next two beats this close to the rhythm's place


class RhythmPick:
    """Push an ECG stream's beats (in order), get them back less the extra ones."""

    def __init__(self, contrast_before, recurs):
        self.contrast_before = contrast_before  # ecg_band.BandSwitch.contrast_before
        self.recurs = recurs  # ecg_ectopic.EctopicShapes.recurs: an ectopic shape seen before
        self.kept: deque = deque(maxlen=STEADY_BEATS + 1)  # the last beats given out
        self.held: list[tuple[int, float, int]] = []  # (idx, sqi, peak) waiting, in order

    def push(self, b: Beats) -> Beats:
        first = _EMPTY
        if not self.held:  # the beats before the first of poor shape can't be held: out at once
            poor = np.flatnonzero(b.sqi < SHAPE)
            k = int(poor[0]) if poor.size else len(b.idx)
            self.kept.extend(b.idx[max(k - STEADY_BEATS - 1, 0):k].tolist())
            if k == len(b.idx):
                return b
            first, b = Beats(*(a[:k] for a in b)), Beats(*(a[k:] for a in b))
        self.held.extend(zip(b.idx.tolist(), b.sqi.tolist(), b.peak.tolist()))
        return _join([first, self._give(final=False)])

    def finish(self) -> Beats:
        return self._give(final=True)

    def _give(self, final: bool) -> Beats:
        out = []
        while self.held:
            a = self.held[0]
            noisy = a[1] < SHAPE and self.contrast_before(a[0]) < CLEAN_CONTRAST
            noisy = noisy and not self.recurs(a[0])
            med = self._steady() if noisy else 0.0
            if med and a[0] - self.kept[-1] < EARLY * med:
                if len(self.held) < 3:
                    if not final:
                        break  # its fate waits for the next two beats
                elif self._extra(med):
                    self.held.pop(0)
                    continue
            self.held.pop(0)
            self.kept.append(a[0])
            out.append(a)
        if not out:
            return _EMPTY
        idx, sqi, peak = zip(*out)
        return Beats(np.array(idx, np.int64), np.array(sqi), np.array(peak, np.int64))

    def _steady(self) -> float:
        """The median of the last STEADY_BEATS intervals given out if they are steady,
        else 0."""
        if len(self.kept) <= STEADY_BEATS:
            return 0.0
        k = list(self.kept)
        d = [b - a for a, b in zip(k, k[1:])]
        med = _median(d)
        return med if sorted(abs(v - med) for v in d)[-2] <= STEADY * med else 0.0

    def _extra(self, med: float) -> bool:
        """The held early beat splits an interval: the beat after it is early after it
        too, and without it that beat and the next keep the rhythm (FIT, FIT_SUM)."""
        last, (a, _, _), (b, _, _), (c, _, _) = self.kept[-1], *self.held[:3]
        if b - a >= EARLY * med:
            return False
        off_b, off_c = abs((b - last) / med - 1), abs((c - b) / med - 1)
        return off_b <= FIT and off_c <= FIT and off_b + off_c <= FIT_SUM
