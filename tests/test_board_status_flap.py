"""A board whose STATUS text alternates (two texts toggling every frame, once a second: a
third-party firmware's, or a loose part between two faults) had the seat log a warning at
each change: 120 lines in two minutes, burying the log. A fault come back within a minute
of being said is not said again (counted into the next line), and a real change is still
said once. Through pyserial's loop:// port, frames as the board's protocol encodes them."""

import logging

from empathy.edge.features import SeatFeatures
from empathy.sensors.base import Health, open_source
from empathy.sensors.firmware import protocol
from polling import collect

TEXTS = ("LED current low", "LED current high")


def _warnings(caplog, frames: bytes, n: int) -> list[str]:
    src = open_source("serial://loop://?sensor=board7")
    seat = SeatFeatures(60.0, name="seat 1")
    try:
        with caplog.at_level(logging.WARNING, "empathy.edge"):
            src.port.write(protocol.hello(0, 0, 0xAB, (1, 0, 0), "pico") + frames)
            got = collect(src, lambda out: sum(isinstance(r, Health) for r in out) >= n)
            for r in got:
                seat.add(r)
    finally:
        src.close()
    return [r.getMessage() for r in caplog.records if r.name.startswith("empathy.edge")]


def test_a_status_flapping_between_two_texts_is_said_once_each_and_a_new_one_once(caplog):
    flaps = b"".join(protocol.status(k + 1, (k + 1) * 1_000_000, 0, 80, 2, TEXTS[k % 2])
                     for k in range(120))
    new = protocol.status(121, 121_000_000, 0, 80, 3, "sensor saturated")
    said = _warnings(caplog, flaps + new, 121)
    assert len(said) == 3, said
    assert TEXTS[0] in said[0] and TEXTS[1] in said[1]
    assert "sensor saturated" in said[2] and "118 changes back" in said[2], said


def test_a_status_flapping_for_ten_minutes_is_said_twice_a_minute(caplog):
    """By the readings' own time: each text is said again once a minute has passed since
    it was (the tester sees it still flaps), 20 lines for 600 changes."""
    seat = SeatFeatures(60.0, name="seat 1")
    with caplog.at_level(logging.WARNING, "empathy.edge"):
        for k in range(600):
            seat.add(Health(10**9 + k * 1_000_000, "board7", contact=False, fault=TEXTS[k % 2]))
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 20, said
    assert "58 changes back" in said[2], said
