"""The unit's control packets, tagged with its key: its heartbeat and its clock sync.

Heartbeat (kind 2, edge -> host, 1 Hz): how the unit itself is doing.

  off size field
  0   1    header      version 1, kind 2
  1   2    unit_id
  3   4    seq         shares the unit's sequence (one replay window per unit)
  7   6    ts_us       host clock
  13  3    firmware    major, minor, patch: the release the unit runs (RELEASE)
  16  1    sensors     bit i set = seat i's sensor has contact / gives readings
  17  1    battery     percent (0..100), 255 = mains powered
  18  2    loss        permille of clock-sync exchanges unanswered (the unit's view, 0..1000)
  20  8    offset_us   signed: host clock - unit clock (from clock sync), |x| <= 2**48 - 1
  28  4    drift_ppb   signed: unit clock rate error, parts per billion
  32  4    rtt_us      last clock-sync round trip
  36  4    uplink_fail packets the unit could not send since it started (saturates)
  40  2    estimate_lag_ms  how long before it is sent the unit's arousal estimate refers
                    to the body (its filters' and the physiology's delay), 0 = not declared
  42  4    run         drawn at random as the unit's process starts (never 0): a new run is
                    a restart, told for certain (its numbers skipped were never sent)
  46  7    tag

A unit from before uplink_fail sends the first 36 bytes + tag (43 bytes), one from before
estimate_lag_ms the first 40 + tag (47 bytes), one from before run the first 42 + tag (49
bytes); they decode with 0 for what they do not send, so a room can upgrade its units one
at a time.

Clock sync (kinds 3 and 4), NTP's four timestamps. Request, edge -> host: t1 = the unit's
own clock when sent. Reply, host -> edge: t1 echoed, t2 = host clock at receipt, t3 = host
clock at reply; the unit notes t4 on arrival. Both are tagged with the unit's key, so nobody
else can move a unit's clock.

  request: header(1) unit(2) seq(4) t1(8)                 + tag(7) = 22 bytes
  reply:   header(1) unit(2) seq(4) t1(8) t2(8) t3(8)     + tag(7) = 38 bytes
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .core import (KIND_HEALTH, KIND_SYNC, KIND_SYNC_REPLY, TAG_SIZE, TS_MASK, VERSION,
                   KeyLookup, WireError, _clamp, _open, tag)

_HEALTH = struct.Struct(">BHIHIBBBBBHqiIIHI")
_HEALTH_OLD = (struct.Struct(">BHIHIBBBBBHqiI"),  # without uplink_fail
               struct.Struct(">BHIHIBBBBBHqiII"),  # without estimate_lag_ms
               struct.Struct(">BHIHIBBBBBHqiIIH"))  # without run
HEALTH_SIZE = _HEALTH.size + TAG_SIZE
HEALTH_OLD_SIZES = tuple(s.size + TAG_SIZE for s in _HEALTH_OLD)  # older units' heartbeats
_HEALTH_LAYOUTS = {s.size + TAG_SIZE: s for s in (*_HEALTH_OLD, _HEALTH)}
# What a unit's heartbeat declares it runs (`firmware`): the package's version, written here
# too because the wire imports nothing of empathy's (it is vendorable as its one folder);
# tests/test_wire.py keeps it equal to `empathy.__version__` and pyproject's. Every release
# before session 35 sent 0.1.0, never bumped; the host tells an older or newer unit by this
# (host/unit_release.py, docs/link.md compatibility).
RELEASE = (0, 35, 0)
BATTERY_MAINS = 255
MAX_ESTIMATE_LAG_MS = 60_000  # a declared lag beyond a minute is a unit's bug, not a filter
MAX_LOSS_PERMILLE = 1000
# Two monotonic clocks differ by less than the machines' uptimes: an offset beyond the
# 48-bit host clock's span (8.9 years) is a unit's bug or a lie, refused where it enters.
MAX_OFFSET_US = TS_MASK


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
    run: int = 0  # 0: not declared (a unit from before the field)



def encode_health(h: Health, key: bytes) -> bytes:
    fw = [_clamp(x, 0, 255) for x in (tuple(h.firmware) + (0, 0, 0))[:3]]
    body = _HEALTH.pack((VERSION << 4) | KIND_HEALTH, h.unit_id & 0xFFFF, h.seq & 0xFFFFFFFF,
                        (h.ts_us >> 32) & 0xFFFF, h.ts_us & 0xFFFFFFFF, *fw, h.sensors & 0xFF,
                        _battery(h.battery), _clamp(h.loss_permille, 0, MAX_LOSS_PERMILLE),
                        _clamp(h.offset_us, -MAX_OFFSET_US, MAX_OFFSET_US),
                        _clamp(h.drift_ppb, -(1 << 31), (1 << 31) - 1),
                        _clamp(h.rtt_us, 0, 0xFFFFFFFF), _clamp(h.uplink_fail, 0, 0xFFFFFFFF),
                        _clamp(h.estimate_lag_ms, 0, MAX_ESTIMATE_LAG_MS), h.run & 0xFFFFFFFF)
    return body + tag(key, body)


def _battery(percent: int) -> int:
    """0..100, or mains (a kernel's capacity can read over 100 on a worn battery)."""
    return BATTERY_MAINS if percent == BATTERY_MAINS else _clamp(percent, 0, 100)


def decode_health(packet: bytes, keys: KeyLookup) -> Health:
    (_, unit, seq, ts_hi, ts_lo, fa, fb, fc, sensors, battery, loss, offset, drift, rtt,
     *newer) = _open(packet, KIND_HEALTH, _HEALTH_LAYOUTS.get(len(packet), _HEALTH), keys)
    fail, lag_ms, run = (newer + [0, 0, 0])[:3]
    if lag_ms > MAX_ESTIMATE_LAG_MS:
        raise WireError("bad_field", f"estimate lag {lag_ms} ms")
    if abs(offset) > MAX_OFFSET_US:
        raise WireError("bad_field", f"clock offset {offset} us")
    if 100 < battery != BATTERY_MAINS or loss > MAX_LOSS_PERMILLE:
        raise WireError("bad_field", f"battery {battery} %, sync loss {loss} permille")
    return Health(unit, seq, (ts_hi << 32) | ts_lo, (fa, fb, fc), sensors, battery, loss,
                  offset, drift, rtt, fail, lag_ms, run)


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
