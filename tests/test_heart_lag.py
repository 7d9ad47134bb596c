"""A strap calibrated as late (`calibrate hr` stores its lag, up to 3 s; edge/profile.py
shifts its beats back by it) keeps HR_OK between its beats: the seat reads the strap as of
the time its corrected beats stand for, not as of now, where the time since its last beat
looked like beats lost (a 45 bpm heart 3 s late lost HR_OK half a second of each beat)."""

import numpy as np
import pytest

from empathy.calibration import store
from empathy.edge.features import SeatFeatures
from empathy.edge.profile import load_profile
from empathy.sensors.base import Beat
from empathy.wire import Flag

T0 = 5_000_000_000


@pytest.mark.parametrize("lag_ms", [0.0, 2500.0, 3000.0])
@pytest.mark.parametrize("bpm", [45.0, 70.0])
def test_a_late_strap_keeps_hr_ok_between_its_beats(tmp_path, lag_ms, bpm):
    store.save_sensor(tmp_path, "strap-1", "hr", {"bias_pct": 0.0, "lag_ms": lag_ms})
    f = SeatFeatures(baseline_s=5, profile=load_profile(tmp_path, heart_sensor="strap-1"))
    rr = 60000.0 / bpm * (1 + 0.03 * np.random.default_rng(1).standard_normal(60))
    beats = T0 + np.cumsum(rr * 1000).astype(np.int64)  # each arrives at its own beat
    off, j = [], 0
    for t in range(T0, int(beats[-1]), 100_000):  # the unit's 10 Hz estimates
        while beats[j] <= t:
            f.add(Beat(int(beats[j]), float(rr[j])))
            j += 1
        e = f.estimate(t)
        if t - T0 > 20e6:
            off.append(not e["flags"] & Flag.HR_OK)
            assert abs(e["hr_bpm"] - bpm) < 5 or off[-1]
    assert len(off) > 150 and sum(off) == 0, f"HR_OK off in {sum(off)} of {len(off)}"
