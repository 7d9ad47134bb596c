"""Heart-rate devices that send no RR intervals (a watch broadcasting heart rate, an optical
armband in HR mode, a cheap strap): the seat reads the device's own figure (edge/device_hr.py)
while no beats arrive, with HR_OK only while it is on the skin, plausible, fresh and moving.
The devices are sim/hr_device.py's, which shares nothing with the seat's rules."""

from __future__ import annotations

import time

import numpy as np
import pytest

from empathy.bench.seat_hr import window_rate
from empathy.bench.strap_loss import T0_US, arrhythmia, notifications
from empathy.edge.device_hr import FRESH_S, STUCK_S, DeviceRate
from empathy.edge.features import SeatFeatures
from empathy.edge.latency import HR_WINDOW_S
from empathy.sensors.base import Beat, HeartRate, open_source
from empathy.sensors.firmware import hrs
from empathy.sim.hr_device import HrDevice
from empathy.wire import Flag


def run_seat(sent, end_s, beats=()):
    """Estimates a second of a seat fed these (arrival µs, 0x2A37 bytes) notifications, and
    these strap beats: [(t s, flags, hr_bpm, 'hr' in the arousal)]."""
    f, k, out = SeatFeatures(baseline_s=10), 0, []
    beats = list(beats)
    for now in np.arange(1.0, end_s, 1.0):
        now_us = T0_US + int(now * 1e6)
        while k < len(sent) and sent[k][0] <= now_us:
            m = hrs.measurement_parse(sent[k][1])
            f.add(HeartRate(sent[k][0], float(m["hr_bpm"]), m["contact"]))
            while beats and beats[0].ts_us <= sent[k][0]:
                f.add(beats.pop(0))
            k += 1
        e = f.estimate(now_us)
        out.append((now, e["flags"], e["hr_bpm"], "hr" in f.signals))
    return out


def test_a_device_without_rr_gives_the_seat_its_heart_rate_and_no_hrv():
    rng = np.random.default_rng(3)
    rr = arrhythmia(120.0, rng)
    beats_s = np.concatenate(([0.0], np.cumsum(rr) / 1e3))
    rows = run_seat(notifications(rr, "second", 0.0, rng, device="hr"), 115.0)
    late = [r for r in rows if r[0] >= 20]
    ok = [r for r in late if r[1] & Flag.HR_OK]
    assert len(ok) >= 0.95 * len(late)
    assert not any(r[1] & Flag.HRV_OK for r in rows)
    err = [abs(r[2] - window_rate(beats_s, r[0], HR_WINDOW_S)) for r in ok]
    assert np.percentile(err, 90) < 3.0, np.percentile(err, 90)
    assert all(r[3] for r in ok[5:])  # the arousal reads it (aligned 5 s later)


def off_skin_run(mode, off=(50.0, 95.0), end_s=150.0, seed=4):
    """A device worn, taken off over `off` (seconds; no beats), worn again; notified once a
    second. [(t s, flags, hr)] of the seat."""
    rng = np.random.default_rng(seed)
    rr = arrhythmia(end_s + 5, rng)
    ends = np.cumsum(rr) / 1e3
    dev, sent, k = HrDevice(mode), [], 0
    for t in np.arange(0.3, end_s, 1.0):
        while k < len(ends) and ends[k] <= t:
            if not off[0] <= ends[k] < off[1]:
                dev.beat(ends[k], rr[k])
            k += 1
        bpm, contact = dev.tick(t, skin=not off[0] <= t < off[1])
        sent.append((T0_US + int(t * 1e6), hrs.measurement_encode(bpm, contact=contact)))
    return run_seat(sent, end_s)


@pytest.mark.parametrize("mode", ["contact", "zero"])
def test_off_the_skin_a_device_that_says_so_withholds_hr_at_once(mode):
    rows = off_skin_run(mode)
    assert not any(r[1] & Flag.HR_OK for r in rows if 51.5 <= r[0] < 95)
    assert all(r[1] & Flag.HR_OK for r in rows if 100 <= r[0])  # worn again


def test_a_device_that_repeats_its_last_figure_off_the_skin_is_withheld_once_it_stands():
    rows = off_skin_run("repeat")
    on_off = [r for r in rows if 50 <= r[0] < 95 and r[1] & Flag.HR_OK]
    assert on_off and max(r[0] for r in on_off) < 50 + STUCK_S + 1
    assert all(r[1] & Flag.HR_OK for r in rows if 100 <= r[0])


def test_a_frozen_device_is_withheld():
    rows = off_skin_run("stuck", off=(200.0, 201.0))  # freezes 40 s in, never taken off
    assert all(r[1] & Flag.HR_OK for r in rows if 12 <= r[0] < 40)
    assert not any(r[1] & Flag.HR_OK for r in rows if 40 + STUCK_S + 1 <= r[0])


