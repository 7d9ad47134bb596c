"""Frames a serial sensor board sends (our firmware's protocol), good and damaged: cut,
with a bad CRC, garbage between (tests/test_serial_protocol.py, tests/test_serial_board.py)."""

from __future__ import annotations

import random

from empathy.sensors.firmware import protocol


def good_frames(n: int, rng: random.Random, seq0: int = 1) -> list[bytes]:
    out = []
    for i in range(n):
        seq, ts = seq0 + i, 1_000 * (seq0 + i)
        kind = rng.choice(("ppg", "pupil", "status"))
        if kind == "ppg":
            out.append(protocol.ppg(seq, ts, 100, [rng.randrange(1 << 18) for _ in range(25)]))
        elif kind == "pupil":
            out.append(protocol.pupil(seq, ts, rng.randrange(2000, 8000), rng.randrange(256)))
        else:
            out.append(protocol.status(seq, ts, protocol.CONTACT, rng.randrange(101)))
    return out


def corrupt(frame: bytes, how: str, rng: random.Random) -> bytes:
    body = bytearray(frame[1:-1])  # without the delimiters
    if how == "truncated":  # the tail was lost: the next frame's leading zero ends it
        return b"\x00" + bytes(body[: rng.randrange(1, len(body) - 1)])
    if how == "bad_crc":
        i = rng.randrange(1, len(body))
        body[i] = body[i] ^ (1 << rng.randrange(8)) or 0xFF  # never a zero: same frame
        return b"\x00" + bytes(body) + b"\x00"
    return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))  # garbage


def mixed_stream(n_good: int, seed: int) -> tuple[bytes, list[bytes], int]:
    """n_good good frames with a corrupted frame or garbage after about a third of them."""
    rng = random.Random(seed)
    goods = good_frames(n_good, rng)
    stream, bad = bytearray(), 0
    for f in goods:
        if rng.random() < 0.35:
            how = rng.choice(("truncated", "bad_crc", "garbage"))
            stream += corrupt(good_frames(1, rng, 999)[0], how, rng)
            bad += 1
        stream += f
    return bytes(stream), goods, bad
