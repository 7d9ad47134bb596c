"""What every kind of packet shares: the version and kind in its first byte, the widths of
sequence numbers and host-clock stamps, the 56-bit tag (HMAC-SHA256 with the unit's key),
the verdicts a receiver counts (`REASONS`) and the checks the small fixed-size kinds share.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
from typing import Callable, Mapping, Optional, Union

VERSION = 1
KIND_SAMPLE = 0
KIND_HEALTH = 2
KIND_SYNC = 3  # clock sync request, edge -> host
KIND_SYNC_REPLY = 4  # clock sync reply, host -> edge
KIND_CUE = 5  # signed screen cue, host -> edge (kind 1, the HMAC-tagged cue, is retired)
KIND_STATUS = 6  # a unit's MQTT status (online, or its last will "offline"), edge -> host
KIND_FAULTS = 7  # a seat's sensor faults, as codes, edge -> host
TAG_SIZE = 7
TS_MASK = (1 << 48) - 1
SEQ_MASK = (1 << 32) - 1  # sequence numbers wrap; the host extends them (host/replay.py)
_SEQ_HALF = 1 << 31

REASONS = (
    "too_short",
    "too_long",
    "bad_version",
    "bad_kind",
    "unknown_unit",
    "bad_tag",
    "bad_field",
)


class WireError(ValueError):
    """A packet was rejected. `reason` is one of `REASONS` (countable)."""

    def __init__(self, reason: str, detail: str = ""):
        assert reason in REASONS, reason
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


KeyLookup = Union[Mapping[int, bytes], Callable[[int], Optional[bytes]]]


def tag(key: bytes, body: bytes) -> bytes:
    """Truncated HMAC-SHA256 over the packet body."""
    return hmac.digest(key, body, hashlib.sha256)[:TAG_SIZE]


def seq_delta(a, b):
    """a - b for sequence numbers that wrap at 2**32 (serial arithmetic, RFC 1982): the
    distance in [-2**31, 2**31). Ints, or numpy integer arrays (int64)."""
    return (a - b + _SEQ_HALF) % (SEQ_MASK + 1) - _SEQ_HALF


def unit_of(packet: bytes) -> int:
    """The claimed unit id, read without verifying (for routing and counting)."""
    if len(packet) < 3:
        raise WireError("too_short", f"{len(packet)} bytes")
    return (packet[1] << 8) | packet[2]


def kind_of(packet: bytes) -> int:
    """The packet's kind nibble, unverified (for routing); -1 for an empty packet."""
    return packet[0] & 0x0F if packet else -1


def _check_header(header: int, kind: int) -> None:
    if header >> 4 != VERSION:
        raise WireError("bad_version", f"version {header >> 4}")
    if header & 0x0F != kind:
        raise WireError("bad_kind", f"kind {header & 0x0F}")


def _open(packet: bytes, kind: int, layout: struct.Struct, keys: KeyLookup) -> tuple:
    """Length, header, key and tag checks shared by the small fixed-size kinds."""
    n, want = len(packet), layout.size + TAG_SIZE
    if n != want:
        raise WireError("too_short" if n < want else "too_long", f"{n} bytes, need {want}")
    _check_header(packet[0], kind)
    unit = (packet[1] << 8) | packet[2]
    key = keys(unit) if callable(keys) else keys.get(unit)
    if key is None:
        raise WireError("unknown_unit", f"unit {unit}")
    body = bytes(packet[:layout.size])
    if not hmac.compare_digest(tag(key, body), bytes(packet[layout.size:])):
        raise WireError("bad_tag", f"unit {unit}")
    return layout.unpack(body)


def _scaled(value: float, step: float, lo: int, hi: int, name: str) -> int:
    if value is None or not math.isfinite(value):
        raise WireError("bad_field", f"{name} is not a finite number")
    return int(round(max(lo, min(hi, value / step))))  # clamped first: 1e308 / step is inf


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(v)))
