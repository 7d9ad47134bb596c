"""A unit whose seat reads a BLE strap stops at once when told to, whatever the strap loop is
doing: scanning for a strap not about, or connecting to one that does not answer. Before,
the stop waited for the rest of the scan (scan_s, 10 s by default: 9.1-9.3 s from a SIGTERM
a second in) or for the connect's end (20.2 s), and the demo's watchers with it. A real `empathy edge run` on the simulated BlueZ bus
(sim/strap.py); the mock's own record says what the unit asked of BlueZ."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import dbus
import pytest

from empathy.sim.strap import CHAR, DEVICE, MOCK, BluezSim
from empathy.keys import Keystore
from redteam.ops_rig import unit_config, wait_for

pytestmark = [pytest.mark.timeout(150), pytest.mark.realtime]
SCAN_S = 120  # the scan's own end: far past any stop's, loaded or not


def calls(bz, path: str, method: str) -> int:
    with bz.lock:
        return len(bz.bus.get_object("org.bluez", path).GetMethodCalls(
            method, dbus_interface=MOCK))


def stop_unit(tmp_path, source: str, busy) -> dict:
    """Start a unit reading `source`, SIGTERM it once `busy()` and running; its stats."""
    keys, host = Keystore.new([1]), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host.bind(("127.0.0.1", 0))  # where its packets go (nobody reads them)
    cfg = unit_config(tmp_path, keys, 1, host.getsockname()[1], {1: source}, baseline_s=5.0)
    stats = tmp_path / "stats.json"
    unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "--log-level", "info", "edge",
                             "run", "--config", str(cfg), "--stats", str(stats)],
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(busy, 60)
        host.settimeout(60)
        host.recv(2048)  # its first packet: the unit runs, its SIGTERM handler is set
        unit.send_signal(signal.SIGTERM)
        t = time.monotonic()
        # well before the scan's own end, however loaded the machine
        _, err = unit.communicate(timeout=SCAN_S / 2)
        print(f"stopped in {time.monotonic() - t:.2f} s")  # (the figure, with -s)
    finally:
        unit.kill()
        host.close()
    assert unit.returncode == 0, err[-1500:]
    assert "Traceback" not in err, err[-1500:]
    assert "SIGTERM: ending the show" in err, err[-3000:]
    after = err[err.index("SIGTERM: ending the show"):]
    # the scan or connect was called off, not waited out: the strap loop said no failure
    assert "strap not reachable" not in after, after[-1500:]
    # nor the connection's first reads: none ended (by its reply, or its wait's end) after
    assert "PMD streaming" not in after and "strap connected" not in after, after[-1500:]
    return json.loads(stats.read_text())


def test_a_unit_scanning_for_its_strap_stops_at_once(tmp_path):
    """The strap is not about, so the unit scans (by name: it would hear for SCAN_S)."""
    with BluezSim() as bz:
        adapter = "/org/bluez/hci0"
        stats = stop_unit(tmp_path, f"ble://?name=Polar&scan_s={SCAN_S}",
                          lambda: calls(bz, adapter, "StartDiscovery") >= 1)
        assert calls(bz, adapter, "StopDiscovery") == 1  # the scan was ended, not left on
        with bz.lock:
            assert not bz.bus.get_object("org.bluez", adapter).Get(
                "org.bluez.Adapter1", "Discovering", dbus_interface=dbus.PROPERTIES_IFACE)
    assert stats["unit_id"] == 1, stats  # the clean stop path ran


def test_a_unit_connecting_to_its_strap_stops_at_once(tmp_path):
    """The strap answers Connect but never resolves its services: bleak waits for them."""
    with BluezSim() as bz:
        strap = bz.add_strap("C0:FF:EE:00:51:01", "Polar H10 51")
        with bz.lock:  # connected, its services never resolved
            bz.bus.get_object("org.bluez", strap.path).AddMethod(
                DEVICE, "Connect", "", "",
                f"self.UpdateProperties('{DEVICE}', {{'Connected': dbus.Boolean(True)}})",
                dbus_interface=MOCK)
        stats = stop_unit(tmp_path, f"ble://{strap.address}?scan_s={SCAN_S}",
                          lambda: calls(bz, strap.path, "Connect") >= 1)
        assert calls(bz, strap.path, "Disconnect") >= 1  # the pending connect was called off
        assert not strap.connected
    assert stats["unit_id"] == 1, stats


def test_a_unit_starting_its_straps_ecg_stops_at_once(tmp_path):
    """A Polar H10 that takes the ECG start request and never answers it: the strap loop
    waits 5 s for the answer, then asks for the accelerometer and waits 5 s more. Before,
    the stop waited for both (10.1-10.2 s from a SIGTERM, 3 runs; now 0.1-0.3 s); the ACC
    request went out after it."""
    with BluezSim() as bz:
        strap = bz.add_strap("C0:FF:EE:00:51:02", "Polar H10 52", pmd=True)
        with bz.lock:  # the request taken, no indication in answer
            bz.bus.get_object("org.bluez", strap.pmd_cp).AddMethod(
                CHAR, "WriteValue", "aya{sv}", "", "", dbus_interface=MOCK)
        stats = stop_unit(tmp_path, f"ble://{strap.address}?ecg=1&acc=1&scan_s={SCAN_S}",
                          lambda: calls(bz, strap.pmd_cp, "WriteValue") >= 1)
        assert calls(bz, strap.pmd_cp, "WriteValue") == 1  # ECG's: ACC was never asked
        assert calls(bz, strap.path, "Disconnect") >= 1  # hung up
        assert not strap.connected
    assert stats["unit_id"] == 1, stats
