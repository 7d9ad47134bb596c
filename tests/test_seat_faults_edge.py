"""The edge's side of seats' faults (edge/seat_faults.py): which codes a seat's readings
and its own state say, and when its packet leaves. A lead off through the simulated ECG
board on a real pty; the rest through the seat's real features."""

import time

import numpy as np
import pytest

from empathy import wire
from empathy.edge.features import SeatFeatures
from empathy.edge.profile import HeartCorrection, SeatProfile
from empathy.edge.seat_faults import IMPOSSIBLE_HOLD_S, UnitFaults
from empathy.sensors.base import Device, Health

S = 1_000_000


def _names(mask):
    return [wire.describe(c).name for c in wire.codes_of(mask)]


@pytest.mark.realtime  # a board on a pty in real time (12 s)
def test_a_lead_off_on_the_serial_board_is_said_and_cleared(tmp_path):
    from empathy.clock import now_us
    from empathy.sensors.base import open_source
    from empathy.sim.board import ECG_FS_HZ, SimAD8232, SimBoard

    t = np.arange(10 * ECG_FS_HZ) / ECG_FS_HZ
    ecg = SimAD8232(np.sin(2 * np.pi * 1.2 * t) ** 15, off=[(3.0, 7.0)])  # spiky, 72 bpm
    board = SimBoard(tmp_path / "ttyACM-chest", ecg=ecg)
    src = open_source(f"serial://{board.link}")
    seat = SeatFeatures(baseline_s=5)
    faults = UnitFaults({5: seat})
    sent = []  # (s since the ECG's first sample, names) of each packet that would leave
    try:
        end = time.monotonic() + 12.0
        while time.monotonic() < end:
            board.step()
            for r in src.read(0.01):
                faults.add(5, r)
                seat.add(r)
            if ecg.t0_us is not None:
                t_us = now_us()
                sent += [((t_us - ecg.t0_us) / S, _names(m)) for _, m, _ in faults.due(t_us)]
    finally:
        src.close()
        board.close()
    off = [t for t, names in sent if names == ["lead_off"]]
    assert off and 3.0 <= off[0] < 4.5 and off[-1] < 7.0 + 4.0, sent
    assert sent[-1][1] == [] and 7.0 <= sent[-1][0] < 7.0 + 4.0, sent  # back, settled
    assert all(names in (["lead_off"], []) for _, names in sent), sent


def test_a_seat_s_own_faults_an_uncalibrated_device_and_impossible_values():
    fix = HeartCorrection(bias_pct=2.0, device="board:0000ee01")
    seat = SeatFeatures(profile=SeatProfile(heart=fix))
    faults = UnitFaults({7: seat})
    seat.add(Device(1 * S, "serial:x", "board:0000ee02"))  # another board than calibrated
    assert [(s, _names(m)) for s, m, _ in faults.due(2 * S)] == [(7, ["uncalibrated"])]
    faults.impossible(7, 3 * S)
    assert [_names(m) for _, m, _ in faults.due(3 * S)] == [["uncalibrated", "impossible"]]
    assert faults.due(3 * S + S // 2) == []  # nothing new, and not yet due again
    faults.impossible(7, 7 * S)
    again = faults.due(3 * S + int(wire.RESEND_S * S))
    assert [(_names(m), held) for _, m, held in again] == [(["uncalibrated", "impossible"], 5)]
    gone = faults.due(7 * S + int(IMPOSSIBLE_HOLD_S * S))  # no impossible value since
    assert [_names(m) for _, m, _ in gone] == [["uncalibrated"]]
    seat.add(Device(9 * S, "serial:x", "board:0000ee01"))  # the calibrated board back
    assert [(_names(m), held) for _, m, held in faults.due(13 * S)] == [([], 0)]
    assert faults.due(13 * S + int(wire.RESEND_S * S)) == []  # all clear: said once
    assert faults.stats() == {}


def test_each_sensor_s_health_sets_its_own_codes():
    seat = SeatFeatures()
    faults = UnitFaults({3: seat})
    eye, face, strap = "camera://usb/1?role=eye", "camera://usb/0", "ble://AA:BB"

    def now(*readings):
        for r in readings:
            faults.add(3, r)
        return _names(faults.seats[3].now(seat, 0))

    assert now(Health(0, eye, contact=False, fault="camera: no frames for 3 s")) == ["eye_camera"]
    assert now(Health(0, face, contact=False, fault="camera: gone")) == [
        "face_camera", "eye_camera"]
    assert now(Health(0, eye, contact=True)) == ["face_camera"]  # restarted
    assert now(Health(0, strap, contact=False, fault="disconnected")) == [
        "face_camera", "strap_gone"]
    assert now(Health(0, strap, contact=False, fault="no skin contact")) == [
        "face_camera", "no_skin"]
    # words the table has no code for leave the sensor's codes as they were
    assert now(Health(0, strap, fault="strap refused the ECG stream")) == [
        "face_camera", "no_skin"]
    assert now(Health(0, "serial:b", contact=False)) == ["face_camera", "no_skin"]  # (empty)
    assert now(Health(0, "serial:a", contact=False, fault="LO+ keeps dropping: check the "
                      "electrode snap"), Health(0, face, contact=True), Health(0, strap)) == [
        "lead_loose"]
