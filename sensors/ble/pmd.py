"""Polar Measurement Data (PMD): raw ECG and accelerometer streaming from a Polar H10, as
Polar's BLE SDK documents the service (its technical documentation of the PMD control
point and data characteristics). The driver (sensors/ble/strap.py, `ble://ADDR?ecg=1`)
parses with this module; the emulated strap (sim/strap.py) encodes with it.

Service FB005C80-..., two characteristics:

- control point FB005C81 (read, write, indicate). Read: 0x0F then a feature bitmask (bit n
  = measurement type n available). Write a request, get the answer as an indication:
      request   op u8 (1 get settings, 2 start, 3 stop), type u8, then for start the
                settings: setting u8, count u8 (1), value u16 per setting
      response  0xF0, op u8, type u8, status u8 (0 = success), more u8, [settings]
  Settings: 0 sample rate (Hz), 1 resolution (bits), 2 range (g). The H10 takes ECG at
  130 Hz / 14 bits and ACC at 25/50/100/200 Hz, 16 bits, 2/4/8 g.
- data FB005C82 (notify): type u8, timestamp u64 (ns since 2000-01-01 on the strap's own
  clock, of the frame's LAST sample), frame type u8 (bit 7 set = delta-compressed, which the
  H10 does not send for these types), samples:
      ECG frame type 0  int24 per sample, µV
      ACC frame type 1  int16 x, y, z per sample, mG
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np

SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

ECG, PPG, ACC = 0, 1, 2
GET_SETTINGS, START, STOP = 1, 2, 3
FEATURES, RESPONSE = 0x0F, 0xF0
SAMPLE_RATE, RESOLUTION, RANGE = 0, 1, 2
ERRORS = {0: "success", 1: "invalid op code", 2: "invalid measurement type",
          3: "not supported", 4: "invalid length", 5: "invalid parameter",
          6: "already in state", 7: "invalid resolution", 8: "invalid sample rate",
          9: "invalid range", 10: "invalid MTU", 11: "invalid number of channels",
          12: "invalid state", 13: "device in charger"}
ECG_SETTINGS = {SAMPLE_RATE: 130, RESOLUTION: 14}
ACC_SETTINGS = {SAMPLE_RATE: 25, RESOLUTION: 16, RANGE: 8}
ECG_FRAME, ACC_FRAME = 0, 1
HEADER = struct.Struct("<BQB")
COMPRESSED = 0x80


class Frame(NamedTuple):
    kind: int
    ts_ns: int  # the last sample's time on the strap's clock
    samples: np.ndarray  # ECG: (n,) µV; ACC: (n, 3) mG


def start_request(kind: int, settings: dict[int, int]) -> bytes:
    body = b"".join(struct.pack("<BBH", k, 1, v) for k, v in settings.items())
    return bytes((START, kind)) + body


def stop_request(kind: int) -> bytes:
    return bytes((STOP, kind))


def response(op: int, kind: int, status: int, settings: dict[int, int] | None = None) -> bytes:
    body = b"".join(struct.pack("<BBH", k, 1, v) for k, v in (settings or {}).items())
    return bytes((RESPONSE, op, kind, status, 0)) + body


def response_parse(value: bytes) -> tuple[int, int, int]:
    """(op, type, status) of a control point indication. Raises ValueError."""
    if len(value) < 4 or value[0] != RESPONSE:
        raise ValueError(f"not a PMD control point response: {value.hex()}")
    return value[1], value[2], value[3]


def features_parse(value: bytes) -> set[int]:
    """Measurement types the strap offers, from a read of the control point."""
    if len(value) < 2 or value[0] != FEATURES:
        raise ValueError(f"not a PMD feature read: {value.hex()}")
    return {bit for bit in range(8) if value[1] >> bit & 1}


def features_encode(kinds) -> bytes:
    return bytes((FEATURES, sum(1 << k for k in kinds)))


def frame_encode(kind: int, ts_ns: int, samples) -> bytes:
    x = np.asarray(samples)
    if kind == ECG:
        v = np.clip(np.round(x), -(1 << 23), (1 << 23) - 1).astype("<i4")
        body = b"".join(int(s).to_bytes(3, "little", signed=True) for s in v)
        return HEADER.pack(ECG, ts_ns, ECG_FRAME) + body
    v = np.clip(np.round(x), -32768, 32767).astype("<i2")
    return HEADER.pack(kind, ts_ns, ACC_FRAME) + v.tobytes()


def frame_parse(value: bytes) -> Frame:
    """One data notification. Raises ValueError on anything we cannot read exactly."""
    if len(value) < HEADER.size:
        raise ValueError("PMD frame shorter than its header")
    kind, ts_ns, ftype = HEADER.unpack_from(value)
    body = value[HEADER.size:]
    if ftype & COMPRESSED:
        raise ValueError(f"compressed PMD frame (type {ftype:#x}) not supported")
    if kind == ECG and ftype == ECG_FRAME and body and len(body) % 3 == 0:
        raw = np.frombuffer(body, np.uint8).reshape(-1, 3).astype(np.int32)
        v = raw[:, 0] | raw[:, 1] << 8 | raw[:, 2] << 16
        return Frame(kind, ts_ns, np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64))
    if kind == ACC and ftype == ACC_FRAME and body and len(body) % 6 == 0:
        return Frame(kind, ts_ns, np.frombuffer(body, "<i2").reshape(-1, 3).astype(np.float64))
    raise ValueError(f"PMD frame type {ftype} of measurement {kind} with {len(body)} bytes")
