"""PPG beats while the hand moves, placed where the tracked heart rate expects them.

Experimental, as edge/ppg_track.py is: given beside the detector's beats, never for them.

The beat detector (edge/heart.py) takes the PPG's tallest waves for beats; while a wrist
moves, those are the movement's. The spectral tracker (edge/ppg_track.py) reads the
heart's rate from the PPG and the accelerometer together. Here the rate guides the beats:

- the PPG is band-passed (causal, GUIDE_BAND_HZ) and its local maxima are the candidate
  pulses, moved back by the filter's delay,
- from the last beat b, with the tracker's period P there, the next beat is the candidate
  in [b + LO P, b + HI P] with the best score: its height (over the tallest candidate of
  the last HEIGHT_BEATS periods) less CLOSE times the squared distance from b + P in
  periods (CLOSE is large: the rhythm places the beat, a pulse within a few % of a period
  of it sets its phase). Where no candidate lies in that reach, the beat is put at b + P
  (the heart did beat; its pulse drowned in the movement),
- in a hop where the accelerometer is still, the chain follows the detector's beats, and
  their offset from their candidates (the band-passed wave peaks before the pulse) is
  added to the guided beats' times (median of the last OFFSETS),
- the detector's beats are kept as they are in a still hop (a still hand's beats stay bit
  for bit the detector's); in a moving hop the guided ones replace them.

`GuidedPpg` is one stream (PPG chunks and the accelerometer's chunks in, beats out once
settled); `guided_beats` runs the same code over a whole recording.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import signal

from empathy.edge.heart import METHODS, BeatStream
from empathy.edge.heart_beats import _median
from empathy.edge.ppg_track import HrTracker

GUIDE_BAND_HZ = (0.5, 4.0)
LO, HI = 0.65, 1.35
CLOSE = 50.0
HEIGHT_BEATS = 4
REFINE_S = METHODS["ppg"].refine_s  # a detector beat and its candidate lie this close
OFFSETS = 8  # still beats whose offset from their candidate places the guided ones


class GuidedPpg:
    """One PPG stream with its accelerometer: `add_acc(samples, fs_hz)` (mG, one or more
    axes, the same start as the PPG) before `push(ppg)` of the same stretch; returns the
    settled beats' sample indices (int64) and whether each fell in a moving window."""

    def __init__(self, fs_hz: float):
        self.fs = float(fs_hz)
        self.detector = BeatStream(fs_hz, "ppg")
        self.tracker = HrTracker(fs_hz)
        self.sos = signal.butter(2, GUIDE_BAND_HZ, "bandpass", fs=fs_hz, output="sos")
        self.zi = None
        self.delay = sum(signal.group_delay((s[:3], s[3:]), w=[1.3], fs=fs_hz)[1][0]
                         for s in self.sos) / fs_hz  # s, at a typical rate
        self.tail = np.zeros(0)  # the filtered PPG's last two samples (a peak needs both)
        self.offsets: deque = deque(maxlen=OFFSETS)  # detector beat less its candidate (s)
        self.n = 0
        self.cand: list[tuple[float, float]] = []  # (time s, height) of recent candidates
        self.windows: list[tuple[float, float, bool]] = []  # (end s, HR bpm, moving)
        self.estimates: list[tuple] = []  # the tracker's own (end sample, HR, moving, sure)
        self.guided: list[float] = []  # guided beats not yet emitted (s)
        self.last: float | None = None  # the last guided beat (s)
        self.found: list[tuple[float, int]] = []  # detector beats not yet emitted (s, idx)
        self.recent: list[float] = []  # the detector's beats (s) the chain may anchor on
        self.done = -np.inf  # beats up to here were emitted

    def add_acc(self, samples, fs_hz: float) -> None:
        self.tracker.add_acc(samples, fs_hz)

    def push(self, samples) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if not x.size:
            return np.zeros(0, np.int64), np.zeros(0, bool)
        b = self.detector.push(x)  # first: it raises on NaN
        self.found += [(i / self.fs, int(i)) for i in b.idx]
        self.recent += [i / self.fs for i in b.idx]
        est = self.tracker.push(x)
        self.estimates += est
        self.windows += [(n / self.fs, hr, m) for n, hr, m, _ in est]
        self._candidates(x)
        self.n += len(x)
        self._guide()
        return self._emit((self.n / self.fs) - self.detector.latency_s - 2 * HI * 60 / 40)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        b = self.detector.finish()
        self.found += [(i / self.fs, int(i)) for i in b.idx]
        return self._emit(np.inf)

    def _candidates(self, x: np.ndarray) -> None:
        if self.zi is None:
            self.zi = signal.sosfilt_zi(self.sos) * x[0]
        y, self.zi = signal.sosfilt(self.sos, x, zi=self.zi)
        y = np.concatenate((self.tail, y))
        first = self.n - len(self.tail)  # sample index of y[0]
        k = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:])) + 1
        self.cand += [((first + i) / self.fs - self.delay, float(y[i])) for i in k]
        self.tail = y[-2:]
        horizon = self.n / self.fs - 4 * HEIGHT_BEATS * 60 / 40  # the slowest periods
        while self.cand and self.cand[0][0] < horizon and self.cand[0][0] < (self.last or 0):
            self.cand.pop(0)
        while self.recent and self.recent[0] < (self.last or 0):
            self.recent.pop(0)

    def _period(self, t: float) -> float | None:
        """The tracker's period (s) for time t: the first window that ends at or after t."""
        for end, hr, _ in self.windows:
            if end >= t:
                return 60.0 / hr
        return None

    def _guide(self) -> None:
        if not self.windows or not self.cand:
            return
        if self.last is None:  # the first: the tallest pulse of the first window
            first = [c for c in self.cand if c[0] <= self.windows[0][0]]
            if not first:
                return
            self.last = max(first, key=lambda c: c[1])[0]
            self.guided.append(self.last)
        now = self.n / self.fs - self.delay
        while True:
            b = self.last
            p = self._period(b)
            if p is None or now < b + HI * p:
                return  # the rate there or the whole reach is not known yet
            moving = self._moving(b + p)
            if moving is None:
                return
            if not moving:  # a still hand: the detector's next beat, once it is final
                final = self.n / self.fs - self.detector.latency_s
                nxt = next((d for d in self.recent if d > b + LO * p), None)
                if nxt is not None and nxt <= final:
                    self._anchor(nxt)
                    continue
                if final < b + HI * p:
                    return
            near = [c for c in self.cand if b - HEIGHT_BEATS * p <= c[0] <= b]
            top = max((abs(h) for _, h in near), default=0.0) or 1.0
            reach = [c for c in self.cand if b + LO * p < c[0] < b + HI * p]
            if reach:
                t = max(reach, key=lambda c: c[1] / top - CLOSE * ((c[0] - b - p) / p) ** 2)[0]
            else:
                t = b + p
            self.last = t
            self.guided.append(t + (_median(self.offsets) if self.offsets else 0.0))

    def _anchor(self, beat: float) -> None:
        """The chain goes on from the detector's beat: from its candidate, whose offset
        from the beat (the band-passed wave peaks before the pulse) places the guided
        beats while the hand moves; from the beat itself if it has none."""
        c = min(self.cand, key=lambda c: abs(c[0] - beat), default=None)
        if c is not None and abs(c[0] - beat) <= REFINE_S:
            self.offsets.append(beat - c[0])
            beat = c[0]
        self.last = beat

    def _moving(self, t: float) -> bool | None:
        """Whether the hand moved in the hop holding t (None: not known yet)."""
        for end, _, m in self.windows:
            if end >= t:
                return m
        return None

    def _emit(self, upto: float) -> tuple[np.ndarray, np.ndarray]:
        """The beats up to `upto` s: the detector's where the window was still, the guided
        ones where it moved (a beat past the last window: still, as without a tracker; that
        happens only at the end, `finish`: until then a beat waits for its window)."""
        if upto < np.inf:
            upto = min(upto, self.windows[-1][0] if self.windows else -np.inf)
        out: list[tuple[float, bool]] = []
        while self.found and self.found[0][0] <= upto:
            t, i = self.found.pop(0)
            if not self._moving(t):
                out.append((i, False))
        while self.guided and self.guided[0] <= upto:
            t = self.guided.pop(0)
            if self._moving(t) and t > self.done:
                out.append((int(round(t * self.fs)), True))
        self.done = max(self.done, min(upto, self.n / self.fs))
        old = min(self.done, self.last if self.last is not None else -np.inf)
        while len(self.windows) > 1 and self.windows[0][0] < old:  # bounded memory
            self.windows.pop(0)
        out.sort()
        return (np.array([i for i, _ in out], np.int64), np.array([m for _, m in out], bool))


def guided_beats(ppg, fs_hz: float, acc, acc_fs_hz: float | None = None,
                 estimates: list | None = None):
    """A whole recording's beats (sample indices) and moving flags, fed hop by hop as a
    stream would be (the same code). `acc` (mG, (n,) or (n, axes)) starts with the PPG.
    `estimates`, a list: the tracker's windows are added to it, as `track_hr` gives them
    (end sample, HR, moving, sure), so a caller wanting both runs the tracker once."""
    x = np.asarray(ppg, dtype=np.float64).ravel()
    a = np.asarray(acc, dtype=np.float64)
    g, afs = GuidedPpg(fs_hz), acc_fs_hz or fs_hz
    hop = g.tracker.hop
    parts = []
    for i in range(0, len(x), hop):
        g.add_acc(a[round(i / fs_hz * afs):round((i + hop) / fs_hz * afs)], afs)
        parts.append(g.push(x[i:i + hop]))
    parts.append(g.finish())
    if estimates is not None:
        estimates += g.estimates
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
