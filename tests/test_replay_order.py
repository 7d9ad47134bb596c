"""A host that stalls must not refuse its units' own packets.

A unit numbers every packet it sends in one sequence (samples, heartbeats, sync requests,
seats' faults) and the host's anti-replay window is 64 packets wide. An 8-seat unit at the
edge config's rates sends 80 samples, a heartbeat and two sync requests a second (83
packets/s): a host that stalls for a second then reads ~83 of that unit's packets in one
batch. The intake applied the window to a batch's control packets first and its samples
after, so a heartbeat or sync request from the end of the batch moved the window's top past
the batch's first samples, and those (authentic, fresh, in order) were refused as replays
and counted against the unit as if a second process sent as it.

Real parts: the unit's packets made by its own encoders and key in the order its loop
sends them (edge/runtime.py: sync request, heartbeat, then each seat's sample), sent over
a real UDP socket or a real mosquitto; the host's receiver and intake, not reading while
the unit sends (the stall).
"""

from __future__ import annotations

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.clocksync import ClockSync
from empathy.edge.unit_config import EdgeConfig
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver, open_sender
from polling import wait_for

UNIT, SEATS, STALL_S = 3, 8, 1.2


def unit_packets(key: bytes, seconds: float, seats: int = SEATS, seq: int = 1000) -> list[bytes]:
    """What one unit sends in `seconds` at the edge config's default rates, stamped on the
    host clock as it sent them (ending now)."""
    cfg = EdgeConfig()
    sync = ClockSync(UNIT, key)
    ticks = round(seconds * cfg.rate_hz)
    sync_every, beat_every = round(cfg.rate_hz / cfg.sync_hz), round(cfg.rate_hz / cfg.heartbeat_hz)
    t0 = now_us() - int(seconds * 1e6)
    out = []
    for k in range(ticks):
        t = t0 + int(k * 1e6 / cfg.rate_hz)
        if k % sync_every == 0:
            out.append(sync.request(seq))
            seq += 1
        if k % beat_every == beat_every - 1:
            out.append(wire.encode_health(wire.Health(UNIT, seq, t, wire.RELEASE, 1), key))
            seq += 1
        for seat in range(1, seats + 1):
            out.append(wire.encode(wire.SeatSample(UNIT, 30 + seat, seq, t, 70.0 + seat), key))
            seq += 1
    return out


def _kinds(packets: list[bytes]) -> dict[int, int]:
    n: dict[int, int] = {}
    for p in packets:
        n[p[0] & 0x0F] = n.get(p[0] & 0x0F, 0) + 1
    return n


def _check_stalled_batch(intake: Intake, sent: list[bytes], batch: list[bytes], replies: list):
    assert batch == sent  # (the stall's whole traffic in one batch, in order)
    n = _kinds(sent)
    got = intake.feed(batch)
    refused = intake.unit_report()[0]["replayed"]
    assert intake.rejected.get("replayed", 0) == 0 and refused == 0, (intake.rejected, refused)
    assert len(got) == n[wire.KIND_SAMPLE] and intake.accepted == len(sent)
    assert len(replies) == n[wire.KIND_SYNC]  # every sync request answered
    assert intake.health.heartbeats[UNIT].seq == wire.decode_health(
        [p for p in sent if p[0] & 0x0F == wire.KIND_HEALTH][-1], {UNIT: intake.keys[UNIT]}).seq


def test_a_host_stalled_over_udp_takes_all_of_an_8_seat_unit_s_packets():
    keys = Keystore.new([UNIT])
    rx = open_receiver("udp://127.0.0.1:0")
    tx = open_sender(f"udp://127.0.0.1:{rx.port}", UNIT)
    replies: list = []
    intake = Intake(keys.units, reply=lambda *a: replies.append(a))
    try:
        sent = unit_packets(keys.units[UNIT], STALL_S)
        assert len(sent) > 64 and _kinds(sent)[wire.KIND_HEALTH] >= 1
        for p in sent:  # the host is busy meanwhile: all of it waits in the socket
            assert tx.send(p)
        _check_stalled_batch(intake, sent, rx.recv_batch(5.0), replies)
        # The same packets again (someone on the network replays the stall's traffic):
        # every one refused, samples and control packets alike, in one batch or one by one.
        before = intake.accepted
        for p in sent:
            assert tx.send(p)
        assert intake.feed(rx.recv_batch(5.0)) == [] and intake.accepted == before
        assert intake.rejected["replayed"] == len(sent)
        intake.feed([sent[0]])
        assert intake.rejected["replayed"] == len(sent) + 1
    finally:
        tx.close()
        rx.close()


