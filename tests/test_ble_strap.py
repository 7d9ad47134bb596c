"""BLE heart-rate straps: a real bleak 3 client, through our driver, against BlueZ's D-Bus
API on a private system bus (python-dbusmock's bluez5 template plus the GATT objects of a
strap, sim/strap.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from empathy.sensors.base import Beat, Health, HeartRate, SourceError, open_source
from empathy.sim.strap import BluezSim
from empathy.sensors.ble.links import scan_straps
from empathy.sensors.ble.strap import ble_loop
from empathy.sensors.firmware import hrs
from empathy.sim.seat import SimSource
from polling import collect
from wearer import Wearer

A, B = "C0:FF:EE:00:00:0A", "C0:FF:EE:00:00:0B"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def bluez():
    # One bus for the module: bleak keeps one BlueZ manager per event loop, and our BLE
    # loop lives as long as the process.
    with loop_errors() as errors:
        with BluezSim() as bz:
            bz.strap_a = bz.add_strap(A, "Polar H10 A", location=1, battery=87)
            bz.strap_b = bz.add_strap(B, "Garmin HRM B", location=2, battery=40)
            bz.root.AddDevice("hci0", "11:22:33:44:55:66", "somebody's phone",
                              dbus_interface="org.bluez.Mock")  # advertises no HR service
            yield bz
        # the bus daemon is gone: a D-Bus connection the driver left open dies now, and its
        # exception must not be left for the garbage collector to report
        for _ in range(3):  # let the BLE loop read every connection's end of file
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.2), ble_loop()).result(5)
        gc.collect()
        assert not errors, errors


@contextlib.contextmanager
def loop_errors():
    """What the BLE loop reports to its exception handler meanwhile ("exception was never
    retrieved", "task was destroyed but it is pending")."""
    errors, loop = [], ble_loop()
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx.get("message")))
    try:
        yield errors
    finally:
        loop.set_exception_handler(before)


def wait_for(cond, timeout_s=20.0):
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def strap_a(bluez):
    src = open_source(f"ble://{A}?retry_max_s=0.5")
    assert src.wait_connected(30), src.stats()
    wait_for(lambda: bluez.strap_a.subscribed)
    yield src
    src.close()


def test_every_flag_combination_of_heart_rate_measurement(bluez, strap_a):
    strap_a.read(0)
    sent = []
    for wide, contact, energy, n_rr in itertools.product(
            (False, True), (None, False, True), (None, 1234), (0, 1, 4)):
        rr = [700 + 37 * i for i in range(n_rr)]
        hr = 0x10B if wide else 88  # 267 bpm in the 16-bit form
        value = hrs.measurement_encode(hr, rr, contact=contact, energy_kj=energy, wide=wide)
        assert bluez.strap_a.notify(value)
        sent.append((hr, contact, energy, rr))
    want_rr = [x * 1000 / 1024 for s in sent for x in s[3]]
    # (the driver puts a notification's HeartRate, then its Beats: a read between the two
    # ended a wait for the rates alone without the Beats, under load)
    got = collect(strap_a, lambda out: sum(isinstance(r, HeartRate) for r in out) == len(sent)
                  and sum(isinstance(r, Beat) for r in out) >= len(want_rr))
    rates = [r for r in got if isinstance(r, HeartRate)]
    assert [(r.hr_bpm, r.contact, r.energy_kj) for r in rates] == [s[:3] for s in sent]
    beats = [r for r in got if isinstance(r, Beat)]
    assert [b.rr_ms for b in beats] == pytest.approx(want_rr)
    assert all(b2.ts_us > b1.ts_us for b1, b2 in zip(beats, beats[1:]))
    # contact changes come out as health, not on every notification
    contact = [c for c, _ in itertools.groupby(r.contact for r in got if isinstance(r, Health))]
    want = [c for c, _ in itertools.groupby(s[1] for s in sent if s[1] is not None)]
    assert contact[-len(want):] == want


