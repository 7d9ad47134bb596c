"""Per-seat arousal and valence from HR, HRV, pupil and face, on one common scale.

Each signal becomes a z-score against the viewer's own baseline period (population priors
until that period is over), signed so that "up" means more aroused: heart rate up, RMSSD
down (vagal withdrawal), pupil dilation beyond the light's part. Their quality-weighted mean
goes through tanh to -1..1. The confidence is the share of the full weight that was
actually available at good quality, so it falls when signals are poor or missing.

The signals do not show the same moment: a face moves at once, the pupil within a second,
heart rate seconds later, and the estimator's own windows add their delays. `Aligner`
fuses each signal as it was when it showed the moment the heart shows now, so the fused
estimate refers to the body `lag_s` ago (declared: the edge's stats say it, evaluations
judge it against the truth of that moment) instead of mixing three moments into one.
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
# How long after the body is moved each signal shows it (physiology only; the edge's
# filters add their own delays, edge.latency.LATENCY_S). Heart rate: the cardiac response
# to emotional pictures and film develops over ~4-8 s; 5 s, the accelerative peak to
# arousing pictures (Bradley et al. 2001, Emotion 1:276; Kreibig 2010, Biol. Psychol.
# 84:394). RMSSD: the same heart. Pupil: arousal dilation within ~1 s (Bradley et al.
# 2008, Psychophysiology 45:602; Partala & Surakka 2003). Face: at once. Skin conductance:
# 1-3 s after the event, 2 s (Dawson, Schell & Filion 2007, Table 8.1).
RESPONSE_S = {"hr": 5.0, "rmssd": 5.0, "pupil": 1.0, "face": 0.0, "eda": 2.0}
# The estimate is aligned on the slowest of these; slower signals (RMSSD's 30-s window,
# skin conductance's responses a minute) cannot be moved earlier and are fused as they are.
ALIGN_ON = ("hr", "pupil", "face")


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


class Aligner:
    """Each signal's z as it was when it showed the body's state of `lag_s` ago.

    `latency_s`: signal -> seconds from the body to the signal's value, filters included.
    The estimate at `now` refers to `now - lag_s` (lag_s: the largest of ALIGN_ON's): a
    signal of latency L is taken from `lag_s - L` ago; one slower than lag_s as it is now.
    Where the history does not reach back that far (a new viewer, a gap), it is left out.
    """

    def __init__(self, latency_s: dict[str, float]):
        self.latency_s = latency_s
        self.lag_s = max(latency_s[k] for k in ALIGN_ON)
        self.history: list[tuple[int, dict, Optional[float]]] = []

    def _at(self, ts_us: int, ago_s: float) -> Optional[tuple]:
        """The latest entry at least `ago_s` before ts_us, if it is not a gap older."""
        want = ts_us - ago_s * 1e6
        for entry in reversed(self.history):
            if entry[0] <= want + 1e3:  # a millisecond of slack for the send clock
                return entry if want - entry[0] <= 1e6 else None
        return None

    def push(self, ts_us: int, z: dict, face_valence: Optional[float]
             ) -> tuple[dict, Optional[float]]:
        """Add this moment's signals; the aligned signals and face valence."""
        self.history.append((ts_us, z, face_valence))
        keep_us = ts_us - (self.lag_s + 2) * 1e6
        while self.history and self.history[0][0] < keep_us:
            self.history.pop(0)
        out: dict = {}
        valence = None
        # sorted: a set's order follows the process's string hashing, and the sums over
        # these signals then differed in their last bit from one run to the next
        for k in sorted(set(z) | {k for _, old, _ in self.history for k in old}):
            ago = self.lag_s - self.latency_s.get(k, 0.0)
            entry = (ts_us, z, face_valence) if ago <= 0 else self._at(ts_us, ago)
            if entry is not None and k in entry[1]:
                out[k] = entry[1][k]
                if k == "face":
                    valence = entry[2]
        return out, valence
