"""Batch path of the wire format: many sample packets -> numpy arrays in one call.

Kept beside `empathy.wire` (which needs the standard library alone, so firmware-side tools
can vendor its one folder); the layout and the verdicts are the wire's (empathy/wire/),
tests hold this path to the same answers as `wire.decode` packet by packet.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping, Optional, Sequence

import numpy as np

from empathy.wire import (BODY_SIZE, EXPRESSION_NONE, FAULTS_SIZE, HEALTH_OLD_SIZES,
                          HEALTH_SIZE, KIND_FAULTS, KIND_HEALTH, KIND_SAMPLE, KIND_SYNC,
                          PACKET_SIZE, RANGES, REASONS, SYNC_SIZE, TAG_SIZE, VERSION,
                          SeatSample)

# Keys become precomputed HMAC inner/outer SHA-256 states (`KeyTable`), so verifying a
# packet is two state copies and two tiny updates; everything else is numpy over the batch.

_RAW = np.dtype({"names": ["header", "unit", "seat", "seq", "ts_hi", "ts_lo", "hr", "rmssd",
                           "pupil", "arousal", "valence", "expr", "flags"],
                 "formats": ["u1", ">u2", ">u2", ">u4", ">u2", ">u4", ">u2", ">u2", ">u2", "i1",
                             "i1", "u1", "u1"],
                 "offsets": [0, 1, 3, 5, 9, 11, 15, 17, 19, 21, 22, 23, 24],
                 "itemsize": PACKET_SIZE})

# SeatSample's fields, then `lost`: the quality bits (wire.Flag) of the values that arrived
# outside wire.RANGES and were dropped as "no value" (for the unit's health)
SAMPLES = np.dtype([("unit_id", "u2"), ("seat_id", "u2"), ("seq", "u4"), ("ts_us", "i8"),
                    ("hr_bpm", "f8"), ("rmssd_ms", "f8"), ("pupil_mm", "f8"), ("arousal", "f8"),
                    ("valence", "f8"), ("expression", "u1"), ("expression_conf", "f8"),
                    ("flags", "u1"), ("lost", "u1")])
_RANGED = [(name, raw, *RANGES[name].counts(), int(RANGES[name].flag), RANGES[name].step)
           for name, raw in (("hr_bpm", "hr"), ("rmssd_ms", "rmssd"), ("pupil_mm", "pupil"))]

OK = 0  # reason code for an accepted row; others are 1 + index into REASONS
CODE = {r: i + 1 for i, r in enumerate(REASONS)}


def _hmac_states(key: bytes) -> tuple:
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)),
            hashlib.sha256(bytes(b ^ 0x5C for b in key)))


def _mac(states: tuple, body: bytes) -> bytes:
    inner = states[0].copy()
    inner.update(body)
    outer = states[1].copy()
    outer.update(inner.digest())
    return outer.digest()


class KeyTable:
    """unit id -> precomputed HMAC states, plus a previous key per unit during rotation."""

    def __init__(self, keys: Mapping[int, bytes] = ()):
        self.known = np.zeros(1 << 16, bool)
        self.current: list = [None] * (1 << 16)
        self.previous: dict[int, tuple] = {}
        for unit, key in dict(keys).items():
            self.set(unit, key)

    def set(self, unit: int, key: bytes, previous: Optional[bytes] = None) -> None:
        self.current[unit] = _hmac_states(key)
        self.known[unit] = True
        if previous:
            self.previous[unit] = _hmac_states(previous)
        else:
            self.previous.pop(unit, None)

    def remove(self, unit: int) -> None:
        self.current[unit] = None
        self.known[unit] = False
        self.previous.pop(unit, None)


def _to_matrix(packets: Sequence[bytes], rows: np.ndarray) -> np.ndarray:
    n = len(packets)
    if len(rows) == n:
        return np.frombuffer(b"".join(packets), np.uint8).reshape(n, PACKET_SIZE)
    m = np.zeros((n, PACKET_SIZE), np.uint8)
    if len(rows):
        m[rows] = np.frombuffer(b"".join([packets[i] for i in rows.tolist()]),
                                np.uint8).reshape(-1, PACKET_SIZE)
    return m


def _forged(packets: Sequence[bytes], idx: np.ndarray, units: np.ndarray, body: int,
            tags: np.ndarray, table: KeyTable) -> np.ndarray:
    """Of packets[idx] (units known), those whose tag is neither the current key's nor,
    mid-rotation, the previous key's."""
    if not len(idx):
        return idx
    cur = table.current
    macs = b"".join([_mac(cur[u], packets[i][:body]) for i, u in zip(idx.tolist(), units.tolist())])
    got = np.frombuffer(macs, np.uint8).reshape(-1, 32)[:, :TAG_SIZE]
    bad = idx[(got != tags).any(axis=1)]
    if table.previous and len(bad):  # a unit mid-rotation may still use its old key
        prev, u_of = table.previous, dict(zip(idx.tolist(), units.tolist()))
        bad = np.array([i for i in bad.tolist() if not (
            u_of[i] in prev and hmac.compare_digest(
                _mac(prev[u_of[i]], packets[i][:body])[:TAG_SIZE], packets[i][body:]))], np.intp)
    return bad


