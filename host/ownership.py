"""Seats belong to units: a unit may speak only for its own seats.

Owners come from the host config's seat map (`host/seatmap.py`). A seat the map does not
list is locked to the first unit heard using it (unless `lock_unknown = false`), up to
`max_seats_per_unit` seats per unit; the locks are kept in the host's state folder
(host/intake_state.py), so a restart does not open a race for them. A lock nobody has used
for `LOCK_IDLE_S` is released: seat ids are per-session pseudonyms in many installs, and a
seat silent that long is dead to the show anyway.

Idle time is kept on the monotonic clock: a Pi host without an RTC boots at its last
shutdown's time (fake-hwclock) and NTP then steps the wall clock by hours, which aged locks
by the step. A lock read back after a restart carries a wall stamp from a clock that may
have stepped since, so its age is unknown: it starts idle at the restart, held at most
`LOCK_IDLE_S` more if its unit is dead, never freed at once if its unit is alive.

Each refusal has its own reason: `foreign_seat` (another unit's seat), `too_many_seats`
(the unit already speaks for as many seats as it may) and `unlisted_seat` (a unit the map
lists claims a seat not on its list, or a seat the map does not know when locking is off).
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np

from empathy.host.seatmap import SeatMapConfig

UNITS = 1 << 16
LOCK_IDLE_S = 600.0
REASONS = ("foreign_seat", "too_many_seats", "unlisted_seat")
OK = 0  # codes: 0 ok, else 1 + index into REASONS


class SeatOwners:
    def __init__(self, cfg: Optional[SeatMapConfig] = None, lock_idle_s: float = LOCK_IDLE_S,
                 clock: Callable[[], float] = time.monotonic):
        cfg = cfg or SeatMapConfig()
        self.max_seats = cfg.max_seats_per_unit
        self.lock_unknown = cfg.lock_unknown
        self.lock_idle_s = lock_idle_s
        self.clock = clock
        self.owner = np.full(UNITS, -1, np.int32)  # seat -> unit, -1 = nobody's yet
        self.listed = np.zeros(UNITS, bool)  # units the seat map lists
        self.listed_seats = np.zeros(UNITS, bool)
        self.count = np.zeros(UNITS, np.int32)  # seats each unit owns now
        self.last_used = np.zeros(UNITS, np.float64)  # locked seats: clock() last used
        for u in cfg.units:
            self.listed[u.unit] = True
            self.owner[u.seats] = u.unit
            self.listed_seats[u.seats] = True
            self.count[u.unit] = len(u.seats)
        self.changed = False  # locks taken or released since the state was last saved

    def check(self, units: np.ndarray, seats: np.ndarray) -> np.ndarray:
        """Claims (unit, seat) in arrival order -> OK or 1 + index into REASONS. Unowned
        seats are locked here as the claims allow."""
        now_s = self.clock()
        units, seats = units.astype(np.intp), seats.astype(np.intp)
        owner = self.owner[seats]
        code = np.where(owner == units, OK, 1 + REASONS.index("foreign_seat")).astype(np.uint8)
        for i in np.flatnonzero(owner < 0).tolist():
            code[i] = self._claim(int(units[i]), int(seats[i]), now_s)
        ok = seats[code == OK]
        self.last_used[ok] = now_s
        return code

    def _claim(self, unit: int, seat: int, now_s: float) -> int:
        held = self.owner[seat]
        if held >= 0:  # locked a moment ago, in this same batch
            return OK if held == unit else 1 + REASONS.index("foreign_seat")
        if self.listed[unit] or not self.lock_unknown:
            return 1 + REASONS.index("unlisted_seat")
        if self.count[unit] >= self.max_seats:
            return 1 + REASONS.index("too_many_seats")
        self.owner[seat] = unit
        self.count[unit] += 1
        self.last_used[seat] = now_s
        self.changed = True
        return OK

    def entitled(self, unit: int) -> int:
        """How many seats this unit may speak for (its share of the audience)."""
        return int(self.count[unit]) if self.listed[unit] else self.max_seats

    def release_idle(self, now_s: Optional[float] = None) -> list[int]:
        """Free locks unused for `lock_idle_s` at `now_s` (on `clock`, default now); returns
        the seats freed."""
        now_s = self.clock() if now_s is None else now_s
        locked = (self.owner >= 0) & ~self.listed_seats
        idle = np.flatnonzero(locked & (now_s - self.last_used > self.lock_idle_s))
        if len(idle):
            np.subtract.at(self.count, self.owner[idle], 1)
            self.owner[idle] = -1
            self.changed = True
        return idle.tolist()

    # -- across restarts ---------------------------------------------------------------
    def locks(self) -> dict[int, tuple[int, float]]:
        """seat -> (unit, wall time last used), for seats locked on first sight. (The wall
        time is for the file's readers; `restore` does not age locks by it.)"""
        seats = np.flatnonzero((self.owner >= 0) & ~self.listed_seats)
        wall_less = time.time() - self.clock()
        return {s: (int(self.owner[s]), wall_less + float(self.last_used[s]))
                for s in seats.tolist()}

    def restore(self, locks: dict[int, tuple[int, float]]) -> None:
        """Locks from before a restart, each idle from now on (its wall stamp is from a
        clock that may have stepped since); the seat map wins over any of them."""
        now_s = self.clock()
        for seat, (unit, _used) in locks.items():
            if self.owner[seat] >= 0 or self.listed[unit] or not self.lock_unknown \
                    or self.count[unit] >= self.max_seats:
                continue
            self.owner[seat] = unit
            self.count[unit] += 1
            self.last_used[seat] = now_s
