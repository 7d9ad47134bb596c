"""Simulated skin conductance (µS), for tests and the simulated sensor board's GSR input.

`eda_signal` draws a recording with responses at known onsets (tonic drift, one response
shape per onset, electrode noise); `EdaViewer` makes a live one whose responses come more
often and larger as a viewer's arousal rises (a Poisson process). The response shape is
the usual bi-exponential (rise ~1 s, recovery ~4 s). Nothing here is shared with the
estimator (edge/eda.py).
"""

from __future__ import annotations

import math

import numpy as np

RISE_TAU_S = 0.75
DECAY_TAU_S = 4.0


def scr_shape(t_s: np.ndarray) -> np.ndarray:
    """One response of unit peak amplitude, t seconds after its onset (0 before)."""
    t = np.maximum(t_s, 0.0)
    y = np.exp(-t / DECAY_TAU_S) - np.exp(-t / RISE_TAU_S)
    rd, dd = RISE_TAU_S, DECAY_TAU_S
    t_peak = math.log(dd / rd) * rd * dd / (dd - rd)
    return np.where(t_s > 0, y / (math.exp(-t_peak / dd) - math.exp(-t_peak / rd)), 0.0)


def eda_signal(duration_s: float, fs_hz: float, onsets_s, amps_us, tonic_us: float = 4.0,
               drift_us_per_min: float = -0.3, noise_us: float = 0.003,
               seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * fs_hz)) / fs_hz
    x = tonic_us + drift_us_per_min * t / 60 + rng.normal(0, noise_us, len(t))
    for t0, a in zip(onsets_s, amps_us):
        x += a * scr_shape(t - t0)
    return x


class EdaViewer:
    """A live EDA source: `take(n, arousal)` gives the next n samples at fs_hz."""

    def __init__(self, fs_hz: float, seed: int = 0, tonic_us: float | None = None):
        self.rng = np.random.default_rng(seed)
        self.fs = fs_hz
        self.tonic = tonic_us if tonic_us is not None else float(self.rng.uniform(2, 10))
        self.t = 0.0
        self.onsets: list[tuple[float, float]] = []  # (onset s, amplitude µS)

    def take(self, n: int, arousal: float = 0.0) -> np.ndarray:
        rate_hz = 2.5 / 60 * math.exp(1.5 * max(-1.0, min(1.5, arousal)))
        t = self.t + np.arange(n) / self.fs
        for ti in t:
            if self.rng.random() < rate_hz / self.fs:
                amp = float(self.rng.lognormal(math.log(0.15), 0.5)) * (1 + max(arousal, 0))
                self.onsets.append((float(ti), amp))
        self.onsets = [(o, a) for o, a in self.onsets if o > t[0] - 40] if n else self.onsets
        x = self.tonic + 0.1 * max(arousal, -1) + self.rng.normal(0, 0.003, n)
        for o, a in self.onsets:
            x += a * scr_shape(t - o)
        self.t += n / self.fs
        return x