def test_a_host_stalled_over_mqtt_takes_all_of_an_8_seat_unit_s_packets(tmp_path):
    """The MQTT receiver's thread goes on reading while the host's loop stalls: what came
    meanwhile waits in its inbox and is handed over as one batch."""
    from empathy.transports.mqtt import LocalBroker

    keys = Keystore.new([UNIT])
    with LocalBroker(tmp_path / "mqtt") as broker:
        url = broker.url("stall")
        rx = open_receiver(url)
        seqs = iter(range(10**6, 2 * 10**6))  # MQTT epochs: the unit's sequence too
        tx = open_sender(url, UNIT, status_key=lambda: keys.units[UNIT], epochs=seqs.__next__)
        replies: list = []
        intake = Intake(keys.units, reply=lambda *a: replies.append(a))
        try:
            wait_for(tx.client.is_connected, 10, "the unit's MQTT connection")
            sent = unit_packets(keys.units[UNIT], STALL_S)
            for p in sent:
                assert tx.send(p)
            wait_for(lambda: len(rx.inbox.items) >= len(sent), 20, "the unit's packets")
            _check_stalled_batch(intake, sent, rx.recv_batch(0, 4096), replies)
        finally:
            tx.close()
            rx.close()


@pytest.mark.parametrize("seats,seconds", [(8, 4.5), (2, 3.0)])
def test_one_batch_of_a_unit_s_packets_in_order_is_all_taken(seats, seconds):
    """The stall's traffic at other sizes (a 2-seat unit sends 23 packets a second: a
    3-s stall; a 1-seat unit's 13 would need 5 s, when its samples are stale), fed as the transport hands it over (up to 4,096
    packets a batch); then its last control packet replayed inside a later batch of new
    samples: refused, the samples taken."""
    keys = Keystore.new([UNIT])
    intake = Intake(keys.units, reply=lambda *a: None)
    sent = unit_packets(keys.units[UNIT], seconds, seats)
    assert len(intake.feed(sent)) == _kinds(sent)[wire.KIND_SAMPLE]
    assert not intake.rejected and intake.accepted == len(sent)
    last_ctrl = [p for p in sent if p[0] & 0x0F != wire.KIND_SAMPLE][-1]
    top = len(sent) + 1000
    later = [wire.encode(wire.SeatSample(UNIT, 31, top + i, now_us()), keys.units[UNIT])
             for i in range(3)]
    assert len(intake.feed([later[0], last_ctrl, *later[1:]])) == 3
    assert intake.rejected == {"replayed": 1}


def test_only_packets_behind_the_window_when_they_came_count_against_the_unit():
    """A link's duplicate inside a stalled batch is refused but not held against the unit,
    though the unit's later packets in that batch carry its window 64 past it; a second
    process sending as the unit on numbers of its own, behind, is."""
    keys = Keystore.new([UNIT])
    intake = Intake(keys.units)

    def s(seq):
        return wire.encode(wire.SeatSample(UNIT, 31, seq, now_us()), keys.units[UNIT])

    batch = [s(100), s(100), *[s(q) for q in range(101, 200)]]
    assert len(intake.feed(batch)) == 100 and intake.rejected == {"replayed": 1}
    assert intake.unit_report()[0]["replayed"] == 0
    intake.feed([s(q) for q in range(200, 210)] + [s(q) for q in range(20, 25)])
    assert intake.rejected == {"replayed": 6} and intake.unit_report()[0]["replayed"] == 5
