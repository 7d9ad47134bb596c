"""Serial sensor boards: the pyserial driver over pyserial's loop:// and over real
pseudo-terminals with garbage, cut frames, bad CRCs and an unplug (the protocol decoder:
tests/test_serial_protocol.py)."""

from __future__ import annotations

import os
import random
import time
import tty

import numpy as np
import pytest
from scipy.signal import find_peaks

from empathy.clock import now_us
from empathy.sensors.base import Device, Health, Pupil, SourceError, Waveform, open_source
from empathy.sensors.firmware import protocol
from empathy.sensors.serial.board import SerialSource
from empathy.sensors.serial.board_clock import BoardClock
from polling import collect
from serial_frames import corrupt, mixed_stream


def drain(src, until, timeout_s=15.0) -> list:
    return collect(src, until, timeout_s)


def test_bad_urls_and_missing_ports_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="cannot open"):
        open_source(f"serial://{tmp_path}/ttyNONE")
    with pytest.raises(SourceError, match="baud must be a number"):
        open_source("serial://loop://?baud=fast")


def test_loop_url_readings_have_types_units_and_timestamps():
    src = open_source("serial://loop://?sensor=board7")
    try:
        t0 = now_us()
        src.port.write(protocol.hello(0, 500, 0xAB, (1, 2, 3), "pico")
                       + protocol.ppg(1, 1_000, 200, list(range(120_000, 120_040)))
                       + protocol.pupil(2, 21_000, 4321, 255)
                       + protocol.status(3, 22_000, 0, 87, 2))
        got = drain(src, lambda out: len(out) == 4)
        board, wave, pupil, health = got
        assert board == Device(board.ts_us, "board7", "board:000000ab")  # which board
        assert isinstance(wave, Waveform) and wave.kind == "ppg" and wave.fs_hz == 200
        assert np.array_equal(wave.samples, (1 << 18) - 1 - np.arange(120_000, 120_040))  # as
        # pleth (a finger's level: under the board's CONTACT_LEVEL is no finger, a gap)
        assert pupil == Pupil(pupil.ts_us, 4.321, 1.0)
        assert health == Health(health.ts_us, "board7", contact=False, battery_pct=87,
                                fault="sensor fifo overflow")
        # All four came in one burst, so the frames that waited least in buffers (the later
        # ones) set the mapping: stamps stay in order and never in the future.
        assert t0 <= wave.ts_us <= pupil.ts_us <= health.ts_us <= now_us()
        assert src.stats()["board"] == {"board_id": "000000ab", "fw": "1.2.3", "name": "pico"}
    finally:
        src.close()


