"""Skin conductance (EDA): tonic level and phasic responses (SCRs), streaming.

`EdaStream(fs_hz).push(samples_us)` returns the skin conductance responses it is sure of
so far, identical whatever the chunk sizes; `eda_scrs(x, fs_hz)` runs the very same code
over a whole recording and then applies the one rule only a whole recording allows:
NeuroKit2's relative floor, 10 % of the recording's largest response (batch = the
stream's responses less those under it; `whole=False` gives the stream's exactly).

How (the high-pass method of Biopac's AcqKnowledge with NeuroKit2's definitions of a
response and its onset, made to run on a live stream with a look-ahead):
1. anti-alias: a causal 4th-order Butterworth low-pass at 8 Hz, state carried between
   chunks, then every `step`-th sample (about 32 Hz; an SCR rises over a second or more);
   its delay is taken off the times.
2. every second (at fixed sample counts, so the chunking never matters) the last
   `WINDOW_S` are cleaned (zero-phase low-pass at 3 Hz) and split (zero-phase high-pass at
   0.05 Hz: the phasic part; the tonic level is the rest);
3. in the phasic part a response is a peak whose prominence reaches `MIN_AMP_US` and
   `REL_AMP` of the largest: the window's, or the second largest response given out in
   the last `REL_MEMORY_S` if larger (NeuroKit2: of the whole recording, which a stream
   cannot know, so `eda_scrs` applies that after the stream; a window alone let ripples
   after a large response count); its onset is the nearest trough before it (NeuroKit2's
   definition, not a threshold crossing). A second's worth of peaks is judged once, when
   it is `LOOKAHEAD_S` old: the zero-phase high-pass reaches that far ahead, and with less
   the phasic part, so the trough that is the onset, is not yet NeuroKit2's (a 4-s
   look-ahead agreed on 10 of 17 onsets of a 4-min recording; docs/signal-validation.md).
Each SCR: onset and peak (sample index from the start of the stream), amplitude (peak
minus onset in the phasic part, µS), rise time s, prominence µS. Latency: `lookahead_s`
+ 1 s after the peak (20 s by default; a caller that needs responses sooner passes less
and agrees less).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import NamedTuple

import numpy as np
from scipy import signal

from empathy.edge.latency import EDA_RATE_WINDOW_S
from empathy.edge.timebase import SampleClock

ALIAS_HZ = 8.0
CLEAN_HZ = 3.0
TONIC_HZ = 0.05
INNER_HZ = 32.0  # rate the responses are looked for at
WINDOW_S = 60.0
# the zero-phase high-pass at TONIC_HZ reaches one period (20 s) into the future: the
# phasic part at a moment, and so which trough is an onset, is only settled that much later
LOOKAHEAD_S = 1.0 / TONIC_HZ
BLOCK_S = 1.0
MIN_AMP_US = 0.01  # the usual floor for an SCR (Boucsein 2012)
REL_AMP = 0.1  # of the largest response (NeuroKit2's relative height)
# ...that is, the larger of the window's largest and the second largest response given out
# in the last REL_MEMORY_S: a show has seen that much (NeuroKit2 takes the whole
# recording's largest), and one artefact alone never raises the floor for ten minutes
REL_MEMORY_S = 600.0
REL_RANK = 2
REFRACTORY_S = 0.5  # one response per peak, whichever window saw it
RANGE_US = (0.0, 100.0)


class Scrs(NamedTuple):
    onset: np.ndarray  # sample index of the trough the response rose from (int64)
    peak: np.ndarray  # sample index of its peak
    amp_us: np.ndarray
    rise_s: np.ndarray
    prom_us: np.ndarray  # its prominence in the phasic part: the relative floor's measure


class _Sos(NamedTuple):
    sos: np.ndarray
    zi: np.ndarray  # steady-state initial conditions, worked out once (not every second)
    edge: int  # scipy's default padding length


def _sos(order: int, hz: float, btype: str, fs: float) -> _Sos:
    sos = signal.butter(order, hz, btype, fs=fs, output="sos")
    zeros = min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum())
    return _Sos(sos, signal.sosfilt_zi(sos), 3 * (2 * len(sos) + 1 - int(zeros)))


def _filtfilt(f: _Sos, x: np.ndarray) -> np.ndarray:
    """scipy's `sosfiltfilt` with its default (odd) padding, as NeuroKit2 calls it, step
    for step and so to the same numbers; along the last axis, so that many windows of one
    length go through scipy in one call (each row filtered on its own, bit for bit as alone)."""
    n = f.edge
    ext = np.concatenate((2 * x[..., :1] - x[..., n:0:-1], x,
                          2 * x[..., -1:] - x[..., -2:-n - 2:-1]), axis=-1)
    y, _ = signal.sosfilt(f.sos, ext, zi=_zi(f, ext[..., 0]))
    y = y[..., ::-1]
    y, _ = signal.sosfilt(f.sos, y, zi=_zi(f, y[..., 0]))
    return y[..., ::-1][..., n:-n]


def _zi(f: _Sos, first: np.ndarray) -> np.ndarray:
    """Steady-state conditions for rows starting at `first`: (sections, rows..., 2)."""
    return f.zi.reshape(len(f.zi), *(1,) * first.ndim, 2) * first[None, ..., None]


def _join(parts: list[Scrs]) -> Scrs:
    if not parts:
        return Scrs(np.zeros(0, np.int64), np.zeros(0, np.int64), *(np.zeros(0),) * 3)
    return Scrs(*(np.concatenate([getattr(p, f) for p in parts]) for f in Scrs._fields))


class EdaStream:
    """Streaming SCR detection and tonic level for one EDA channel (µS)."""

    def __init__(self, fs_hz: float, lookahead_s: float = LOOKAHEAD_S,
                 rel_memory_s: float = REL_MEMORY_S):
        if not (1.0 <= fs_hz <= 10000 and math.isfinite(fs_hz)):
            raise ValueError(f"EDA at {fs_hz:g} Hz: need 1..10000 Hz")
        if not (0.0 <= lookahead_s <= WINDOW_S / 2):
            raise ValueError(f"EDA look-ahead {lookahead_s:g} s: need 0..{WINDOW_S / 2:g} s")
        if not (0.0 <= rel_memory_s <= 86400):
            raise ValueError(f"EDA relative-floor memory {rel_memory_s:g} s: need 0..86400 s")
        self.fs = float(fs_hz)
        self.step = max(1, int(self.fs // INNER_HZ))
        self.inner = self.fs / self.step
        self.alias = (signal.butter(4, ALIAS_HZ, "lowpass", fs=self.fs, output="sos")
                      if self.fs >= 3 * ALIAS_HZ else None)
        self.zi = None
        self.delay = 0  # samples: the anti-alias filter's group delay at 0.1 Hz
        if self.alias is not None:
            b, a = signal.sos2tf(self.alias)
            self.delay = int(round(signal.group_delay((b, a), w=[0.1], fs=self.fs)[1][0]))
        self.clean = (_sos(4, CLEAN_HZ, "lowpass", self.inner)
                      if self.inner > 2 * CLEAN_HZ else None)
        self.split = _sos(2, TONIC_HZ, "highpass", self.inner)
        self.min_len = 1 + max(f.edge for f in (self.clean, self.split) if f is not None)
        self.keep = int(WINDOW_S * self.inner)
        self.buf = np.zeros(0)  # the last `keep` inner samples, newest last
        self.buf_end = 0  # inner index just past the newest sample in buf
        self.block = max(1, int(round(BLOCK_S * self.inner)))
        self.ahead = int(round(lookahead_s * self.inner))
        self.judged = 0  # inner samples before this index have been judged
        self.n = 0  # samples consumed
        self.tonic = math.nan
        self.level = math.nan  # the last (anti-aliased) value
        self.count = 0
        self.last_peak = -(10**12)  # inner index of the last response given out
        self.refractory = int(REFRACTORY_S * self.inner)
        # the relative floor's reference: the responses given out in the last rel_memory_s
        # (0: the window's largest only)
        self.memory = int(rel_memory_s * self.inner)
        self.largest: deque = deque()  # (inner index when judged, prominence µS)

    def push(self, samples) -> Scrs:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size and not np.isfinite(x).all():
            raise ValueError("EDA has NaN or infinite samples")
        if not x.size:
            return _join([])
        if self.alias is not None:
            if self.zi is None:
                self.zi = signal.sosfilt_zi(self.alias) * x[0]
            y, self.zi = signal.sosfilt(self.alias, x, zi=self.zi)
        else:
            y = x
        first = (-self.n) % self.step  # global indices that are multiples of step
        vals = y[first::self.step]
        self.n += x.size
        if not vals.size:
            return _join([])
        full = np.concatenate((self.buf, vals))
        base = self.buf_end - len(self.buf)  # inner index of full[0]
        # every second, at fixed sample counts (so chunking never matters), a window ends
        ends = range((self.buf_end // self.block + 1) * self.block,
                     self.buf_end + len(vals) + 1, self.block)
        wins = [full[max(0, e - self.keep - base):e - base] for e in ends]
        split = self._split_windows(wins)
        out = [self._judge(w, e, split.get(i)) for i, (w, e) in enumerate(zip(wins, ends))]
        self.buf = full[-self.keep:]
        self.buf_end += len(vals)
        self.level = float(vals[-1])
        return _join(out)

    def _split_windows(self, wins: list) -> dict:
        """(clean, phasic) of every full-length window, through scipy in batches of rows:
        the same numbers as one at a time, without scipy's overhead per call."""
        full = [i for i, w in enumerate(wins) if len(w) == self.keep and self.keep >= max(
            3 * self.block, self.min_len)]
        out = {}
        for k in range(0, len(full), 256):  # rows per call: bounded memory
            rows = full[k:k + 256]
            clean, phasic = self._split(np.stack([wins[i] for i in rows]))
            out.update({i: (clean[j], phasic[j]) for j, i in enumerate(rows)})
        return out

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # scipy's default (short, odd) padding, as NeuroKit2 filters: at the stream's start
        # the same edge as its; at the live end the look-ahead of real signal stands in
        clean = _filtfilt(self.clean, x) if self.clean is not None else x
        return clean, _filtfilt(self.split, clean)

    def settled(self) -> int:
        """Raw sample index before which every response has been given out."""
        return max(0, self.judged * self.step - self.delay)

    def finish(self) -> Scrs:
        """End of recording: judge what the look-ahead was still holding back."""
        return self._judge(self.buf, self.buf_end, None, final=True)

    def _judge(self, x: np.ndarray, end: int, split, final: bool = False) -> Scrs:
        """Look at the window x (ending at inner index `end`; `split` its clean and phasic
        parts if worked out already); keep the peaks that are now LOOKAHEAD_S old, once."""
        start = end - len(x)  # inner index of x[0]
        lo, hi = max(self.judged, start), end - (0 if final else self.ahead)
        if len(x) < max(3 * self.block, self.min_len):
            return _join([])
        clean, phasic = split if split is not None else self._split(x)
        self.tonic = float(clean[-1] - phasic[-1])  # the level now: no onset waits on it
        if hi <= lo:
            return _join([])
        self.judged = hi
        peaks, _ = signal.find_peaks(phasic)
        if not len(peaks):
            return _join([])
        prom = signal.peak_prominences(phasic, peaks)[0]
        now = (peaks + start >= lo) & (peaks + start < hi)  # settled: judged this time
        for m in prom[now & (prom >= MIN_AMP_US)].tolist():
            self.largest.append((end, m))
        while self.largest and self.largest[0][0] < end - self.memory:
            self.largest.popleft()
        seen = heapq.nlargest(REL_RANK, (m for _, m in self.largest))
        ref = max([float(prom.max())] + seen[REL_RANK - 1:])
        keep = (prom >= MIN_AMP_US) & (prom >= REL_AMP * ref)
        troughs, _ = signal.find_peaks(-phasic)
        to_raw = lambda i: max(0, (i + start) * self.step - self.delay)  # noqa: E731
        out = []
        for p, m in zip(peaks[keep & now].tolist(), prom[keep & now].tolist()):
            before = troughs[troughs < p]
            if not len(before) or p + start <= self.last_peak + self.refractory:
                continue  # no trough yet, or the same response seen in a shifted window
            o = int(before[-1])
            self.last_peak = p + start
            out.append((to_raw(o), to_raw(p), phasic[p] - phasic[o], (p - o) / self.inner, m))
        self.count += len(out)
        if not out:
            return _join([])
        a = np.array(out)
        return Scrs(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), *a[:, 2:].T)


