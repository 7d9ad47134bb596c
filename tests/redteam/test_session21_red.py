"""Red team, session 21: the edge unit's sensors as hostile devices would drive them. A BLE
device near the unit (on the private BlueZ-shaped bus, read by the real bleak driver) and a
sensor board on a serial line, each through our real driver into a real seat, the unit's
log and the installer's terminal. Each test failed first; the fix is named in its story."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from empathy.edge.features import SeatFeatures
from empathy.sensors.base import Beat, Health, Waveform, open_source
from empathy.sensors.firmware import hrs, protocol
from empathy.sensors.serial.board import BoardClock
from empathy.wire import Flag
from polling import collect

# what a name may hold on the air: BlueZ passes any valid UTF-8 on as the device's Alias
FORGED = ("x\x1b[2K\rble://C0:FF:EE:00:00:99  Polar H10 99  -31 dBm\n"
          "ble://C0:FF:EE:00:00:98  Polar H10 98")


def _bluez():
    from empathy.sim.strap import BluezSim

    return BluezSim()


def _subscribed(strap, timeout_s: float = 20.0) -> None:
    end = time.monotonic() + timeout_s
    while not strap.subscribed:
        assert time.monotonic() < end, "never subscribed"
        time.sleep(0.05)


@pytest.mark.realtime
@pytest.mark.timeout(120)
def test_a_device_s_name_cannot_forge_lines_in_sensors_scan():
    """`empathy sensors scan` is how an installer picks a seat's strap (the nearest first).
    A device advertising a name of an escape sequence, a carriage return and a newline
    printed it as is: its own line erased and two straps that are not there listed
    (ble://..99 at -31 dBm, the nearest). Names are now shown escaped where not printable
    (sensors/cli.py)."""
    with _bluez() as bz:
        bz.add_strap("C0:FF:EE:00:00:21", "Polar H10 21")
        bz.add_strap("C0:FF:EE:00:00:66", FORGED)
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "sensors", "scan",
                            "--timeout", "2", "--no-serial"], capture_output=True,
                           timeout=60, env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bz.address})
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr[-1000:]
    lines = out.splitlines()
    assert len(lines) == 2 and all(x.startswith("ble://C0:FF:EE:00:00:") for x in lines), out
    assert "\x1b" not in out and "\r" not in out
    assert not any("00:99" in x.split()[0] or "00:98" in x.split()[0] for x in lines), out
