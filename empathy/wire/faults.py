"""A seat's sensor faults (kind 7, edge -> host): WHY a seat's sensor is out, as codes.

The sample's flag bits say that a seat's heart rate or pupil is out; this says why, from
the one fixed table `FAULTS` (code -> what the operator reads, and what to do), so the
dashboard can say "seat 12: ECG lead off: moisten the electrodes, re-seat the snaps".
Codes only: never a waveform, a frame or a figure of the viewer's body.

A unit sends one per seat when the seat's faults change (0: all clear) and again every
`RESEND_S` while any is set, so a host started late learns them and a lost "all clear"
does not stand: the host drops a seat's faults not repeated within `STALE_S`.

  off size field
  0   1    header     version 1, kind 7
  1   2    unit_id
  3   4    seq        shares the unit's sequence (one replay window per unit)
  7   2    seat_id
  9   4    faults     bit c set = fault code c holds now (codes 0..31; 0 = all clear)
  13  2    for_s      seconds since the seat's set of faults last changed (saturates)
  15  7    tag        HMAC-SHA256(unit key, bytes 0..14) truncated to 56 bits

A code this table does not name is a newer unit's (a room upgrades its units one at a
time): it decodes, and the host shows it as "fault code N (newer unit)"; `known` tells.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from .core import KIND_FAULTS, TAG_SIZE, VERSION, KeyLookup, WireError, _open, tag

_FAULTS = struct.Struct(">BHIHIH")
FAULTS_SIZE = _FAULTS.size + TAG_SIZE
MAX_CODE = 31
MAX_FOR_S = 0xFFFF
RESEND_S = 5.0  # a seat with any fault set says so again this often
STALE_S = 3 * RESEND_S  # a seat's faults not repeated this long are no longer known


class Fault(NamedTuple):
    code: int
    name: str  # a label for metrics and logs (stable: dashboards and alerts use it)
    text: str  # what the operator reads
    action: str  # what the usher or tester does


# The one table, both sides. Codes are never reused: a retired code keeps its place.
FAULTS = (
    Fault(0, "lead_off", "ECG lead off", "moisten the electrodes and re-seat the snaps"),
    Fault(1, "lead_loose", "ECG electrode keeps dropping", "re-seat the electrode's snap; "
          "replace a worn lead"),
    Fault(2, "lead_wiring", "lead-off pin reads off over a heart",
          "check the board's LO wiring (or lo_pins=ignore in the seat's source)"),
    Fault(3, "unplugged", "sensor unplugged", "plug the sensor's cable back in"),
    Fault(4, "uncalibrated", "heart sensor not the one calibrated",
          "put the calibrated sensor back, or `empathy calibrate hr --sensor-id` this one"),
    Fault(5, "impossible", "sensor sends impossible values",
          "swap the sensor; check its firmware"),
    Fault(6, "face_camera", "face camera lost", "check the face camera's cable and power"),
    Fault(7, "eye_camera", "eye camera lost", "check the eye camera's cable and power"),
    Fault(8, "no_skin", "heart strap reads no skin",
          "moisten the strap's electrodes and tighten it"),
    Fault(9, "strap_gone", "heart strap not connected",
          "bring the strap in range; change its battery"),
)
CODES = {f.name: f.code for f in FAULTS}
assert [f.code for f in FAULTS] == list(range(len(FAULTS))) and len(FAULTS) <= MAX_CODE + 1


def known(code: int) -> bool:
    return 0 <= code < len(FAULTS)


def describe(code: int) -> Fault:
    """The table's entry, or a stand-in for a newer unit's code."""
    if known(code):
        return FAULTS[code]
    return Fault(code, "newer", f"fault code {code} (newer unit)",
                 "see the unit's log; update this host")


def mask_of(names) -> int:
    return sum(1 << CODES[n] for n in set(names))


def codes_of(mask: int) -> tuple[int, ...]:
    return tuple(c for c in range(MAX_CODE + 1) if mask >> c & 1)


@dataclass(frozen=True)
class SeatFaults:
    unit_id: int
    seq: int
    seat_id: int
    faults: int  # the bitmask
    for_s: int = 0


def encode_faults(f: SeatFaults, key: bytes) -> bytes:
    for name, value, hi in (("unit_id", f.unit_id, 0xFFFF), ("seat_id", f.seat_id, 0xFFFF),
                            ("faults", f.faults, (1 << MAX_CODE + 1) - 1)):
        if not 0 <= value <= hi:
            raise WireError("bad_field", f"{name}={value} out of range 0..{hi}")
    body = _FAULTS.pack((VERSION << 4) | KIND_FAULTS, f.unit_id, f.seq & 0xFFFFFFFF, f.seat_id,
                        f.faults, max(0, min(MAX_FOR_S, int(f.for_s))))
    return body + tag(key, body)


def decode_faults(packet: bytes, keys: KeyLookup) -> SeatFaults:
    # every field's whole range is a valid value (codes past the table: a newer unit's)
    _, unit, seq, seat, faults, for_s = _open(packet, KIND_FAULTS, _FAULTS, keys)
    return SeatFaults(unit, seq, seat, faults, for_s)
