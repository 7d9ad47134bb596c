"""A source whose stamps run far ahead of, or behind, the seat's clock: moved to arrival time.

Readings keep their source's measurement time (an LSL sender's stamps, a BrainFlow board's
clock), and a seat uses a beat only once its time has come (edge/heart_window.py: an early
sensor's beats wait up to its calibrated lag). A source whose clock is minutes ahead, and
that no calibration can undo (calibration's lags stop at LAG_MAX_MS), gave no heart rate
until its time came: minutes of a seat without HR, and nothing said why. One minutes behind
(a device that stamps from its own power-on) gave none ever: its beats were older than any
window when they came.

Beyond AHEAD_MAX_S ahead of arrival the unit takes the source's clock as off: every reading
stamped on that clock is moved back by one offset (the first such reading's lead), so it
lands at its arrival and the stream keeps its own spacing; a warning says so. Behind, a
late burst is no clock (readings held in a link and sent at once, a backlog after a
reconnect: their stamps are right), so only readings all more than AHEAD_MAX_S behind for
AHEAD_MAX_S of arrivals are; the offset is then the least behind of them (a chunk is as
late as its last sample). Those readings are dropped meanwhile: on a clock behind, no
window would take them, and fed to the seat they cost it 8 s more before its first HR.
A source a little off (a calibrated early or late sensor, a clock a second fast) keeps its
stamps, and so does a reading stamped at arrival (a source's Health). A jump of the
source's clock by more than the bound re-bases once more; the warnings are rate-limited (a
clock that jumps at every chunk re-bases 10 times a second).
"""

from __future__ import annotations

import dataclasses
import logging

from empathy.edge.profile import LAG_MAX_MS
from empathy.log import RateLimited
from empathy.sensors.base import Device, Health, Waveform

log = logging.getLogger("empathy.edge")

# No calibrated lag reaches past LAG_MAX_MS; a second more for a stamp's own jitter.
AHEAD_MAX_S = LAG_MAX_MS / 1000.0 + 1.0


class AheadGuard:
    """One seat's source: `admit(reading, arrival_us)` is the reading on a clock at most
    AHEAD_MAX_S ahead of or behind the unit's."""

    def __init__(self, name: str):
        self.name = name
        self.shift_us = 0  # how far the source's clock is ahead (< 0: behind); 0: on time
        self.rebased = 0  # times its clock was found off (the unit's stats)
        self.behind_since = None  # arrival of the first of the readings all far behind
        self.least_behind = 0  # the latest stamp among them, less its arrival
        self._say = RateLimited(log, burst=2)

    def admit(self, r, arrival_us: int):
        """The reading on the unit's clock; None while readings far behind may be a clock
        (no window would take them if so; a late burst loses its part past the bound)."""
        ahead, bound = r.ts_us - arrival_us, AHEAD_MAX_S * 1e6
        if isinstance(r, Waveform) and ahead < 0 and r.fs_hz > 0:  # a chunk: its last sample's
            ahead = min(0, ahead + round((len(r.samples) - 1) * 1e6 / r.fs_hz))
        off = abs(ahead - self.shift_us) > bound  # not on the clock already taken
        if ahead > bound and (not self.shift_us or off):
            self._rebase(ahead)
        elif ahead < -bound and off:
            if self.behind_since is None:
                self.behind_since, self.least_behind = arrival_us, ahead
            self.least_behind = max(self.least_behind, ahead)
            if arrival_us - self.behind_since <= bound:
                return None
            self._rebase(self.least_behind)
        elif not isinstance(r, (Health, Device)):  # a reading on time ends a late burst
            self.behind_since = None
        # nearer the shifted clock than the unit's: a reading on the source's clock
        if self.shift_us and (ahead > self.shift_us / 2 if self.shift_us > 0
                              else ahead < self.shift_us / 2):
            return dataclasses.replace(r, ts_us=r.ts_us - self.shift_us)
        return r

    def _rebase(self, ahead: int) -> None:
        self.shift_us, self.rebased, self.behind_since = ahead, self.rebased + 1, None
        self._say(logging.WARNING, "%s: its source's clock is %.0f s %s this unit's: its "
                  "stamps moved to arrival time (set the source's clock right)", self.name,
                  abs(ahead) / 1e6, "ahead of" if ahead > 0 else "behind",
                  extra={"seat": self.name, "ahead_s": round(ahead / 1e6, 1)})
