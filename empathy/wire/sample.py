"""The seat sample (kind 0, edge -> host, 10 Hz a seat): one seat's reading in 32 bytes.

Layout (big-endian, 32 bytes)::

    off size field        unit / encoding
    0   1    header       high nibble = version (1), low nibble = kind (0 = seat sample)
    1   2    unit_id      edge unit id (its key is looked up by this)
    3   2    seat_id      pseudonymous seat id for this session
    5   4    seq          per-unit sequence number (anti-replay, loss counting)
    9   6    ts_us        microseconds on the HOST's monotonic clock, 48-bit (8.9 years)
    15  2    hr           heart rate, 0.01 bpm steps; 0 = no value
    17  2    rmssd        RMSSD, 0.01 ms steps; 0 = no value
    19  2    pupil        pupil diameter, 0.001 mm steps; 0 = no value
    21  1    arousal      signed, value * 127, range -1..1
    22  1    valence      signed, value * 127, range -1..1
    23  1    expression   high nibble = class (0..6, 15 = none), low nibble = confidence * 15
    24  1    flags        signal-quality bits, see Flag
    25  7    tag          HMAC-SHA256(unit key, bytes 0..24) truncated to 56 bits

Why 56 bits of tag: the 25 bytes of content leave 7. A blind forger needs on average 2**55
tries per accepted packet; at 100k packets/s that is over 10,000 years, and the host counts
every failed tag, so a flood is visible long before.

The tag proves who sent a sample, not that its numbers are possible: `RANGES` says what a
body can show. `encode` refuses a value outside them; `decode` (and the batch decoder beside
this folder) drops such a field as lost, its quality bit cleared, and keeps the rest of the
sample (a glitching pupil tracker does not take the seat's heart rate with it).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, replace
from enum import IntFlag
from typing import NamedTuple

from .core import (KIND_SAMPLE, SEQ_MASK, TAG_SIZE, TS_MASK, VERSION, KeyLookup, WireError,
                   _open, _scaled, tag)

PACKET_SIZE = 32
BODY_SIZE = PACKET_SIZE - TAG_SIZE

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EXPRESSION_NONE = 15

_BODY = struct.Struct(">BHHIHIHHHbbBB")  # ts_us is split into hi16 + lo32 to make 48 bits
assert _BODY.size == BODY_SIZE


class Flag(IntFlag):
    """Signal-quality bits: set means the value is trustworthy."""

    HR_OK = 0x01
    HRV_OK = 0x02
    PUPIL_OK = 0x04
    FACE_OK = 0x08
    CONTACT = 0x10  # sensor reports skin contact (and a raw waveform still shows a pulse)
    BLINK = 0x20  # a blink was interpolated over in this window
    CALIBRATED = 0x40  # seat has a baseline; arousal/valence are baseline-normalised
    OPT_OUT = 0x80  # viewer opted out: biometric fields are zero


class Range(NamedTuple):
    """What one body signal can be; 0 always means "no value"."""

    lo: float
    hi: float
    unit: str
    flag: Flag  # the quality bit that vouches for the value
    step: float  # one count on the wire

    def counts(self) -> tuple[int, int]:
        """The range in wire counts (what both decoders compare, so they agree exactly)."""
        return round(self.lo / self.step), round(self.hi / self.step)


# A reading outside these is a sensor's or a firmware's fault, never a person. The one
# table for the edge's encoder, the host's decoders and the sensor readers (sensors/replay.py
# CSV columns, sensors/lsl.py pupil streams). RMSSD takes the bounds edge/profile.py allows
# a resting one.
RANGES = {
    "hr_bpm": Range(20.0, 300.0, "bpm", Flag.HR_OK, 0.01),
    "rmssd_ms": Range(1.0, 300.0, "ms", Flag.HRV_OK, 0.01),
    "pupil_mm": Range(0.5, 12.0, "mm", Flag.PUPIL_OK, 0.001),
}
_COUNTS = {name: r.counts() for name, r in RANGES.items()}


def _outside(name: str, count: int) -> bool:
    lo, hi = _COUNTS[name]
    return count != 0 and not lo <= count <= hi


def _impossible(name: str, value: float) -> bool:
    """Outside the range in counts, or a reading under one count: 0.004 bpm would travel
    as 0 ("no value") with its quality bit still vouching for it."""
    c = _scaled(value, RANGES[name].step, -0xFFFF, 0xFFFF, name)
    return _outside(name, c) or (c == 0 and value != 0)


@dataclass(frozen=True)
class SeatSample:
    """One seat's fused reading at one instant (what travels on the wire)."""

    unit_id: int
    seat_id: int
    seq: int
    ts_us: int
    hr_bpm: float = 0.0
    rmssd_ms: float = 0.0
    pupil_mm: float = 0.0
    arousal: float = 0.0
    valence: float = 0.0
    expression: int = EXPRESSION_NONE
    expression_conf: float = 0.0
    flags: int = 0


