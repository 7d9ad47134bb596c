"""Arousal/valence fusion: signs, the viewer's own baseline, confidence."""

import numpy as np
import pytest

from empathy.edge.fusion import WEIGHTS, affect_fuse, baselines


def test_signs_and_scale():
    up = affect_fuse({"hr": (2.0, 1.0), "rmssd": (1.5, 1.0)}, None)
    down = affect_fuse({"hr": (-2.0, 1.0), "rmssd": (-1.5, 1.0)}, None)
    assert up.arousal > 0.7 and down.arousal < -0.7 and -1 < down.arousal < up.arousal < 1
    assert affect_fuse({}, None).arousal == 0.0
    assert affect_fuse({}, 3.0).valence == 1.0


def test_confidence_falls_as_signals_go_missing_or_poor():
    full = {k: (0.5, 1.0) for k in WEIGHTS}
    assert affect_fuse(full, 0.1).confidence == pytest.approx(1.0)
    no_pupil = {k: v for k, v in full.items() if k != "pupil"}
    poor_heart = {**full, "hr": (0.5, 0.3), "rmssd": (0.5, 0.3)}
    c = [affect_fuse(z, 0.1).confidence for z in (full, no_pupil, poor_heart, {"face": (0.5, 1)})]
    assert c[0] > c[1] > c[3] and c[0] > c[2] > c[3]


def test_a_poor_signal_counts_less_in_arousal():
    trusted = affect_fuse({"hr": (2.0, 1.0), "pupil": (-2.0, 0.1)}, None)
    assert trusted.arousal > 0.5


def test_baseline_is_the_viewers_own_after_the_baseline_period():
    b = baselines()["hr"]
    rng = np.random.default_rng(0)
    for x in rng.normal(90, 4, 200):  # a viewer with a fast resting heart
        b.add(float(x))
    assert b.z(90.0, ready=True) == pytest.approx(0.0, abs=0.1)
    assert b.z(90.0, ready=False) == pytest.approx(2.0)  # population prior: 70 +- 10
    assert b.z(98.0, ready=True) == pytest.approx(2.0, abs=0.3)
