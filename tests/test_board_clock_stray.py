"""A board's frames over a real pty with one stray old frame (a third-party firmware: a
retransmit after a USB hiccup, a second sensor's task running late), and boards whose clock
really went back (a power cycle, a clock set back for good).

Each reading is checked by its own stamp against the board time it was sent with (encoded
in its samples): the mapping (stamp - board time) may only fall (a frame that waited less),
never rise but for the 100 ppm creep. One stray 1.5 s old reset it for good: the stray
was stamped at its arrival (its chunk on top of the newest) and the PPG frames after it
250 ms late till the next STATUS (the seat's detector started over: 6-8 s without HR_OK)."""

from __future__ import annotations

import logging
import random
import threading
import time

import numpy as np
import pytest

from empathy.clock import now_us
from empathy.sensors.base import Waveform
from empathy.sensors.firmware import protocol
from empathy.sensors.serial.board import PPG_FULL_SCALE, SerialSource
from polling import collect
from test_serial_board import Pty

B0 = 1_200_000_000  # the board's clock: 20 min up (a 32-bit clock near 0 is behind it)
PPG_US, ACC_US = 250_000, 500_000  # 25 samples at 100 Hz; 25 at 50 Hz
PPG_BASE, ACC_BASE = 100_000, 1_000  # counts / mG: the frame's index is added

# a board paced in real time, judged by stamps and counts: with the light pass
pytestmark = pytest.mark.realtime


