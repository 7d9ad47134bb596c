"""The light calibration's fit against simulated viewers, replayed on a fake clock.

The simulated eye constricts fast and redilates slowly after a latency (sim/physiology.py);
one time constant fitted neither: the gain was outside 0.6-1.0 of the viewer's settled
slope in 39 of 78 tuning cases (seeds 4-9 x 13 start delays) and 131 of 260 held-out ones
(seeds 20-39); with a latency and a time constant each way, 0 and 38. The viewers here
(seeds 40-44) were used for neither; 40 and 43 were outside before (gain 3.23 mm against a
slope of 2.69, 3.40 against 3.20). One start delay each: the viewer sits down with the
first frame, so the delay no longer changes the fit. Since pass 29 the fit is on the log of
the light (edge.pupil.light_drive), and the viewer's slope is taken on that scale (held out:
247 of 260).
"""

from __future__ import annotations

import numpy as np
import pytest

import empathy.sim.seat as sim_seat
from empathy.calibration.light import LEVELS, light_calibrate
from empathy.calibration.screen import ScreenTrace
from empathy.edge.pupil import light_drive
from empathy.sensors.base import Pupil
from empathy.sim.seat import SimSource, Viewer

STEP_S, FPS = 1.5, 25.0


def replayed(seed: int, monkeypatch):
    """The grey sequence as the player shows it at 25 fps, the seeded viewer watching it,
    read every 20 ms of a fake clock (no real time passes)."""
    clock = [10**9]
    monkeypatch.setattr(sim_seat, "now_us", lambda: clock[0])
    trace = ScreenTrace()
    src = SimSource(f"sim://seat?seed={seed}&faces=0", {"seed": str(seed), "faces": "0"},
                    screen=trace, faces=False)
    lum = np.repeat(LEVELS, int(STEP_S * FPS))
    wall = clock[0] / 1e6 + 0.2 + np.arange(len(lum)) / FPS
    for t, v in zip(wall, lum):
        trace.add(t, v)
    got = []
    while clock[0] < (wall[-1] + 0.3) * 1e6:
        clock[0] += 20_000
        got += src.read(0)
    frames = np.column_stack([wall, wall - wall[0], lum])
    return light_calibrate(frames, [r for r in got if isinstance(r, Pupil)], f"v{seed}",
                           len(LEVELS) * STEP_S)


@pytest.mark.parametrize("seed", [40, 41, 42, 43, 44])
def test_fit_lands_within_the_simulated_viewers_truth(seed, monkeypatch):
    body = Viewer.draw(np.random.default_rng(seed)).body
    f = replayed(seed, monkeypatch).figures
    slope = body.light_slope_mm(LEVELS, light_drive(np.array(LEVELS)))
    fast, slow = body.reflex_lags_s()
    assert f["r2"] >= 0.8
    assert 0.6 * slope <= f["gain_mm"] <= slope
    assert fast <= f["tau_s"] <= slow
    assert f["constrict_s"] < f["dilate_s"]
