"""Inter-beat intervals -> heart rate, HRV (RMSSD, SDNN, pNN50) and a quality per window.

One code path for beats found in a waveform (`heart.BeatStream`, each with a shape
quality) and for RR intervals straight from a BLE strap (quality 1: the strap did the
detection). An interval is *normal* (NN) when it is physiological (300-2000 ms), within
20 % of the median of the 8 intervals before it (an ectopic beat and its compensatory
pause both fail this; a real change of pace passes after 4 beats) and both its beats have
a pulse-shaped waveform. HR counts every beat; HRV uses only NN intervals and only the
successive differences of two adjacent NN intervals.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

RR_RANGE_MS = (300.0, 2000.0)
ECTOPIC_FRAC = 0.2
REF_INTERVALS = 8
SQI_MIN = 0.5
WINDOW_S = 10.0  # quality and HR windows of the batch summary


class Intervals(NamedTuple):
    t_s: np.ndarray  # time of the beat that ends each interval
    rr_ms: np.ndarray
    normal: np.ndarray  # bool: NN interval
    sqi: np.ndarray  # the worse of its two beats' shape quality


def rr_normal(rr_ms: np.ndarray, sqi: np.ndarray, before: np.ndarray = np.zeros(0)) -> np.ndarray:
    """Which intervals are normal. `before` = the intervals just before these (streaming)."""
    rr = np.asarray(rr_ms, dtype=float)
    pad = np.concatenate((np.full(REF_INTERVALS - len(before[-REF_INTERVALS:]), np.nan),
                          before[-REF_INTERVALS:], rr))
    rows = np.arange(len(rr))
    ref = np.sort(pad[rows[:, None] + np.arange(REF_INTERVALS)], axis=1)
    n = REF_INTERVALS - np.isnan(ref).sum(axis=1)  # NaN padding sorts last
    lo, hi = np.maximum(n - 1, 0) // 2, n // 2
    med = np.where(n > 0, (ref[rows, lo] + ref[rows, np.minimum(hi, REF_INTERVALS - 1)]) / 2, rr)
    ok = (rr >= RR_RANGE_MS[0]) & (rr <= RR_RANGE_MS[1])
    ok &= np.abs(rr - med) <= ECTOPIC_FRAC * med
    return ok & (np.asarray(sqi) >= SQI_MIN)


def intervals(beat_s, sqi=None) -> Intervals:
    """Intervals between consecutive beats of a recording (batch)."""
    t = np.asarray(beat_s, dtype=float)
    q = np.ones(len(t)) if sqi is None else np.asarray(sqi, dtype=float)
    rr = np.diff(t) * 1000.0
    qi = np.minimum(q[1:], q[:-1])
    return Intervals(t[1:], rr, rr_normal(rr, qi), qi)


def hrv_time(rr_ms: np.ndarray, normal: np.ndarray) -> dict:
    """RMSSD, SDNN (ms) and pNN50 (%) over normal intervals; 0 where too few."""
    nn = rr_ms[normal]
    pair = normal[1:] & normal[:-1]
    d = np.diff(rr_ms)[pair]
    return {"rmssd_ms": float(np.sqrt(np.mean(d * d))) if len(d) >= 2 else 0.0,
            "sdnn_ms": float(np.std(nn, ddof=1)) if len(nn) >= 3 else 0.0,
            "pnn50": float(100.0 * np.mean(np.abs(d) > 50)) if len(d) >= 2 else 0.0}


def window_quality(iv: Intervals, window_ms: float) -> float:
    """0..1: how much of the window is covered by normal intervals, times beat shape."""
    if not len(iv.rr_ms):
        return 0.0
    cover = min(1.0, float(np.sum(iv.rr_ms[iv.normal])) / window_ms)
    return cover * float(np.mean(iv.sqi))


def heart_summary(beat_s, sqi, duration_s: float, window_s: float = WINDOW_S) -> dict:
    """Whole-recording figures plus one row per window (the `signal hr` report)."""
    iv = intervals(beat_s, sqi)
    bpm = 60000.0 / float(np.mean(iv.rr_ms)) if len(iv.rr_ms) else 0.0
    windows = []
    for t0 in np.arange(0.0, max(duration_s - window_s, 0.0) + 1e-9, window_s):
        m = (iv.t_s >= t0) & (iv.t_s < t0 + window_s)
        w = Intervals(*(a[m] for a in iv))
        windows.append({"t0_s": round(float(t0), 3),
                        "bpm": round(60000.0 / float(np.mean(w.rr_ms)), 2) if m.any() else 0.0,
                        "quality": round(window_quality(w, window_s * 1000.0), 3)})
    quality = float(np.mean([w["quality"] for w in windows])) if windows else 0.0
    return {"bpm": bpm, "beats_s": [round(float(t), 4) for t in beat_s],
            **hrv_time(iv.rr_ms, iv.normal), "ectopic": int(np.sum(~iv.normal)),
            "quality": quality, "windows": windows}


class HeartWindow:
    """Streaming HR/HRV/quality over the last `keep_s` seconds, from beats or straps."""

    def __init__(self, keep_s: float = 60.0):
        self.keep_us = int(keep_s * 1e6)
        # classified intervals of the last keep_s, t_s in µs, oldest first
        self.ivs = Intervals(np.zeros(0), np.zeros(0), np.zeros(0, bool), np.zeros(0))
        self.new: tuple[list, list, list] = ([], [], [])  # t_end_us, rr_ms, sqi: not yet
        # classified (flat lists: one array each when classified, however many came)
        self.last: tuple[float, float] | None = None  # last beat (ts_us, sqi)
        self.first_us: float | None = None  # when this source's first interval began

    def add_beats(self, ts_us, sqi) -> None:
        """Beats from a waveform, in order. Intervals form between consecutive beats."""
        if not len(ts_us):
            return
        if len(ts_us) == 1 and self.last is not None:  # the usual streamed chunk: scalars
            t, q = float(ts_us[0]), float(sqi[0])
            self._queue(t, (t - self.last[0]) / 1000.0, min(q, self.last[1]))
            self.last = (t, q)
            return
        ts = np.asarray(ts_us, dtype=float)
        q = np.asarray(sqi, dtype=float)
        if self.last is not None:
            ts, q = np.concatenate(([self.last[0]], ts)), np.concatenate(([self.last[1]], q))
        elif self.first_us is None:
            self.first_us = float(ts[0])
        self.last = (ts[-1], q[-1])
        for new, v in zip(self.new, (ts[1:], np.diff(ts) / 1000.0, np.minimum(q[1:], q[:-1]))):
            new.extend(v.tolist())

    def add_rr(self, ts_us: int, rr_ms: float) -> None:
        """One RR interval from a strap, ending at ts_us."""
        if self.first_us is None:
            self.first_us = ts_us - rr_ms * 1000.0
        self._queue(float(ts_us), float(rr_ms), 1.0)

    def _queue(self, t_us: float, rr_ms: float, sqi: float) -> None:
        for new, v in zip(self.new, (t_us, rr_ms, sqi)):
            new.append(v)

    def _classify(self) -> None:
        """Intervals are classified in one go when asked for (cheaper than one by one;
        the result is the same, the rule only looks back)."""
        if not self.new[0]:
            return
        ts, rr, qi = (np.array(v, float) for v in self.new)
        self.new = ([], [], [])
        normal = rr_normal(rr, qi, self.ivs.rr_ms[-REF_INTERVALS:])
        t = np.concatenate((self.ivs.t_s, ts))  # µs here, seconds once out of window()
        keep = int(np.searchsorted(t, t[-1] - self.keep_us, "left"))
        self.ivs = Intervals(t[keep:], *(np.concatenate((old, new))[keep:] for old, new in
                                         zip(self.ivs[1:], (rr, normal, qi))))

    def window(self, now_us: int, window_s: float) -> Intervals:
        self._classify()
        t = self.ivs.t_s
        i = int(np.searchsorted(t, now_us - window_s * 1e6, "left"))
        return Intervals(t[i:] / 1e6, *(a[i:] for a in self.ivs[1:]))

    def quality(self, now_us: int, window_s: float) -> float:
        """`window_quality` over the window, or over the time since the source began
        when that is shorter (a strap that just connected is not a poor signal)."""
        if self.first_us is None:
            return 0.0
        span_ms = min(window_s * 1000.0, (now_us - self.first_us) / 1000.0)
        return window_quality(self.window(now_us, window_s), max(span_ms, 1.0))

    def hr_bpm(self, now_us: int, window_s: float) -> float:
        """Robust HR for the show: normal intervals only (0 = no value)."""
        iv = self.window(now_us, window_s)
        nn = iv.rr_ms[iv.normal]
        return 60000.0 / float(np.mean(nn)) if len(nn) >= 3 else 0.0
