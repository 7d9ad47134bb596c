"""Seats belong to units: a unit may speak only for its own seats.

Owners come from the host config's seat map (`host/seatmap.py`). A seat the map does not
list is locked to the first unit heard using it (unless `lock_unknown = false`), up to
`max_seats_per_unit` seats per unit; the locks are kept in the host's state folder
(host/intake_state.py), so a restart does not open a race for them. A lock nobody has used
for `LOCK_IDLE_S` is released: seat ids are per-session pseudonyms in many installs, and a
seat silent that long is dead to the show anyway.

Each refusal has its own reason: `foreign_seat` (another unit's seat), `too_many_seats`
(the unit already speaks for as many seats as it may) and `unlisted_seat` (a unit the map
lists claims a seat not on its list, or a seat the map does not know when locking is off).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from empathy.host.seatmap import SeatMapConfig

UNITS = 1 << 16
LOCK_IDLE_S = 600.0
REASONS = ("foreign_seat", "too_many_seats", "unlisted_seat")
OK = 0  # codes: 0 ok, else 1 + index into REASONS


class SeatOwners:
    def __init__(self, cfg: Optional[SeatMapConfig] = None, lock_idle_s: float = LOCK_IDLE_S):
        cfg = cfg or SeatMapConfig()
        self.max_seats = cfg.max_seats_per_unit
        self.lock_unknown = cfg.lock_unknown
        self.lock_idle_s = lock_idle_s
        self.owner = np.full(UNITS, -1, np.int32)  # seat -> unit, -1 = nobody's yet
        self.listed = np.zeros(UNITS, bool)  # units the seat map lists
        self.listed_seats = np.zeros(UNITS, bool)
        self.count = np.zeros(UNITS, np.int32)  # seats each unit owns now
        self.last_used = np.zeros(UNITS, np.float64)  # locked seats: wall time last used
        for u in cfg.units:
            self.listed[u.unit] = True
            self.owner[u.seats] = u.unit
            self.listed_seats[u.seats] = True
            self.count[u.unit] = len(u.seats)
        self.changed = False  # locks taken or released since the state was last saved

    def check(self, units: np.ndarray, seats: np.ndarray, wall_s: float) -> np.ndarray:
        """Claims (unit, seat) in arrival order -> OK or 1 + index into REASONS. Unowned
        seats are locked here as the claims allow."""
        units, seats = units.astype(np.intp), seats.astype(np.intp)
        owner = self.owner[seats]
        code = np.where(owner == units, OK, 1 + REASONS.index("foreign_seat")).astype(np.uint8)
        for i in np.flatnonzero(owner < 0).tolist():
            code[i] = self._claim(int(units[i]), int(seats[i]), wall_s)
        ok = seats[code == OK]
        self.last_used[ok] = wall_s
        return code

    def _claim(self, unit: int, seat: int, wall_s: float) -> int:
        held = self.owner[seat]
        if held >= 0:  # locked a moment ago, in this same batch
            return OK if held == unit else 1 + REASONS.index("foreign_seat")
        if self.listed[unit] or not self.lock_unknown:
            return 1 + REASONS.index("unlisted_seat")
        if self.count[unit] >= self.max_seats:
            return 1 + REASONS.index("too_many_seats")
        self.owner[seat] = unit
        self.count[unit] += 1
        self.last_used[seat] = wall_s
        self.changed = True
        return OK

    def entitled(self, unit: int) -> int:
        """How many seats this unit may speak for (its share of the audience)."""
        return int(self.count[unit]) if self.listed[unit] else self.max_seats

    def release_idle(self, wall_s: float) -> list[int]:
        """Free locks unused for `lock_idle_s`; returns the seats freed."""
        locked = (self.owner >= 0) & ~self.listed_seats
        idle = np.flatnonzero(locked & (wall_s - self.last_used > self.lock_idle_s))
        if len(idle):
            np.subtract.at(self.count, self.owner[idle], 1)
            self.owner[idle] = -1
            self.changed = True
        return idle.tolist()

    # -- across restarts ---------------------------------------------------------------
    def locks(self) -> dict[int, tuple[int, float]]:
        """seat -> (unit, wall time last used), for seats locked on first sight."""
        seats = np.flatnonzero((self.owner >= 0) & ~self.listed_seats)
        return {s: (int(self.owner[s]), float(self.last_used[s])) for s in seats.tolist()}

    def restore(self, locks: dict[int, tuple[int, float]]) -> None:
        """Locks from before a restart; the seat map wins over any of them."""
        for seat, (unit, used) in locks.items():
            if self.owner[seat] >= 0 or self.listed[unit] or not self.lock_unknown \
                    or self.count[unit] >= self.max_seats:
                continue
            self.owner[seat] = unit
            self.count[unit] += 1
            self.last_used[seat] = used