def decode_batch(packets: Sequence[bytes], table: KeyTable) -> tuple[np.ndarray, np.ndarray]:
    """Sample packets -> (SAMPLES array, reason code per packet: OK or CODE[reason]).

    Same verdicts as `decode` packet by packet (tests hold it to that); rows whose code is
    not OK hold zeros or garbage and must be ignored.
    """
    n = len(packets)
    lens = np.fromiter(map(len, packets), np.int64, n)
    code = np.where(lens < PACKET_SIZE, CODE["too_short"],
                    np.where(lens > PACKET_SIZE, CODE["too_long"], OK)).astype(np.uint8)
    m = _to_matrix(packets, np.flatnonzero(code == OK))
    raw = m.view(_RAW).reshape(n)
    hdr = raw["header"]
    code[(code == OK) & (hdr >> 4 != VERSION)] = CODE["bad_version"]
    code[(code == OK) & (hdr & 0x0F != KIND_SAMPLE)] = CODE["bad_kind"]
    unit = raw["unit"].astype(np.intp)
    code[(code == OK) & ~table.known[unit]] = CODE["unknown_unit"]
    todo = np.flatnonzero(code == OK)
    code[_forged(packets, todo, unit[todo], BODY_SIZE, m[todo, BODY_SIZE:], table)] = \
        CODE["bad_tag"]
    cls = raw["expr"] >> 4
    code[(code == OK) & (cls > 6) & (cls != EXPRESSION_NONE)] = CODE["bad_field"]
    code[(code == OK) & ((raw["arousal"] == -128) | (raw["valence"] == -128))] = CODE["bad_field"]
    out = np.empty(n, SAMPLES)
    out["unit_id"], out["seat_id"], out["seq"] = raw["unit"], raw["seat"], raw["seq"]
    out["ts_us"] = (raw["ts_hi"].astype(np.int64) << 32) | raw["ts_lo"]
    lost = np.zeros(n, np.uint8)
    for name, field, lo, hi, flag, step in _RANGED:  # wire.decode's rule, in counts
        c = raw[field]
        bad = (c != 0) & ((c < lo) | (c > hi))
        out[name] = np.where(bad, 0, c) * step
        lost[bad] |= flag
    out["arousal"] = raw["arousal"] / 127
    out["valence"] = raw["valence"] / 127
    out["expression"] = cls
    out["expression_conf"] = (raw["expr"] & 0x0F) / 15
    out["flags"] = raw["flags"] & ~lost
    out["lost"] = lost
    return out, code


# Heartbeats, clock-sync requests and seat faults: few from honest units (1-2 a second
# each), but a flood of forged ones must cost no more than forged samples. Their header
# byte, length, unit and tag are checked here in bulk; only the survivors are decoded one
# by one. (A fault packet is the size of a sync request: each is judged by its header.)
CONTROL_HEADERS = {(VERSION << 4) | KIND_SYNC: SYNC_SIZE,
                   (VERSION << 4) | KIND_HEALTH: HEALTH_SIZE,
                   (VERSION << 4) | KIND_FAULTS: FAULTS_SIZE}


def verify_control(packets: Sequence[bytes], table: KeyTable) -> np.ndarray:
    """Control packets (first byte in CONTROL_HEADERS) -> reason code per packet: OK or
    CODE[reason], the verdicts `wire.decode_sync`/`decode_health`/`decode_faults` give one
    by one."""
    n = len(packets)
    want = np.fromiter((CONTROL_HEADERS[p[0]] for p in packets), np.int64, n)
    lens = np.fromiter(map(len, packets), np.int64, n)
    # a unit from before uplink_fail, estimate_lag_ms or run sends a shorter heartbeat; it
    # is judged at its own size
    old = (want == HEALTH_SIZE) & np.isin(lens, HEALTH_OLD_SIZES)
    want[old] = lens[old]
    code = np.where(lens < want, CODE["too_short"],
                    np.where(lens > want, CODE["too_long"], OK)).astype(np.uint8)
    for size in set(CONTROL_HEADERS.values()) | set(HEALTH_OLD_SIZES):
        idx = np.flatnonzero((code == OK) & (want == size))
        if not len(idx):
            continue
        m = np.frombuffer(b"".join([packets[i] for i in idx.tolist()]), np.uint8).reshape(-1, size)
        units = (m[:, 1].astype(np.intp) << 8) | m[:, 2]
        known = table.known[units]
        code[idx[~known]] = CODE["unknown_unit"]
        code[_forged(packets, idx[known], units[known], size - TAG_SIZE,
                     m[known, size - TAG_SIZE:], table)] = CODE["bad_tag"]
    return code


def samples_of(rows: np.ndarray) -> list[SeatSample]:
    """SAMPLES rows -> SeatSample objects (for code that wants one object per seat sample)."""
    return [SeatSample(*r[:-1]) for r in rows.tolist()]
