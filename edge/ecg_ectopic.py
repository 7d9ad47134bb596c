"""ECG: an early beat whose shape an earlier early beat of this lead had is a beat.

ecg_rhythm and ecg_pair drop an early beat of poor shape (unlike the recent beats) where the
lead is noisy, since electrode motion and muscle noise make such waves; in a paced or
bundle-branch lead, which reads as noisy even when clean, they dropped interpolated PVCs too
(red team: MIT-BIH 109 with 119's PVCs, 18 of 20). An ectopic focus makes the same complex
each time it fires, while noise's waves are rarely alike: an early beat of poor shape whose
slope (the raw signal's first difference, less its least-squares line: baseline wander and
electrode motion's slow waves make any two raw windows alike, 0.985 on NSTDB 118e06) over
PRE before it to POST after correlates at MATCH or more, at some lag up to LAG, with one of
the last LIBRARY such beats' recurs, and those stages keep it. The first PVC of a kind may
still go; those after it stay. On the tuning records' early beats of poor shape, those of
noise (NSTDB 118e06, e00, MIT-BIH 101, 106 V1: 36) reach 0.83 at most; 103 of 191 true
ones (most on MIT-BIH 119, 106, 116, QT Database 233, 107) reach 0.9.

An artefact of fixed shape matches its own copies (slope correlation ~1): an electrode tap,
a TENS burst, a muscle twitch (red team 15b: MIT-BIH 105 with taps at half the QRS height,
extra beats 43 -> 55 with the stage on). Two things tell them from a focus: its copies fire
at their own times, so their coupling (interval from the beat before) wanders while a
focus's PVCs keep theirs: at least COUPLED of the alike shapes must have come within NEAR of
this one's coupling (taps on 105: 14 % of such beats pass, 119's PVCs 95 %, 106's 91 %, QT
233's 100 %, but 107's 33 %); and a TENS pulse's slope has its energy over FAST Hz (99 %;
real PVCs' 32 % at most). Over MIT-BIH 100, 105, 106, 116, 119, 123 x tap/TENS/twitch x
0.15/0.3/0.5 of the QRS x none/+6/0 dB the stage's extra beats went 126 -> 22, the true
beats it saves 29 -> 14.

Every beat the band detectors give is looked at here, in order, before those stages drop
any: early (under EARLY of the median of the last GAPS intervals) and of poor shape (sqi
under POOR, the highest either stage drops) puts its window in the library. The beats wait
here until the window has all come in (POST + LAG after an early beat at most), so
streaming equals batch.

ecg_band's rhythm test takes 20-45 Hz for a noisy window where that band keeps the rhythm
the low band's extra beats break, as electrode motion's waves do; wide PVCs in bigeminy,
with little energy over 20 Hz, vanish there too (red team: MIT-BIH 118 with 119's PVCs at
0.5 coupling, 50 of 120 lost). `shared_shape` tells them apart: two of the beats only the
low band found share a shape. On the tuning records the test took 20-45 Hz on NSTDB
118e12, e06, e00 (6 windows; one such beat each, but 118e00's 8, alike at 0.71 at most)
and one QT Database 233 window (none), all as before.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from empathy.edge.heart_beats import _EMPTY, Beats, _median
from empathy.edge.sample_tail import Tail

EARLY = 0.8  # an interval under this many recent ones is early
GAPS = 8  # the intervals the recent one is taken from
POOR = 0.8  # ecg_pair's POOR (ecg_rhythm's SHAPE is 0.75)
PRE, POST, LAG = 0.1, 0.2, 0.04  # the window around a beat (s), and how far it may shift
LIBRARY = 16  # the last early beats' shapes kept
MATCH = 0.9  # a correlation this high with one of them: the same focus
HISTORY_S = 30.0  # raw samples kept: more than a beat lags the samples it is found in
# what recurs is kept while a later stage may still ask: they hold 2 beats each at most
# between pushes, of the last ones given out here
ASKED_WITHIN = 16
# a focus fires at its coupling to the beat before; a tap, a TENS burst or a twitch keeps its
# own time: at least COUPLED of the alike shapes came within NEAR (s) of this one's coupling
NEAR, COUPLED = 0.04, 0.5
FAST = 30.0  # Hz: a QRS's slope has most of its energy under this; a TENS pulse's does not


def _unit(w: np.ndarray) -> np.ndarray:
    """The rows of w less their least-squares lines, each scaled to unit norm."""
    t = np.arange(w.shape[-1]) - (w.shape[-1] - 1) / 2
    w = w - w.mean(-1, keepdims=True)
    w = w - np.outer(w @ t / (t @ t), t).reshape(w.shape)
    return w / np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-12)


class EctopicShapes:
    """Push an ECG stream's raw samples with the beats found so far; ask recurs(idx)."""

    def __init__(self, fs: float):
        s = lambda sec: int(round(sec * fs))  # noqa: E731
        self.pre, self.post, self.lag = s(PRE), s(POST), s(LAG)
        self.keep = s(HISTORY_S)
        self.tail = Tail(self.keep)  # the raw samples kept (`x`)
        self.n = 0  # samples pushed so far; x ends there
        self.gaps: deque = deque(maxlen=GAPS)
        self.last: int | None = None
        self.library: deque = deque(maxlen=LIBRARY)  # unit windows, oldest first
        self.coupling: deque = deque(maxlen=LIBRARY)  # their intervals from the beat before
        self.near = s(NEAR)
        self.fs = fs
        self.recurring: set[int] = set()  # early beats that matched, until ASKED_WITHIN
        self.given: deque = deque(maxlen=ASKED_WITHIN)  # the last beats given out
        self.held: list[tuple[int, float, int, int]] = []  # (idx, sqi, peak, coupling
        # if to be judged, else 0)

    def push(self, x: np.ndarray, b: Beats, final: bool = False) -> Beats:
        """Take the samples, then the beats found in them; give the beats back once each
        early one's window has come in (all of them when `final`)."""
        if len(self.given) == ASKED_WITHIN:  # (not on what a push gives: batch equals stream)
            self.recurring = {i for i in self.recurring if i >= self.given[0]}
        self.n += x.size
        seen = None  # the samples kept and this push's, joined once a beat is judged
        for i, q, p in zip(b.idx.tolist(), b.sqi.tolist(), b.peak.tolist()):
            gap = None if self.last is None else i - self.last
            early = bool(gap) and len(self.gaps) == GAPS and gap < EARLY * _median(self.gaps)
            self.held.append((i, q, p, gap if early and q < POOR else 0))
            if gap:
                self.gaps.append(gap)
            self.last = i
        k = 0
        for i, _, _, judge in self.held:
            if judge:
                if i + self.post + self.lag >= self.n and not final:
                    break  # its window is not all in yet
                if seen is None:
                    seen = np.concatenate((self.tail.x(), x))
                self._judge(seen, i, judge)
            k += 1
        out, self.held = self.held[:k], self.held[k:]
        self.tail.push(x)  # (after judging: a long push's first beats need it all)
        self.given.extend(i for i, *_ in out)
        if not out:
            return _EMPTY
        idx, sqi, peak, _ = zip(*out)
        return Beats(np.array(idx, np.int64), np.array(sqi), np.array(peak, np.int64))

    @property
    def x(self) -> np.ndarray:
        """The raw samples kept, the last HISTORY_S (they end at sample n)."""
        return self.tail.x()

    def recurs(self, i: int) -> bool:
        return i in self.recurring

    def _judge(self, x: np.ndarray, i: int, gap: int) -> None:
        """Beat i of x (which ends at sample n), `gap` after the beat before."""
        w = _slope(x, i - (self.n - len(x)), self.pre, self.post, self.lag)
        if w is None:
            return  # (at a recording's edges, its window cut: not judged)
        if self.library and _slow(w[self.lag:len(w) - self.lag], self.fs):
            alike = _rows(w, self.lag, np.array(self.library)) >= MATCH
            same = np.abs(np.array(self.coupling) - gap) <= self.near
            if alike.any() and np.sum(alike & same) >= COUPLED * np.sum(alike):
                self.recurring.add(i)
        self.library.append(_unit(w[None, self.lag:len(w) - self.lag])[0])
        self.coupling.append(gap)


