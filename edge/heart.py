"""Heartbeats from a raw PPG or ECG waveform, streaming: chunks in, beats out.

`BeatStream(fs_hz, kind).push(samples)` returns the beats it is sure of so far;
`ppg_peaks` / `ecg_peaks` run the very same code over a whole recording in one call, so
batch and streaming give bit-identical beats whatever the chunk sizes.

How (Elgendi's two-moving-average detector, made causal):
1. band-pass (causal Butterworth, state carried between chunks),
2. square the positive part, average it over a peak-wide and a beat-wide window,
3. a "block of interest" is where the short average beats the long one plus an offset
   (a slow running mean of the energy, so quiet and loud stretches both work),
4. one beat per block wide enough and not within the refractory time of the last one,
   placed on the filtered maximum, then moved back by the filter's delay and refined on
   the raw waveform (so beat times match the tools that filter forwards and backwards),
   A candidate under 40 % of the recent beats' height is a dicrotic or T wave, not a beat,
   and one whose raw maximum sits on the edge of the search window is a slope, not a peak.
5. a quality per beat: how much its shape matches the previous few beats' (motion
   artefacts don't look like pulses), halved when the top is clipped flat.

Latency: a beat comes out at most `latency_s` after it happened (the longest block we
accept plus the shape window after the peak). Memory is a fixed history of that length.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import signal

TEMPLATE_BEATS = 5  # (written out in _shape) a beat's shape is compared with the mean of this many before it
MIN_HEIGHT = 0.4  # of the recent beats' median height
SLICE = 1 << 16  # samples processed at once: bounds memory on hour-long batch input


@dataclass(frozen=True)
class Method:
    band_hz: tuple[float, float]
    peak_win_s: float  # about one systolic upstroke / QRS
    beat_win_s: float  # about one beat
    beta: float  # offset, as a fraction of the slow mean energy
    refractory_s: float  # no two beats closer than this (HR up to 200 bpm)
    max_block_s: float  # longer blocks are artefacts, not beats
    refine_s: float  # how far from the delay-corrected place the raw peak may be
    pre_s: float  # beat shape window, before and after the peak
    post_s: float
    delay_hz: float  # frequency at which the filter's group delay is taken
    min_fs: float


METHODS = {
    "ppg": Method((0.5, 8.0), 0.111, 0.667, 0.02, 0.3, 1.5, 0.12, 0.35, 0.15, 1.5, 20.0),
    "ecg": Method((8.0, 20.0), 0.097, 0.611, 0.08, 0.25, 0.6, 0.05, 0.2, 0.2, 12.0, 60.0),
}


class Beats(NamedTuple):
    idx: np.ndarray  # sample index of each beat from the start of the stream (int64)
    sqi: np.ndarray  # 0..1 shape quality of each beat


def _method(kind: str, fs_hz: float) -> Method:
    if kind not in METHODS:
        raise ValueError(f"unknown waveform kind {kind!r} (known: {', '.join(METHODS)})")
    m = METHODS[kind]
    if not (m.min_fs <= fs_hz <= 5000):
        raise ValueError(f"{kind} at {fs_hz:g} Hz: need {m.min_fs:g}..5000 Hz")
    return m


class BeatStream:
    """Streaming beat detector for one waveform. Push chunks, get `Beats` back."""

    def __init__(self, fs_hz: float, kind: str = "ppg"):
        m = self.m = _method(kind, fs_hz)
        self.fs, self.kind = float(fs_hz), kind
        self.sos = signal.butter(3, m.band_hz, "bandpass", fs=fs_hz, output="sos")
        b, a = signal.sos2tf(self.sos)
        gd = signal.group_delay((b, a), w=[m.delay_hz], fs=fs_hz)[1][0]
        s = lambda sec: max(1, int(round(sec * fs_hz)))  # noqa: E731
        self.delay, self.w1, self.w2 = int(round(gd)), s(m.peak_win_s), s(m.beat_win_s)
        self.refr, self.max_block, self.refine = s(m.refractory_s), s(m.max_block_s), s(m.refine_s)
        self.pre, self.post = s(m.pre_s), s(m.post_s)
        self.ema_a = 1 - np.exp(-1 / (8.0 * fs_hz))  # energy's slow mean: 8 s time constant
        self.latency_s = (self.max_block + self.post + self.delay) / fs_hz
        self.hist = self.max_block + self.pre + self.post + self.delay + 2 * self.refine + 2
        self.n = 0  # samples consumed so far
        self.x = np.zeros(0)  # raw and filtered history (the last `hist` samples)
        self.y = np.zeros(0)
        self.S = np.zeros(self.w2 + 1)  # running energy sums, last w2+1 values
        self.zi = self.ema_zi = None
        self.above = False
        self.block_start = -1  # start of a block still open at the end of the last chunk
        self.last_peak = -(10**12)  # filtered-signal index of the last beat
        self.last_beat = -(10**12)  # raw (refined) index of the last beat
        self.heights: deque = deque(maxlen=8)  # filtered heights of the last beats
        self.silence = s(2.0)
        self.pending: list[int] = []  # filtered-signal peaks waiting for their shape window
        self.shapes = np.zeros((TEMPLATE_BEATS, self.pre + self.post))

    def push(self, samples) -> Beats:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError("waveform has NaN or infinite samples")
        if x.size <= SLICE:
            return self._push(x) if x.size else _join([])
        return _join([self._push(x[i:i + SLICE]) for i in range(0, x.size, SLICE)])

    def finish(self) -> Beats:
        """End of recording: beats still waiting for their shape window come out now."""
        beats = self._shape(self.pending)
        self.pending = []
        return beats

    def _push(self, x: np.ndarray) -> Beats:
        if self.zi is None:  # start the filters settled on the first sample, not from 0
            self.zi = signal.sosfilt_zi(self.sos) * x[0]
        y = x
        for k, sec in enumerate(self.sos):  # = sosfilt, without its per-call checks
            y, self.zi[k] = signal.lfilter(sec[:3], sec[3:], y, zi=self.zi[k])
        e = np.maximum(y, 0.0)
        e *= e
        if self.ema_zi is None:
            self.ema_zi = np.array([e[0] * (1 - self.ema_a)])
        slow, self.ema_zi = signal.lfilter([self.ema_a], [1, self.ema_a - 1], e, zi=self.ema_zi)
        # cumulative sums with the carried total: identical whatever the chunking
        S = np.cumsum(np.concatenate(([self.S[-1]], e)))[1:]
        SS = np.concatenate((self.S, S))
        k = len(self.S)
        short = (SS[k:] - SS[k - self.w1:-self.w1]) / self.w1
        long_ = (SS[k:] - SS[k - self.w2:-self.w2]) / self.w2
        self.S = SS[-(self.w2 + 1):]
        above = short > long_ + self.m.beta * slow

        base = self.n
        self.n += x.size
        self.x = np.concatenate((self.x, x))  # trimmed to `hist` once this chunk is done
        self.y = np.concatenate((self.y, y))
        h0 = self.n - len(self.y)  # stream index of history[0]

        edges = np.flatnonzero(np.diff(np.concatenate(([self.above], above)).astype(np.int8)))
        self.above = bool(above[-1])
        for j in edges:
            if above[j]:  # rising: a block starts here
                self.block_start = base + j
                continue
            s, e_ = self.block_start, base + j
            self.block_start = -1
            if s < h0 or not (self.w1 <= e_ - s <= self.max_block):
                continue
            p = s + int(np.argmax(self.y[s - h0:e_ - h0]))
            if p - self.last_peak < self.refr or not self._tall_enough(p, self.y[p - h0]):
                continue
            self.last_peak = p
            self.heights.append(float(self.y[p - h0]))
            self.pending.append(p)
        if self.block_start >= 0 and self.n - self.block_start > self.max_block:
            self.block_start = -(10**12)  # too long to be a beat: drop it (bounded history)
        n_ready = sum(1 for p in self.pending if p + self.post <= self.n)
        ready, self.pending = self.pending[:n_ready], self.pending[n_ready:]
        beats = self._shape(ready)
        self.x, self.y = self.x[-self.hist:], self.y[-self.hist:]
        return beats

    def _tall_enough(self, p: int, height: float) -> bool:
        """A dicrotic wave or T wave is a fraction of a real beat's height. After a long
        silence (the pulse got weaker) any block counts again, so the gate can't lock out."""
        if len(self.heights) < 3 or p - self.last_peak > self.silence:
            return True
        return height >= MIN_HEIGHT * statistics.median(self.heights)

    def _refine(self, p: int, h0: int) -> int:
        """Where the beat really is: the raw waveform's peak near the delay-corrected place
        (-1 when the raw maximum is on the window's edge: a slope, not a peak)."""
        c = p - self.delay
        lo, hi = max(c - self.refine, h0, 0), min(c + self.refine + 1, self.n)
        w = self.x[lo - h0:hi - h0]
        if self.kind == "ecg":  # R waves point either way depending on the lead
            w = np.abs(w - np.median(w))
        k = int(np.argmax(w)) if len(w) else 0
        return lo + k if 0 < k < len(w) - 1 else -1

    def _shape(self, peaks: list[int]) -> Beats:
        """Refine each beat's time and grade its shape (all its samples are here now)."""
        h0 = self.n - len(self.y)
        refined = []
        for p in peaks:
            r = self._refine(p, h0)
            ok = r >= 0 and r > self.last_beat
            refined.append(r if ok else -1)
            self.last_beat = r if ok else self.last_beat
        keep = [i for i, r in enumerate(refined) if r >= 0]
        if not keep:
            return Beats(np.zeros(0, np.int64), np.zeros(0))
        L, K = self.pre + self.post, TEMPLATE_BEATS
        p = np.array([peaks[i] for i in keep])
        idx = np.minimum(p[:, None] - (self.pre + h0) + np.arange(L), len(self.y) - 1)
        seg = self.y[idx]
        seg -= seg.mean(axis=1, keepdims=True)
        norm = np.sqrt((seg * seg).sum(axis=1, keepdims=True))
        seg = np.divide(seg, norm, out=np.zeros_like(seg), where=norm > 0)
        allseg = np.concatenate((self.shapes, seg))
        n = len(seg)
        tmpl = allseg[0:n] + allseg[1:n + 1] + allseg[2:n + 2] + allseg[3:n + 3] + allseg[4:n + 4]
        tn = np.sqrt((tmpl * tmpl).sum(axis=1))
        sqi = np.where(tn > 0, (seg * tmpl).sum(axis=1) / np.where(tn > 0, tn, 1), 1.0)
        sqi = np.clip(sqi, 0.0, 1.0)
        raw = self.x[idx]  # a clipped top sits flat at the row's maximum for a while
        flat = (raw == raw.max(axis=1, keepdims=True)).sum(axis=1) >= max(3, 0.06 * self.fs)
        sqi[flat] *= 0.5
        self.shapes = allseg[-K:]
        return Beats(np.array([refined[i] for i in keep], np.int64), sqi)


def _join(parts: list[Beats]) -> Beats:
    if not parts:
        return Beats(np.zeros(0, np.int64), np.zeros(0))
    return Beats(np.concatenate([b.idx for b in parts]), np.concatenate([b.sqi for b in parts]))


def waveform_peaks(x, fs_hz: float, kind: str) -> Beats:
    """All beats of a whole recording (same code and results as streaming it)."""
    st = BeatStream(fs_hz, kind)
    return _join([st.push(x), st.finish()])


def ppg_peaks(x, fs_hz: float) -> Beats:
    return waveform_peaks(x, fs_hz, "ppg")


def ecg_peaks(x, fs_hz: float) -> Beats:
    return waveform_peaks(x, fs_hz, "ecg")
