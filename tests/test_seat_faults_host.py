"""The host's side of seats' faults (wire kind 7): the intake keeps each seat's faults and
since when, forgets what its unit stops repeating, and refuses (and counts) a forged,
replayed, bent, oversized or foreign-seat packet without stopping for it. Real packets
through a real UDP socket into the real intake; the clock is the intake's own."""

import socket
import time

from empathy import wire
from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.host.seatmap import SeatMapConfig, UnitSeats
from empathy.keys import Keystore
from empathy.transports import open_receiver

MASK = wire.mask_of(["lead_off", "uncalibrated"])


def _faults(unit, seq, seat, mask, keys, for_s=0):
    return wire.encode_faults(wire.SeatFaults(unit, seq, seat, mask, for_s), keys.units[unit])


def test_forged_replayed_bent_and_foreign_packets_are_counted_and_the_good_ones_kept():
    keys = Keystore.new([1, 2])
    room = SeatMapConfig(units=[UnitSeats(1, [11]), UnitSeats(2, [21])])
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(keys.units, seatmap=room)
    good = _faults(1, 5, 11, MASK, keys, for_s=30)
    body = bytearray(good[:-wire.TAG_SIZE])
    body[9:13] = (0xFFFFFFFF).to_bytes(4, "big")  # every code: re-tagged with another key
    bad = [wire.encode_faults(wire.SeatFaults(1, 6, 11, 1), b"x" * 32),  # forged
           good,  # the same again: a replay
           good + b"\0" * 500,  # oversized
           good[:-1],  # cut
           bytes(body) + wire.tag(b"y" * 32, bytes(body)),  # bent: its tag no longer fits
           _faults(2, 7, 11, 1, keys),  # unit 2 speaking for unit 1's seat
           _faults(2, 8, 99, 1, keys),  # a seat the room does not list
           bytes([0x17]) + good[1:3], b""]
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for p in [good] + bad + [_faults(2, 9, 21, 1 << 29, keys)]:
            tx.sendto(p, ("127.0.0.1", rx.port))
        got, end = [], time.monotonic() + 30
        while len(got) < len(bad) + 2 and time.monotonic() < end:
            got += rx.recv_batch(0.2)
        t = now_us()
        intake.feed(got, t)
    finally:
        tx.close()
        rx.close()
    assert intake.rejected == {"bad_tag": 2, "replayed": 1, "too_long": 1, "too_short": 3,
                               "foreign_seat": 1, "unlisted_seat": 1}, intake.rejected
    assert intake.accepted == 2
    seat = intake.faults.of(11, t)
    assert [f["name"] for f in seat] == ["lead_off", "uncalibrated"]
    assert seat[0]["text"] == "ECG lead off" and seat[0]["since_s"] == 30.0  # the unit's word
    newer = intake.faults.of(21, t)
    assert [(f["name"], f["text"]) for f in newer] == [("newer", "fault code 29 (newer unit)")]
    assert intake.faults.newer == {29: 1}
    assert intake.faults.counts()["lead_off"] == 1 and intake.faults.counts()["newer"] == 1
    events = intake.check_health(now=t)
    assert sorted((e["seat"], e["fault"]) for e in events if e["event"] == "seat_fault") == [
        (11, "lead_off"), (11, "uncalibrated"), (21, "newer")]
    assert not intake.faults.of(12, t)


def test_a_fault_cleared_or_no_longer_repeated_ends_its_span():
    keys = Keystore.new([1])
    intake = Intake(keys.units)
    t0 = now_us()
    intake.feed([_faults(1, 1, 11, MASK, keys), _faults(1, 2, 12, 1, keys)], t0)
    intake.feed([_faults(1, 3, 11, wire.mask_of(["uncalibrated"]), keys, for_s=0)], t0 + 4_000_000)
    # seat 11: the lead back (its "since" for what stands is kept); seat 12 never repeated
    assert [f["since_s"] for f in intake.faults.of(11, t0 + 4_000_000)] == [4.0]
    end = t0 + int(wire.STALE_S * 1e6) + 2_000_000
    events = intake.check_health(now=end)
    cleared = sorted((e["seat"], e["fault"], e["why"]) for e in events
                     if e["event"] == "seat_fault_cleared")
    assert cleared == [(11, "lead_off", "cleared"), (12, "lead_off", "not repeated by its unit")]
    assert intake.faults.of(12, end) == [] and intake.faults.of(11, end)  # 11: heard at t0+4
    spans = intake.faults.spans_of(t0)
    assert [(s["name"], s["from_s"], s["to_s"]) for s in spans["11"]] == [
        ("lead_off", 0.0, 4.0), ("uncalibrated", 0.0, None)]
    assert spans["12"][0]["to_s"] == round(end / 1e6 - t0 / 1e6, 1)
    from empathy.host.report import _faults_html

    page = _faults_html(spans)  # the show report's table: each span, escaped text
    assert page.count("<tr><td>11</td>") == 2 and "ECG lead off</td><td>0.0 s</td>" in page
    assert "still" in page and "<script" not in _faults_html(
        {"3": [{"unit": 1, "name": "newer", "text": "<script>", "from_s": 1, "to_s": None}]})


def test_a_unit_flapping_a_seat_s_faults_cannot_flood_the_log():
    """A unit holding its key can change a seat's codes at its packet rate: 32 codes, an
    onset and a clear each, and every event a WARNING line, a dashboard push and a session
    row (session 31: 400 packets toggling every code gave 12,800 events). At most
    EVENTS_PER_MIN a seat a minute are said; the rest are counted, their spans and onsets
    kept whole, and said in one event once the minute is over."""
    from empathy.host.seat_faults import EVENTS_PER_MIN

    keys = Keystore.new([1])
    intake = Intake(keys.units)
    t0 = now_us()
    packets = [_faults(1, i + 1, 11, 0xFFFFFFFF if i % 2 == 0 else 0, keys) for i in range(400)]
    for i, p in enumerate(packets):
        intake.feed([p], t0 + i * 1000)
    said = intake.check_health(now=t0 + 500_000)
    assert len([e for e in said if e["event"].startswith("seat_fault")]) == EVENTS_PER_MIN
    assert intake.faults.onsets["lead_off"] == 200  # counted whole
    later = intake.check_health(now=t0 + 61_000_000)
    flood = [e for e in later if e["event"] == "seat_fault_flood"]
    assert len(flood) == 1 and flood[0]["held_back"] == 400 * 32 - EVENTS_PER_MIN, flood
    # a seat whose unit behaves is said in full, flood or not beside it
    intake.feed([_faults(1, 1000, 12, 1, keys)], t0 + 62_000_000)
    assert [e["fault"] for e in intake.check_health(now=t0 + 62_000_000)
            if e["event"] == "seat_fault"] == ["lead_off"]