class Pty:
    """A board's end of a real pseudo-terminal, published at `link` like /dev/serial/by-id."""

    def __init__(self, link):
        self.link, self.master = link, None

    def plug(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        self.master = master
        os.symlink(name, self.link)

    def unplug(self):
        os.unlink(self.link)
        os.close(self.master)

    def write(self, data: bytes, rng: random.Random):
        i = 0
        while i < len(data):  # uneven USB packet sizes
            n = rng.randrange(1, 200)
            os.write(self.master, data[i:i + n])
            i += n


def test_pty_board_garbage_cut_frames_bad_crcs_and_an_unplug(tmp_path):
    board, rng = Pty(str(tmp_path / "ttyBOARD")), random.Random(3)
    board.plug()
    src = SerialSource(f"serial://{board.link}?baud=921600", {"baud": "921600"})
    try:
        first, goods1, bad1 = mixed_stream(150, seed=11)
        board.write(first, rng)
        drain(src, lambda _: src.decoder.ok == len(goods1))

        board.write(corrupt(goods1[0], "truncated", rng), rng)  # cut mid-frame by the unplug
        board.unplug()
        drain(src, lambda out: any(isinstance(r, Health) and r.fault == "unplugged" for r in out))
        board.plug()
        drain(src, lambda out: src.reconnects == 1 and any(
            isinstance(r, Health) and r.contact for r in out))

        second, goods2, bad2 = mixed_stream(150, seed=12)
        board.write(second, rng)
        drain(src, lambda _: src.decoder.ok == len(goods1) + len(goods2))
        time.sleep(0.2)  # nothing more should trickle in
        src.read(0)
        stats = src.stats()
        assert stats["frames_ok"] == len(goods1) + len(goods2)  # 100 % of good frames
        # every corrupted frame counted (the truncated frame before the unplug was flushed
        # with the dead port, so it may or may not have been seen)
        assert sum(stats["rejected"].values()) in (bad1 + bad2, bad1 + bad2 + 1)
        assert stats["reconnects"] == 1 and src._thread.is_alive()
    finally:
        src.close()
        if os.path.lexists(board.link):
            board.unplug()


def test_pty_board_away_for_seconds_is_opened_again_at_once_when_its_node_is_back(tmp_path):
    """The reader looks for a gone board's node often: found on the open's backoff, the node
    of a board away 3.3 s was opened ~1.85 s after it came back (the next try at 5.15 s)."""
    board = Pty(str(tmp_path / "ttyBOARD"))
    board.plug()
    src = SerialSource(f"serial://{board.link}", {})
    try:
        board.unplug()
        got = drain(src, lambda out: any(isinstance(r, Health) and r.fault == "unplugged"
                                         for r in out))
        (gone,) = [r.ts_us for r in got if isinstance(r, Health) and r.fault == "unplugged"]
        # 3.3 s after the reader saw it gone, however late this test's poll saw that: on the
        # open's backoff its next look would come 1.85 s later
        time.sleep(max(0.0, (gone + 3_300_000 - now_us()) / 1e6))
        board.plug()
        back = now_us()
        got = drain(src, lambda out: any(isinstance(r, Health) and r.contact for r in out))
        # when the reader opened it (its own stamp), not when this test's poll saw that
        (opened,) = [r.ts_us for r in got if isinstance(r, Health) and r.contact]
        assert src.reconnects == 1 and opened - back < 600_000  # (looked for every 0.1 s)
    finally:
        src.close()
        if os.path.lexists(board.link):
            board.unplug()


def test_simulated_board_process_feeds_a_heartbeat_waveform(tmp_path, monkeypatch):
    import subprocess
    import sys

    delays, to_host = [], BoardClock.to_host

    def kept(clock, raw_us, arrival_us):  # each frame's buffer delay, as the reader saw it
        delays.append(arrival_us - raw_us)
        return to_host(clock, raw_us, arrival_us)

    monkeypatch.setattr(BoardClock, "to_host", kept)
    link = tmp_path / "ttyACM-sim"
    proc = subprocess.Popen([sys.executable, "-m", "empathy.sim.board",
                             "--link", str(link), "--seed", "4"])
    try:
        end = time.monotonic() + 120  # (its imports: 20 s ran out at load 15)
        while not link.exists():
            assert time.monotonic() < end and proc.poll() is None
            time.sleep(0.05)
        src = open_source(f"serial://{link}")
        try:
            got = drain(src, lambda out: sum(isinstance(r, Waveform) for r in out) >= 24,
                        timeout_s=30)
        finally:
            src.close()
        waves = [r for r in got if isinstance(r, Waveform)]
        x = np.concatenate([w.samples for w in waves]).astype(float)
        steps = np.diff([w.ts_us for w in waves])
        # 25 samples at 100 Hz on the board's clock. The mapping keeps the least delay seen,
        # so a step is shorter only where a frame waited less than those before it, by no
        # more than the frames' delays differ (241.6 ms at load 14-21: the first frame 8.4 ms
        # late, past a fixed 8 ms); never longer but for the drift allowance's creep
        # (25 us a step). A board stamping on its loop's wall time stepped 146-378 ms.
        # The reader starved as it opened (CI, once: its first 6 of 16 frames read within
        # 5 ms of each other) stamps that burst at its arrival, each frame waiting less than
        # the one before, until the first frame read on time: the median is of the steps
        # after the first half, which a board stamping on its loop's time fails as before.
        spread = max(delays) - min(delays)
        settled = steps[len(steps) // 2:]
        assert abs(np.median(settled) - 250_000) < 100, steps
        assert steps.max() <= 251_000 and steps.min() >= 249_000 - spread, (steps, spread)
        # one pulse per heartbeat: 40-140 bpm over the stretch we got
        beats, _ = find_peaks(x, distance=30, prominence=x.std())  # pleth: up per beat
        bpm = 60 * 100 / np.median(np.diff(beats))
        assert 40 <= bpm <= 140, bpm
        assert any(isinstance(r, Pupil) and r.confidence > 0.5 for r in got)
        assert src.stats()["rejected"] == {k: 0 for k in src.stats()["rejected"]}
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_simulated_board_late_in_its_loop_keeps_its_frames_on_its_sample_clock(tmp_path):
    """The simulated board's loop starved (a loaded host), its turns 20-150 ms apart: its
    viewer gives the PPG in 250-ms chunks, and stamped on our clock a turn late by more
    than the firmware's SLIP (50 ms) re-anchored the frames (steps of 146-378 ms at load
    16; the test above failed 2 of 3 runs). A FIFO is sampled to the moment it is read."""
    import serial

    from empathy.sim.board import SimBoard

    board, rng = SimBoard(tmp_path / "ttyACM-late", seed=4), random.Random(0)
    port = serial.serial_for_url(str(tmp_path / "ttyACM-late"), timeout=0)
    decoder, stamps = protocol.Decoder(), []
    try:
        end = time.monotonic() + 6
        while time.monotonic() < end:
            board.step()
            stamps += [m[2] for m in decoder.feed(port.read(1 << 16)) if m[0] == protocol.PPG]
            time.sleep(rng.choice((0.02, 0.02, 0.12, 0.15)))
    finally:
        port.close()
        board.close()
    # (the board's 32-bit microsecond clock wraps every 71.6 min: steps modulo 2**32; at
    # 2.2 s before a wrap one read -4294717296, session 31)
    steps = np.diff(stamps) % (1 << 32)
    assert len(stamps) >= 16 and set(steps) == {250_000}, steps


@pytest.mark.parametrize("ecg", [False, True])
def test_a_simulated_board_late_by_seconds_sends_its_frames_in_its_clock_s_order(tmp_path, ecg):
    """One loop turn 1.6 s late (a host at load 20): a finger board sent the seconds' PPG
    frames and STATUS, then their pupil samples stamped up to 1.6 s before that STATUS; an
    ECG board with a PPG fitted the seconds' PPG frames, then its ECG frames from 1.6 s
    back. The host then read a board clock that far back as set back (STEP_BACK_US) and
    mapped afresh: a burst read at once was stamped at its arrival, and a finger's seat
    restarted its PPG (HR_OK back 6-8 s later; twice, and the finger test's HR never came
    back). Each frame's stamp is now within a loop turn of the newest before it, the late
    turn's too (and a lone frame further back is a stray: tests/test_board_clock_stray.py)."""
    import serial

    from empathy.sensors.serial.board_clock import STEP_BACK_US
    from empathy.sim.board import SimAD8232, SimBoard

    board = SimBoard(tmp_path / "ttyACM-stall", seed=4, bare_ppg=ecg,
                     ecg=SimAD8232(np.zeros(250)) if ecg else None)
    port = serial.serial_for_url(str(tmp_path / "ttyACM-stall"), timeout=0)
    decoder, frames = protocol.Decoder(), []
    try:
        for pause in [0.02] * 50 + [1.6] + [0.02] * 25:
            board.step()
            frames += [(m[0], m[2]) for m in decoder.feed(port.read(1 << 16))]
            time.sleep(pause)
    finally:
        port.close()
        board.close()
    kinds = {k for k, _ in frames}
    assert {protocol.PPG, protocol.ECG if ecg else protocol.PUPIL, protocol.STATUS} <= kinds
    newest, back = frames[0][1], []
    for kind, ts in frames:  # (the 32-bit clock may wrap: differences modulo 2**32)
        back.append(((newest - ts + (1 << 31)) % (1 << 32) - (1 << 31), kind))
        newest = ts if back[-1][0] < 0 else newest
    assert max(back)[0] < STEP_BACK_US // 2, max(back)


def test_board_with_another_protocol_version_is_reported(caplog):
    import logging
    import struct

    caplog.set_level(logging.INFO)  # the hello is logged with the board's details
    src = open_source("serial://loop://")
    try:
        hello_v2 = protocol.frame(protocol.HELLO, 0, 0, struct.pack("<BIBBB", 2, 7, 2, 0, 0))
        src.port.write(hello_v2 + protocol.pupil(1, 10, 3000, 255))
        got = drain(src, lambda out: any(isinstance(r, Pupil) for r in out))
        assert [r.fault for r in got if isinstance(r, Health)] == [
            "board speaks protocol v2, this host v1"]
        assert src._thread.is_alive() and "board hello" in caplog.text
    finally:
        src.close()


def test_eda_frames_round_trip_and_become_microsiemens():
    from empathy.sensors.firmware.gsr import SATURATED, conductance_ns

    assert protocol.Decoder().feed(protocol.eda(3, 9, 16, [4200, 4210])) == [
        (protocol.EDA, 3, 9, {"fs_hz": 16, "samples": (4200, 4210)})]
    # the divider: 50 % of full scale with 100 kOhm reference is 10 µS of skin
    assert conductance_ns(32768) == pytest.approx(10_000, rel=1e-3)
    assert conductance_ns(0) == 0 and conductance_ns(65535) == SATURATED
    src = open_source("serial://loop://?sensor=gsr")
    try:
        src.port.write(protocol.eda(1, 1_000, 16, [4200] * 16)
                       + protocol.eda(2, 1_001_000, 16, [4200] * 15 + [protocol.EDA_SATURATED]))
        got = drain(src, lambda out: len(out) == 2)
    finally:
        src.close()
    wave, sat = got
    assert wave.kind == "eda" and wave.fs_hz == 16 and np.allclose(wave.samples, 4.2)
    assert isinstance(sat, Health) and "saturated" in sat.fault


def test_simulated_board_with_a_gsr_front_end_streams_skin_conductance(tmp_path):
    from empathy.sim.board import SimBoard

    board = SimBoard(tmp_path / "ttyACM-gsr", seed=5, gsr=True)
    src = open_source(f"serial://{tmp_path / 'ttyACM-gsr'}")
    try:
        end, got = time.monotonic() + 30, []
        while time.monotonic() < end and sum(isinstance(r, Waveform) and r.kind == "eda"
                                             for r in got) < 4:
            board.step()
            got += src.read(0.02)
    finally:
        src.close()
        board.close()
    eda = [r for r in got if isinstance(r, Waveform) and r.kind == "eda"]
    assert len(eda) >= 4 and all(w.fs_hz == 16 and len(w.samples) == 16 for w in eda)
    assert all(1.0 < x < 15.0 for w in eda for x in w.samples)  # a hand, in µS
    steps = np.diff([w.ts_us for w in eda])
    assert np.allclose(steps, 1e6, atol=50_000), steps


def test_a_hello_mid_stream_keeps_the_board_s_clock():
    """A HELLO with its sequence carrying on (the board's 5-s one, or its answer to the
    host's request at open) is no restart: the clock's mapping is kept. Reset at every
    HELLO, frames that then came in a burst (a loaded host reading late) were all stamped
    at their arrival: steps of 0 where the board's clock said 250 ms (the loaded suite's
    `steps [0, 0, 0, 3382, 0, -57321, 250020, ...]`). A HELLO with seq 0 is a board that
    started again, and its clock with it."""
    src = open_source("serial://loop://")
    try:
        t0, samples = 5_000_000, [200_000] * 25
        src.port.write(b"".join(protocol.ppg(1 + i, t0 + i * 250_000, 100, samples)
                                for i in range(4)))
        drain(src, lambda out: any(isinstance(r, Waveform) for r in out))
        time.sleep(1.5)  # the host reads late: what follows waits in the buffer
        burst = [protocol.hello(5, t0 + 1_000_000, 7, (1, 0, 0), "b")] + [
            protocol.ppg(6 + i, t0 + (4 + i) * 250_000, 100, samples) for i in range(6)]
        src.port.write(b"".join(burst))
        got = drain(src, lambda out: sum(isinstance(r, Waveform) for r in out) >= 6)
        steps = np.diff([r.ts_us for r in got if isinstance(r, Waveform)])
        # (the drift allowance may creep the offset up: 25 us a step)
        assert len(steps) >= 5 and all(250_000 <= s <= 250_100 for s in steps), steps
    finally:
        src.close()
