"""Wire format v1: one seat sample in 32 bytes, authenticated.

This is the ONE module both the edge unit and the host import for packets. It imports
nothing of ours, so firmware-side or third-party tools can vendor it as a single file.

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

`decode` raises `WireError` and nothing else; `WireError.reason` is one of `REASONS`, so a
receiver can keep a counter per reason.

Other kinds (screen cues, heartbeats, clock sync, MQTT unit status) are laid out beside their encoders below.
This module needs the standard library alone, but for the screen cue's signature (the
`cryptography` package, imported when a cue signer or verifier is made). A host at 10,000 seats x 10 Hz uses
`empathy.wire_batch.decode_batch` beside it (numpy): one call verifies and decodes a whole
batch into arrays, with the same verdicts as `decode` packet by packet.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
from dataclasses import dataclass
from enum import IntFlag
from typing import Callable, Mapping, Optional, Union

VERSION = 1
KIND_SAMPLE = 0
KIND_HEALTH = 2
KIND_SYNC = 3  # clock sync request, edge -> host
KIND_SYNC_REPLY = 4  # clock sync reply, host -> edge
KIND_CUE = 5  # signed screen cue, host -> edge (kind 1, the HMAC-tagged cue, is retired)
KIND_STATUS = 6  # a unit's MQTT status (online, or its last will "offline"), edge -> host
PACKET_SIZE = 32
TAG_SIZE = 7
BODY_SIZE = PACKET_SIZE - TAG_SIZE
TS_MASK = (1 << 48) - 1
SEQ_MASK = (1 << 32) - 1  # sequence numbers wrap; the host extends them (host/replay.py)

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EXPRESSION_NONE = 15

_BODY = struct.Struct(">BHHIHIHHHbbBB")  # ts_us is split into hi16 + lo32 to make 48 bits
assert _BODY.size == BODY_SIZE

REASONS = (
    "too_short",
    "too_long",
    "bad_version",
    "bad_kind",
    "unknown_unit",
    "bad_tag",
    "bad_field",
)


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


class WireError(ValueError):
    """A packet was rejected. `reason` is one of `REASONS` (countable)."""

    def __init__(self, reason: str, detail: str = ""):
        assert reason in REASONS, reason
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


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


def _scaled(value: float, step: float, lo: int, hi: int, name: str) -> int:
    if value is None or not math.isfinite(value):
        raise WireError("bad_field", f"{name} is not a finite number")
    return max(lo, min(hi, int(round(value / step))))


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


def tag(key: bytes, body: bytes) -> bytes:
    """Truncated HMAC-SHA256 over the packet body."""
    return hmac.digest(key, body, hashlib.sha256)[:TAG_SIZE]


def encode(sample: SeatSample, key: bytes) -> bytes:
    """Sample -> 32 authenticated bytes. Out-of-range values are clamped; NaN is refused."""
    body = _pack_body(sample)
    return body + tag(key, body)


KeyLookup = Union[Mapping[int, bytes], Callable[[int], Optional[bytes]]]


def unit_of(packet: bytes) -> int:
    """The claimed unit id, read without verifying (for routing and counting)."""
    if len(packet) < 3:
        raise WireError("too_short", f"{len(packet)} bytes")
    return (packet[1] << 8) | packet[2]


def _check_header(header: int, kind: int) -> None:
    if header >> 4 != VERSION:
        raise WireError("bad_version", f"version {header >> 4}")
    if header & 0x0F != kind:
        raise WireError("bad_kind", f"kind {header & 0x0F}")


def decode(packet: bytes, keys: KeyLookup) -> SeatSample:
    """32 bytes -> SeatSample, or WireError. `keys` maps unit_id -> key (dict or callable)."""
    n = len(packet)
    if n < PACKET_SIZE:
        raise WireError("too_short", f"{n} bytes, need {PACKET_SIZE}")
    if n > PACKET_SIZE:
        raise WireError("too_long", f"{n} bytes, need {PACKET_SIZE}")
    _check_header(packet[0], KIND_SAMPLE)
    unit = (packet[1] << 8) | packet[2]
    key = keys(unit) if callable(keys) else keys.get(unit)
    if key is None:
        raise WireError("unknown_unit", f"unit {unit}")
    body = bytes(packet[:BODY_SIZE])
    if not hmac.compare_digest(tag(key, body), bytes(packet[BODY_SIZE:])):
        raise WireError("bad_tag", f"unit {unit}")
    (_, unit, seat, seq, ts_hi, ts_lo, hr, rmssd, pupil, arousal, valence, expr,
     flags) = _BODY.unpack(body)
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


# --- Screen cue (host -> edge units): what is on screen now -----------------------------
# The host announces the segment on screen, its position and the picture's mean luminance
# at ~10 Hz. Edge units use luminance to separate the pupil's light reflex from arousal;
# simulated viewers use it as the "light" they see. Signed (Ed25519, RFC 8032) with the
# host's cue key; units hold only its public half, so no unit, nor its stolen keystore, can
# forge a cue for the others. Kind 1 was a cue HMAC-tagged with a key every unit held: it
# is refused (`bad_kind`), never taken as a fallback.
#
#   off size field
#   0   1    header     version 1, kind 5
#   1   4    seq
#   5   6    ts_us      host clock
#   11  4    clip_ms    milliseconds into the segment
#   15  2    luminance  mean luma of the graded frame, 0..65535 = 0..1
#   17  1    n          length of the segment id (0..24)
#   18  n    clip id    ASCII
#   ..  64   signature  Ed25519 by the host's cue key over CUE_CONTEXT + bytes 0..17+n
#
# The signature needs the `cryptography` package, imported only when a CueSigner or
# CueVerifier is made: the rest of this module stays standard-library only.

_CUE = struct.Struct(">BIHIIHB")
CUE_MAX_ID = 24
CUE_KEY_SIZE = 32  # an Ed25519 private key (its RFC 8032 seed) and a public key alike
SIG_SIZE = 64
CUE_CONTEXT = b"empathy screen cue v1\0"  # this key signs nothing else, and says so


def _ed25519():
    """(the Ed25519 module, its bad-signature exception), imported on first use."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise RuntimeError("screen cues are signed (Ed25519): install the 'cryptography' "
                           "package") from None
    return ed25519, InvalidSignature