def eda_scrs(x, fs_hz: float, lookahead_s: float = LOOKAHEAD_S,
             rel_memory_s: float = REL_MEMORY_S, whole: bool = True) -> Scrs:
    """Every SCR of a whole recording (for analysing a recorded one; bench/bench_eda).

    The streaming code in one call (then `finish`), and, with `whole`, NeuroKit2's relative
    floor, which only a whole recording can apply: batch = the stream's responses less
    those whose prominence is under `REL_AMP` of the largest response's (as the stream
    judged them, each in its window). A filter of the stream's output, so the batch's
    responses are a subset of the live show's, with the same onsets and sizes.
    `whole=False`: the live stream's responses exactly, whatever the chunking."""
    s = EdaStream(fs_hz, lookahead_s, rel_memory_s)
    out = _join([s.push(x), s.finish()])
    if not whole or not len(out.prom_us):
        return out
    return Scrs(*(f[out.prom_us >= REL_AMP * out.prom_us.max()] for f in out))


class EdaWindow:
    """What a seat's EDA says now: tonic level, the responses of the last minute, and how
    far the signal can be trusted; fed with one stream's chunks by edge/features.py
    (`fits` first, by the time base's rule: a short gap bridged, a step of the clock
    taken with every time held here moved, a lone bad stamp taken as right)."""

    RATE_WINDOW_S = EDA_RATE_WINDOW_S
    QUALITY_WINDOW_S = 10.0

    def __init__(self, fs_hz: float, t0_us: int, slip_s: float = 0.5):
        self.stream = EdaStream(fs_hz)
        self.fs = fs_hz
        self.clock = SampleClock(fs_hz, t0_us, slip_s)  # the device's rate is a few % off
        self.scrs: deque = deque()  # (onset_us, peak_us, amp_us, rise_s)
        self.chunks: deque = deque()  # (end_us, samples, good samples, range µS) for quality
        self.rejected = 0

    def fits(self, fs_hz: float, ts_us: float, samples) -> bool:
        """The chunk goes on this stream (`SampleClock.admit`); False: start afresh."""
        return self.clock.admit(fs_hz, ts_us, samples, np.size(samples), self._push,
                                self._settled) is not None

    def _settled(self, what: str, step_us: float) -> None:
        if what == "step":
            self.shift(step_us)

    def shift(self, step_us: float) -> None:
        """The clock stepped (its own, `SampleClock.step`): the times held here move too."""
        self.scrs = deque((o + step_us, p + step_us, a, r) for o, p, a, r in self.scrs)
        self.chunks = deque((e + step_us, *c) for e, *c in self.chunks)

    def add(self, ts_us: int, samples: np.ndarray) -> None:
        """One chunk stamped `ts_us` (its first sample), unless the clock holds it (`fits`)."""
        if not self.clock.holds(samples):
            self._push(samples, ts_us)

    def _push(self, samples: np.ndarray, ts_us: float) -> None:
        x = np.asarray(samples, dtype=np.float64)
        good = np.isfinite(x) & (x >= RANGE_US[0]) & (x <= RANGE_US[1])
        self.clock.follow(ts_us, len(x))
        self.chunks.append((self.clock.expected_us(), len(x), int(good.sum()),
                            float(np.ptp(x[good])) if good.any() else 0.0))
        if not good.all():
            self.rejected += int((~good).sum())
            x = np.where(good, x, self.stream.level if self.stream.level == self.stream.level
                         else np.median(x[good]) if good.any() else 0.0)
        s = self.stream.push(x)
        to_us = lambda i: float(self.clock.time_us(i))  # noqa: E731
        for o, p, a, r in zip(s.onset.tolist(), s.peak.tolist(), s.amp_us.tolist(),
                              s.rise_s.tolist()):
            self.scrs.append((to_us(o), to_us(p), a, r))

    def summary(self, now_us: int) -> dict:
        """tonic_us, scr_per_min, scr_amp_us (mean of the last minute's), last SCR, quality.
        The responses' minute is the one ending where the detector has settled (the look-
        ahead behind now), so the rate is not diluted by seconds still being judged."""
        settled_us = float(self.clock.time_us(self.stream.settled()))
        while self.scrs and self.scrs[0][1] < settled_us - self.RATE_WINDOW_S * 1e6:
            self.scrs.popleft()
        while self.chunks and self.chunks[0][0] < now_us - self.QUALITY_WINDOW_S * 1e6:
            self.chunks.popleft()
        n = sum(c[1] for c in self.chunks)
        good = sum(c[2] for c in self.chunks)
        span_s = min(self.RATE_WINDOW_S, max((now_us - self.clock.t0) / 1e6, 1.0))
        expected = self.QUALITY_WINDOW_S * self.fs if span_s >= self.QUALITY_WINDOW_S \
            else span_s * self.fs
        flat = n and max(c[3] for c in self.chunks) < 1e-4  # a lead off reads a flat line
        quality = 0.0 if (not n or flat) else min(1.0, good / max(expected, 1.0))
        rate_s = min(self.RATE_WINDOW_S, max((settled_us - self.clock.t0) / 1e6, 1.0))
        amps = [s[2] for s in self.scrs]
        last = self.scrs[-1] if self.scrs else None
        return {"tonic_us": self.stream.tonic if self.stream.tonic == self.stream.tonic else 0.0,
                "scr_per_min": len(amps) * 60.0 / rate_s,
                "scr_amp_us": float(np.mean(amps)) if amps else 0.0,
                "last_scr": None if last is None else {
                    "onset_us": int(last[0]), "amp_us": round(last[2], 4),
                    "rise_s": round(last[3], 2)},
                "quality": round(quality, 3)}
