"""A serial board replugged: which board it is and what was lost, right from its reopen.

A board says HELLO (its id) at power-on and every 5 s; the host opens a replugged board's
port 0.06-0.37 s after its node is back, and opening flushes what came before, the boot HELLO
with it. The board here runs the firmware's own loop (sim/board.py) on a real pty, its
periodic HELLO pushed out of reach so that only the host's request can bring one."""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import pytest

from empathy.sensors.base import Device, Health
from empathy.sensors.firmware import board as firmware, protocol
from empathy.sensors.serial.board import SerialSource
from polling import collect


@pytest.fixture
def no_periodic_hello(monkeypatch):
    monkeypatch.setattr(firmware, "HELLO_EVERY_US", 10**12)


def _run(board, stop):
    while not stop.is_set():
        board.step()
        time.sleep(0.005)


class Plugged:
    """A simulated board (sim/board.py) on `link`, its firmware looping on a thread, till
    `out()`."""

    def __init__(self, link, board_id: int, seed: int):
        from empathy.sim.board import SimBoard

        self.board = SimBoard(link, seed=seed, board_id=board_id)
        self.stop = threading.Event()
        self.t = threading.Thread(target=_run, args=(self.board, self.stop), daemon=True)
        self.t.start()

    def out(self):
        self.stop.set()
        self.t.join(2)
        self.board.close()


@pytest.mark.realtime  # a board in real time on a pty: the light real-time pass
def test_a_replugged_board_is_named_at_its_reopen_and_counts_no_lost_frames(
        tmp_path, no_periodic_hello):
    from empathy.sim.board import SimBoard

    link = tmp_path / "ttyACM0"
    one = SimBoard(link, seed=1, board_id=0xEE01)
    stop = threading.Event()
    t = threading.Thread(target=_run, args=(one, stop), daemon=True)
    t.start()
    src = SerialSource(f"serial://{link}", {})
    try:
        got = collect(src, lambda out: any(isinstance(r, Device) for r in out))
        assert [r.ident for r in got if isinstance(r, Device)] == ["board:0000ee01"]
        collect(src, lambda _: src.decoder.ok >= 20)  # it streams
        stop.set()
        t.join(2)
        one.close()  # unplugged; another board on the same port (the next viewer's)
        collect(src, lambda out: any(isinstance(r, Health) and r.fault == "unplugged"
                                     for r in out))
        two = SimBoard(link, seed=2, board_id=0xEE02)  # powered on: seq 0, HELLO, flushed
        stop = threading.Event()
        t = threading.Thread(target=_run, args=(two, stop), daemon=True)
        t.start()
        got = collect(src, lambda out: src.reconnects == 1 and any(
            isinstance(r, Health) and r.contact for r in out))
        assert src.stats()["board"].get("board_id") != "0000ee01"  # not the one unplugged
        if not any(isinstance(r, Device) for r in got):  # (it may come with the contact)
            got += collect(src, lambda out: any(isinstance(r, Device) for r in out))
        assert [r.ident for r in got if isinstance(r, Device)] == ["board:0000ee02"]
        assert src.stats()["board"] == {"board_id": "0000ee02", "fw": "1.0.0",
                                        "name": "sim-board"}
        collect(src, lambda _: src.decoder.ok >= 60)
        # frames sent before the reopen (the boot HELLO) were never the line's to lose
        assert src.stats()["frames_lost"] == 0
    finally:
        stop.set()
        t.join(2)
        src.close()
        one.close()
        if "two" in locals():
            two.close()


def test_the_firmware_answers_a_hello_request_split_over_reads_and_nothing_else():
    sent = []
    b = firmware.Board(None, sent.append, lambda: 1234, 0xC0FFEE, name="pico")
    b.boot()
    dec = protocol.Decoder()
    dec.feed(b"".join(sent))
    for junk in (b"\x00\xffHEL", b"LO\n?HELL", b"x?HEL"):
        b.heard(junk)
    assert len(sent) == 1  # no request yet: nothing said
    b.heard(b"LO\n")  # "?HELLO\n" across two reads
    msgs = dec.feed(b"".join(sent[1:]))
    assert [(m[0], m[1], m[3]["board_id"]) for m in msgs] == [(protocol.HELLO, 1, 0xC0FFEE)]
    assert dec.lost == 0  # its seq goes on: no reboot, no gap
    assert 3 not in protocol.HELLO_REQUEST  # a MicroPython board's Ctrl-C: never sent


class DeafPort:
    """A board whose firmware reads nothing (from before the HELLO request) on a pty at
    `link`: whatever the host writes stays in its buffer. `plug` and `pull` as a hand does."""

    def __init__(self, link):
        self.link, self.master, self.got = link, None, []

    def plug(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        tmp = self.link.with_suffix(".tmp")
        tmp.symlink_to(os.ttyname(slave))
        os.close(slave)
        tmp.replace(self.link)
        self.master = master

    def pull(self, wait_s: float):
        """Unplugged: what the host wrote to it, waited for up to wait_s."""
        self.link.unlink()
        r, _, _ = select.select([self.master], [], [], wait_s)
        self.got.append(os.read(self.master, 4096) if r else b"")
        os.close(self.master)


@pytest.mark.realtime  # boards in real time on a pty: the light real-time pass
def test_a_board_that_never_answers_is_asked_no_more_one_that_does_every_open(
        tmp_path, no_periodic_hello):
    """The reader wrote a HELLO request at every open: an old board's firmware never reads
    it, so the requests piled up in its input buffer and, ~70 opens on, each write waited
    0.1 s. Now a port whose board left REQUEST_MISSES requests in a row unanswered is asked
    no more this run, while a board that answers is asked at every open (its id right
    from the reopen)."""
    from empathy.sensors.serial.board import REQUEST_MISSES

    link = tmp_path / "ttyACM0"
    deaf = DeafPort(link)
    deaf.plug()
    src = SerialSource(f"serial://{link}", {})
    try:
        for n in range(1, REQUEST_MISSES + 4):  # (a request is there within 10 s, or none)
            deaf.pull(10.0 if n <= REQUEST_MISSES else 0.2)
            collect(src, lambda out: src.port is None)
            deaf.plug()
            collect(src, lambda out: src.reconnects == n)
        deaf.pull(0.2)  # (while the port is open: a pty's buffer goes with its last reader)
        assert src.stats()["hello_requests"] == REQUEST_MISSES, src.stats()
    finally:
        src.close()
    assert deaf.got[:REQUEST_MISSES] == [protocol.HELLO_REQUEST] * REQUEST_MISSES, deaf.got
    assert set(deaf.got[REQUEST_MISSES:]) == {b""}, deaf.got

    board = Plugged(link, 0xEE01, seed=1)
    src = SerialSource(f"serial://{link}", {})
    try:
        for n in range(REQUEST_MISSES + 3):
            if n:  # (its firmware stopped first: a write to the port as it goes is no test's)
                board.out()
                collect(src, lambda out: src.port is None)
                board = Plugged(link, 0xEE01, seed=1)
            collect(src, lambda out: any(isinstance(r, Device) for r in out))
        assert src.stats()["hello_requests"] == REQUEST_MISSES + 3, src.stats()
    finally:
        src.close()
        board.out()
