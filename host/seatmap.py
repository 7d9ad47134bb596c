"""The auditorium: which edge unit carries which seats, and where each seat sits.

One table in the host config serves two needs: security (a unit may speak only for its
own seats) and the operator (the dashboard draws the room as it is laid out, and names a
dead seat by row and number).

    [seatmap]
    max_seats_per_unit = 8      # a unit claiming more seats than this is refused

    [[seatmap.units]]           # unit 301 carries four seats (ids as on the wire)
    unit = 301
    seats = [301, 302, 303, 304]

    [[seatmap.rows]]            # row C, left to right as the audience faces the screen
    name = "C"
    seats = [301, 302, 303, 304]
    numbers = [1, 2, 3, 4]      # printed seat numbers; default 1..n

Seats of units not listed here are locked to the first unit seen using them (the lock is
kept in the host's state folder), unless `lock_unknown = false`, which refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from empathy.config import setting


@dataclass
class UnitSeats:
    unit: int  #: edge unit id (0..65535). Example: 301
    #: seat ids it carries, as on the wire. Example: [301, 302, 303, 304]
    seats: list[int] = field(default_factory=list)

    def validate(self):
        if not 0 <= self.unit <= 0xFFFF:
            raise ValueError(f"unit {self.unit} out of range 0..65535")
        for s in self.seats:
            if not 0 <= s <= 0xFFFF:
                raise ValueError(f"unit {self.unit}: seat {s} out of range 0..65535")
        if len(set(self.seats)) != len(self.seats):
            raise ValueError(f"unit {self.unit} lists a seat twice")


@dataclass
class Row:
    name: str  #: the row's name as printed (1..8 characters). Example: "C"
    #: seat ids, left to right as the audience faces the screen. Example: [301, 302]
    seats: list[int] = setting([], lo=0, hi=0xFFFF)
    #: printed seat numbers; empty: 1..n. Example: [1, 2]
    numbers: list[int] = setting([], lo=0, hi=9999)

    def validate(self):
        if not self.name or len(self.name) > 8:
            raise ValueError(f"row name {self.name!r} must be 1..8 characters")
        if self.numbers and len(self.numbers) != len(self.seats):
            raise ValueError(f"row {self.name}: {len(self.numbers)} numbers for "
                             f"{len(self.seats)} seats")


@dataclass
class SeatMapConfig:
    max_seats_per_unit: int = 8  #: a unit claiming more seats than this is refused
    #: seats of units not listed are locked to the first unit seen using them (kept in the
    #: host's state folder); false: refused
    lock_unknown: bool = True
    #: Which unit carries which seats (a unit may speak only for its own).
    units: list[UnitSeats] = field(default_factory=list)
    #: The room's rows, for the dashboard's seat map.
    rows: list[Row] = field(default_factory=list)

    def validate(self):
        if not 1 <= self.max_seats_per_unit <= 255:
            raise ValueError(f"max_seats_per_unit {self.max_seats_per_unit} must be 1..255")
        owner: dict[int, int] = {}
        for u in self.units:
            if len(u.seats) > self.max_seats_per_unit:
                raise ValueError(f"unit {u.unit} carries {len(u.seats)} seats, more than "
                                 f"max_seats_per_unit = {self.max_seats_per_unit}")
            for s in u.seats:
                if s in owner:
                    raise ValueError(f"seat {s} belongs to unit {owner[s]} and unit {u.unit}")
                owner[s] = u.unit
        placed: dict[int, str] = {}
        for r in self.rows:
            for s in r.seats:
                if s in placed:
                    raise ValueError(f"seat {s} is in row {placed[s]} and row {r.name}")
                placed[s] = r.name

    def owners(self) -> dict[int, int]:
        """seat id -> the unit that carries it (configured seats only)."""
        return {s: u.unit for u in self.units for s in u.seats}

    def label(self, seat: int) -> Optional[str]:
        """"C7" for a seat placed in a row, else None."""
        for r in self.rows:
            if seat in r.seats:
                i = r.seats.index(seat)
                return f"{r.name}{r.numbers[i] if r.numbers else i + 1}"
        return None
