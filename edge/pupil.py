"""Pupil diameter: blinks out, gaps bridged, smoothed, and the screen's light taken out.

The pupil answers brightness far more than emotion (millimetres vs tenths), so the part
that tells us about arousal is what is left after subtracting the viewer's light response:
the screen's luminance through the viewer's reflex (a latency, then quick constriction and
slow redilation, `reflex`; or one symmetric lag `tau_s`) times a gain (mm per log10 of
the light, `light_drive`; per unit of code value in files from before it). Calibration
measures that per viewer; without one the stream assumes a typical eye's reflex
(`UNCALIBRATED`) and fits the gain from the last half minute, which works once the
picture's brightness has moved.

Batch (`pupil_clean`, `LightResponse.fit`, `pupil_residual`) serves `empathy signal
pupil`; `PupilStream` is the same rules one reading at a time for the edge unit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import NamedTuple, Optional

import numpy as np

MIN_CONFIDENCE = 0.5
MAX_SPEED_MM_S = 10.0  # faster than any pupil moves: the lid or the tracker, not the iris
SPEED_SPAN_S = 0.02  # the span a speed is measured over (a lid's sweep lasts ~0.1 s)
BLINK_BEFORE_S, BLINK_AFTER_S = 0.05, 0.15  # the lid shades the pupil around a blink
MAX_GAP_S = 1.0  # longer losses stay gaps rather than invented data
SMOOTH_S = 0.15
TAUS_S = np.round(np.arange(0.1, 2.01, 0.05), 3)  # light-response lags tried by the fit


class PupilClean(NamedTuple):
    t_s: np.ndarray
    mm: np.ndarray  # cleaned diameter; NaN where the gap was too long to bridge
    bridged: np.ndarray  # bool: interpolated over a blink or outlier
    blinks: int


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the mask's runs of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _lost(mm: np.ndarray, conf: np.ndarray) -> np.ndarray:
    return ~np.isfinite(mm) | (mm <= 0) | (conf < MIN_CONFIDENCE)


def pupil_clean(t_s, mm, confidence=None, outliers: bool = True) -> PupilClean:
    """Blink detection (lost samples + impossible speeds over SPEED_SPAN_S, widened by the
    lid's margins; one blink per stretch they join),
    outlier removal (median absolute deviation; outliers=False: none, for a pupil driven
    across its range on purpose), interpolation and light smoothing."""
    t = np.asarray(t_s, dtype=float)
    d = np.asarray(mm, dtype=float)
    conf = np.ones_like(d) if confidence is None else np.asarray(confidence, dtype=float)
    if len(t) < 3 or np.any(np.diff(t) <= 0):
        raise ValueError("pupil needs 3+ samples with strictly increasing times")
    bad = _lost(d, conf)
    # speed over SPEED_SPAN_S, not sample to sample: at 1000 Hz a tracker's own noise
    # (a real EyeLink's: 0.002 mm a step) passes 10 mm/s between neighbours
    n = max(1, int(round(SPEED_SPAN_S / float(np.median(np.diff(t))))))
    fast = np.zeros_like(bad)
    if len(d) > n:
        fast[n:] = np.abs(d[n:] - d[:-n]) / (t[n:] - t[:-n]) > MAX_SPEED_MM_S
    bad |= fast & ~bad
    starts, ends = _runs(bad)
    widened = bad.copy()
    for s, e in zip(starts, ends):
        widened |= (t >= t[s] - BLINK_BEFORE_S) & (t <= t[e - 1] + BLINK_AFTER_S)
    # one blink = one stretch the lid's margins join: a lid sweeping over the pupil is lost
    # and too-fast samples broken by a few slower ones, not a blink each
    blinks = len(_runs(widened)[0])
    good = ~widened
    if outliers and good.sum() >= 3:  # outliers: far from the recording's median by many MADs
        med = np.median(d[good])
        mad = 1.4826 * np.median(np.abs(d[good] - med)) or 1e-6
        widened |= good & (np.abs(d - med) > 5 * mad)
        good = ~widened
    if good.sum() < 2:
        raise ValueError("no usable pupil samples (all lost, blinking or outliers)")
    filled = np.interp(t, t[good], d[good])
    # gaps longer than MAX_GAP_S stay NaN
    nxt = t[good][np.minimum(np.searchsorted(t[good], t), good.sum() - 1)]
    prv = t[good][np.maximum(np.searchsorted(t[good], t, side="right") - 1, 0)]
    filled[widened & ((nxt - prv) > MAX_GAP_S)] = np.nan
    fs = 1.0 / float(np.median(np.diff(t)))
    # a recording shorter than the window: convolve(..., "same") would be the window's length
    k = min(len(t), max(1, int(round(SMOOTH_S * fs))))
    if k > 1:  # centred moving average that skips NaN gaps
        ok = np.isfinite(filled)
        num = np.convolve(np.where(ok, filled, 0.0), np.ones(k), "same")
        den = np.convolve(ok.astype(float), np.ones(k), "same")
        filled = np.where(ok, num / np.maximum(den, 1), np.nan)
    return PupilClean(t, filled, widened, blinks)


def light_lag(t_s, lum, tau_s: float) -> np.ndarray:
    """Luminance as the pupil sees it: a first-order lag with time constant tau_s."""
    t = np.asarray(t_s, dtype=float)
    x = np.asarray(lum, dtype=float)
    out = np.empty_like(x)
    acc = x[0]
    for i, dt in enumerate(np.diff(t, prepend=t[0])):
        acc += (1 - math.exp(-dt / tau_s)) * (x[i] - acc)
        out[i] = acc
    return out


def reflex(frame_s, frame_lum, t_s, latency_s: float, constrict_s: float, dilate_s: float,
           start: Optional[float] = None) -> np.ndarray:
    """Luminance as the pupil answers it: the frames as seen `latency_s` later, followed by a
    first-order lag that is quicker when the light rises (constriction) than when it falls
    (redilation). Exact for frames that hold their value. `start`: the answer as the first
    frame is seen (default: adapted to it)."""
    change = np.asarray(frame_s, float) + latency_s
    lum = np.asarray(frame_lum, float)
    begin = np.empty_like(lum)  # the answer as each frame starts to be seen
    tau = np.empty_like(lum)
    y = lum[0] if start is None else start
    for k in range(len(lum)):
        begin[k] = y
        tau[k] = constrict_s if lum[k] > y else dilate_s
        if k + 1 < len(lum):
            y += (1 - math.exp(-(change[k + 1] - change[k]) / tau[k])) * (lum[k] - y)
    t = np.asarray(t_s, float)
    k = np.clip(np.searchsorted(change, t, side="right") - 1, 0, None)
    held = np.maximum(t - change[k], 0.0)
    return lum[k] + (begin[k] - lum[k]) * np.exp(-held / tau[k])


# The pupil's size follows the log of the light (Moon & Spencer 1944; Watson & Yellott
# 2012), not the frame's code value: a screen gives luminance ~ code ** 2.4 (BT.1886) over
# a black of ~1/1000 of white (a projector's contrast), code 0.056.
DARK_CODE = 0.001 ** (1 / 2.4)
MID_GREY = 0.5  # a calibrated residual is relative to the pupil under this code value


def light_drive(lum):
    """A frame's mean code value (0..1; a number or an array) as what the eye's size
    follows: the log of the light over the screen's black (0 at black, 1.25 at white)."""
    return np.log10(1.0 + np.maximum(lum, 0.0) / DARK_CODE)


@dataclass(frozen=True)
class LightResponse:
    """A viewer's pupillary light response: pupil = base - gain_mm * lag(light). With
    `latency_s`, `constrict_s` and `dilate_s` (calibrate light measures them) the lag is the
    two-phase `reflex`; without, one symmetric lag `tau_s`. The light is `light_drive`'s log
    where `log_light` (gain in mm per log10 unit), else the code value (files from before)."""

    gain_mm: float
    tau_s: float = 0.4
    latency_s: Optional[float] = None
    constrict_s: Optional[float] = None
    dilate_s: Optional[float] = None
    log_light: bool = False

    def drive(self, lum):
        """The light this response's gain multiplies, for a code value."""
        return light_drive(lum) if self.log_light else lum

    @property
    def two_phase(self) -> bool:
        return None not in (self.latency_s, self.constrict_s, self.dilate_s)

    def seen(self, t_s, lum) -> np.ndarray:
        """The luminance as this viewer's pupil answers it, at each sample's time (a sample
        holds until the next)."""
        lum = self.drive(np.asarray(lum, dtype=float))
        if self.two_phase:
            return reflex(t_s, lum, t_s, self.latency_s, self.constrict_s, self.dilate_s)
        return light_lag(t_s, lum, self.tau_s)

    @classmethod
    def fit(cls, t_s, lum, mm) -> "LightResponse":
        """Least squares over a grid of lags; refuses when the light barely moved."""
        t, lum, mm = (np.asarray(a, dtype=float) for a in (t_s, lum, mm))
        ok = np.isfinite(mm)
        if ok.sum() < 10 or np.std(lum[ok]) < 0.02:
            raise ValueError("screen luminance barely changed: the light response can't be "
                             "separated (calibrate the viewer, or use a longer recording)")
        best = None
        for tau in TAUS_S:
            x = light_lag(t, lum, tau)[ok]
            a = np.vstack([np.ones_like(x), x]).T
            coef, res, *_ = np.linalg.lstsq(a, mm[ok], rcond=None)
            err = float(res[0]) if len(res) else float(np.sum((a @ coef - mm[ok]) ** 2))
            if best is None or err < best[0]:
                best = (err, float(tau), float(-coef[1]))
        return cls(gain_mm=max(best[2], 0.0), tau_s=best[1])  # light only ever constricts


def pupil_residual(t_s, mm, lum, model: LightResponse) -> np.ndarray:
    """The pupil with the predicted light response added back: what arousal moves."""
    return np.asarray(mm, dtype=float) + model.gain_mm * model.seen(t_s, lum)


class ReflexStream:
    """`reflex` one screen sample at a time, the same values (to the last bits): keeps the
    frames not yet seen (within the latency) and the answer as the one now seen began."""

    def __init__(self, model: LightResponse):
        self.m = model
        self.frames: deque = deque()  # (screen s, lum): [0] is the frame seen now
        self.start: Optional[float] = None

    def add(self, t_s: float, lum: float) -> float:
        """The screen showed `lum` from `t_s`: the answer at `t_s`."""
        self.frames.append((t_s, lum))
        if self.start is None:
            self.start = lum
        lat = self.m.latency_s
        while len(self.frames) > 1 and self.frames[1][0] + lat <= t_s:  # [1] is seen now
            (s0, v0), (s1, _) = self.frames[0], self.frames[1]
            self.start = self._held(v0, s1 - s0)
            self.frames.popleft()
        s, v = self.frames[0]
        return self._held(v, max(t_s - s - lat, 0.0))

    def _held(self, v: float, held_s: float) -> float:
        """`reflex` for one frame of `v` seen for held_s from the answer `start`, in scalars:
        a seat's every reading (numpy on one-element arrays cost 80 us a reading, this 4.5
        us)."""
        y = self.start
        tau = self.m.constrict_s if v > y else self.m.dilate_s
        return v + (y - v) * math.exp(-held_s / tau)


# An uncalibrated viewer's reflex, from the literature, not fitted to anything here: a
# latency of ~0.2 s (Bergamin & Kardon 2003), constriction to its minimum within ~1 s of
# the change (a first-order 0.3 s reaches 95 % in 3 lags; Ellis 1981) and redilation
# several times slower (75 % recovered in ~2 s: 1.5 s). Measured against one symmetric
# 0.4-s lag by `python -m empathy.bench.light_residual --online`.
UNCALIBRATED = LightResponse(0.0, latency_s=0.2, constrict_s=0.3, dilate_s=1.5,
                             log_light=True)


class PupilStream:
    """The same rules, one reading at a time: `add` each reading, read `residual_mm`."""

    def __init__(self, model: Optional[LightResponse] = None, window_s: float = 1.0,
                 fit_s: float = 30.0, assumed: LightResponse = UNCALIBRATED):
        self.model = model  # from calibration; None = fit online
        self.shape = model or assumed  # the reflex's shape (online: assumed, gain fitted)
        self.reflex = ReflexStream(self.shape) if self.shape.two_phase else None
        self.window_us, self.fit_us = int(window_s * 1e6), int(fit_s * 1e6)
        self.recent: deque = deque()  # (ts_us, mm, lagged luminance) accepted readings
        self.history: deque = deque()  # the same, over fit_s, for the online light fit
        self.lag: Optional[float] = None
        self.lag_ts = 0
        self.blink_until = 0
        self.blink_at = -(10**15)
        self.last: Optional[tuple[int, float]] = None
        self.fitted: Optional[LightResponse] = None
        self.fit_at = 0
        self.fit_lum = 0.5  # mean lagged light over the first fit's stretch

    def add(self, ts_us: int, mm: float, confidence: float, lum: float) -> None:
        tau = self.shape.tau_s
        lum = float(self.shape.drive(lum))
        if self.reflex:
            self.lag = self.reflex.add(ts_us / 1e6, lum)
        elif self.lag is None:
            self.lag = lum
        else:
            self.lag += (1 - math.exp(-max(ts_us - self.lag_ts, 0) / 1e6 / tau)) * (lum - self.lag)
        self.lag_ts = ts_us
        lost = not (math.isfinite(mm) and mm > 0 and confidence >= MIN_CONFIDENCE)
        if not lost and self.last is not None and ts_us > self.last[0]:
            lost = abs(mm - self.last[1]) / ((ts_us - self.last[0]) / 1e6) > MAX_SPEED_MM_S
        if lost:
            if ts_us >= self.blink_until:  # a new blink: drop what the closing lid shaded
                while self.recent and self.recent[-1][0] >= ts_us - BLINK_BEFORE_S * 1e6:
                    self.recent.pop()
                self.blink_at = ts_us
            self.blink_until = ts_us + int(BLINK_AFTER_S * 1e6)
            return
        self.last = (ts_us, mm)
        if ts_us < self.blink_until:
            return
        for q in (self.recent, self.history):
            q.append((ts_us, mm, self.lag))
        while self.recent and self.recent[0][0] < ts_us - self.window_us:
            self.recent.popleft()
        while self.history and self.history[0][0] < ts_us - self.fit_us:
            self.history.popleft()

    def blinked(self, now_us: int) -> bool:
        return now_us - self.blink_at < self.window_us

    def pupil_mm(self, now_us: int) -> float:
        """Median of the last window's clean readings (0 = no value)."""
        vals = [r[1] for r in self.recent if r[0] >= now_us - self.window_us]
        return float(np.median(vals)) if len(vals) >= 3 else 0.0

    def residual_mm(self, now_us: int) -> float:
        """Pupil minus the light's part; 0 = no value. Relative to mid-grey with a
        calibrated model; with a fitted one, relative to the light of the first fit's stretch,
        so the value doesn't jump when the fit appears (until then the plain pupil stands in)."""
        model = self.model or self._fit(now_us)
        if model is None:
            return self.pupil_mm(now_us)
        ref = float(self.shape.drive(MID_GREY)) if self.model else self.fit_lum
        # each reading with the light it saw, so the window's lag doesn't smear them apart
        vals = [r[1] + model.gain_mm * (r[2] - ref) for r in self.recent
                if r[0] >= now_us - self.window_us]
        return float(np.median(vals)) if len(vals) >= 3 else 0.0

    def _fit(self, now_us: int) -> Optional[LightResponse]:
        """Online fit: regress the pupil on the lagged light over fit_s, once a second."""
        if now_us - self.fit_at >= 1_000_000 and len(self.history) >= 30:
            self.fit_at = now_us
            _, y, x = map(np.asarray, zip(*self.history))
            if np.std(x) >= 0.02:
                b = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
                if self.fitted is None:  # the reference stays put from then on
                    self.fit_lum = float(np.mean(x))
                self.fitted = replace(self.shape, gain_mm=max(-b, 0.0))
        return self.fitted
