"""Serial link specifics: line noise between frames costs only what it hits."""

import os
import random
import time

from empathy import wire
from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver, open_sender
from empathy.transports.serial import SlipDecoder, slip_encode
from test_transport_e2e import NullModem


def test_slip_round_trip_in_any_chunking():
    rng = random.Random(3)
    packets = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))) for _ in range(300)]
    packets += [b"\xc0\xdb\xc0", b"\xdb\xdc\xdd"]  # the special bytes themselves
    stream = b"".join(map(slip_encode, packets))
    dec, out, i = SlipDecoder(), [], 0
    while i < len(stream):
        n = rng.randrange(1, 40)
        out += dec.feed(stream[i:i + n])
        i += n
    assert out == packets


def test_noise_on_the_line_is_counted_and_good_frames_survive():
    cable = NullModem()
    keys = Keystore.new([2])
    rx = open_receiver(f"serial://{cable.paths[1]}")
    tx = open_sender(f"serial://{cable.paths[0]}", 2)
    intake = Intake(keys.units)
    rng = random.Random(7)
    try:
        for seq in range(300):
            tx.send(wire.encode(wire.SeatSample(2, 20, seq, now_us(), 65.0), keys.units[2]))
            if seq % 3 == 0:  # a burst of noise, sometimes with frame ends in it
                tx.port.write(os.urandom(rng.randrange(1, 40)) + b"\xc0")
            if seq % 50 == 49:
                intake.feed(rx.recv_batch(0.05))
        end = time.monotonic() + 10
        while intake.accepted < 300 and time.monotonic() < end:
            intake.feed(rx.recv_batch(0.05))
        assert intake.accepted == 300
        assert sum(intake.rejected.values()) >= 90  # noise bursts became counted rejects
    finally:
        tx.close()
        rx.close()
        cable.close()
