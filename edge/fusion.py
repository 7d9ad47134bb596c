"""Per-seat arousal and valence from HR, HRV, pupil and face, on one common scale.

Each signal becomes a z-score against the viewer's own baseline period (population priors
until that period is over), signed so that "up" means more aroused: heart rate up, RMSSD
down (vagal withdrawal), pupil dilation beyond the light's part. Their quality-weighted mean
goes through tanh to -1..1. The confidence is the share of the full weight that was
actually available at good quality, so it falls when signals are poor or missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

WEIGHTS = {"hr": 1.0, "rmssd": 0.5, "pupil": 0.8, "face": 0.7, "eda": 0.8}
# Confidence is measured against the signals every seat may have, plus skin conductance
# where the seat has it: most seats have no EDA sensor and are not the less sure for it.
OPTIONAL = ("eda",)
FULL_WEIGHT = sum(w for k, w in WEIGHTS.items() if k not in OPTIONAL)
# The sensing channels behind the signals, for evaluation: each alone, or all but one
# (skin conductance stays in the fused estimate; the simulated seats judged have none).
CHANNELS = {"heart": ("hr", "rmssd"), "pupil": ("pupil",), "face": ("face",)}
SPREAD = 1.5  # z of 1.5 on every signal reads as arousal tanh(1) = 0.76
FACE_GAIN = 2.5  # the expression model's arousal (-1..1) in baseline z units


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


def baselines() -> dict[str, Baseline]:
    """Population priors: HR 70 +- 10 bpm, RMSSD 40 +- 15 ms, pupil residual 0 +- 0.6 mm
    (the pupil's prior centre is replaced by the viewer's own mean as soon as it exists),
    skin conductance responses 3 +- 3 a minute (non-specific SCRs at rest: 1-3/min), tonic
    skin conductance 5 +- 4 µS (used only against the viewer's own baseline: people differ
    more than that)."""
    return {"hr": Baseline(70, 10), "rmssd": Baseline(40, 15), "pupil": Baseline(0, 0.6),
            "eda_rate": Baseline(3, 3), "eda_tonic": Baseline(5, 4)}


@dataclass(frozen=True)
class Affect:
    arousal: float
    valence: float
    confidence: float
    # signal -> its share of the arousal evidence (weight x quality / total), for reports
    shares: Optional[dict] = None


def affect_fuse(z: dict[str, tuple[float, float]], face_valence: Optional[float]) -> Affect:
    """z: signal -> (arousal-signed z-score, quality 0..1); missing signals are left out."""
    num = sum(WEIGHTS[k] * q * v for k, (v, q) in z.items())
    den = sum(WEIGHTS[k] * q for k, (_, q) in z.items())
    arousal = math.tanh(num / den / SPREAD) if den > 0 else 0.0
    valence = max(-1.0, min(1.0, face_valence)) if face_valence is not None else 0.0
    shares = {k: WEIGHTS[k] * q / den for k, (_, q) in z.items()} if den > 0 else {}
    full = FULL_WEIGHT + sum(WEIGHTS[k] for k in OPTIONAL if k in z)
    return Affect(arousal, valence, den / full, shares)


def channel_arousal(z: dict[str, tuple[float, float]]) -> dict[str, Optional[float]]:
    """The arousal each channel gives alone (`heart`, ...) and the fused arousal with each
    left out (`no_heart`, ...), on the same scale as the fused one; None where the
    channel (or everything else) had no signal. What an evaluation compares with truth."""
    out: dict[str, Optional[float]] = {}
    for name, signals in CHANNELS.items():
        alone = {k: v for k, v in z.items() if k in signals}
        rest = {k: v for k, v in z.items() if k not in signals}
        out[name] = affect_fuse(alone, None).arousal if alone else None
        out[f"no_{name}"] = affect_fuse(rest, None).arousal if rest else None
    return out
