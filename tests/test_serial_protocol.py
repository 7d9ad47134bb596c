"""Serial sensor boards' protocol: CRC and COBS, the decoder against damaged streams and
any garbage, and the board clock (split from tests/test_serial_board.py, which drives the
pyserial driver)."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from empathy.sensors.firmware import protocol
from empathy.sensors.serial.board_clock import BoardClock
from serial_frames import good_frames, mixed_stream


def test_crc_and_cobs_known_values():
    assert protocol.crc16(b"123456789") == 0x29B1
    assert protocol.cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert protocol.cobs_encode(b"\x00") == b"\x01\x01"
    big = bytes(range(1, 256)) * 3
    assert protocol.cobs_decode(protocol.cobs_encode(big)) == big


def test_decoder_keeps_every_good_frame_and_counts_every_bad_one():
    stream, goods, bad = mixed_stream(400, seed=7)
    dec = protocol.Decoder()
    rng = random.Random(1)
    msgs, i = [], 0
    while i < len(stream):  # arbitrary read sizes, like a serial port
        n = rng.randrange(1, 64)
        msgs += dec.feed(stream[i:i + n])
        i += n
    want = [protocol.parse(protocol.cobs_decode(f[1:-1])[:-2]) for f in goods]
    assert msgs == want
    assert sum(dec.errors.values()) == bad > 100
    assert dec.lost == 0


def test_decoder_counts_lost_frames_from_sequence_gaps():
    dec = protocol.Decoder()
    frames = good_frames(10, random.Random(2))
    dec.feed(b"".join(frames[:3] + frames[6:]))  # 3 frames never arrived
    assert dec.ok == 7 and dec.lost == 3
    dec.feed(protocol.hello(0, 0, 1, (1, 0, 0), "x") + protocol.status(1, 5, 0))
    assert dec.lost == 3  # a boot restarts the count instead of looking like 65k losses


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_decoder_never_raises_and_resyncs_after_any_garbage(junk):
    dec = protocol.Decoder()
    dec.feed(junk)
    frame = protocol.pupil(5, 77, 4321, 200)
    assert dec.feed(frame)[-1] == (protocol.PUPIL, 5, 77, {"diameter_um": 4321, "confidence": 200})


def test_board_clock_unwraps_and_follows_the_least_delayed_frame():
    c = BoardClock()
    assert c.to_host(0xFFFF_FF00, 10_000) == 10_000
    assert c.to_host(0x100, 10_600) == 10_512  # wrapped; arrived 88 us late: not believed
    assert c.to_host(0x200, 10_700) == 10_700  # 68 us less delay than the first: believed
    assert c.to_host(0x300, 10_956) == 10_956
