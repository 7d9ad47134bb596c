"""A source whose stamps run far ahead of the seat's clock: moved to arrival time.

Readings keep their source's measurement time (an LSL sender's stamps, a BrainFlow board's
clock), and a seat uses a beat only once its time has come (edge/heart_window.py: an early
sensor's beats wait up to its calibrated lag). A source whose clock is minutes ahead, and
that no calibration can undo (calibration's lags stop at LAG_MAX_MS), gave no heart rate
until its time came: minutes of a seat without HR, and nothing said why.

Beyond AHEAD_MAX_S ahead of arrival the unit takes the source's clock as off: every reading
stamped on that clock is moved back by one offset (the first such reading's lead), so it
lands at its arrival and the stream keeps its own spacing; one warning says so. A source a
little ahead (a calibrated early sensor, a clock a second fast) keeps its stamps, and so
does a reading stamped at arrival (a source's Health). A second jump of the source's clock
by more than the bound re-bases once more.
"""

from __future__ import annotations

import dataclasses
import logging

from empathy.edge.profile import LAG_MAX_MS

log = logging.getLogger("empathy.edge")

# No calibrated lag reaches past LAG_MAX_MS; a second more for a stamp's own jitter.
AHEAD_MAX_S = LAG_MAX_MS / 1000.0 + 1.0


class AheadGuard:
    """One seat's source: `admit(reading, arrival_us)` is the reading on a clock at most
    AHEAD_MAX_S ahead of the unit's."""

    def __init__(self, name: str):
        self.name = name
        self.shift_us = 0  # how far the source's clock is ahead; 0: on time
        self.rebased = 0  # times its clock was found off (the unit's stats)

    def admit(self, r, arrival_us: int):
        ahead = r.ts_us - arrival_us
        if ahead > AHEAD_MAX_S * 1e6 and (not self.shift_us or
                                          abs(ahead - self.shift_us) > AHEAD_MAX_S * 1e6):
            self.shift_us, self.rebased = ahead, self.rebased + 1
            log.warning("%s: its source's clock is %.0f s ahead of this unit's: its stamps "
                        "moved to arrival time (set the source's clock right)", self.name,
                        ahead / 1e6, extra={"seat": self.name, "ahead_s": round(ahead / 1e6, 1)})
        # nearer the shifted clock than the unit's: a reading on the source's clock
        if self.shift_us and ahead > self.shift_us / 2:
            return dataclasses.replace(r, ts_us=r.ts_us - self.shift_us)
        return r
