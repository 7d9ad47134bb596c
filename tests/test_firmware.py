"""The MicroPython firmware's own code (protocol encoder, MAX30102 driver, streaming loop,
BLE heart-rate encoder) run under CPython against a register-level MAX30102, and its bytes
decoded by the host driver over a real pty, byte for byte."""

from __future__ import annotations

import ast
import itertools
import os
import random
import time
import tty
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import empathy.sensors.firmware as fw_pkg
from empathy.sensors.base import Waveform
from empathy.sensors.firmware import hrs, protocol
from empathy.sensors.firmware.board import SETTLE_S, Board
from empathy.sensors.firmware.max30102 import MAX30102, SensorError
from empathy.sensors.serial.board import SerialSource

FW_DIR = Path(fw_pkg.__file__).parent
# What MicroPython (with aioble) offers, plus the firmware's own flat modules.
MICROPYTHON_MODULES = {"struct", "sys", "time", "machine", "asyncio", "aioble", "bluetooth",
                       "beats", "binascii", "protocol", "board", "max30102", "hrs", "gsr", "lis3dh",
                       "array", "ad8232", "select"}


class MAX30102Chip:
    """The sensor's I2C registers: a 32-sample FIFO of (red, IR) 18-bit pairs."""

    def __init__(self):
        self.regs = {0xFF: 0x15}
        self.fifo: list[tuple[int, int]] = []
        self.rd = 0

    def push(self, ir_samples):
        for ir in ir_samples:
            self.fifo.append((ir // 2, ir))
        if len(self.fifo) > 31:
            raise AssertionError("test pushed more than the FIFO holds")

    def readfrom_mem(self, addr, reg, n):
        assert addr == 0x57
        if reg == 0x04:
            return bytes(((self.rd + len(self.fifo)) & 0x1F,))
        if reg == 0x06:
            return bytes((self.rd,))
        if reg == 0x07:
            out = bytearray()
            for _ in range(n // 6):
                for v in self.fifo.pop(0):
                    out += v.to_bytes(3, "big")
                self.rd = (self.rd + 1) & 0x1F
            return bytes(out)
        return bytes((self.regs.get(reg, 0),))

    def writeto_mem(self, addr, reg, buf):
        self.regs[reg] = buf[0]


def run_firmware(n_samples: int, seed: int = 0) -> tuple[bytes, list[int], Board]:
    """The board's loop over a simulated chip: returns the bytes it wrote and the IR samples."""
    rng = random.Random(seed)
    chip, out, clock = MAX30102Chip(), bytearray(), [123_456]
    sensor = MAX30102(chip, fs_hz=100)
    board = Board(sensor, out.extend, lambda: clock[0], board_id=0xC0FFEE, name="pico")
    board.boot()
    ir = [120_000 + int(1500 * np.sin(i / 13)) + rng.randrange(50) for i in range(n_samples)]
    i = 0
    while i < len(ir):
        burst = rng.randrange(1, 12)  # the loop runs every 20 ms give or take
        chip.push(ir[i:i + burst])
        i += burst
        clock[0] += burst * 10_000
        board.step()
    return bytes(out), ir, board


def test_max30102_driver_configures_the_chip_and_refuses_others():
    chip = MAX30102Chip()
    MAX30102(chip, fs_hz=200)
    assert chip.regs[0x09] == 0x03  # SpO2 mode: red and IR
    assert (chip.regs[0x0A] >> 2) & 0x07 == 2 and chip.regs[0x0A] & 0x03 == 3  # 200 Hz, 18-bit
    chip.regs[0xFF] = 0x11
    with pytest.raises(SensorError, match="part id 0x11"):
        MAX30102(chip)
    with pytest.raises(SensorError, match="fs_hz"):
        MAX30102(MAX30102Chip(), fs_hz=123)


def test_firmware_bytes_decode_and_reencode_byte_for_byte():
    data, ir, board = run_firmware(1000)
    dec = protocol.Decoder()
    msgs = dec.feed(data)
    assert dec.errors == {k: 0 for k in dec.errors} and dec.lost == 0
    assert dec.ok == len(msgs) == board.seq
    again = bytearray()
    for kind, seq, ts, f in msgs:  # the host's view, encoded again with the same module
        again += {protocol.HELLO: lambda: protocol.hello(seq, ts, f["board_id"], f["fw"], f["name"]),
                  protocol.PPG: lambda: protocol.ppg(seq, ts, f["fs_hz"], f["samples"], f["channel"]),
                  protocol.STATUS: lambda: protocol.status(seq, ts, f["flags"], f["battery"],
                                                           f["error"], f["text"])}[kind]()
    assert bytes(again) == data
    samples = [s for m in msgs if m[0] == protocol.PPG for s in m[3]["samples"]]
    assert samples == ir[:len(samples)] and len(samples) == 1000 - 1000 % board.ppg.per_frame
    ppg_ts = [m[2] for m in msgs if m[0] == protocol.PPG]
    assert set(np.diff(ppg_ts)) == {board.ppg.per_frame * 10_000}  # stamped on the sample clock
    assert [m[3]["flags"] for m in msgs if m[0] == protocol.STATUS][-1] == protocol.CONTACT


def test_status_says_a_finger_is_on_whenever_it_is_even_between_samples():
    """STATUS read the finger's level from the samples of the loop turn it fell in: a turn
    that read none, right after a frame went out, said 'no contact' with the finger on (the
    simulated board, its loop turning every 5 ms and its samples coming in bursts, sent it
    in 22 of 24 STATUS frames, and the seat ended HR each time). A finger taken off still says so."""
    chip, out, clock = MAX30102Chip(), bytearray(), [0]
    board = Board(MAX30102(chip, fs_hz=100), out.extend, lambda: clock[0], board_id=1)
    board.boot()
    for i in range(3000):  # 15 s of 5-ms loop turns; the samples come 10 at a time
        if i % 20 == 7:
            chip.push([120_000 if i < 2000 else 3_000] * 10)  # the finger off at 10 s
        clock[0] += 5_000
        board.step()
    said = [(ts, f["flags"] & protocol.CONTACT) for kind, _, ts, f in protocol.Decoder().feed(
        bytes(out)) if kind == protocol.STATUS]
    assert len(said) == 15
    assert all(on for ts, on in said if SETTLE_S * 1e6 + 0.5e6 < ts < 10e6), said  # (on once
    # the finger has held SETTLE_S)
    assert not any(on for ts, on in said if ts > 10_100_000), said


def test_firmware_bytes_through_a_real_pty_into_the_host_driver(tmp_path):
    data, ir, board = run_firmware(600, seed=1)
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "ttyACM0"
    link.symlink_to(os.ttyname(slave))
    os.close(slave)
    src = SerialSource(f"serial://{link}", {})
    try:
        os.write(master, data)
        got, end = [], time.monotonic() + 15
        while src.decoder.ok < board.seq and time.monotonic() < end:
            got += src.read(0.05)
        got += src.read(0.1)
        waves = [r for r in got if isinstance(r, Waveform)]
        assert src.decoder.ok == board.seq and sum(src.decoder.errors.values()) == 0
        pleth = (1 << 18) - 1 - np.array(ir[:len(waves) * 25])  # counts fall as blood arrives
        assert np.array_equal(np.concatenate([w.samples for w in waves]), pleth)
        assert src.stats()["board"] == {"board_id": "00c0ffee", "fw": "1.0.0", "name": "pico"}
    finally:
        src.close()
        os.close(master)


def test_heart_rate_measurement_every_flag_combination_round_trips():
    for wide, contact, energy, n_rr in itertools.product((False, True), (None, False, True),
                                                         (None, 0, 65535), (0, 1, 9)):
        rr = [1024 * (i + 1) // 2 for i in range(n_rr)]
        hr = 300 if wide else 72
        data = hrs.measurement_encode(hr, rr, contact=contact, energy_kj=energy)
        assert hrs.measurement_parse(data) == {"hr_bpm": hr, "contact": contact,
                                               "energy_kj": energy, "rr_1024": rr}
    # the spec's own layout: flags 0x16 = RR + contact supported + detected, 72 bpm, 1.0 s
    assert hrs.measurement_encode(72, [1024], contact=True) == b"\x16\x48\x00\x04"
    assert hrs.measurement_parse(b"\x01\x48\x00")["hr_bpm"] == 72  # 16-bit form of 72
    for bad in (b"", b"\x00", b"\x01\x48", b"\x08\x48\x01", b"\x10\x48\x00"):
        with pytest.raises(ValueError):
            hrs.measurement_parse(bad)


@pytest.mark.parametrize("name", sorted(p.name for p in FW_DIR.glob("*.py")
                                        if p.name != "__init__.py"))
def test_firmware_imports_only_what_micropython_has(name):
    tree = ast.parse((FW_DIR / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module]
        else:
            continue
        for m in mods:  # the package path is only the CPython fallback inside try/except
            assert m in MICROPYTHON_MODULES or m.startswith("empathy.sensors.firmware"), (name, m)
    assert "dataclass" not in (FW_DIR / name).read_text()


def test_board_crc_and_host_crc_agree():
    rng = random.Random(5)
    for n in (0, 1, 9, 31, 300):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert protocol.crc16_bitwise(data) == protocol.crc16(data)
    assert protocol.crc16_bitwise(b"123456789") == 0x29B1


def test_protocol_example_in_the_docs_is_the_encoders_output():
    doc = (FW_DIR.parents[1] / "docs" / "sensors.md").read_text()
    line = "00 03 03 05 02 4d 01 01 06 e1 10 c8 ea dc 00"
    assert line in doc and protocol.pupil(5, 77, 4321, 200) == bytes.fromhex(line)


def test_ble_firmware_beat_detector_finds_the_rr_intervals():
    from empathy.sensors.firmware.beats import BeatDetector
    from empathy.sim.board import PPG_AC, PPG_DC

    rng = np.random.default_rng(0)
    rr_true = rng.uniform(650, 1100, 40).round()  # ms, a restless viewer
    x, fs = [], 100
    for rr in rr_true:  # one pulse per interval, like SimPPGSensor, plus sensor noise
        for i in range(int(rr * fs / 1000)):
            ph = i / (rr * fs / 1000)
            pulse = np.exp(-((ph - 0.15) / 0.06) ** 2) + 0.3 * np.exp(-((ph - 0.45) / 0.1) ** 2)
            x.append(int(PPG_DC - PPG_AC * pulse + rng.normal(0, 40)))
    det = BeatDetector(fs)
    found = [rr for rr in (det.add(v) for v in x) if rr]
    # each pulse peaks 15 % into its interval: those peaks are the true beats
    starts = np.concatenate([[0], np.cumsum(rr_true)[:-1]])
    true_rr = np.diff(starts + 0.15 * rr_true)
    assert len(found) == len(true_rr)
    assert np.abs(np.array(found) - true_rr).max() <= 30  # ms: 100 Hz sampling + noise


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=24))
def test_heart_rate_parse_takes_any_bytes(value):
    try:
        m = hrs.measurement_parse(value)
    except ValueError:
        return
    assert hrs.measurement_parse(hrs.measurement_encode(
        m["hr_bpm"], m["rr_1024"], m["contact"], m["energy_kj"], wide=bool(value[0] & 1))) == m
