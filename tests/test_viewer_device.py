"""A restarted unit takes a seat's viewer back only if the seat reads the device that viewer
wore (edge/viewer_state.py). A cinema seat's strap found by name (`ble://?name=Polar`) has
one seat key whoever wears which strap: the unit restarted within rebaseline_after_s and
now reading another strap (the next viewer's, a swapped one) took the old viewer's
baseline back. Real path: simulated Polar H10s on the private BlueZ bus worn by simulated
viewers, `empathy edge run` through bleak, a host intake on a UDP port, the unit's own
state file."""

import json
import subprocess
import sys

import numpy as np
import pytest

from empathy.keys import Keystore
from empathy.sim.strap import BluezSim
from empathy.wire import Flag
from redteam.ops_rig import Host, straps, unit_config

pytestmark = [pytest.mark.timeout(240), pytest.mark.realtime]
SEEDS = (9, 14)  # wearers resting at 54 and 96 bpm
BY_NAME = "ble://?name=Polar&scan_s=1"
TIMES = {"baseline_s": 4.0, "rebaseline_after_s": 300.0}  # the cinema template's 300 s


def _run(cfg, seconds: float) -> tuple[dict, str]:
    """`empathy edge run` (its log at info: what the seat decided): its stats and log."""
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "--log-level", "info", "edge",
                        "run", "--config", str(cfg), "--duration", str(seconds), "--json"],
                       capture_output=True, text=True, timeout=120)
    out, err = p.stdout, p.stderr
    assert p.returncode == 0 and "Traceback" not in err, err[-1500:]
    return json.loads(out.strip().splitlines()[-1]), err


def _arousal(host: Host, since_us: float) -> np.ndarray:
    got = [s.arousal for s in host.intake.seats[1].history
           if s.ts_us > since_us and s.flags & Flag.CALIBRATED]
    return np.array(got)


@pytest.mark.parametrize("swapped", [True, False], ids=["another strap", "the same strap"])
def test_a_restarted_unit_takes_a_baseline_back_only_from_the_same_strap(tmp_path, swapped):
    """Viewer 1 (resting 54 bpm) is read by name for 12 s; the unit stops (an operator's
    restart, a crash) and starts again at once. With the strap swapped meanwhile for another
    of the same model worn by viewer 2 (resting 96 bpm), the restarted seat took viewer 1's
    baseline back: viewer 2 sitting still read as aroused. Now it starts a fresh baseline
    for viewer 2; with the same strap on viewer 1 it still takes theirs back. The state file
    names no strap's address."""
    keys = Keystore.new([1])
    with BluezSim() as bz:
        one, two = straps(bz, SEEDS)
        two.strap.leave()
        host = Host(keys)
        try:
            cfg = unit_config(tmp_path, keys, 1, host.rx.port, {1: BY_NAME}, **TIMES)
            first, _ = _run(cfg, 12)
            assert first["baselines"] == {"1": 1} and first["baselines_resumed"] == []
            if swapped:
                one.strap.leave()
                two.strap.come_back()
            restart_us = host.intake.seats[1].history[-1].ts_us
            second, err = _run(cfg, 14)
        finally:
            host.close()
    kept = (tmp_path / "unit1.viewers.json").read_text()
    assert one.strap.address not in kept and two.strap.address not in kept
    for a in (one.strap.address, two.strap.address):
        assert a.replace(":", "").lower() not in kept.lower()
    after = _arousal(host, restart_us + 9e6)  # connected, and a fresh baseline taken
    assert len(after) > 20, len(after)
    if swapped:
        assert second["baselines_resumed"] == [], err[-1500:]
        assert "another device" in err, err[-1500:]
        # viewer 2 at rest against their own baseline, not viewer 1's 54 bpm
        assert abs(np.median(after)) < 0.5, np.median(after)
    else:
        assert second["baselines_resumed"] == [1], err[-1500:]
        assert "the device of before the restart" in err, err[-1500:]
        assert abs(np.median(after)) < 0.5, np.median(after)
