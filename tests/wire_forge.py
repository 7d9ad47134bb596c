"""Authentic sample packets (the unit's own key) carrying body signals the encoder refuses:
what a unit with a firmware bug, or without the encoder's range check, sends."""

from empathy import wire

AT = {"hr_bpm": 15, "rmssd_ms": 17, "pupil_mm": 19}  # offsets in wire/sample.py's layout


def authentic(sample: wire.SeatSample, key: bytes, **values: float) -> bytes:
    """`sample` encoded, then each of `values` written as its wire counts and re-tagged."""
    body = bytearray(wire.encode(sample, key)[:wire.BODY_SIZE])
    for name, v in values.items():
        body[AT[name]:AT[name] + 2] = round(v / wire.RANGES[name].step).to_bytes(2, "big")
    return bytes(body) + wire.tag(key, bytes(body))
