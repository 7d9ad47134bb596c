"""A unit's status (kind 6): the MQTT `status` topic, retained; its last will says "offline".

Tagged like every packet a unit sends, so nobody on an open broker can mark a live unit
offline. The will is fixed when the unit connects, so each connection gets an `epoch`
from the unit's own sequence (persisted over restarts, so always newer): the host takes
an "offline" only for the connection epoch it last saw "online", or a newer one, and a
will captured from an earlier connection is refused.

  off size field
  0   1    header     version 1, kind 6
  1   2    unit_id
  3   4    epoch      the unit's sequence number when this connection was made
  7   1    online     1 = online, 0 = offline
  8   1    n          length of the screen name (1..64)
  9   n    screen     UTF-8, the topic's screen: a status is not valid on another screen
  ..  7    tag        HMAC-SHA256(unit key, bytes 0..8+n) truncated to 56 bits
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .core import (KIND_STATUS, SEQ_MASK, TAG_SIZE, VERSION, KeyLookup, WireError,
                   _check_header, _open, tag)

_STATUS = struct.Struct(">BHIBB")
STATUS_MAX_SCREEN = 64


@dataclass(frozen=True)
class Status:
    unit_id: int
    epoch: int
    online: bool
    screen: str


def encode_status(s: Status, key: bytes) -> bytes:
    name = s.screen.encode()
    if not 1 <= len(name) <= STATUS_MAX_SCREEN:
        raise WireError("bad_field", f"screen name of {len(name)} bytes")
    body = _STATUS.pack((VERSION << 4) | KIND_STATUS, s.unit_id & 0xFFFF, s.epoch & SEQ_MASK,
                        int(bool(s.online)), len(name)) + name
    return body + tag(key, body)


def decode_status(packet: bytes, keys: KeyLookup) -> Status:
    return _status(_open(packet, KIND_STATUS, _layout(packet), keys))


def peek_status(packet: bytes) -> Status:
    """The status a packet claims, its shape checked but its tag NOT verified: for routing
    and refusing early (a transport); only `decode_status` says it is the unit's."""
    layout = _layout(packet)
    _check_header(packet[0], KIND_STATUS)
    return _status(layout.unpack(packet[:layout.size]))


def _layout(packet: bytes) -> struct.Struct:
    """The packet's layout, its length checked against the screen name it announces."""
    if len(packet) < _STATUS.size + 1 + TAG_SIZE:
        raise WireError("too_short", f"{len(packet)} bytes")
    n = packet[_STATUS.size - 1]
    want = _STATUS.size + n + TAG_SIZE
    if len(packet) != want:
        raise WireError("too_long" if len(packet) > want else "too_short",
                        f"{len(packet)} bytes for a {n}-byte screen name")
    return struct.Struct(f">BHIBB{n}s")


def _status(fields: tuple) -> Status:
    _, unit, epoch, online, n, name = fields
    if online > 1 or not 1 <= n <= STATUS_MAX_SCREEN:
        raise WireError("bad_field", f"online {online}, screen name of {n} bytes")
    try:
        return Status(unit, epoch, online == 1, name.decode())
    except UnicodeDecodeError:
        raise WireError("bad_field", "screen name is not UTF-8") from None
