"""The operator's check after a night's updates: `empathy host units` against a real
`empathy host run`, heard from a unit of the release before session 35 (its recorded
heartbeats, tests/data/compat/), one of this release, and one not heard at all."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.keys import Keystore
from redteam.redteam_rig import TOKEN, Host, free_udp_port, wait_for

pytestmark = [pytest.mark.timeout(180), pytest.mark.realtime]  # a live host
OLD = json.loads((Path(__file__).parent / "data" / "compat" / "f128ac6.json").read_text())
OLD_UNIT, NEW_UNIT, OFF_UNIT = OLD["unit"], 2, 3


def _units(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "empathy.cli", "host", "units", "--config",
                           str(config), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "EMPATHY_OPERATOR_TOKEN": TOKEN})


def test_host_units_names_the_older_the_unheard_and_exits_1_until_all_are_updated(tmp_path):
    keys = Keystore({OLD_UNIT: bytes.fromhex(OLD["unit_key"]), NEW_UNIT: os.urandom(32),
                     OFF_UNIT: os.urandom(32)}, cue_signing=os.urandom(32))
    port = free_udp_port()
    host = Host(tmp_path, f"udp://127.0.0.1:{port}", keys)
    host.cfg["dashboard"]["listen"] = f"127.0.0.1:{free_udp_port()}"  # (a port it keeps)
    host.start()
    try:
        old = [bytes.fromhex(p) for p in OLD["udp"]
               if wire.kind_of(bytes.fromhex(p)) == wire.KIND_HEALTH]
        ours = wire.encode_health(wire.Health(NEW_UNIT, 1, now_us() & wire.TS_MASK,
                                              wire.RELEASE), keys.units[NEW_UNIT])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for p in old + [ours]:
                tx.sendto(p, ("127.0.0.1", port))
        wait_for(lambda: len(host.state()["units"]) == 2, 60, "both units' heartbeats")
        done = _units(tmp_path / "host.toml", "--json")
        assert done.returncode == 1, done.stderr
        got = json.loads(done.stdout)
        assert got["host"] == ".".join(map(str, wire.RELEASE)) and not got["updated"]
        assert {u["unit"]: (u["release"], u["vs_host"]) for u in got["units"]} == {
            OLD_UNIT: ("0.1.0", "older"), NEW_UNIT: (got["host"], "same"),
            OFF_UNIT: (None, "not heard")}
        text = _units(tmp_path / "host.toml")
        assert text.returncode == 1 and text.stdout.splitlines() == [
            f"unit {OLD_UNIT}: 0.1.0, older than the host: update the unit",
            f"unit {OFF_UNIT}: -, not heard",
            f"1 of 3 units run the host's release {got['host']}"], text.stdout
        # the host's log says it once, in one line
        line = "'why': 'older than the host: update the unit'"
        assert host.log().count(line) == 1, host.log()[-3000:]
    finally:
        host.stop()
    # no host running: one line, what to do
    down = _units(tmp_path / "host.toml")
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert down.stderr.startswith("empathy host units: nothing answers at http://127.0.0.1:")
