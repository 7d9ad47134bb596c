"""What the host would see of simulated viewers: the sensor and edge noise path, as a model.

Policies must be tried on what the host would fuse, not on the hidden truth. Running the
real edge on every simulated seat of 500 screenings would take hours, so
`empathy policy measure` runs the real edge estimator (`edge.features.SeatFeatures`, the FER
model reading the rendered faces) on simulated people once (`sim/viewer.py`: the same
bodies, nuisances and sensors as the demo's seats) and fits how each seat's estimate follows
its hidden state:

    arousal_est(t) = clip(gain * lag(arousal)(t) + offset_seat + e(t), -1, 1)
    valence_est(t) = clip(valence_gain * valence(t) + e_v(t), -1, 1)
    e, e_v: AR(1) noise (sd noise_sd / valence_noise_sd, autocorrelation noise_rho_1s at 1 s)
    offset_seat ~ N(0, offset_sd): what a short or disturbed baseline leaves behind
    a seat has signal at a given moment with probability `good`

The fitted numbers live in `sim/measurement.toml`, with the command and seeds that made them;
docs/simulation.md lists them.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

import numpy as np

from empathy import toml_text
from empathy.paths import read_file
from empathy.sim import HERE

DEFAULT = HERE / "measurement.toml"
_RANGES = {"gain": (-5, 5), "lag_s": (0, 30), "offset_sd": (0, 2), "noise_sd": (0, 2),
           "noise_rho_1s": (0, 0.999), "valence_gain": (-5, 5), "valence_noise_sd": (0, 2),
           "good": (0, 1)}


@dataclass(frozen=True)
class MeasurementModel:
    gain: float
    lag_s: float
    offset_sd: float
    noise_sd: float
    noise_rho_1s: float
    valence_gain: float
    valence_noise_sd: float
    good: float
    source: str = ""

    @classmethod
    def load(cls, path: Optional[str | Path] = None) -> "MeasurementModel":
        path = Path(path or DEFAULT)
        try:
            doc = toml_text.loads(read_file(path).decode("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ValueError(f"measurement model {path}: {getattr(e, 'strerror', None) or e}") \
                from None
        m = doc.get("model", {})
        vals = {}
        for name, (lo, hi) in _RANGES.items():
            v = m.get(name)
            if not isinstance(v, (int, float)) or not (math.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"measurement model {path}: model.{name} must be a number "
                                 f"within {lo}..{hi}, not {v!r}")
            vals[name] = float(v)
        return cls(**vals, source=str(doc.get("source", {}).get("command", "")))

    def to_toml(self) -> dict:
        return {f.name: round(getattr(self, f.name), 4) for f in fields(self) if f.name != "source"}

    def start(self, n: int, rng: np.random.Generator) -> "SeatsSeen":
        """n seats as the host will see them: each with its own offset."""
        return SeatsSeen(self, rng.normal(0, self.offset_sd, n))


class SeatsSeen:
    """The measurement path's state for one audience (lag and noise carry on across calls)."""

    def __init__(self, model: MeasurementModel, offsets: np.ndarray):
        self.m, self.offsets = model, offsets
        self.lagged: Optional[np.ndarray] = None
        self.noise = np.zeros((2, len(offsets)))

    def copy(self) -> "SeatsSeen":
        c = SeatsSeen(self.m, self.offsets)
        c.lagged = None if self.lagged is None else self.lagged.copy()
        c.noise = self.noise.copy()
        return c

    def see(self, arousal: np.ndarray, valence: np.ndarray, dt: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hidden (seats x samples) arousal and valence -> what the host fuses, and which
        seats have signal at the end of the stretch."""
        from scipy import signal  # here: ~0.8 CPU-s a start that only refuses an option
        m = self.m
        k = 1 - math.exp(-dt / m.lag_s) if m.lag_s > 0 else 1.0
        prev = arousal[:, :1] if self.lagged is None else self.lagged[:, None]
        lagged, _ = signal.lfilter([k], [1, -(1 - k)], arousal, axis=1, zi=(1 - k) * prev)
        self.lagged = lagged[:, -1].copy()
        rho = m.noise_rho_1s ** dt
        out = []
        for i, sd in enumerate((m.noise_sd, m.valence_noise_sd)):
            w = rng.normal(0, sd * math.sqrt(1 - rho ** 2), arousal.shape)
            e, _ = signal.lfilter([1.0], [1, -rho], w, axis=1, zi=rho * self.noise[i][:, None])
            self.noise[i] = e[:, -1]
            out.append(e)
        a = np.clip(m.gain * lagged + self.offsets[:, None] + out[0], -1, 1)
        v = np.clip(m.valence_gain * valence + out[1], -1, 1)
        return a, v, rng.random(len(self.offsets)) < m.good