def _slope(x: np.ndarray, i: int, pre: int, post: int, lag: int) -> np.ndarray | None:
    """x's first difference from pre + lag before i to post + lag after (None: cut)."""
    a, z = i - pre - lag, i + post + lag + 1
    return np.diff(x[a - 1:z]) if a >= 1 and z <= len(x) else None


def _slow(w: np.ndarray, fs: float) -> bool:
    """Whether most of w's energy lies under FAST Hz, as a QRS's slope's does."""
    p = np.abs(np.fft.rfft(w - w.mean())) ** 2
    return p[np.fft.rfftfreq(len(w), 1 / fs) > FAST].sum() < 0.5 * p.sum()


def _rows(w: np.ndarray, lag: int, library: np.ndarray) -> np.ndarray:
    """The highest correlation of w's middle, at any lag up to `lag`, with each library row."""
    return (_unit(sliding_window_view(w, len(w) - 2 * lag)) @ library.T).max(0)


def _best(w: np.ndarray, lag: int, library: np.ndarray) -> float:
    """The highest correlation with any library row."""
    return float(_rows(w, lag, library).max())


def shared_shape(x: np.ndarray, fs: float, low: np.ndarray, high: np.ndarray) -> bool:
    """Whether two of the beats `low` found in x and `high` did not (none within LAG + PRE)
    share a shape (MATCH): ecg_band's rhythm test, where wide PVCs in bigeminy vanish from
    20-45 Hz as noise's waves do."""
    pre, post, lag = (int(round(s * fs)) for s in (PRE, POST, LAG))
    lone = [i for i in low.tolist() if not high.size or np.min(np.abs(high - i)) > pre + lag]
    ws = [w for w in (_slope(x, i, pre, post, lag) for i in lone) if w is not None]
    rows = [_unit(w[None, lag:len(w) - lag])[0] for w in ws]
    return any(_best(w, lag, np.array(rows[:k] + rows[k + 1:])) >= MATCH
               for k, w in enumerate(ws) if len(rows) > 1)
