"""Each seat's sensor faults, as the wire's fault codes (wire kind 7, `wire.FAULTS`): what
the operator's dashboard names ("seat 12: ECG lead off: moisten the electrodes").

Sources say how a sensor is with `Health` readings; each one replaces what that sensor
(`Health.sensor`) said before: a board's "lead off", "unplugged" and, once it is back, its
word that all is well. A finger off a board is not a fault: its contact bit reads the same
for an empty seat (the room's "no contact" shows both); a worn strap that reads no skin is
(dry electrodes). A fault text the table has no code for (a GSR front end saturated, another
firmware's words) leaves the sensor's codes as they were. Beside them, two the seat itself
knows: its heart correction's device is not the one calibrated (edge/profile.py DeviceFix),
and values no body makes, dropped before the wire, from its heart-rate device or a board's
pupil diameters no eye has (its source's `pupil_rejected`), within the last
`IMPOSSIBLE_HOLD_S`.

`due` says which seats' packets leave now: a seat's whose codes changed, and every
`wire.RESEND_S` a seat's with any set (a host started late learns them; a lost "all
clear" is not believed for ever: the host forgets codes not repeated). Only codes leave.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import parse_qs, urlsplit

from empathy import wire
from empathy.sensors.base import (LEAD_LOOSE, LEAD_OFF, LEAD_STUCK, NO_SKIN, STRAP_GONE,
                                  UNPLUGGED, Health)

IMPOSSIBLE_HOLD_S = 5.0
_WORDS = {UNPLUGGED: "unplugged", LEAD_OFF: "lead_off", LEAD_STUCK: "lead_wiring",
          STRAP_GONE: "strap_gone", NO_SKIN: "no_skin"}


def codes_of(r: Health) -> Optional[int]:
    """The fault codes a Health reading says its sensor has now (0: none, whatever its
    contact), or None where it says nothing the table names (the sensor's codes stand)."""
    if r.fault in _WORDS:
        return wire.mask_of([_WORDS[r.fault]])
    if LEAD_LOOSE in r.fault:
        return wire.mask_of(["lead_loose"])
    if r.sensor.startswith("camera:") and r.fault.startswith("camera:"):
        role = parse_qs(urlsplit(r.sensor).query).get("role", ["face"])[-1]
        return wire.mask_of(["eye_camera" if role == "eye" else "face_camera"])
    # a board's contact bit alone is no fault: an empty seat reads so (the room shows it)
    return None if r.fault else 0


class SeatFaults:
    def __init__(self, seat_id: int, source=None):
        self.seat_id = seat_id
        self.source = source  # the seat's source, read for what it refused as no eye's
        self.sensors: dict[str, int] = {}  # Health.sensor -> its codes
        self.impossible_us: Optional[int] = None  # the last value no body makes
        self.device_rejected = 0  # the seat's heart-rate device's, as last seen
        self.pupil_rejected = 0  # the source's (a serial board's), as last seen
        self.mask = 0  # as last sent
        self.changed_us = self.sent_us = 0

    def add(self, r) -> None:
        if isinstance(r, Health):
            codes = codes_of(r)
            if codes is not None:
                self.sensors[r.sensor] = codes

    def now(self, features, t_us: int) -> int:
        if features.device_rejected != self.device_rejected:
            self.device_rejected, self.impossible_us = features.device_rejected, t_us
        # a board reads a diameter no eye has as "no pupil" (a blink, for the features)
        pupil = getattr(self.source, "pupil_rejected", 0)
        if pupil != self.pupil_rejected:
            self.pupil_rejected, self.impossible_us = pupil, t_us
        mask = 0
        for codes in self.sensors.values():
            mask |= codes
        if features.heart.status == "uncalibrated device":
            mask |= wire.mask_of(["uncalibrated"])
        if self.impossible_us is not None and t_us - self.impossible_us < IMPOSSIBLE_HOLD_S * 1e6:
            mask |= wire.mask_of(["impossible"])
        return mask


class UnitFaults:
    """Every seat's faults, by seat id; `features`: seat id -> its SeatFeatures (the
    seats read: an opted-out seat has none, nothing is read for it); `sources`: seat id ->
    its source."""

    def __init__(self, features: dict, sources: Optional[dict] = None):
        self.features = features
        self.seats = {s: SeatFaults(s, (sources or {}).get(s)) for s in features}

    def add(self, seat_id: int, r) -> None:
        self.seats[seat_id].add(r)

    def impossible(self, seat_id: int, t_us: int) -> None:
        self.seats[seat_id].impossible_us = t_us

    def due(self, t_us: int) -> list[tuple[int, int, int]]:
        """(seat id, codes, seconds they have held) of each seat whose packet leaves now."""
        out = []
        for seat_id, s in self.seats.items():
            mask = s.now(self.features[seat_id], t_us)
            if mask != s.mask:
                s.mask, s.changed_us = mask, t_us
            elif not mask or t_us - s.sent_us < wire.RESEND_S * 1e6:
                continue
            s.sent_us = t_us
            out.append((seat_id, mask, int((t_us - s.changed_us) / 1e6)))
        return out

    def stats(self) -> dict:
        """Seat id -> the names of its faults now (the unit's stats), seats with any."""
        return {str(s.seat_id): [wire.describe(c).name for c in wire.codes_of(s.mask)]
                for s in self.seats.values() if s.mask}
