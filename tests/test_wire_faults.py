"""The seat-faults packet (wire kind 7): its layout, and every way a bent one is refused."""

import pytest
from hypothesis import given, settings, strategies as st

from empathy import wire

KEY = b"k" * 32
KEYS = {7: KEY}


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF))
def test_round_trip(unit, seq, seat, mask, for_s):
    f = wire.SeatFaults(unit, seq, seat, mask, for_s)
    p = wire.encode_faults(f, KEY)
    assert len(p) == wire.FAULTS_SIZE == 22
    assert wire.kind_of(p) == wire.KIND_FAULTS and wire.unit_of(p) == unit
    assert wire.decode_faults(p, {unit: KEY}) == f


def test_the_layout_is_the_docstring_s():
    p = wire.encode_faults(wire.SeatFaults(0x0102, 0x03040506, 0x0708, 0x090A0B0C, 0x0D0E), KEY)
    assert p[:15] == bytes([0x17, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    assert p[15:] == wire.tag(KEY, p[:15])


def test_for_s_saturates_and_ids_out_of_range_are_refused():
    p = wire.encode_faults(wire.SeatFaults(7, 1, 2, 1, 10**9), KEY)
    assert wire.decode_faults(p, KEYS).for_s == 0xFFFF
    for bad in (wire.SeatFaults(70000, 1, 2, 1), wire.SeatFaults(7, 1, -1, 1),
                wire.SeatFaults(7, 1, 2, 1 << 32), wire.SeatFaults(7, 1, 2, -1)):
        with pytest.raises(wire.WireError) as e:
            wire.encode_faults(bad, KEY)
        assert e.value.reason == "bad_field"


def test_every_bent_packet_is_refused_by_its_reason():
    good = wire.encode_faults(wire.SeatFaults(7, 9, 12, wire.mask_of(["lead_off"])), KEY)
    body = bytearray(good[:15])
    body[0] = 0x27  # version 2

    def why(p, keys=KEYS):
        with pytest.raises(wire.WireError) as e:
            wire.decode_faults(p, keys)
        return e.value.reason

    assert why(good[:-1]) == "too_short" and why(good + b"\0") == "too_long"
    assert why(bytes(body) + wire.tag(KEY, bytes(body))) == "bad_version"
    assert why(bytes([0x12]) + good[1:]) == "bad_kind"  # a heartbeat's header
    assert why(good, {8: KEY}) == "unknown_unit"
    assert why(good, {7: b"x" * 32}) == "bad_tag"
    for i in range(len(good) * 8):  # every single bit flipped
        bent = bytearray(good)
        bent[i // 8] ^= 1 << (i % 8)
        assert why(bytes(bent), {u: KEY for u in range(1 << 16)}) in wire.REASONS


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_random_bytes_only_raise_wire_error(data):
    try:
        wire.decode_faults(data, KEYS)
    except wire.WireError:
        pass


def test_one_table_codes_names_and_a_newer_unit_s_code():
    assert [f.code for f in wire.FAULTS] == list(range(len(wire.FAULTS)))
    assert len({f.name for f in wire.FAULTS}) == len(wire.FAULTS)
    assert all(f.text and f.action for f in wire.FAULTS)
    mask = wire.mask_of(["unplugged", "impossible"]) | 1 << 30
    assert wire.codes_of(mask) == (3, 5, 30)
    assert not wire.known(30) and wire.describe(30).text == "fault code 30 (newer unit)"
    assert wire.describe(0).text == "ECG lead off"
