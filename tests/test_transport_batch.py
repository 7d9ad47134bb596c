"""The vectorised receive path gives exactly the scalar verdicts; new packet kinds hold up."""

import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from empathy import wire, wire_batch

KEYS = {u: os.urandom(32) for u in (1, 2, 3, 500)}


def _scalar(p):
    try:
        return wire.decode(p, KEYS), wire_batch.OK
    except wire.WireError as e:
        return None, wire_batch.CODE[e.reason]


def _body(rng, name):  # what the encoder takes: 0 (no value) or a value inside wire.RANGES
    r = wire.RANGES[name]
    return 0.0 if rng.random() < 0.1 else float(rng.uniform(r.lo, r.hi))


def _packet(rng, i):
    unit = int(rng.choice([1, 2, 3, 500, 9]))  # 9 has no key
    s = wire.SeatSample(unit, int(rng.integers(0, 65536)), i, int(rng.integers(0, wire.TS_MASK)),
                        _body(rng, "hr_bpm"), _body(rng, "rmssd_ms"),
                        _body(rng, "pupil_mm"), float(rng.uniform(-1, 1)),
                        float(rng.uniform(-1, 1)), int(rng.choice([0, 3, 6, 15])),
                        float(rng.uniform(0, 1)), int(rng.integers(0, 256)))
    p = bytearray(wire.encode(s, KEYS.get(unit, os.urandom(32))))
    kind = rng.integers(0, 8)
    if kind == 1:  # bit flip anywhere
        j = int(rng.integers(0, 256))
        p[j // 8] ^= 1 << (j % 8)
    elif kind == 2:
        p = p[: int(rng.integers(0, 32))]
    elif kind == 3:
        p += b"\0" * int(rng.integers(1, 10))
    elif kind == 4:  # authentic but nonsensical expression class
        p[23] = 0x90
        p = p[:25] + wire.tag(KEYS.get(unit, b"k"), bytes(p[:25]))
    elif kind == 5:  # authentic, any counts in hr, rmssd and pupil (a faulty sensor's too)
        p[15:21] = rng.integers(0, 256, 6, dtype=np.uint8).tobytes()
        p = p[:25] + wire.tag(KEYS.get(unit, b"k"), bytes(p[:25]))
    return bytes(p)


@pytest.mark.parametrize("seed", range(5))
def test_batch_matches_scalar_decode(seed):
    rng = np.random.default_rng(seed)
    packets = [_packet(rng, i) for i in range(3000)]
    rows, code = wire_batch.decode_batch(packets, wire_batch.KeyTable(KEYS))
    for p, row, c in zip(packets, rows, code):
        want, want_code = _scalar(p)
        assert c == want_code, (p.hex(), c, want_code)
        if want is not None:
            assert wire_batch.samples_of(row[None])[0] == want
    assert (code == wire_batch.OK).sum() > 1000 and len(set(code.tolist())) >= 6
    ok = rows[code == wire_batch.OK]  # values were dropped, each with its quality bit only
    assert len(set(ok["lost"].tolist())) == 8 and not (ok["flags"] & ok["lost"]).any()


@given(st.lists(st.binary(max_size=40), max_size=50))
@settings(max_examples=300)
def test_batch_never_accepts_random_bytes(packets):
    _, code = wire_batch.decode_batch(packets, wire_batch.KeyTable(KEYS))
    assert (code != wire_batch.OK).all()


def test_rotation_accepts_previous_key_until_dropped():
    old, new = os.urandom(32), os.urandom(32)
    t = wire_batch.KeyTable({1: new})
    p_old = wire.encode(wire.SeatSample(1, 1, 1, 1), old)
    p_new = wire.encode(wire.SeatSample(1, 1, 2, 1), new)
    assert wire_batch.decode_batch([p_old, p_new], t)[1].tolist() == [wire_batch.CODE["bad_tag"], wire_batch.OK]
    t.set(1, new, previous=old)
    assert wire_batch.decode_batch([p_old, p_new], t)[1].tolist() == [wire_batch.OK, wire_batch.OK]
    t.remove(1)
    assert wire_batch.decode_batch([p_new], t)[1].tolist() == [wire_batch.CODE["unknown_unit"]]


def test_health_and_sync_round_trip_and_refuse_bit_flips():
    key = KEYS[2]
    h = wire.Health(2, 77, 123_456_789, (1, 4, 2), 0b101, 83, 12, -5_000_000_000, -100_000, 250)
    req = wire.SyncRequest(2, 78, 987_654_321)
    rep = wire.SyncReply(2, 78, 987_654_321, 5, 6)
    cases = [(wire.encode_health(h, key), lambda p: wire.decode_health(p, KEYS), h),
             (wire.encode_sync(req, key), lambda p: wire.decode_sync(p, KEYS), req),
             (wire.encode_sync_reply(rep, key), lambda p: wire.decode_sync_reply(p, key), rep)]
    for packet, decode, want in cases:
        assert decode(packet) == want
        for i in range(len(packet) * 8):
            bad = bytearray(packet)
            bad[i // 8] ^= 1 << (i % 8)
            with pytest.raises(wire.WireError):
                decode(bytes(bad))
        with pytest.raises(wire.WireError, match="too_short"):
            decode(packet[:-1])
    # a sample decoder refuses the other kinds instead of misreading them
    with pytest.raises(wire.WireError):
        wire.decode(cases[0][0][:32], KEYS)
