"""A heart sensor's calibration belongs to the device it measured. During opening hours
boards are swapped, not repaired: a seat whose board was swapped applied the old board's
bias and lag to the new one, for ever, silently. Real parts: the firmware's own loop
(sim/board.py) on a pty, read by serial://, into the seat's own feature stage; the
calibration stored as `empathy calibrate hr --sensor-id` stores it."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from empathy.calibration import store
from empathy.calibration.hr_correction import measured_device
from empathy.calibration.recording import record
from empathy.edge.features import SeatFeatures
from empathy.edge.profile import device_mark, load_profile
from empathy.sensors.base import Device, Waveform
from empathy.sensors.serial.board import SerialSource
from polling import collect
from test_serial_replug import Plugged

pytestmark = pytest.mark.timeout(120)
BIAS_PCT = 4.0


def _until_ppg_after(ident: str):
    """Readings till board `ident` is named and two PPG chunks came after it."""
    def done(out):
        named = [i for i, r in enumerate(out) if isinstance(r, Device) and r.ident == ident]
        return named and sum(isinstance(r, Waveform) and r.kind == "ppg"
                             for r in out[named[0]:]) >= 2
    return done


@pytest.mark.realtime  # boards in real time on a pty: the light real-time pass
def test_a_swapped_board_gets_no_correction_the_calibrated_one_gets_it_back(tmp_path, caplog):
    """Board 0000ee01 calibrated 4 % high; the seat's board swapped for 0000ee02 on the same
    port: its PPG rate was still divided by 1.04 (the first board's bias, for ever). Now the
    second board is read as it is, the unit's log says once, naming the seat, that the
    device is uncalibrated, the stats say so; the calibrated board back, corrected again."""
    link = tmp_path / "ttyACM0"
    store.save_sensor(tmp_path, "seat1-ppg", "hr", {
        "bias_pct": BIAS_PCT, "bias_bpm": 2.8, "lag_ms": 150.0, "mae_bpm": 2.8, "windows": 20,
        "device": device_mark("board:0000ee01")})
    seat = SeatFeatures(profile=load_profile(tmp_path, heart_sensor="seat1-ppg"), name="seat 1")
    board = Plugged(link, 0xEE01, seed=1)
    src = SerialSource(f"serial://{link}", {})
    caplog.set_level(logging.INFO, logger="empathy.edge.profile")
    try:
        for n, (ident, board_id) in enumerate([("board:0000ee01", None),
                                               ("board:0000ee02", 0xEE02),
                                               ("board:0000ee01", 0xEE01)]):
            if board_id is not None:  # swapped: unplugged, another board on the port
                board.out()
                collect(src, lambda out: src.port is None)
                board = Plugged(link, board_id, seed=n + 1)
            got = collect(src, _until_ppg_after(ident))
            for r in got:
                seat.add(r)
            fs = [r.fs_hz for r in got if isinstance(r, Waveform) and r.kind == "ppg"][-1]
            scale = 1 + BIAS_PCT / 100 if ident == "board:0000ee01" else 1.0
            assert seat.waves["ppg"].clock.fs == pytest.approx(fs / scale), ident
            assert seat.heart.status == ("uncalibrated device" if scale == 1.0
                                         else "calibrated device"), ident
    finally:
        src.close()
        board.out()
    said = [r for r in caplog.records if r.levelno == logging.WARNING
            and r.name == "empathy.edge.profile"]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert said[0].getMessage().startswith("seat 1: uncalibrated device board:0000ee02: "
                                           "heart sensor 'seat1-ppg' was calibrated on "
                                           "board:0000ee01"), said[0].getMessage()


def test_a_strap_s_correction_follows_its_address_lag_and_all(tmp_path):
    """A watch-like strap 3 s late, calibrated by its address (kept as a hash): another
    strap's figures are neither moved nor judged as 3 s old (the seat's DeviceRate)."""
    mine, other = "ble:C0:FF:EE:00:00:01", "ble:C0:FF:EE:00:00:02"
    store.save_sensor(tmp_path, "strap", "hr", {"bias_pct": BIAS_PCT, "lag_ms": 3000.0,
                                                "device": device_mark(mine)})
    seat = SeatFeatures(profile=load_profile(tmp_path, heart_sensor="strap"), name="seat 3")
    for ident, lag_us in ((other, 0), (mine, 3_000_000), (other, 0)):
        seat.add(Device(1_000_000, "s", ident))
        assert (seat.heart.lag_us, seat.device.lag_us) == (lag_us, lag_us), ident


def test_a_calibration_from_before_devices_were_named_applies_to_any(tmp_path):
    """A sensors/ID.toml with no device (written before this change) keeps applying to
    whatever device the seat reads, as it did."""
    store.save_sensor(tmp_path, "old", "hr", {"bias_pct": BIAS_PCT, "lag_ms": 0.0})
    seat = SeatFeatures(profile=load_profile(tmp_path, heart_sensor="old"), name="seat 2")
    for ident in ("board:0000ee01", "ble:C0:FF:EE:00:00:01"):
        seat.add(Device(1_000_000, "s", ident))
        assert seat.heart.lag_us == 0 and seat.heart.on is seat.profile.heart
    assert seat.heart.status == "any device (the calibration names none)"


@pytest.mark.parametrize("bad", ["board:EE01", "ble:C0:FF:EE:00:00:01", 7, "sha256:xyz"])
def test_a_stored_device_that_is_no_mark_stops_the_unit_with_one_line(tmp_path, bad):
    store.save_sensor(tmp_path, "s1", "hr", {"bias_pct": 1.0, "lag_ms": 0.0, "device": bad})
    with pytest.raises(ValueError) as e:
        load_profile(tmp_path, heart_sensor="s1")
    assert "[hr]: device = " in str(e.value) and "calibrate hr" in str(e.value), e.value


def test_a_strap_is_kept_as_a_hash_a_board_as_its_id():
    assert device_mark("board:0000ee01") == "board:0000ee01"
    mark = device_mark("ble:C0:FF:EE:00:00:01")
    assert mark.startswith("sha256:") and "C0:FF" not in mark
    assert mark == device_mark("ble:C0:FF:EE:00:00:01") != device_mark("ble:C0:FF:EE:00:00:02")


@pytest.mark.realtime  # a board in real time on a pty
def test_calibrate_records_the_board_it_read(tmp_path):
    """What `calibrate hr` records from a live board names it (its HELLO); a recording that
    names none (a file, a simulated viewer) is no device; two boards in one recording (a
    swap mid-run) are refused, naming both."""
    link = tmp_path / "ttyACM0"
    board = Plugged(link, 0xC0FFEE01, seed=3)
    try:
        got = record([f"serial://{link}"], 3.0, quiet=True)[0]
    finally:
        board.out()
    assert measured_device(got) == "board:c0ffee01"
    assert measured_device([r for r in got if not isinstance(r, Device)]) == ""
    with pytest.raises(ValueError) as e:
        measured_device(got + [Device(got[-1].ts_us, "s", "board:0000ee02")])
    assert "board:c0ffee01, then board:0000ee02" in str(e.value), e.value


def test_a_board_plugged_in_again_is_not_corrected_till_it_names_itself(tmp_path):
    """The reader's reopen reads frames before the board's HELLO (~1 s for a board that
    answers the request, up to 5 s for older firmware): a board swapped in got the old
    board's correction for them. Unplugged, the seat's device is unknown till named again:
    those frames go uncorrected, and the calibrated board, named, is corrected again."""
    from empathy.sensors.base import UNPLUGGED, Health

    store.save_sensor(tmp_path, "seat1-ppg", "hr", {"bias_pct": BIAS_PCT, "lag_ms": 0.0,
                                                    "device": device_mark("board:0000ee01")})
    fix = load_profile(tmp_path, heart_sensor="seat1-ppg").heart_fix("seat 1")

    def fs_read(t_us: int) -> float:
        return fix.correct(Waveform(t_us, "ppg", 100.0, np.zeros(25))).fs_hz

    fix.correct(Device(0, "serial:ttyACM0", "board:0000ee01"))
    assert fs_read(1) == pytest.approx(100 / 1.04)
    fix.correct(Health(2, "serial:ttyACM0", contact=False, fault=UNPLUGGED))
    assert fs_read(3) == 100.0 and fix.status == "device not named yet"
    fix.correct(Device(4, "serial:ttyACM0", "board:0000ee01"))
    assert fs_read(5) == pytest.approx(100 / 1.04) and fix.status == "calibrated device"
