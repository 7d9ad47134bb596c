"""Red team on a seat's heart path as a venue runs it: straps found by name in a room of
straps, seats sharing a sensor, units restarting mid-show. Real path: simulated Polar H10s on
a private BlueZ bus worn by simulated viewers, `empathy edge run` reading them through bleak,
and a host intake on a UDP port (tests/redteam/ops_rig.py)."""

import pytest

from empathy.sim.strap import BluezSim
from empathy.keys import Keystore
from ops_rig import Host, edge, shared, straps, unit_config

pytestmark = pytest.mark.timeout(180)
SEEDS = (9, 14)  # wearers resting at 54 and 96 bpm


def test_two_seats_of_one_unit_never_read_one_strap(tmp_path):
    """Two Polar H10s worn by two viewers (resting 54 and 96 bpm), one unit with two seats of
    `ble://?name=Polar` (the kiosk's own source, docs/guide-artist.md): both sources opened
    together and both took the first strap heard. Both seats sent that one heart with HR_OK
    on, 234 and 235 of 250 samples each the other's to the 0.01 bpm; the other viewer's heart
    was never read. A unit now refuses two seats that can read one sensor, in one line."""
    keys = Keystore.new([1])
    with BluezSim() as bz:
        straps(bz, SEEDS)
        host = Host(keys)
        try:
            cfg = unit_config(tmp_path, keys, 1, host.rx.port,
                              {1: "ble://?name=Polar", 2: "ble://?name=Polar"}, baseline_s=5.0)
            out, err = edge(cfg, 20).communicate(timeout=120)
        finally:
            host.close()
    p1, p2 = host.hr(1), host.hr(2)
    share, n = shared(p2, p1)
    assert share < 0.2 or n == 0, f"seat 2: {share:.2f} of {n} HR_OK samples are seat 1's"
    assert "Traceback" not in err and "one sensor" in err.strip().splitlines()[-1], err[-800:]