def test_location_battery_and_bad_values(bluez, strap_a):
    assert strap_a.stats()["location"] == "chest" and strap_a.stats()["battery_pct"] == 87
    strap_a.read(0)
    bluez.strap_a.set_battery(12)  # battery characteristic notifies too
    got = collect(strap_a, lambda out: any(isinstance(r, Health) and r.battery_pct == 12
                                           for r in out))
    assert got
    rejected = strap_a.stats()["rejected"]
    assert bluez.strap_a.notify(b"\x19\x48\x00\x01")  # 16-bit HR, energy cut short
    assert bluez.strap_a.notify(hrs.measurement_encode(61, [1024]))
    got = collect(strap_a, lambda out: any(isinstance(r, HeartRate) for r in out)
                  and any(isinstance(r, Beat) for r in out))  # (its Beat comes after it)
    assert strap_a.stats()["rejected"] == rejected + 1
    assert [r.rr_ms for r in got if isinstance(r, Beat)] == [1000.0]
    # values no heart makes: 420 bpm, an RR of 0 and one of 64 s; the RRs between stay, a
    # double count's short one too (the artefact corrector merges it)
    assert bluez.strap_a.notify(hrs.measurement_encode(420, [0, 150, 1024, 65535]))
    assert bluez.strap_a.notify(hrs.measurement_encode(62, [990]))
    got = collect(strap_a, lambda out: sum(isinstance(r, HeartRate) for r in out) == 2
                  and sum(isinstance(r, Beat) for r in out) >= 3)
    assert [r.hr_bpm for r in got if isinstance(r, HeartRate)] == [0, 62]  # 420: no reading
    assert [r.rr_ms for r in got if isinstance(r, Beat)] == pytest.approx(
        [150 / 1.024, 1000.0, 990 / 1.024])
    assert strap_a.stats()["rejected"] == rejected + 4


def test_strap_that_drops_out_mid_stream_comes_back(bluez, strap_a):
    strap_a.read(0)
    before = strap_a.stats()["reconnects"]
    assert bluez.strap_a.notify(hrs.measurement_encode(70, [870], contact=True))
    bluez.strap_a.leave()
    got = collect(strap_a, lambda out: any(isinstance(r, Health) and r.fault == "disconnected"
                                           for r in out))
    assert [r.rr_ms for r in got if isinstance(r, Beat)] == pytest.approx([870 / 1.024])
    time.sleep(1.0)  # reconnect attempts fail while it is away
    assert not bluez.strap_a.connected
    bluez.strap_a.come_back()
    assert strap_a.wait_connected(30)
    wait_for(lambda: bluez.strap_a.subscribed)
    assert strap_a.stats()["reconnects"] == before + 1
    assert bluez.strap_a.notify(hrs.measurement_encode(75, [800, 810], contact=True))
    got = collect(strap_a, lambda out: sum(isinstance(r, Beat) for r in out) == 2)
    assert any(isinstance(r, Health) and r.battery_pct >= 0 for r in got)  # re-read


def our_dbus_connections(bluez) -> int:
    """The connections this process holds to the bus daemon (bleak opens one per strap
    connection, besides its manager's)."""
    with bluez.lock:
        daemon = bluez.bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
        names = [n for n in daemon.ListNames(dbus_interface="org.freedesktop.DBus")
                 if n.startswith(":")]
        return sum(daemon.GetConnectionUnixProcessID(n, dbus_interface="org.freedesktop.DBus")
                   == os.getpid() for n in names) - 1  # less the simulator's own


def ble_tasks() -> int:
    async def count():
        return len(asyncio.all_tasks())
    return asyncio.run_coroutine_threadsafe(count(), ble_loop()).result(5)


