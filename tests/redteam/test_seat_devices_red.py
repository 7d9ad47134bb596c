"""Red team on the two new seat paths, through the real ones: an HR-only device on the
private BlueZ-shaped bus (sim/strap.py) read by the BLE driver, and the AD8232 ECG board
(sim/board.py) on a pty read by serial://, each into a seat."""

from __future__ import annotations

import time

import numpy as np
import pytest

from corpus_records import need
from empathy.clock import now_us
from empathy.edge.features import SeatFeatures
from empathy.sensors.base import HeartRate, Waveform, open_source
from empathy.sensors.firmware import hrs
from empathy.wire import Flag
from polling import collect as polled


def _collect(src, until, timeout_s=30.0) -> list:
    return polled(src, until, timeout_s)


def _device_over_ble(address: str, values: list[bytes], every_s: float):
    """The simulated device notifies `values`, one each `every_s`, to the BLE driver:
    (readings, host µs just before each notification)."""
    from empathy.sim.strap import BluezSim

    with BluezSim() as bz:
        strap = bz.add_strap(address, "Watch " + address[-2:], rr=False)
        src = open_source(f"ble://{address}?retry_max_s=0.5")
        try:
            assert src.wait_connected(30), src.stats()
            end = time.monotonic() + 20
            while not strap.subscribed:
                assert time.monotonic() < end, "never subscribed"
                time.sleep(0.05)
            src.read(0.2)
            sent = []
            for k, v in enumerate(values):
                if k:
                    time.sleep(every_s)
                sent.append(now_us())
                assert strap.notify(v)
            got = _collect(src, lambda out: sum(isinstance(r, HeartRate) for r in out)
                           + src.stats()["rejected"] >= len(values))
            time.sleep(0.3)
            got += src.read(0)
        finally:
            src.close()
    return got, sent


def _seat_rows(readings: list, t0_us: int, t1_us: int) -> np.ndarray:
    """A seat fed the readings in time, an estimate each 0.1 s: rows (µs, flags, hr)."""
    seat, rows, k = SeatFeatures(baseline_s=10), [], 0
    readings = sorted(readings, key=lambda r: r.ts_us)
    for t in range(t0_us, t1_us, 100_000):
        while k < len(readings) and readings[k].ts_us <= t:
            seat.add(readings[k])
            k += 1
        e = seat.estimate(t)
        rows.append((t, e["flags"], e["hr_bpm"]))
    return np.array(rows, float)


@pytest.mark.realtime
@pytest.mark.timeout(120)
def test_a_device_that_notifies_every_few_seconds_gives_the_seat_its_rate():
    """A watch relaying its rate every 2.6 s (an Apple Watch's workout rate over a
    broadcasting app comes every few seconds; armbands in power save notify slower than
    once a second): the seat counted MIN_FIGURES only inside FRESH_S, so it never had
    three and sent no HR_OK at all (0 of 85 estimates); a device every 3 s or slower: 0."""
    figures = [71, 72, 74, 73, 72]
    got, sent = _device_over_ble("C0:FF:EE:00:00:3A", [
        hrs.measurement_encode(b, contact=True) for b in figures], every_s=2.6)
    rates = [r for r in got if isinstance(r, HeartRate)]
    assert [r.hr_bpm for r in rates] == figures
    rows = _seat_rows(got, rates[2].ts_us + 50_000, rates[-1].ts_us + 2_500_000)
    ok = (rows[:, 1].astype(int) & Flag.HR_OK) > 0
    assert ok.all(), f"HR_OK in {int(ok.sum())} of {len(ok)} estimates"
    newest = [[r.hr_bpm for r in rates if r.ts_us <= t][-1] for t in rows[:, 0]]
    assert rows[:, 2].tolist() == newest


@pytest.mark.realtime
@pytest.mark.timeout(120)
def test_a_device_that_sends_its_u16_maximum_for_no_reading_loses_hr_at_once():
    """Some devices send 0xFFFF in the 16-bit HR field for "no valid reading": the driver
    dropped the notification (over HR_MAX_BPM), so the seat kept the last figure with HR_OK
    until it went stale, up to FRESH_S later; a 0 or a 255 ends it at once."""
    values = [hrs.measurement_encode(b, contact=True) for b in (72, 73, 74, 73)]
    values += [hrs.measurement_encode(0xFFFF, contact=True, wide=True)] * 3
    got, sent = _device_over_ble("C0:FF:EE:00:00:3B", values, every_s=1.0)
    rows = _seat_rows(got, sent[3] + 300_000, sent[-1] + 900_000)
    ok = (rows[:, 1].astype(int) & Flag.HR_OK) > 0
    assert ok[rows[:, 0] < sent[4]].all()  # the rate was there
    late = rows[:, 0] >= sent[4] + 300_000
    assert not ok[late].any(), f"HR_OK in {int(ok[late].sum())} estimates after 0xFFFF " \
        f"({sorted(set(rows[late & ok, 2]))} bpm)"