class CueSigner:
    """The host's side: `private` is its 32-byte cue key. `public` goes to the units."""

    def __init__(self, private: bytes):
        self._key = _ed25519()[0].Ed25519PrivateKey.from_private_bytes(bytes(private))
        self.public = self._key.public_key().public_bytes_raw()

    def sign(self, body: bytes) -> bytes:
        return self._key.sign(CUE_CONTEXT + body)


class CueVerifier:
    """A unit's side: `public` is the host's 32-byte public cue key."""

    def __init__(self, public: bytes):
        ed25519, self._invalid = _ed25519()
        self._key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(public))

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, CUE_CONTEXT + body)
        except self._invalid:
            return False
        return True


@dataclass(frozen=True)
class ScreenCue:
    seq: int
    ts_us: int
    clip_id: str
    clip_ms: int
    luminance: float


def encode_cue(cue: ScreenCue, signer: CueSigner) -> bytes:
    cid = cue.clip_id.encode("ascii", "replace")[:CUE_MAX_ID]
    lum = _scaled(cue.luminance, 1 / 65535, 0, 65535, "luminance")
    body = _CUE.pack((VERSION << 4) | KIND_CUE, cue.seq & 0xFFFFFFFF, (cue.ts_us >> 32) & 0xFFFF,
                     cue.ts_us & 0xFFFFFFFF, max(0, min(cue.clip_ms, 0xFFFFFFFF)), lum,
                     len(cid)) + cid
    return body + signer.sign(body)


def decode_cue(packet: bytes, verifier: CueVerifier) -> ScreenCue:
    if len(packet) < _CUE.size + SIG_SIZE:
        raise WireError("too_short", f"{len(packet)} bytes")
    _check_header(packet[0], KIND_CUE)
    n = packet[_CUE.size - 1]
    if n > CUE_MAX_ID:
        raise WireError("bad_field", f"segment id length {n}")
    want = _CUE.size + n + SIG_SIZE
    if len(packet) != want:
        raise WireError("too_long" if len(packet) > want else "too_short",
                        f"{len(packet)} bytes for a {n}-byte segment id")
    body = bytes(packet[:-SIG_SIZE])
    if not verifier.verify(body, bytes(packet[-SIG_SIZE:])):
        raise WireError("bad_tag", "cue")
    _, seq, ts_hi, ts_lo, clip_ms, lum, _ = _CUE.unpack(body[:_CUE.size])
    try:
        cid = body[_CUE.size:].decode("ascii")
    except UnicodeDecodeError:
        raise WireError("bad_field", "segment id is not ASCII") from None
    return ScreenCue(seq, (ts_hi << 32) | ts_lo, cid, clip_ms, lum / 65535)