def test_a_strap_that_drops_out_again_and_again_leaks_nothing(bluez):
    """Every drop and reconnect hangs up its own D-Bus connection: none is left open (one
    socket each, and the daemon allows a user 256) to die later with an exception nobody
    retrieves."""
    strap = bluez.add_strap("C0:FF:EE:00:00:1C", "Polar H10 1C")
    src = open_source("ble://C0:FF:EE:00:00:1C?retry_max_s=0.3")
    try:
        assert src.wait_connected(30)
        wait_for(lambda: strap.subscribed)
        before = our_dbus_connections(bluez), len(os.listdir("/proc/self/fd")), ble_tasks()
        drops = 8
        with loop_errors() as errors:
            for _ in range(drops):
                src.read(0)
                strap.leave()
                collect(src, lambda out: any(isinstance(r, Health) and r.fault == "disconnected"
                                             for r in out))
                time.sleep(0.4)  # a connect attempt fails while it is away
                strap.come_back()
                assert src.wait_connected(30)
                wait_for(lambda: strap.subscribed)
        after = our_dbus_connections(bluez), len(os.listdir("/proc/self/fd")), ble_tasks()
        assert src.stats()["reconnects"] == drops
        assert not errors, errors
        assert after[0] <= before[0], (before, after)  # D-Bus connections
        assert after[1] < before[1] + drops // 2, (before, after)  # file descriptors
        assert after[2] <= before[2], (before, after)  # tasks in the BLE loop
    finally:
        src.close()
        strap.leave()


def test_two_straps_by_name_at_once(bluez, strap_a):
    b = open_source("ble://?name=Garmin")
    try:
        assert b.wait_connected(30)
        wait_for(lambda: bluez.strap_b.subscribed)
        assert b.stats()["address"] == B and b.stats()["location"] == "wrist"
        strap_a.read(0)
        bluez.strap_b.notify(hrs.measurement_encode(99, [606]))
        bluez.strap_a.notify(hrs.measurement_encode(66, [909]))
        got_b = collect(b, lambda out: any(isinstance(r, Beat) for r in out))
        got_a = collect(strap_a, lambda out: any(isinstance(r, Beat) for r in out))
        assert [r.hr_bpm for r in got_b if isinstance(r, HeartRate)] == [99]
        assert [r.hr_bpm for r in got_a if isinstance(r, HeartRate)] == [66]
    finally:
        b.close()


def test_scan_lists_heart_rate_straps_only(bluez, strap_a):
    found = asyncio.run_coroutine_threadsafe(scan_straps(2.0), ble_loop()).result(30)
    # B was released by the last test and advertises; strap A is connected and read by the
    # fixture's source (it no longer advertises), listed so an installer sees it in use
    assert [(s["address"], s["connected"], s["read"]) for s in found] == [
        (B, False, False), (A, True, True)]
    assert found[0]["name"] == "Garmin HRM B" and -80 < found[0]["rssi"] < 0
    assert found[1]["name"] == "Polar H10 A" and found[1]["rssi"] is None


def test_a_name_two_straps_answer_to_reads_neither(bluez):
    """Two straps heard whose names start so (kiosks side by side, a room of straps): the
    source reads neither and says which, in one Health fault, until only one is left."""
    one, two = (bluez.add_strap(f"C0:FF:EE:00:00:3{i}", f"Wahoo TICKR 3{i}") for i in (1, 2))
    src = open_source("ble://?name=Wahoo&scan_s=2&retry_max_s=0.5")
    try:
        got = collect(src, lambda out: any(isinstance(r, Health) and r.fault for r in out))
        fault = next(r.fault for r in got if isinstance(r, Health) and r.fault)
        assert fault == ("2 straps named 'Wahoo' (C0:FF:EE:00:00:31, C0:FF:EE:00:00:32): "
                         "give the address (empathy sensors scan)"), fault
        assert not src.wait_connected(3) and not one.connected and not two.connected
        two.leave()
        assert src.wait_connected(30) and src.stats()["address"] == one.address
        wait_for(lambda: one.subscribed)
    finally:
        src.close()
        one.leave()
        two.leave()