@pytest.mark.realtime  # a board in real time on a pty: 24 and 18 s at ~0.05 of a core
def test_dry_electrodes_on_the_rail_with_the_leads_on_end_hr_at_once(tmp_path):
    """MIT-BIH 100 from 30 s through our board's AD8232; 15-20 s in the electrodes dry out:
    the output sits at the top rail (its last ADC bits moving), LO+ and LO- low, the leads
    still on. The seat held HR_OK on the window's last beats for ~3 s, CONTACT on (the line
    still moves: no STILL_S; no beat for ECG_PAUSE_S yet)."""
    from empathy.bench.ecg_lead_off import seat_over_pty
    from empathy.sim.board import SimAD8232, corpus_ecg

    need("mitdb-100")
    x = corpus_ecg("mitdb-100")[30 * 250:]
    rows = seat_over_pty(tmp_path / "ttyACM-dry", SimAD8232(x, rail=[(15.0, 20.0)]), 24.0)
    t, contact, hr_ok = rows[:, 0], rows[:, 1] > 0, rows[:, 2] > 0
    assert hr_ok[(t >= 11.0) & (t < 15.0)].mean() > 0.9  # the rate was there
    dry = (t >= 15.3) & (t < 20.0)
    assert not hr_ok[dry].any(), f"HR_OK in {int(hr_ok[dry].sum())} estimates on the rail"
    assert not contact[dry].any(), f"CONTACT in {int(contact[dry].sum())} estimates on the rail"
    assert contact[t >= 21.0].all()  # the line back


def test_a_clipped_qrs_is_ecg_and_a_frame_all_on_a_rail_is_said_once_each_way():
    """The host's side of the rail: a frame with its R wave clipped (half its samples at
    full scale) is an ECG as any; one whose every sample sits near the bottom rail says
    so once (its samples still go on), and the first off the rail says contact again."""
    from empathy.sensors.firmware import protocol
    from empathy.sensors.firmware.ad8232 import pv_per_count

    pv = pv_per_count()
    src = open_source("serial://loop://?sensor=chest")
    try:
        src.port.write(protocol.ecg(1, 1_000, 250, pv, 0, [100, 32767, 32767, 32767, 100, 90])
                       + protocol.ecg(2, 25_000, 250, pv, 0, [-32768, -32700, -31900] * 2)
                       + protocol.ecg(3, 49_000, 250, pv, 0, [-32768] * 6)
                       + protocol.ecg(4, 73_000, 250, pv, 0, [5, 6, 7, 8, 9, 10]))
        got = _collect(src, lambda out: len(out) == 6, timeout_s=15)
    finally:
        src.close()
    kinds = [(type(r).__name__, getattr(r, "contact", None), getattr(r, "fault", None))
             for r in got]
    assert kinds == [("Waveform", None, None),
                     ("Health", False, "ECG front end saturated"), ("Waveform", None, None),
                     ("Waveform", None, None),
                     ("Health", True, ""), ("Waveform", None, None)]


@pytest.mark.realtime  # a board in real time on a pty: 24 and 18 s at ~0.05 of a core
def test_an_ecg_board_with_its_ppg_fitted_keeps_the_ecg_when_no_finger_is_on_the_ppg(tmp_path):
    """The firmware runs a MAX30102 and an AD8232 together (sensors/firmware/main.py: "and/
    or"). A viewer wearing the electrodes, no finger on the PPG: the board's STATUS says
    CONTACT only while every heart sensor is on the body, so each second the seat heard
    contact=False and the sensor's word ended the ECG's HR at once (6fc633c): no HR_OK in
    the whole run, a good ECG on the wire's side all along."""
    from empathy.bench.ecg_lead_off import seat_over_pty
    from empathy.sim.board import SimAD8232, corpus_ecg

    need("mitdb-100")
    x = corpus_ecg("mitdb-100")[30 * 250:]
    rows = seat_over_pty(tmp_path / "ttyACM-both", SimAD8232(x), 18.0, bare_ppg=True)
    t, hr_ok = rows[:, 0], rows[:, 2] > 0
    late = t >= 12.0
    assert hr_ok[late].mean() > 0.9, f"HR_OK in {int(hr_ok[late].sum())} of {int(late.sum())}"
    assert np.abs(rows[late & hr_ok, 3] - 74.0).max() < 3.0  # the ECG's rate (73-75 bpm)


def test_on_a_board_with_a_ppg_too_a_lead_off_leaves_the_status_its_word():
    """PPG and ECG on one board: the ECG's lead off is said at once, and the next STATUS
    whose bit says a heart sensor is on (the finger on the PPG) gives contact back; before,
    the lead off put contact off for as long as it lasted, the PPG's pulse with it."""
    from empathy.sensors.firmware import protocol
    from empathy.sensors.firmware.ad8232 import pv_per_count

    src = open_source("serial://loop://?sensor=both")
    try:
        src.port.write(protocol.ppg(1, 1_000, 100, [120_000] * 25)
                       + protocol.ecg(2, 2_000, 250, pv_per_count(), protocol.LEAD_P, [1] * 25)
                       + protocol.status(3, 3_000, protocol.CONTACT))
        got = _collect(src, lambda out: len(out) == 3, timeout_s=15)
    finally:
        src.close()
    assert [(type(r).__name__, getattr(r, "contact", None)) for r in got] == [
        ("Waveform", None), ("Health", False), ("Health", True)]