# --- Heartbeat (edge -> host, 1 Hz): how the unit itself is doing -------------------------
#
#   off size field
#   0   1    header      version 1, kind 2
#   1   2    unit_id
#   3   4    seq         shares the unit's sequence (one replay window per unit)
#   7   6    ts_us       host clock
#   13  3    firmware    major, minor, patch
#   16  1    sensors     bit i set = seat i's sensor has contact / gives readings
#   17  1    battery     percent, 255 = mains powered
#   18  2    loss        permille of clock-sync exchanges unanswered (the unit's view)
#   20  8    offset_us   signed: host clock - unit clock (from clock sync)
#   28  4    drift_ppb   signed: unit clock rate error, parts per billion
#   32  4    rtt_us      last clock-sync round trip
#   36  4    uplink_fail packets the unit could not send since it started (saturates)
#   40  2    estimate_lag_ms  how long before it is sent the unit's arousal estimate refers
#                     to the body (its filters' and the physiology's delay), 0 = not declared
#   42  7    tag
#
# A unit from before uplink_fail sends the first 36 bytes + tag (43 bytes), one from before
# estimate_lag_ms the first 40 + tag (47 bytes); they decode with uplink_fail 0 and
# estimate_lag_ms 0, so a room can upgrade its units one at a time.

_HEALTH = struct.Struct(">BHIHIBBBBBHqiIIH")
_HEALTH_V2 = struct.Struct(">BHIHIBBBBBHqiII")  # without estimate_lag_ms
_HEALTH_V1 = struct.Struct(">BHIHIBBBBBHqiI")  # without uplink_fail either
HEALTH_SIZE = _HEALTH.size + TAG_SIZE
HEALTH_V2_SIZE = _HEALTH_V2.size + TAG_SIZE
HEALTH_V1_SIZE = _HEALTH_V1.size + TAG_SIZE
_HEALTH_LAYOUTS = {HEALTH_SIZE: _HEALTH, HEALTH_V2_SIZE: _HEALTH_V2, HEALTH_V1_SIZE: _HEALTH_V1}
BATTERY_MAINS = 255
MAX_ESTIMATE_LAG_MS = 60_000  # a declared lag beyond a minute is a unit's bug, not a filter


@dataclass(frozen=True)
class Health:
    unit_id: int
    seq: int
    ts_us: int
    firmware: tuple = (0, 0, 0)
    sensors: int = 0
    battery: int = BATTERY_MAINS
    loss_permille: int = 0
    offset_us: int = 0
    drift_ppb: int = 0
    rtt_us: int = 0
    uplink_fail: int = 0
    estimate_lag_ms: int = 0  # 0: not declared (a unit from before the field)


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(v)))


def encode_health(h: Health, key: bytes) -> bytes:
    fw = [_clamp(x, 0, 255) for x in (tuple(h.firmware) + (0, 0, 0))[:3]]
    body = _HEALTH.pack((VERSION << 4) | KIND_HEALTH, h.unit_id & 0xFFFF, h.seq & 0xFFFFFFFF,
                        (h.ts_us >> 32) & 0xFFFF, h.ts_us & 0xFFFFFFFF, *fw, h.sensors & 0xFF,
                        _clamp(h.battery, 0, 255), _clamp(h.loss_permille, 0, 0xFFFF),
                        _clamp(h.offset_us, -(1 << 63), (1 << 63) - 1),
                        _clamp(h.drift_ppb, -(1 << 31), (1 << 31) - 1),
                        _clamp(h.rtt_us, 0, 0xFFFFFFFF), _clamp(h.uplink_fail, 0, 0xFFFFFFFF),
                        _clamp(h.estimate_lag_ms, 0, MAX_ESTIMATE_LAG_MS))
    return body + tag(key, body)


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


def decode_health(packet: bytes, keys: KeyLookup) -> Health:
    (_, unit, seq, ts_hi, ts_lo, fa, fb, fc, sensors, battery, loss, offset, drift, rtt,
     *newer) = _open(packet, KIND_HEALTH, _HEALTH_LAYOUTS.get(len(packet), _HEALTH), keys)
    fail, lag_ms = (newer + [0, 0])[:2]
    if lag_ms > MAX_ESTIMATE_LAG_MS:
        raise WireError("bad_field", f"estimate lag {lag_ms} ms")
    return Health(unit, seq, (ts_hi << 32) | ts_lo, (fa, fb, fc), sensors, battery, loss,
                  offset, drift, rtt, fail, lag_ms)


