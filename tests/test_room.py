"""The room the dashboard draws (host/dashboard/room.py): layout from the seat map, a grid
without one, every seat shown, and a seat's status by the fusion's own rule."""

from empathy import wire
from empathy.config import loads
from empathy.host.audience import STALE_US
from empathy.host.dashboard.room import Room, grid_columns, seat_status
from empathy.host.seatmap import SeatMapConfig

GOOD = wire.Flag.HR_OK | wire.Flag.CONTACT
NOW = 100_000_000


def sample(unit, seat, age_us=0, flags=GOOD):
    return wire.SeatSample(unit, seat, 0, NOW - age_us, flags=flags)


def test_status_follows_the_fusion_rule():
    assert seat_status(None, NOW) == "never_heard"
    assert seat_status(sample(1, 1), NOW) == "good"
    assert seat_status(sample(1, 1, flags=wire.Flag.FACE_OK), NOW) == "good"  # camera seat
    assert seat_status(sample(1, 1, age_us=STALE_US + 1), NOW) == "silent"
    assert seat_status(sample(1, 1, flags=wire.Flag.CONTACT), NOW) == "no_signal"
    assert seat_status(sample(1, 1, flags=0), NOW) == "no_contact"


def test_without_a_seat_map_the_seats_heard_make_a_landscape_grid():
    last = {seat: sample(seat // 4, seat) for seat in range(1000, 1300)}
    r = Room().report(last, NOW)
    cols = grid_columns(300)
    assert cols == 25 and not r["configured"]
    assert [len(row["seats"]) for row in r["rows"]] == [25] * 12
    # ordered by unit then seat: each unit's seats side by side
    assert r["rows"][0]["seats"][:4] == [1000, 1001, 1002, 1003]
    assert r["seats_total"] == r["seats_good"] == 300 and r["dead"] == []
    assert grid_columns(3) == 4 and grid_columns(5000) == 30


def test_seats_the_map_does_not_place_get_a_row_of_their_own():
    cfg = loads(SeatMapConfig, """
units = [{unit = 7, seats = [71, 72, 73]}]
rows = [{name = "A", seats = [71, 72], numbers = [5, 6]}]
""")
    room = Room(cfg)
    r = room.report({71: sample(7, 71), 99: sample(9, 99, flags=wire.Flag.CONTACT)}, NOW)
    assert [(row["name"], row["seats"]) for row in r["rows"]] == [("A", [71, 72]),
                                                                  ("?", [73, 99])]
    assert r["rows"][0]["status"] == ["good", "never_heard"]
    dead = {d["label"]: (d["status"], d["unit"], d["row"], d["number"]) for d in r["dead"]}
    assert dead == {"A6": ("never_heard", 7, "A", 6), "seat 73": ("never_heard", 7, None, None),
                    "seat 99": ("no_signal", 9, None, None)}
    assert r["seats_total"] == 4 and r["seats_good"] == 1
    assert r["counts"] == {"never_heard": 2, "silent": 0, "no_contact": 0, "no_signal": 1,
                           "good": 1}