@pytest.mark.realtime
@pytest.mark.timeout(120)
def test_a_device_whose_rr_intervals_stop_gives_its_own_rate_while_it_says_it_is_worn():
    """An optical device that sends RR intervals only while it is sure of its beats (then its
    figure alone, contact still detected): once any interval had come, the seat never read
    the figure again, and lost HR for the rest of the show with the device on the skin."""
    # 10 s of intervals, then 9 s of the figure alone (12 and 12 s took 24 s of a test)
    values = [hrs.measurement_encode(120 + k % 3, [512], contact=True) for k in range(20)]
    values += [hrs.measurement_encode(118 + k % 3, contact=True) for k in range(18)]
    got, sent = _device_over_ble("C0:FF:EE:00:00:3C", values, every_s=0.5)
    rows = _seat_rows(got, sent[0], sent[-1] + 300_000)
    ok = (rows[:, 1].astype(int) & Flag.HR_OK) > 0
    beats = (rows[:, 0] >= sent[10]) & (rows[:, 0] < sent[20])
    assert ok[beats].mean() > 0.8  # the intervals gave the rate
    late = rows[:, 0] >= sent[20] + 6_000_000  # the figure alone for 6 s
    assert ok[late].all(), f"HR_OK in {int(ok[late].sum())} of {int(late.sum())}"
    assert set(rows[late, 2]) <= {118.0, 119.0, 120.0}


@pytest.mark.realtime
@pytest.mark.timeout(150)
@pytest.mark.parametrize("contact", [True, None])
def test_a_device_without_a_battery_service_gives_hr_again_after_a_dropout(contact):
    """A watch relaying its rate (no battery service, as many) drops out of range for a
    moment and comes back, worn all along. The driver said contact=False, 'disconnected'
    at the drop, and nothing said contact again (a battery read did, for devices that have
    one; a contact bit only when it changes): the seat's contact stayed off, and since
    6fc633c that ends HR for the rest of the show."""
    from empathy.sensors.base import Health
    from empathy.sim.strap import BluezSim

    address = "C0:FF:EE:00:00:3D"
    with BluezSim() as bz:
        strap = bz.add_strap(address, "Watch 3D", rr=False, battery=None)
        src = open_source(f"ble://{address}?retry_max_s=0.5")
        got, figures = [], iter(70 + k % 4 for k in range(1000))
        try:
            for part in range(2):
                assert src.wait_connected(30), src.stats()
                end = time.monotonic() + 20
                while not strap.subscribed:
                    assert time.monotonic() < end, "never subscribed"
                    time.sleep(0.05)
                for _ in range(6):
                    assert strap.notify(hrs.measurement_encode(next(figures), contact=contact))
                    got += src.read(1.0)
                if part == 0:
                    strap.leave()
                    got += _collect(src, lambda out: any(
                        isinstance(r, Health) and r.fault == "disconnected" for r in out))
                    strap.come_back()
            got += src.read(0.3)
        finally:
            src.close()
    rates = [r for r in got if isinstance(r, HeartRate)]
    assert len(rates) == 12
    rows = _seat_rows(got, rates[9].ts_us + 50_000, rates[-1].ts_us + 900_000)
    ok = (rows[:, 1].astype(int) & (Flag.HR_OK | Flag.CONTACT)) == Flag.HR_OK | Flag.CONTACT
    assert ok.all(), f"HR_OK and CONTACT in {int(ok.sum())} of {len(ok)} estimates after " \
        "the device came back"


def test_a_hello_between_a_lead_off_and_the_leads_back_still_says_contact():
    """The board says HELLO every 5 s (and at a reboot); the host forgot at each that a
    lead was off, so leads back on in the next frame said nothing, and the seat's contact
    (its HR with it) stayed off till the next STATUS, up to a second later. (Leads back
    say so once they have held SETTLE_S, 500 samples here: sensors/serial/leads.py.)"""
    from empathy.sensors.firmware import protocol
    from empathy.sensors.firmware.ad8232 import pv_per_count

    pv = pv_per_count()
    src = open_source("serial://loop://?sensor=chest")
    try:
        src.port.write(protocol.ecg(1, 1_000, 250, pv, protocol.LEAD_P, [1] * 25)
                       + protocol.hello(2, 90_000, 7, (1, 0, 0), "chest")
                       + protocol.ecg(3, 101_000, 250, pv, 0, [2] * 200)
                       + protocol.ecg(4, 901_000, 250, pv, 0, [2] * 200)
                       + protocol.ecg(5, 1_701_000, 250, pv, 0, [2] * 100))
        got = _collect(src, lambda out: sum(isinstance(r, Waveform) for r in out) == 3, 15)
    finally:
        src.close()
    # (the HELLO also names the board, a Device reading: who is worn, not contact)
    assert [(type(r).__name__, getattr(r, "contact", None)) for r in got
            if type(r).__name__ != "Device"] == [
        ("Health", False), ("Waveform", None), ("Waveform", None), ("Health", True),
        ("Waveform", None)]
    assert [type(r).__name__ for r in got].count("Device") == 1
