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
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntFlag

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
        _scaled(s.hr_bpm, 0.01, 0, 0xFFFF, "hr_bpm"),
        _scaled(s.rmssd_ms, 0.01, 0, 0xFFFF, "rmssd_ms"),
        _scaled(s.pupil_mm, 0.001, 0, 0xFFFF, "pupil_mm"),
        _scaled(s.arousal, 1 / 127, -127, 127, "arousal"),
        _scaled(s.valence, 1 / 127, -127, 127, "valence"),
        (s.expression << 4) | conf,
        s.flags & 0xFF,
    )


def encode(sample: SeatSample, key: bytes) -> bytes:
    """Sample -> 32 authenticated bytes. Out-of-range values are clamped; NaN is refused."""
    body = _pack_body(sample)
    return body + tag(key, body)


def decode(packet: bytes, keys: KeyLookup) -> SeatSample:
    """32 bytes -> SeatSample, or WireError. `keys` maps unit_id -> key (dict or callable)."""
    (_, unit, seat, seq, ts_hi, ts_lo, hr, rmssd, pupil, arousal, valence, expr,
     flags) = _open(packet, KIND_SAMPLE, _BODY, keys)
    cls = expr >> 4
    if cls > 6 and cls != EXPRESSION_NONE:
        # Authentic but nonsensical: a firmware bug, not an attack. Still rejected.
        raise WireError("bad_field", f"expression class {cls}")
    if arousal == -128 or valence == -128:  # outside -1..1; `encode` never writes it
        raise WireError("bad_field", "arousal or valence below -1")
    return SeatSample(
        unit_id=unit,
        seat_id=seat,
        seq=seq,
        ts_us=(ts_hi << 32) | ts_lo,
        hr_bpm=hr * 0.01,
        rmssd_ms=rmssd * 0.01,
        pupil_mm=pupil * 0.001,
        arousal=arousal / 127,
        valence=valence / 127,
        expression=cls,
        expression_conf=(expr & 0x0F) / 15,
        flags=flags,
    )
