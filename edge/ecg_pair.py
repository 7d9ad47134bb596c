"""ECG: of two beats too close together in a noisy lead, the one of poorer shape is dropped.

Muscle noise and electrode motion make QRS-like waves that pass the detector's gates
beside a true beat: most extra beats left after ecg_rhythm on the tuning records stand
0.23-0.44 s from a true one (MIT-BIH 106 V1's muscle-noise burst at 133-165 s, in
bigeminy, where ecg_rhythm judges nothing; NSTDB 118e00 from 30 s). Such a pair is closer
than CLOSE of the usual interval, half the median sum of two successive intervals (so that
bigeminy's short and long intervals count at their average) over the last MEAN_BEATS given
out with no beat dropped between them (a drop, of a true beat too, must not lengthen the
rhythm that judges the next pair). Of a close pair the beat that matches the recent beats'
shape worse (sqi) goes if that shape is poor (under POOR), unless the beat after the pair
comes PAUSE usual intervals or more after its first: a premature beat's compensatory pause,
where noise's pair leaves about one.

Only in a noisy window: the low band's contrast (ecg_band.BandSwitch.contrast_before, the
last 10-s window complete before the beat) under NOISIER of the clearest this lead has
shown before (106 V1's burst 0.17-0.36 of its 56.9; 118e00's 0.30-0.49 of its 18.2; some
window of 11 tuning records reads so, and beats changed on four: 101, 106 V1, 118e06, e00). Not
under an absolute contrast (ecg_rhythm.CLEAN_CONTRAST): paced and bundle-branch leads read
under it all the time (MIT-BIH 107, 118), and with bigeminy laid on them, where the
detector had missed a run of PVCs the usual interval doubled and the next PVCs went (118:
62 beats more lost at 0.6 coupling). An interpolated PVC with the next sinus beat on time
makes a pair without a pause, and in a noisy window it is lost as ecg_rhythm loses it (the
first of its shape: ecg_ectopic keeps those after it); in a
lead as clear as it was (MIT-BIH 100 with such PVCs: 22.8-29.6) it stays.

Decisions depend on the beat sequence and the windows already judged alone, so streaming
still equals batch whatever the chunks. Latency: in a noisy window a beat may wait for the
next two (about two intervals); elsewhere it passes at once.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from empathy.edge.heart_beats import _EMPTY, Beats, _median

CLOSE = 0.5  # two beats closer than this many usual intervals: one is not a beat
MEAN_BEATS = 8  # the intervals the usual one is taken from
PAUSE = 1.5  # a pair whose next beat comes this many usual intervals after its first is kept
NOISIER = 0.6  # a window whose contrast is under this much of the lead's clearest is noisy
# the poorer beat goes only if its shape is poor too: the extra beats this stage drops on the
# tuning records read 0.00-0.76; an APC of QT Database 232's atrial runs between pauses
# (whose windows' contrast swings 16-103 with the beats in them) 0.98
POOR = 0.8


class ClosePair:
    """Push an ECG stream's beats (in order), get them back less one of each close pair."""

    def __init__(self, bands, recurs):
        self.bands = bands  # ecg_band.BandSwitch: the windows' contrasts
        self.recurs = recurs  # ecg_ectopic.EctopicShapes.recurs: an ectopic shape seen before
        # the last intervals between beats given out with none dropped between them
        self.intervals: deque = deque(maxlen=MEAN_BEATS)
        self.last: int | None = None  # the last beat given out, None after a drop
        self.held: list[tuple[int, float, int]] = []  # (idx, sqi, peak) waiting, in order

    def push(self, b: Beats) -> Beats:
        self.held.extend(zip(b.idx.tolist(), b.sqi.tolist(), b.peak.tolist()))
        out: list = []
        while self.held:
            a = self.held[0]
            if len(self.intervals) < MEAN_BEATS or not self._noisy(a[0]):
                self._give(self.held.pop(0), out)
                continue
            if len(self.held) < 2:
                break  # its fate waits for the next beat
            usual = self._usual()
            if self.held[1][0] - a[0] >= CLOSE * usual:
                self._give(self.held.pop(0), out)
                continue
            if len(self.held) < 3:
                break  # and the one after
            if self.held[2][0] - a[0] >= PAUSE * usual:  # a premature beat's pause
                self._give(self.held.pop(0), out)
                continue
            worse = 1 if a[1] >= self.held[1][1] else 0
            # both QRS-shaped (an ectopic run) or the poorer an ectopic shape seen before
            if self.held[worse][1] >= POOR or self.recurs(self.held[worse][0]):
                self._give(self.held.pop(0), out)
                continue
            del self.held[worse]
            self.last = None
        return self._beats(out)

    def finish(self) -> Beats:
        out: list = []
        for a in self.held:
            self._give(a, out)
        self.held = []
        return self._beats(out)

    def _noisy(self, i: int) -> bool:
        c = self.bands.contrast_before(i)
        return c < NOISIER * self.bands.clearest_before(i)

    def _usual(self) -> float:
        """Half the median sum of two successive intervals kept."""
        v = list(self.intervals)
        return _median([p + q for p, q in zip(v, v[1:])]) / 2

    def _give(self, a: tuple[int, float, int], out: list) -> None:
        if self.last is not None:
            self.intervals.append(a[0] - self.last)
        self.last = a[0]
        out.append(a)

    @staticmethod
    def _beats(out: list) -> Beats:
        if not out:
            return _EMPTY
        idx, sqi, peak = zip(*out)
        return Beats(np.array(idx, np.int64), np.array(sqi), np.array(peak, np.int64))