def test_a_figure_that_stands_still_is_nobody_there():
    d = DeviceRate()
    said = [d.add(T0_US + i * 1_000_000, 71, None) for i in range(int(STUCK_S) + 3)]
    assert all(said[:int(STUCK_S)]) and not any(said[int(STUCK_S):])
    assert d.rate(T0_US + int(STUCK_S + 2) * 1_000_000 + 10) == (0.0, 0.0)
    assert d.add(T0_US + int(STUCK_S + 3) * 1_000_000, 72, None)  # it moves: someone again


def test_figures_no_heart_makes_never_reach_the_wire():
    f = SeatFeatures(baseline_s=10)
    t = T0_US
    for i, bpm in enumerate([72, 73, 72, 73, 0, 72, 25, 74, 201, 250, float("nan"), 72,
                             float("inf"), -3, 1e9, 73, 74, 75, 74]):
        t += 1_000_000
        f.add(HeartRate(t, bpm, None))
        e = f.estimate(t + 10_000)
        ok = i in (2, 3) or i >= 17  # three plausible figures in a row
        assert bool(e["flags"] & Flag.HR_OK) == ok, (i, bpm, e)
        assert e["hr_bpm"] == (bpm if ok else 0.0)
    f.add(HeartRate(float("nan"), 75, None))  # a broken stamp: no traceback, passed over
    assert f.estimate(t + 20_000)["hr_bpm"] == 74
    assert f.device.rejected == 8  # 25, 201, 250, nan, inf, -3, 1e9 and the stamp
    e = f.estimate(t + int((FRESH_S + 0.5) * 1e6))
    assert not e["flags"] & Flag.HR_OK  # nothing new: stale


def test_a_device_that_sends_rr_keeps_the_beat_path():
    """The figure of a strap whose beats arrive is not read (a 150 here, the beats 60), nor
    once they stop: a strap without a contact sensor repeats its figure off the skin."""
    sent, beats = [], []
    for i in range(70):
        t = T0_US + (i + 1) * 1_000_000
        if i < 40:
            beats.append(Beat(t, 1000.0))
        sent.append((t, hrs.measurement_encode(150 + i % 2, [1024] if i < 40 else [])))
    rows = run_seat(sent, 70.0, beats)
    assert all(r[2] == pytest.approx(60.0, abs=0.5) for r in rows if 12 <= r[0] <= 40)
    assert all(r[2] in (0.0, pytest.approx(60.0, abs=0.5)) for r in rows)


@pytest.mark.realtime
@pytest.mark.timeout(120)
def test_an_hr_only_device_over_ble_gives_a_seat_its_heart():
    """The real path: the simulated device on the BlueZ-shaped bus, worn by a still simulated
    viewer, read by the BLE driver, into a seat."""
    from empathy.sim.strap import BluezSim
    from wearer import Wearer

    with BluezSim() as bz:
        strap = bz.add_strap("C0:FF:EE:00:00:2A", "Verity Sense 2A", rr=False)
        wearer = Wearer(8, ecg=False)
        bz.wear(strap, wearer)
        src = open_source("ble://C0:FF:EE:00:00:2A?retry_max_s=0.5")
        got, end = [], time.monotonic() + 60
        try:
            while time.monotonic() < end and sum(isinstance(r, HeartRate) for r in got) < 14:
                got += src.read(0.1)
            truth = np.array(wearer.beats[-8:]) / 1e6  # the wearer's last 8 beats (s)
        finally:
            src.close()
            strap.leave()
    assert not any(isinstance(r, Beat) for r in got)
    rates = [r for r in got if isinstance(r, HeartRate)]
    assert len(rates) >= 14 and all(r.contact is True for r in rates[2:])
    f, flags = SeatFeatures(baseline_s=2), []
    for r in got:
        f.add(r)
        if isinstance(r, HeartRate):
            flags.append(f.estimate(r.ts_us + 1000)["flags"])
    e = f.estimate(rates[-1].ts_us + 1000)
    assert all(x & Flag.HR_OK for x in flags[4:]) and not any(x & Flag.HRV_OK for x in flags)
    assert e["hr_bpm"] == pytest.approx(60 / np.mean(np.diff(truth)), abs=5)


@pytest.mark.slow
@pytest.mark.realtime
def test_demo_with_an_hr_only_ble_seat(tmp_path):
    import json
    import sqlite3
    import subprocess
    import sys

    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "demo", "--seats", "2",
                        "--duration", "20", "--baseline", "6", "--no-faces", "--ble-seat", "hr",
                        "--out", str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text())
    assert s["hardware_seats"]["sources"]["2"].startswith("ble://")
    db = sqlite3.connect(next((out / "session").glob("*.session.db")))
    seat = json.loads((out / "edge" / "seat_pseudonyms.json").read_text())["2"]
    flags = [f for (f,) in db.execute("select flags from samples where seat_id = ?", (seat,))]
    assert sum(bool(f & Flag.HR_OK) for f in flags) > len(flags) / 3
    assert not any(f & Flag.HRV_OK for f in flags)