def test_a_strap_left_connected_is_taken(bluez):
    """A unit killed mid-show: BlueZ keeps its link to the strap (bluez/bluez#89) but ends
    its notifications with it, and the strap, connected, no longer advertises. A scan
    alone never finds it again; by name or by address, the next source takes the link."""
    for i, url in enumerate(("ble://?name=Polar H10 3E&scan_s=2", "ble://C0:FF:EE:00:00:3F")):
        strap = bluez.add_strap(f"C0:FF:EE:00:00:3{'EF'[i]}", f"Polar H10 3{'EF'[i]}")
        with bluez.lock:  # connected by a client that never subscribes (and is gone)
            bluez.bus.get_object("org.bluez", strap.path).Connect(
                dbus_interface="org.bluez.Device1")
        src = open_source(url)
        try:
            assert src.wait_connected(30), src.stats()
            wait_for(lambda: strap.subscribed)
            strap.notify(hrs.measurement_encode(70, [877]))
            got = collect(src, lambda out: any(isinstance(r, Beat) for r in out))
            assert [r.hr_bpm for r in got if isinstance(r, HeartRate)] == [70]
        finally:
            src.close()
            strap.leave()


def test_worn_strap_follows_a_simulated_viewer(bluez):
    viewer = SimSource("sim://strap?seed=5", {"seed": 5}, faces=False)
    strap = bluez.add_strap("C0:FF:EE:00:00:0C", "Polar H10 C")
    bluez.wear(strap, viewer)
    src = open_source("ble://C0:FF:EE:00:00:0C")
    try:
        got = collect(src, lambda out: sum(isinstance(r, Beat) for r in out) >= 6, 40)
        rr = [r.rr_ms for r in got if isinstance(r, Beat)]
        assert all(300 < x < 2000 for x in rr)
        assert 40 < 60000 / (sum(rr) / len(rr)) < 140
    finally:
        src.close()
        strap.leave()


def test_cli_read_prints_live_values(bluez):
    strap = bluez.add_strap("C0:FF:EE:00:00:0D", "Polar H10 D")
    bluez.wear(strap, SimSource("sim://strap?seed=6", {"seed": 6}, faces=False))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "empathy.cli", "sensors", "read", "ble://C0:FF:EE:00:00:0D",
             "--duration", "4", "--json"], capture_output=True, text=True, timeout=90,
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bluez.address})
        assert out.returncode == 0, out.stderr
        lines = [json.loads(x) for x in out.stdout.splitlines()]
        assert {"Beat", "HeartRate"} <= {x["type"] for x in lines}
        scan = subprocess.run([sys.executable, "-m", "empathy.cli", "sensors", "scan", "--json",
                               "--timeout", "2", "--no-serial"], capture_output=True, text=True,
                              timeout=60, env={**os.environ,
                                               "DBUS_SYSTEM_BUS_ADDRESS": bluez.address})
        assert scan.returncode == 0, scan.stderr
        assert "C0:FF:EE:00:00:0D" in [s["address"] for s in json.loads(scan.stdout)["ble"]]
    finally:
        strap.leave()


def test_strap_without_body_location_and_a_bad_battery_value(bluez):
    strap = bluez.add_strap("C0:FF:EE:00:00:0E", "Cheap HR E", location=None, battery=50)
    src = open_source("ble://C0:FF:EE:00:00:0E")
    try:
        assert src.wait_connected(30)
        assert src.stats()["location"] == "" and src.stats()["battery_pct"] == 50
        wait_for(lambda: strap.subscribed)
        strap.set_battery(250)  # not a percentage
        strap.notify(hrs.measurement_encode(64, [960]))
        got = collect(src, lambda out: any(isinstance(r, Beat) for r in out))
        assert src.stats()["rejected"] == 1 and src.stats()["battery_pct"] == 50
        assert not any(isinstance(r, Health) and r.battery_pct == 250 for r in got)
    finally:
        src.close()
        strap.leave()


