"""The simulated world, in its own room: viewers, audiences, boards, straps and faces.

Everything here stands in for the world the product measures. It feeds the product through
the same doors as the world does (a `sim://` source, a pty, a BlueZ-shaped D-Bus, camera
crops), and the estimator (`empathy.edge`, the host's fusion and policies, calibration)
never imports it and shares no constant or model with it: a simulator that knows the
estimator's assumptions can only flatter it. `tests/test_sim_boundary.py` keeps that true.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE_IMPACT = HERE / "neon_rain_impact.toml"  # how the sample story really moves people
