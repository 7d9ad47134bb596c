"""A heart-rate device's own bpm figure (the 0x2A37 HR field), computed as devices do.

Watches broadcasting heart rate, optical armbands in HR mode and many cheap chest straps
send only this figure, no RR intervals. Their averaging is undocumented; this one is a
plausible device's, and deliberately nothing of the seat's (edge/device_hr.py): the rate of
the last AVG_BEATS beats, smoothed once a second by SMOOTH and rounded to whole bpm. When
no beat has come for LOST_S (off skin), it does what its `off_skin` says:

- "contact": it has a contact sensor and says so (contact False), HR 0;
- "zero": no contact support, HR 0 ("no reading");
- "repeat": no contact support, its last figure again and again (a cheap strap's way);

and "stuck" is a device whose figure freezes at STUCK_AFTER_S, whatever the heart does.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

AVG_BEATS = 6  # the rate of the last so many beats ...
SMOOTH = 0.45  # ... eased into the figure at this share a second
LOST_S = 2.5  # no beat for this long: off skin
STUCK_AFTER_S = 40.0  # "stuck": the figure freezes this long after the first beat
OFF_SKIN = ("contact", "zero", "repeat", "stuck")


class HrDevice:
    """Feed the wearer's beats with `beat`; `tick` once a second gives what the device sends:
    (bpm, contact: None where the device has no contact sensor)."""

    def __init__(self, off_skin: str = "contact"):
        if off_skin not in OFF_SKIN:
            raise ValueError(f"off_skin: one of {', '.join(OFF_SKIN)}")
        self.off_skin = off_skin
        self.rr: deque = deque(maxlen=AVG_BEATS)
        self.last_beat_s: Optional[float] = None
        self.first_beat_s: Optional[float] = None
        self.figure: Optional[float] = None  # the smoothed rate, unrounded
        self.sent = 0

    def beat(self, t_s: float, rr_ms: float) -> None:
        """A beat of the wearer's at t_s that ended an interval of rr_ms."""
        if self.first_beat_s is None:
            self.first_beat_s = t_s
        self.last_beat_s = t_s
        self.rr.append(rr_ms)

    def tick(self, t_s: float, skin: bool = True) -> tuple[int, Optional[bool]]:
        """What the device sends at t_s. `skin`: whether it sits on the body (a wearer's
        slipped strap: its beats stop too, this says it at once)."""
        contact = None if self.off_skin != "contact" else skin
        if (self.off_skin == "stuck" and self.first_beat_s is not None
                and t_s - self.first_beat_s >= STUCK_AFTER_S):
            return self.sent, contact
        on = skin and self.last_beat_s is not None and t_s - self.last_beat_s < LOST_S
        if not on:
            self.rr.clear()
            self.figure = None
            if self.off_skin in ("repeat", "stuck"):
                return self.sent, contact
            self.sent = 0
            return 0, contact
        rate = 60000.0 * len(self.rr) / sum(self.rr)
        self.figure = rate if self.figure is None else self.figure + SMOOTH * (rate - self.figure)
        self.sent = min(255, int(round(self.figure)))
        return self.sent, contact
