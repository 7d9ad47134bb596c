"""Screen cues: signed by the host, fresh and moving forward, or refused (a replayed cue is
refused)."""

import socket
import time

from empathy import wire
from empathy.clock import now_us
from empathy.edge.screen import ScreenState

HOST = wire.CueSigner(b"s" * 32)


def _send(port, cue, signer=HOST):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(wire.encode_cue(cue, signer), ("127.0.0.1", port))
    s.close()


def _settle(screen, counted):
    end = time.monotonic() + 3
    while time.monotonic() < end and counted() == 0:
        time.sleep(0.02)


def test_fresh_cues_are_taken_replayed_and_forged_ones_refused():
    screen = ScreenState(0, HOST.public, host_now=now_us)
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

        _send(screen.port, wire.ScreenCue(6, now_us(), "dawn", 0, 0.9),
              signer=wire.CueSigner(b"x" * 32))
        _settle(screen, lambda: screen.rejected)
        assert screen.rejected == 1 and screen.now()[0] == "chase"

        _send(screen.port, wire.ScreenCue(6, now_us(), "dawn", 100, 0.9))
        _settle(screen, lambda: screen.last.seq == 6)
        assert screen.now()[0] == "dawn"
    finally:
        screen.close()


def test_a_flood_of_forged_cues_costs_a_bounded_number_of_signature_checks():
    """A signature check costs tens of HMACs: a unit checks at most CHECKS_PER_S a second
    (plus one second's burst) and sheds the rest unchecked, counted; the host's cues are
    taken again once the flood stops."""
    from empathy.edge.screen import CHECKS_PER_S

    screen = ScreenState(0, HOST.public, host_now=now_us)
    forger = wire.CueSigner(b"f" * 32)
    flood = [wire.encode_cue(wire.ScreenCue(100 + i, now_us(), "forged", 0, 1.0), forger)
             for i in range(3000)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t0 = time.monotonic()
        for p in flood:
            s.sendto(p, ("127.0.0.1", screen.port))

        def counted():
            return screen.rejected + screen.taken + screen.stale + screen.shed
        last = -1
        while counted() != last:  # until the listener has drained its socket
            last = counted()
            time.sleep(0.3)
        elapsed = time.monotonic() - t0
        assert screen.taken == 0 and screen.shed > 0
        assert screen.rejected <= CHECKS_PER_S * (elapsed + 1) + 1, (screen.rejected, elapsed)
        time.sleep(1.0)  # the budget refills
        _send(screen.port, wire.ScreenCue(7, now_us(), "chase", 0, 0.5))
        _settle(screen, lambda: screen.taken)
        assert screen.now()[0] == "chase"
    finally:
        s.close()
        screen.close()