# --- Clock sync (NTP's four timestamps) ---------------------------------------------------
# Request, edge -> host: t1 = the unit's own clock when sent. Reply, host -> edge: t1 echoed,
# t2 = host clock at receipt, t3 = host clock at reply; the unit notes t4 on arrival.
# Both are tagged with the unit's key, so nobody else can move a unit's clock.
#
#   request: header(1) unit(2) seq(4) t1(8)                 + tag(7) = 22 bytes
#   reply:   header(1) unit(2) seq(4) t1(8) t2(8) t3(8)     + tag(7) = 38 bytes

_SYNC = struct.Struct(">BHIq")
_SYNC_REPLY = struct.Struct(">BHIqqq")
SYNC_SIZE = _SYNC.size + TAG_SIZE


@dataclass(frozen=True)
class SyncRequest:
    unit_id: int
    seq: int
    t1_us: int


@dataclass(frozen=True)
class SyncReply:
    unit_id: int
    seq: int
    t1_us: int
    t2_us: int
    t3_us: int


def encode_sync(r: SyncRequest, key: bytes) -> bytes:
    body = _SYNC.pack((VERSION << 4) | KIND_SYNC, r.unit_id & 0xFFFF, r.seq & 0xFFFFFFFF, r.t1_us)
    return body + tag(key, body)


def decode_sync(packet: bytes, keys: KeyLookup) -> SyncRequest:
    _, unit, seq, t1 = _open(packet, KIND_SYNC, _SYNC, keys)
    return SyncRequest(unit, seq, t1)


def encode_sync_reply(r: SyncReply, key: bytes) -> bytes:
    body = _SYNC_REPLY.pack((VERSION << 4) | KIND_SYNC_REPLY, r.unit_id & 0xFFFF,
                            r.seq & 0xFFFFFFFF, r.t1_us, r.t2_us, r.t3_us)
    return body + tag(key, body)


def decode_sync_reply(packet: bytes, key: bytes) -> SyncReply:
    _, unit, seq, t1, t2, t3 = _open(packet, KIND_SYNC_REPLY, _SYNC_REPLY, lambda _u: key)
    return SyncReply(unit, seq, t1, t2, t3)


# --- Unit status (MQTT `status` topic, retained; the last will says "offline") -----------
# Tagged like every packet a unit sends, so nobody on an open broker can mark a live unit
# offline. The will is fixed when the unit connects, so each connection gets an `epoch`
# from the unit's own sequence (persisted over restarts, so always newer): the host takes
# an "offline" only for the connection epoch it last saw "online", or a newer one, and a
# will captured from an earlier connection is refused.
#
#   off size field
#   0   1    header     version 1, kind 6
#   1   2    unit_id
#   3   4    epoch      the unit's sequence number when this connection was made
#   7   1    online     1 = online, 0 = offline
#   8   1    n          length of the screen name (1..64)
#   9   n    screen     UTF-8, the topic's screen: a status is not valid on another screen
#   ..  7    tag        HMAC-SHA256(unit key, bytes 0..8+n) truncated to 56 bits

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
    if len(packet) < _STATUS.size + 1 + TAG_SIZE:
        raise WireError("too_short", f"{len(packet)} bytes")
    n = packet[_STATUS.size - 1]
    want = _STATUS.size + n + TAG_SIZE
    if len(packet) != want:
        raise WireError("too_long" if len(packet) > want else "too_short",
                        f"{len(packet)} bytes for a {n}-byte screen name")
    layout = struct.Struct(f">BHIBB{n}s")
    _, unit, epoch, online, _, name = _open(packet, KIND_STATUS, layout, keys)
    if online > 1 or not 1 <= n <= STATUS_MAX_SCREEN:
        raise WireError("bad_field", f"online {online}, screen name of {n} bytes")
    try:
        return Status(unit, epoch, online == 1, name.decode())
    except UnicodeDecodeError:
        raise WireError("bad_field", "screen name is not UTF-8") from None


def kind_of(packet: bytes) -> int:
    """The packet's kind nibble, unverified (for routing); -1 for an empty packet."""
    return packet[0] & 0x0F if packet else -1
