"""Per-seat features: readings in, one fused seat estimate out (what goes on the wire).

Arousal is a baseline-normalised blend of heart rate up, RMSSD down (vagal withdrawal),
pupil dilation beyond what screen brightness explains, and the face's expression; valence
comes from the face. Before a seat has its baseline, population priors stand in and the
CALIBRATED flag stays off.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Optional

import numpy as np

from empathy.sensors.base import Beat, FaceCrop, Health, Pupil, Reading
from empathy.wire import EXPRESSION_NONE, Flag

HR_WINDOW_S = 8.0
HRV_WINDOW_S = 30.0
PUPIL_WINDOW_S = 1.0
LIGHT_WINDOW_S = 30.0
FACE_TAU_S = 0.8  # sustained expressions count, one-frame flickers don't


def rr_clean(rr_ms: np.ndarray) -> np.ndarray:
    """Drop ectopic/artefact intervals: outside 300-2000 ms or >25 % off the local median."""
    rr = rr_ms[(rr_ms >= 300) & (rr_ms <= 2000)]
    if len(rr) < 3:
        return rr
    med = np.median(rr)
    return rr[np.abs(rr - med) <= 0.25 * med]


def hr_from_rr(rr_ms: np.ndarray) -> float:
    rr = rr_clean(rr_ms)
    return 60000.0 / float(np.mean(rr)) if len(rr) else 0.0


def rmssd_from_rr(rr_ms: np.ndarray) -> float:
    rr = rr_clean(rr_ms)
    if len(rr) < 5:
        return 0.0
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


@dataclass
class Baseline:
    """Running mean/std of one feature over the viewer's baseline period."""

    prior_mean: float
    prior_std: float
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    def z(self, x: float, ready: bool) -> float:
        if not ready or self.n < 10:
            return (x - self.prior_mean) / self.prior_std
        std = max(math.sqrt(self.m2 / (self.n - 1)), 0.25 * self.prior_std)
        return (x - self.mean) / std


class LightModel:
    """Online least squares pupil ~ a + b * luminance: the light reflex to take out."""

    def __init__(self, window_s: float = LIGHT_WINDOW_S):
        self.pts: deque = deque()
        self.window_us = int(window_s * 1e6)

    def add(self, ts_us: int, lum: float, pupil_mm: float) -> None:
        self.pts.append((ts_us, lum, pupil_mm))
        while self.pts and self.pts[0][0] < ts_us - self.window_us:
            self.pts.popleft()

    def residual(self, lum: float, pupil_mm: float) -> float:
        if len(self.pts) < 30:
            return pupil_mm
        _, x, y = map(np.asarray, zip(*self.pts))
        if np.std(x) < 0.02:  # brightness barely moved: nothing to separate
            return pupil_mm
        b = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
        b = min(b, 0.0)  # the light reflex only ever constricts
        return pupil_mm - b * (lum - float(np.mean(x)))


class SeatFeatures:
    """Feed readings with `add`; call `estimate(now_us)` at the send rate."""

    def __init__(self, baseline_s: float = 60.0, expression_model=None):
        self.beats: deque[Beat] = deque()
        self.pupils: deque[Pupil] = deque()
        self.model = expression_model
        self.face_probs: Optional[np.ndarray] = None
        self.face_ts = 0
        self.contact = True
        self.start_us: Optional[int] = None
        self.baseline_us = int(baseline_s * 1e6)
        self.base = {"hr": Baseline(70, 10), "rmssd": Baseline(40, 15), "pupil": Baseline(0, 0.6)}
        self.light = LightModel()
        self.luminance = 0.3

    def add(self, r: Reading) -> None:
        if self.start_us is None:
            self.start_us = r.ts_us
        if isinstance(r, Beat):
            self.beats.append(r)
        elif isinstance(r, Pupil):
            self.pupils.append(r)
            if r.confidence > 0.5:
                self.light.add(r.ts_us, self.luminance, r.diameter_mm)
        elif isinstance(r, FaceCrop) and self.model is not None:
            probs = self.model.predict(r.image)
            if self.face_probs is None:
                self.face_probs = probs
            else:  # exponential smoothing with the real time step
                a = 1 - math.exp(-max(r.ts_us - self.face_ts, 0) / 1e6 / FACE_TAU_S)
                self.face_probs = (1 - a) * self.face_probs + a * probs
            self.face_ts = r.ts_us
        elif isinstance(r, Health):
            self.contact = r.contact

    def _trim(self, now_us: int) -> None:
        while self.beats and self.beats[0].ts_us < now_us - HRV_WINDOW_S * 1e6:
            self.beats.popleft()
        while self.pupils and self.pupils[0].ts_us < now_us - PUPIL_WINDOW_S * 1e6:
            self.pupils.popleft()

    def estimate(self, now_us: int) -> dict:
        """The seat's current fused reading as wire SeatSample fields (no ids/seq/ts)."""
        from empathy.edge.expression import expression_valence_arousal

        self._trim(now_us)
        flags = Flag.CONTACT if self.contact else 0
        rr_all = np.array([b.rr_ms for b in self.beats])
        rr_recent = np.array([b.rr_ms for b in self.beats if b.ts_us >= now_us - HR_WINDOW_S * 1e6])
        hr = hr_from_rr(rr_recent) if len(rr_recent) >= 3 else 0.0
        rmssd = rmssd_from_rr(rr_all)
        flags |= Flag.HR_OK if hr else 0
        flags |= Flag.HRV_OK if rmssd else 0
        good = [p.diameter_mm for p in self.pupils if p.confidence > 0.5]
        if len(good) < len(self.pupils):
            flags |= Flag.BLINK
        pupil = float(np.median(good)) if len(good) >= 3 else 0.0
        flags |= Flag.PUPIL_OK if pupil else 0

        in_baseline = self.start_us is not None and now_us - self.start_us < self.baseline_us
        ready = not in_baseline and self.start_us is not None
        pupil_resid = self.light.residual(self.luminance, pupil) if pupil else 0.0
        if in_baseline:
            for name, x in (("hr", hr), ("rmssd", rmssd), ("pupil", pupil_resid)):
                if x:
                    self.base[name].add(x)
        if ready:
            flags |= Flag.CALIBRATED

        parts, weights = [], []
        if hr:
            parts.append(self.base["hr"].z(hr, ready)); weights.append(1.0)
        if rmssd:
            parts.append(-self.base["rmssd"].z(rmssd, ready)); weights.append(0.5)
        if pupil and ready:
            parts.append(self.base["pupil"].z(pupil_resid, ready)); weights.append(0.8)
        valence, expr, conf, face_arousal = 0.0, EXPRESSION_NONE, 0.0, None
        if self.face_probs is not None and now_us - self.face_ts < 2e6:
            valence, face_arousal = expression_valence_arousal(self.face_probs)
            expr = int(np.argmax(self.face_probs))
            conf = float(self.face_probs[expr])
            flags |= Flag.FACE_OK
            parts.append(2.5 * face_arousal); weights.append(0.7)
        arousal = math.tanh(np.dot(parts, weights) / sum(weights) / 1.5) if parts else 0.0
        return dict(hr_bpm=hr, rmssd_ms=rmssd, pupil_mm=pupil, arousal=arousal,
                    valence=max(-1.0, min(1.0, valence)), expression=expr,
                    expression_conf=conf, flags=int(flags))
