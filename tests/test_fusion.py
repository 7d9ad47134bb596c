"""Arousal/valence fusion: signs, the viewer's own baseline, confidence."""

import numpy as np
import pytest

from empathy.edge.fusion import WEIGHTS, Aligner, affect_fuse, baselines


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


def test_each_signal_is_fused_at_the_moment_the_slowest_shows():
    """A step in the body at t = 10 s shows in the face at once, the pupil 1 s and heart
    rate 5 s later; aligned, the fused estimate steps once, `lag_s` later, not three
    times: each signal is taken from when it showed the same moment of the body."""
    lat = {"hr": 5.0, "pupil": 1.0, "face": 0.0, "rmssd": 20.0}
    al = Aligner(lat)
    assert al.lag_s == 5.0  # the slowest of heart, pupil, face; RMSSD is slower still
    fused = {}
    for i in range(60):  # 2 Hz for 30 s
        t_s = i / 2
        z = {k: (2.0 if t_s >= 10 + lat[k] else 0.0, 1.0) for k in ("hr", "pupil", "face")}
        z["rmssd"] = (0.0, 1.0)
        out, _ = al.push(int(t_s * 1e6), z, None)
        fused[t_s] = {k: v for k, (v, _) in out.items()}
    assert fused[4.5] == {"hr": 0.0, "pupil": 0.0, "rmssd": 0.0}  # the face needs 5 s of past
    assert fused[14.5] == {"hr": 0.0, "pupil": 0.0, "face": 0.0, "rmssd": 0.0}
    assert fused[15.0] == {"hr": 2.0, "pupil": 2.0, "face": 2.0, "rmssd": 0.0}
    # unaligned, the face would have moved the estimate 5 s early
    assert affect_fuse({k: (v, 1.0) for k, v in fused[12.0].items()}, None).arousal == 0.0


def test_a_gap_in_the_history_leaves_a_signal_out_rather_than_using_an_old_value():
    al = Aligner({"hr": 5.0, "pupil": 1.0, "face": 0.0})
    al.push(0, {"face": (1.0, 1.0)}, 0.3)
    out, valence = al.push(5_000_000, {"face": (-1.0, 1.0)}, -0.3)
    assert out["face"] == (1.0, 1.0) and valence == 0.3  # the face 5 s ago, its valence too
    out, valence = al.push(12_000_000, {"hr": (0.5, 1.0), "face": (0.0, 1.0)}, 0.0)
    assert out == {"hr": (0.5, 1.0)} and valence is None  # 7 s ago had nothing within 1 s