def test_polar_h10_raw_ecg_gives_r_peaks_at_the_wearers_beats(bluez):
    """ecg=1: the emulated H10's measurement-data service streams the wearer's ECG at 130 Hz;
    the edge finds R-peaks where the heart beat (the strap's own clock mapped onto ours)
    and the strap's 1 Hz RR intervals are left out."""
    from empathy.edge.features import HR_WINDOW_S, SeatFeatures
    from empathy.edge.heart import ecg_peaks
    from empathy.sensors.base import Waveform

    strap = bluez.add_strap("C0:FF:EE:00:00:1A", "Polar H10 1A", pmd=True)
    # a still wearer: the device path is under test, not a loose strap
    wearer = Wearer(8)
    bluez.wear(strap, wearer)
    src = open_source("ble://C0:FF:EE:00:00:1A?ecg=1&acc=1")
    try:
        got = collect(src, lambda out: sum(len(r.samples) for r in out if isinstance(r, Waveform)
                                           and r.kind == "ecg") >= 130 * 14, 60)
        truth = wearer.beats
        assert src.stats()["pmd_streaming"] == [0, 2] and not src.stats()["rejected"]
    finally:
        src.close()
        strap.leave()
    ecg = [r for r in got if isinstance(r, Waveform) and r.kind == "ecg"]
    acc = [r for r in got if isinstance(r, Waveform) and r.kind == "acc"]
    assert all(w.fs_hz == 130 and len(w.samples) == 73 for w in ecg)
    assert acc and all(900 < m < 1100 for w in acc for m in w.samples)  # gravity, in mG
    assert not any(isinstance(r, Beat) for r in got)  # R-peaks instead of the strap's RR
    assert any(isinstance(r, HeartRate) for r in got)
    for a, b in zip(ecg, ecg[1:]):  # frames follow each other on our clock
        assert abs(b.ts_us - a.ts_us - 73 * 1e6 / 130) < 20_000
    x = np.concatenate([w.samples for w in ecg])
    peaks = ecg[0].ts_us + ecg_peaks(x, 130.0).idx * 1e6 / 130
    inside = [t for t in truth if ecg[0].ts_us + 1e6 < t < ecg[-1].ts_us - 1e6]
    assert len(inside) >= 4
    assert all(np.min(np.abs(peaks - t)) < 25_000 for t in inside), (peaks, inside)
    feats = SeatFeatures(baseline_s=2)
    for r in got:
        feats.add(r)
    # the wearer's rate over the estimate's own window (breathing moves it beat to beat)
    at = ecg[-1].ts_us + 560_000
    recent = [t for t in truth if t > at - HR_WINDOW_S * 1e6 - 1.5e6]
    hr = 60e6 / np.mean(np.diff(recent))
    assert feats.estimate(at)["hr_bpm"] == pytest.approx(hr, abs=4)


def test_ecg_asked_of_a_strap_without_the_service_falls_back_to_rr(bluez):
    strap = bluez.add_strap("C0:FF:EE:00:00:1B", "Garmin HRM 1B")
    bluez.wear(strap, SimSource("sim://strap?seed=9", {"seed": 9}, faces=False))
    src = open_source("ble://C0:FF:EE:00:00:1B?ecg=1")
    try:
        got = collect(src, lambda out: sum(isinstance(r, Beat) for r in out) >= 3, 40)
        assert any(isinstance(r, Health) and "no Polar measurement-data service" in r.fault
                   for r in got)
    finally:
        src.close()
        strap.leave()


def test_url_errors():
    with pytest.raises(SourceError, match="give an address"):
        open_source("ble://")
    with pytest.raises(SourceError, match="could not convert"):
        open_source("ble://AA:BB:CC:DD:EE:FF?scan_s=soon")