def drop_impossible(s: SeatSample) -> tuple[SeatSample, tuple[str, ...]]:
    """The sample with every value outside `RANGES` (or not a number) made "no value" and
    its quality bit cleared, and the names of those fields: what `decode` does on arrival,
    for an edge unit to apply before `encode`."""
    lost = tuple(n for n in RANGES if not math.isfinite(getattr(s, n))
                 or _impossible(n, getattr(s, n)))
    if not lost:
        return s, lost
    bits = sum(int(RANGES[n].flag) for n in lost)
    return replace(s, flags=s.flags & ~bits, **dict.fromkeys(lost, 0.0)), lost


def _count(s: SeatSample, name: str) -> int:
    r, value = RANGES[name], getattr(s, name)
    c = _scaled(value, r.step, -0xFFFF, 0xFFFF, name)
    if _impossible(name, value):
        raise WireError("bad_field", f"{name}={value:g} {r.unit} is outside {r.lo:g}..{r.hi:g} "
                                     f"(no body makes it; send 0, no value)")
    return c


def _pack_body(s: SeatSample) -> bytes:
    for name, value, hi in (("unit_id", s.unit_id, 0xFFFF), ("seat_id", s.seat_id, 0xFFFF),
                            ("ts_us", s.ts_us, TS_MASK)):
        if not 0 <= value <= hi:
            raise WireError("bad_field", f"{name}={value} out of range 0..{hi}")
    if not (0 <= s.expression <= 6 or s.expression == EXPRESSION_NONE):
        raise WireError("bad_field", f"expression class {s.expression} unknown")
    conf = _scaled(s.expression_conf, 1 / 15, 0, 15, "expression_conf")
    return _BODY.pack(
        (VERSION << 4) | KIND_SAMPLE,
        s.unit_id,
        s.seat_id,
        s.seq & SEQ_MASK,  # wraps at 2**32 like every kind's; the host reads it serially
        s.ts_us >> 32,
        s.ts_us & 0xFFFFFFFF,
        _count(s, "hr_bpm"),
        _count(s, "rmssd_ms"),
        _count(s, "pupil_mm"),
        _scaled(s.arousal, 1 / 127, -127, 127, "arousal"),
        _scaled(s.valence, 1 / 127, -127, 127, "valence"),
        (s.expression << 4) | conf,
        s.flags & 0xFF,
    )


def encode(sample: SeatSample, key: bytes) -> bytes:
    """Sample -> 32 authenticated bytes. Arousal, valence and the expression's confidence
    are clamped; NaN, and a body signal outside `RANGES`, are refused (WireError)."""
    body = _pack_body(sample)
    return body + tag(key, body)


def decode(packet: bytes, keys: KeyLookup) -> SeatSample:
    """32 bytes -> SeatSample, or WireError. `keys` maps unit_id -> key (dict or callable).
    A body signal outside `RANGES` arrives as "no value" with its quality bit cleared."""
    (_, unit, seat, seq, ts_hi, ts_lo, hr, rmssd, pupil, arousal, valence, expr,
     flags) = _open(packet, KIND_SAMPLE, _BODY, keys)
    cls = expr >> 4
    if cls > 6 and cls != EXPRESSION_NONE:
        # Authentic but nonsensical: a firmware bug, not an attack. Still rejected.
        raise WireError("bad_field", f"expression class {cls}")
    if arousal == -128 or valence == -128:  # outside -1..1; `encode` never writes it
        raise WireError("bad_field", "arousal or valence below -1")
    counts = {"hr_bpm": hr, "rmssd_ms": rmssd, "pupil_mm": pupil}
    for name, c in counts.items():
        if _outside(name, c):
            counts[name] = 0
            flags &= ~int(RANGES[name].flag)
    hr, rmssd, pupil = counts.values()
    return SeatSample(
        unit_id=unit,
        seat_id=seat,
        seq=seq,
        ts_us=(ts_hi << 32) | ts_lo,
        hr_bpm=hr * RANGES["hr_bpm"].step,
        rmssd_ms=rmssd * RANGES["rmssd_ms"].step,
        pupil_mm=pupil * RANGES["pupil_mm"].step,
        arousal=arousal / 127,
        valence=valence / 127,
        expression=cls,
        expression_conf=(expr & 0x0F) / 15,
        flags=flags,
    )
