"""Screen cues: tagged, fresh and moving forward, or refused (a replayed cue is refused)."""

import socket
import time

from empathy import wire
from empathy.clock import now_us
from empathy.edge.screen import ScreenState

KEY = b"s" * 32


def _send(port, cue, key=KEY):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(wire.encode_cue(cue, key), ("127.0.0.1", port))
    s.close()


def _settle(screen, counted):
    end = time.monotonic() + 3
    while time.monotonic() < end and counted() == 0:
        time.sleep(0.02)


def test_fresh_cues_are_taken_replayed_and_forged_ones_refused():
    screen = ScreenState(0, KEY, host_now=now_us)
    try:
        _send(screen.port, wire.ScreenCue(5, now_us(), "chase", 1500, 0.6))
        _settle(screen, lambda: screen.last is not None)
        assert screen.now()[0] == "chase" and abs(screen.now()[2] - 0.6) < 1e-3

        old = wire.ScreenCue(4, now_us() - 10_000_000, "dawn", 0, 0.9)  # recorded earlier
        _send(screen.port, old)
        _settle(screen, lambda: screen.stale)
        assert screen.stale == 1 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(5, now_us(), "dawn", 0, 0.9))  # same seq again
        _settle(screen, lambda: screen.stale - 1)
        assert screen.stale == 2 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(6, now_us(), "dawn", 0, 0.9), key=b"x" * 32)
        _settle(screen, lambda: screen.rejected)
        assert screen.rejected == 1 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(6, now_us(), "dawn", 100, 0.9))
        _settle(screen, lambda: screen.last.seq == 6)
        assert screen.now()[0] == "dawn"
    finally:
        screen.close()
