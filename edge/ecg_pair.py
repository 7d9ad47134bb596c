"""ECG: of two beats too close together in a noisy lead, the one of poorer shape is dropped.

Muscle noise and electrode motion make QRS-like waves that pass the detector's gates
beside a true beat: most extra beats left after ecg_rhythm on the tuning records stand
0.23-0.44 s from a true one (MIT-BIH 106 V1's muscle-noise burst at 133-165 s, in
bigeminy, where ecg_rhythm judges nothing; NSTDB 118e00 from 30 s). Such a pair is closer
than CLOSE of the usual interval, half the median sum of two successive intervals (so that
bigeminy's short and long intervals count at their average) over the last MEAN_BEATS given
out in clean windows with no beat dropped between them. Noisy windows' intervals are left
out: once noise's extra beats got through they shortened the rhythm that judged the next
pairs (118e00 at 40-50 s: usual 0.41-0.58 s against the heart's 0.82), and few pairs were close
any more. The usual is at most FOLLOW times the one all beats given out make, so that a
heart that speeds up in a noisy stretch keeps its beats. Of a close pair the beat that
matches the recent beats' shape worse (sqi) goes if that shape is poor (under POOR), unless
the beat after the pair comes PAUSE usual intervals or more after its first: a premature
beat's compensatory pause, where noise's pair leaves about one.

Only in a noisy window: the low band's contrast (ecg_band.BandSwitch.contrasts) on the last
10-s window complete before the beat under NOISIER of the clearest this lead has shown in
the 3 min before (ecg_band.CLEAREST_S: 106 V1's burst 0.17-0.36 of its 56.9; 118e00's
0.30-0.49 of its 18.2). Remembered for ever, a lead whose QRS shrank for good (an electrode
re-seated) read noisy for the rest of the show; a shorter look-back would forget the clean
lead inside a long burst (NSTDB's come in 2-min stretches). Nor does the window's floor tell
a burst from a shrunk QRS: a lead's beat mix alone swings its QRS height 2x (MIT-BIH 106),
and 20 s after a change nothing does (tests/redteam/test_heart15.py). The beat's
own window is read only in a steady rhythm (a burst's first window, below): read always,
it lost a PVC of MIT-BIH 203's atrial fibrillation (0.30 s before the next beat, shape 0.71)
in a window at half the lead's clearest, as 118e00's burst's first is (the extra beats it
dropped read 0.32-0.80). Not under an absolute contrast (ecg_rhythm.CLEAN_CONTRAST): paced
and bundle-branch leads read under it all the time (MIT-BIH 107, 118), and with bigeminy
laid on them, where the detector had missed a run of PVCs the usual interval doubled and
the next PVCs went (118: 62 beats more lost at 0.6 coupling). An interpolated PVC with the
next sinus beat on time makes a pair without a pause, and in a noisy window it is lost as
ecg_rhythm loses it (the first of its shape: ecg_ectopic keeps those after it); in a lead as
clear as it was (MIT-BIH 100 with such PVCs: 22.8-29.6) it stays. What the contrast cannot
tell: a clean lead whose windows' contrast swings with the beats in them (QT Database 232,
sick sinus with pauses: 16-103, so its windows after the 103 read noisy; POOR keeps its
APCs). The rhythm's intervals are filed once their own window is judged (a beat comes out
after the window before its own is), noisy ones left out, so a burst's first 10 s do not
shorten it.

A burst's first window: the last complete window is clean, so its extra beats all got through
(118e00 at 30-40 s: 6 extra beats of its 35, HR +2.0 bpm). Where the clean windows' rhythm is steady (all
MEAN_BEATS intervals within STEADY of their median: 118's sinus 0.81-0.88 s), a close pair is
judged on its own window too, once that window is complete. Not in an irregular rhythm: a PVC of
MIT-BIH 203's atrial fibrillation (intervals 0.58-0.95 s) stands in a window at half the lead's
clearest, as 118e00's burst's first does (0.43), and went. 118e00: 5 of those 6 go and one
true beat (38.28 s, shape 0.67, beside a noise wave of 0.89), HR +2.0 -> +0.0 bpm.

Decisions depend on the beat sequence and the windows already judged alone, so streaming
still equals batch whatever the chunks. Latency: a beat of poor shape may wait for the next
two (about two intervals), and in a close pair in a steady rhythm for its own window to be
complete (up to CAL_S: once on the tuning records, 118e00's burst start); every other beat
passes at once.
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
# (whose windows' contrast swings 16-103 with the beats in them) 0.98. A beat of good shape
# is never dropped, so it goes out at once; a poor one waits for the two beats after it.
POOR = 0.8
# the usual interval (taken in clean windows) at most this many times the one the beats
# given out make: a heart that speeds up in a noisy stretch (106 V1's burst: 0.95 s taken
# before it, 0.78 s in it) must not turn its own beats into close pairs (1.2-1.5 give the
# same beats there; 1.7 and up lose 2 more true ones)
FOLLOW = 1.5
# a rhythm whose clean intervals all lie this close to their median is steady: a close pair in
# it is judged on its own window as well (118's sinus: 0.07 at most before the burst; 203's
# atrial fibrillation 0.44, where one outlier allowed, as ecg_rhythm's STEADY, reads 0.16)
STEADY = 0.1


class ClosePair:
    """Push an ECG stream's beats (in order), get them back less one of each close pair."""

    def __init__(self, bands, recurs):
        self.bands = bands  # ecg_band.BandSwitch: the windows' contrasts
        self.recurs = recurs  # ecg_ectopic.EctopicShapes.recurs: an ectopic shape seen before
        self.intervals: deque = deque(maxlen=MEAN_BEATS)  # the last ones in clean windows
        self.fresh: list[tuple[int, int]] = []  # (window, interval) given out, not yet filed
        self.prev: tuple[int, float, int] | None = None  # the last beat given out
        self.drop: int | None = None  # the last beat dropped (an interval across it: none)
        self.recent: deque = deque(maxlen=MEAN_BEATS)  # the last ones given out, any window
        self.held: list[tuple[int, float, int]] = []  # (idx, sqi, peak) waiting, in order

    def push(self, b: Beats) -> Beats:
        self.held.extend(zip(b.idx.tolist(), b.sqi.tolist(), b.peak.tolist()))
        out: list = []
        while self.held:
            verdict = self._judge()
            if verdict is None:
                break  # waits for a beat or a window's judgement
            if verdict < 0:
                self._give(self.held.pop(0), out)
            else:
                self.drop = self.held.pop(verdict)[0]
        return self._beats(out)

    def waiting(self) -> int | None:
        """The stream index of the first beat held back (None: none is)."""
        return self.held[0][0] if self.held else None

    def finish(self) -> Beats:
        out: list = []
        for a in self.held:
            self._give(a, out)
        self.held = []
        return self._beats(out)

    def _judge(self) -> int | None:
        """-1: the first held beat goes out; k: held[k] is dropped; None: wait for beats.
        A close pair with the beat given out before (back) was judged when that one was
        held, unless it went out at once (good shape): then it is judged here."""
        a = self.held[0]
        if a[1] >= POOR:
            return -1
        w = a[0] // self.bands.size
        self._file(w)
        if len(self.intervals) < MEAN_BEATS:
            return -1
        if len(self.held) < 2:
            return None
        usual, b = self._usual(), self.held[1]
        back = self.prev is not None and a[0] - self.prev[0] < CLOSE * usual
        if not back and b[0] - a[0] >= CLOSE * usual:
            return -1
        if len(self.held) < 3:
            return None
        if back:
            if b[0] - self.prev[0] >= PAUSE * usual or self.prev[1] < a[1]:
                back = False
        fore = not back and b[0] - a[0] < CLOSE * usual and self.held[2][0] - a[0] < PAUSE * usual
        if not (back or fore):
            return -1
        if not self._noisy(w - 1):
            if not self._steady():
                return -1
            if w >= len(self.bands.contrasts):
                return None  # waits for its own window's judgement
            if not self._noisy(w):
                return -1
        k = 0 if back or a[1] < b[1] else 1
        # the poorer an ectopic shape seen before (ecg_ectopic): a beat, keep it
        return -1 if self.recurs(self.held[k][0]) else k

    def _steady(self) -> bool:
        """Every clean window's interval within STEADY of their median."""
        med = _median(self.intervals)
        return max(abs(v - med) for v in self.intervals) <= STEADY * med

    def _noisy(self, w: int) -> bool:
        c = self.bands.contrasts
        if w < 0 or w >= len(c):
            return False
        return c[w] < NOISIER * self.bands.clearest_before(w)

    def _file(self, w: int) -> None:
        """The intervals given out in windows before w, into the rhythm where clean."""
        k = 0
        while k < len(self.fresh) and self.fresh[k][0] < w:
            if not self._noisy(self.fresh[k][0]):
                self.intervals.append(self.fresh[k][1])
            k += 1
        del self.fresh[:k]

    def _usual(self) -> float:
        """The clean windows' usual interval, at most FOLLOW times the recent beats'."""
        return min(_half_sum(self.intervals), FOLLOW * _half_sum(self.recent))

    def _give(self, a: tuple[int, float, int], out: list) -> None:
        self._file(a[0] // self.bands.size)  # (so `fresh` holds one window's at most)
        if self.prev is not None and not (self.drop is not None
                                          and self.prev[0] < self.drop < a[0]):
            self.fresh.append((a[0] // self.bands.size, a[0] - self.prev[0]))
            self.recent.append(a[0] - self.prev[0])
        self.prev = a
        out.append(a)

    @staticmethod
    def _beats(out: list) -> Beats:
        if not out:
            return _EMPTY
        idx, sqi, peak = zip(*out)
        return Beats(np.array(idx, np.int64), np.array(sqi), np.array(peak, np.int64))


def _half_sum(intervals) -> float:
    """Half the median sum of two successive intervals (bigeminy's at their average)."""
    v = list(intervals)
    return _median([p + q for p, q in zip(v, v[1:])]) / 2