class Board:
    """A third-party board's stream, in its clock's order: (send at s, frame, kind, board
    µs, the frame's index in its samples)."""

    def __init__(self, acc: bool = False):
        self.out: list = []
        self.seq, self.acc = 1, acc

    def add(self, send_s: float, frame_of, kind, board_us: int, n: int = -1) -> None:
        self.out.append((send_s, frame_of(self.seq), kind, board_us, n))
        self.seq += 1

    def move(self, kind: str, board_us: int, after_kind: str, after_us: int, dt_s: float):
        """Send that frame (the first so stamped) dt_s after another."""
        item = self.out.pop(self.find(kind, board_us))
        at = self.find(after_kind, after_us)
        self.out.insert(at + 1, (self.out[at][0] + dt_s,) + item[1:])

    def find(self, kind: str, board_us: int) -> int:
        return next(i for i, f in enumerate(self.out) if f[2] == kind and f[3] == board_us)

    def run(self, t0_s: float, t1_s: float, clock0_us: int = B0, first: int = 0) -> None:
        """Frames sent from t0_s to t1_s (wall, from the start) on a clock that read
        clock0_us at t0_s; frame indices from `first`."""
        frames = []
        for i in range(int((t1_s - t0_s) * 1e6 // PPG_US)):
            ts, n = clock0_us + i * PPG_US, first + i
            frames.append((t0_s + (i + 1) * PPG_US / 1e6, lambda q, ts=ts, n=n: protocol.ppg(
                q, ts & 0xFFFFFFFF, 100, [PPG_BASE + n] * 25), "ppg", ts, n))
        for i in range(int(t1_s - t0_s)):  # STATUS every second, stamped as it is sent
            ts = clock0_us + i * 1_000_000
            frames.append((t0_s + i, lambda q, ts=ts: protocol.status(
                q, ts & 0xFFFFFFFF, protocol.CONTACT, 90), "status", ts, -1))
        for i in range(int((t1_s - t0_s) * 1e6 // ACC_US) if self.acc else 0):
            ts, n = clock0_us + 200_000 + i * ACC_US, first + i
            frames.append((t0_s + 0.2 + (i + 1) * ACC_US / 1e6, lambda q, ts=ts, n=n: protocol.acc(
                q, ts & 0xFFFFFFFF, 50, [(ACC_BASE + n, 0, 0)] * 25), "acc", ts, n))
        for send_s, frame_of, kind, ts, n in sorted(frames, key=lambda f: f[0]):
            self.add(send_s, frame_of, kind, ts, n)

    def play(self, pty: Pty) -> threading.Thread:
        def go():
            t0, rng = time.monotonic(), random.Random(1)
            for send_s, frame, *_ in self.out:
                time.sleep(max(0.0, t0 + send_s - time.monotonic()))
                pty.write(frame, rng)
        t = threading.Thread(target=go, daemon=True)
        t.start()
        return t


def board_us_of(w: Waveform) -> tuple[str, int]:
    """(kind, frame index) a test frame's samples say."""
    if w.kind == "ppg":
        return "ppg", int(PPG_FULL_SCALE - w.samples[0]) - PPG_BASE
    return "acc", int(round(w.samples[0])) - ACC_BASE


def stream(board: Board, tmp_path) -> tuple[list[Waveform], dict]:
    """The waveforms a SerialSource read of `board` over a pty, and its stats."""
    pty = Pty(str(tmp_path / "ttyTHIRD"))
    pty.plug()
    src = SerialSource(f"serial://{pty.link}", {})
    try:
        writer = board.play(pty)
        n = len(board.out)
        got = collect(src, lambda _: not writer.is_alive() and src.decoder.ok >= n,
                      timeout_s=60)
        time.sleep(0.2)
        got += src.read(0)
        return [r for r in got if isinstance(r, Waveform)], src.stats()
    finally:
        src.close()
        pty.unplug()


def rises(waves: list[Waveform], sent: dict) -> list[int]:
    """How far each wave's mapping (stamp - its board time) rose over the least before it."""
    least, out = None, []
    for w in waves:
        off = w.ts_us - sent[board_us_of(w)]
        out.append(0 if least is None else off - least)
        least = off if least is None else min(least, off)
    return out


def sent_board_us(board: Board) -> dict:
    """(kind, frame index) -> board µs, unwrapped, of the waveform frames sent."""
    return {(kind, n): ts for _, _, kind, ts, n in board.out if n >= 0}


@pytest.mark.parametrize("case", ["ppg_retransmit", "acc_task_late"])
def test_one_stray_old_frame_leaves_the_board_s_clock_as_it_was(tmp_path, caplog, case):
    caplog.set_level(logging.WARNING, "empathy.sensors.serial")
    board = Board(acc=case == "acc_task_late")
    board.run(0.0, 6.0)
    if case == "ppg_retransmit":
        # after the PPG frame of 3.5 s, the one of 2.0 s sent again (a USB hiccup)
        at = board.find("ppg", B0 + 3_500_000)
        again = board.out[board.find("ppg", B0 + 2_000_000)]
        board.out.insert(at + 1, (board.out[at][0] + 0.01,) + again[1:])
    else:
        # the accelerometer's task stalled: its frame of 2.2 s (due at 2.7 s) sent after
        # the PPG's of 3.5 s (at 3.75 s): 1.3 s behind the newest; the two due since
        # right after it
        board.move("acc", B0 + 2_200_000, "ppg", B0 + 3_500_000, 0.01)
        board.move("acc", B0 + 2_700_000, "acc", B0 + 2_200_000, 0.01)
        board.move("acc", B0 + 3_200_000, "acc", B0 + 2_700_000, 0.01)
    sent = sent_board_us(board)
    waves, stats = stream(board, tmp_path)
    said = [board_us_of(w) for w in waves]
    up = rises(waves, sent)
    assert max(up) <= 1_000, [(s, u) for s, u in zip(said, up) if u > 1_000]
    # each frame's samples once, in each sensor's order: a repeat is dropped, a late frame
    # that is no repeat goes on
    assert sorted(said) == sorted(sent) and len(said) == len(set(said)), said
    for kind in ("ppg", "acc"):
        idx = [n for k, n in said if k == kind]
        assert idx == sorted(idx), (kind, idx)
    assert stats["frames_out_of_order"] == 1, stats
    assert len([r for r in caplog.records if "behind its newest" in r.getMessage()]) == 1


def restart(board: Board, how: str) -> None:
    """2 s on the board's clock, then its clock goes back (`how`) for 2.5 s."""
    board.run(0.0, 2.0)
    if how == "power_cycle":  # its boot HELLO first, seq 0
        board.seq = 0
        board.add(2.0, lambda q: protocol.hello(q, 1_000, 7, (2, 0, 0), "third"), "hello",
                  1_000)
        board.run(2.0, 4.5, clock0_us=10_000, first=100)
    elif how == "hello_lost":  # power cycled, its boot HELLO lost on the line
        board.seq = 1
        board.run(2.0, 4.5, clock0_us=10_000, first=100)
    else:  # set back 5 s for good, no reboot: its numbers go on
        board.run(2.0, 4.5, clock0_us=B0 + 2_000_000 - 5_000_000, first=100)


@pytest.mark.parametrize("how", ["power_cycle", "hello_lost", "set_back"])
def test_a_board_clock_that_really_went_back_is_followed(tmp_path, how):
    board = Board()
    restart(board, how)
    sent = sent_board_us(board)
    t0 = now_us()
    waves, stats = stream(board, tmp_path)
    said = [board_us_of(w) for w in waves]
    assert said == sorted(sent), said  # every frame, in order: none dropped, none held back
    before = [w.ts_us for w, (_, n) in zip(waves, said) if n < 100]
    after = [w.ts_us for w, (_, n) in zip(waves, said) if n >= 100]
    # on the new clock, not on the old one (seconds or an hour back): after what came
    # before, within the 250 ms a PPG frame waits to be sent
    assert t0 <= min(after) and min(after) > max(before) - PPG_US and max(after) <= now_us()
    assert max(rises(waves[len(before):], sent)) <= 1_000
    assert stats["frames_out_of_order"] == 0, stats


def test_a_clock_back_for_good_is_followed_after_restart_span_of_its_time():
    """Frames behind the newest by over STEP_BACK_US are held, and followed once they span
    RESTART_SPAN_US of the board's time; a frame back on the old clock before that makes
    them strays."""
    from empathy.sensors.serial.board_clock import RESTART_SPAN_US, BoardGate

    gate = BoardGate()
    msg = lambda ts: (protocol.PPG, 0, ts & 0xFFFFFFFF, {})  # noqa: E731
    for i in range(8):
        assert [ts for _, _, ts in gate.feed(msg(B0 + i * PPG_US), 1_000 + i * PPG_US)] == [
            1_000 + i * PPG_US]
    arrival, held = 3_000_000, 0
    for i in range(20):  # back to near 0: held till they span RESTART_SPAN_US
        out = gate.feed(msg(5_000 + i * PPG_US), arrival + i * PPG_US)
        if out:
            break
        held += 1
    assert held == RESTART_SPAN_US // PPG_US and len(out) == held + 1
    assert np.all(np.diff([ts for _, _, ts in out]) == PPG_US) and gate.out_of_order == 0
