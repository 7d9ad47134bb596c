"""Simulated skin-conductance recordings (µS) with responses at known onsets, for the EDA
detector's tests.

`eda_signal` draws a recording (tonic drift, one response shape per onset, electrode noise).
The response shape is the usual bi-exponential (rise ~1 s, recovery ~4 s). A live viewer's
skin conductance is the simulated person's own (sim/physiology.py, `sim://...&eda=1`). Nothing here is shared with the
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

