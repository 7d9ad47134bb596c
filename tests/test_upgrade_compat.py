"""A mixed fleet (docs/guide-cinema.md, "Upgrading a cinema"): what the release before
session 35 sent and expected on the link, recorded (tests/data/compat/, README there), replayed
against this code over real sockets and a real mosquitto; and this code's output judged by
that release's rules, kept as data (no old code is imported)."""

from __future__ import annotations

import json
import secrets
import socket
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from empathy import wire
from empathy.discovery import Announcement
from empathy.host.receive import Intake
from empathy.host.unit_release import against_host
from empathy.transports import open_receiver
from empathy.transports.mqtt import LocalBroker
from polling import wait_for

OLD = json.loads((Path(__file__).parent / "data" / "compat" / "f128ac6.json").read_text())
KEY = bytes.fromhex(OLD["unit_key"])
UNIT = OLD["unit"]


def _ts(packets: list[bytes]) -> int:
    """A host clock the recorded samples are fresh on (their own middle stamp)."""
    stamps = sorted(wire.decode(p, {UNIT: KEY}).ts_us for p in packets
                    if wire.kind_of(p) == wire.KIND_SAMPLE)
    return stamps[len(stamps) // 2]


def _told_to_update(intake: Intake, now: int) -> list[dict]:
    events = [e for e in intake.check_health(now=now) if e["event"] == "unit_release"]
    assert [(e["unit"], e["why"]) for e in events] == [
        (UNIT, "older than the host: update the unit")], events
    assert [u["release"] for u in intake.unit_report(now)] == ["older"]
    return events


def test_an_older_unit_over_udp_is_taken_and_the_operator_told_to_update_it():
    packets = [bytes.fromhex(p) for p in OLD["udp"]]
    kinds = {k: sum(wire.kind_of(p) == k for p in packets)
             for k in (wire.KIND_SAMPLE, wire.KIND_HEALTH, wire.KIND_SYNC)}
    now = _ts(packets)
    replies = []
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake({UNIT: KEY}, reply=lambda u, p, o=None: replies.append(p),
                    clock=lambda: now)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            # a few at a time, as the unit sent them over 4 s: one batch spanning more than
            # the 64-packet replay window would refuse its control packets, read after its
            # samples, as replays
            for i in range(0, len(packets), 16):
                for p in packets[i:i + 16]:
                    tx.sendto(p, ("127.0.0.1", rx.port))
                end = time.monotonic() + 30
                while intake.received < min(i + 16, len(packets)) and time.monotonic() < end:
                    intake.feed(rx.recv_batch(0.05), rx_us=now)
    finally:
        rx.close()
    # every sample and heartbeat taken (the samples' stamps lie within the freshness window
    # of their middle one: a 4-s recording), every sync request answered
    assert intake.received == len(packets) and not intake.rejected, intake.rejected
    assert intake.accepted == len(packets)
    assert len(intake.seats[OLD["seat"]].history) == kinds[wire.KIND_SAMPLE] > 20
    assert len(replies) == kinds[wire.KIND_SYNC] > 0
    # its heartbeat says 0.1.0 (the package's version, never bumped): older than the host
    assert _told_to_update(intake, now)[0]["release"] == "0.1.0"
    # updated, it comes back with this release: said once, and no longer listed as older
    top = max(wire.decode_health(p, {UNIT: KEY}).seq for p in packets
              if wire.kind_of(p) == wire.KIND_HEALTH)
    intake.feed([wire.encode_health(wire.Health(UNIT, top + 1000, now, wire.RELEASE, run=7),
                                    KEY)], rx_us=now)
    assert [e for e in intake.check_health(now=now) if e["event"].startswith("unit_")] == [
        {"event": "unit_updated", "unit": UNIT, "release": ".".join(map(str, wire.RELEASE))}]
    assert [u["release"] for u in intake.unit_report(now)] == ["same"]


def test_an_older_unit_over_mqtt_is_taken_with_its_status(tmp_path):
    messages = [(t, bytes.fromhex(p)) for t, p, _ in OLD["mqtt"]]
    assert {t.split("/")[-1] for t, _ in messages} == {"s", "c", "h", "status"}
    now = _ts([p for t, p in messages if t.endswith("/s")])
    with LocalBroker(tmp_path) as broker:
        rx = open_receiver(broker.url(OLD["screen"]))
        intake = Intake({UNIT: KEY}, reply=rx.reply, clock=lambda: now)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        gone = []
        try:
            time.sleep(0.5)  # (the receiver's subscription is in before the first publish)
            for i in range(0, len(messages), 16):  # a few at a time (the UDP test says why)
                for topic, payload in messages[i:i + 16]:
                    pub.publish(topic, payload, qos=1).wait_for_publish(10)

                def arrived(n=min(i + 16, len(messages))):
                    intake.feed(rx.recv_batch(0.05), rx_us=now)
                    gone.extend(rx.take_gone())
                    return intake.received + len(gone) >= n
                wait_for(arrived, timeout_s=30, what="the recorded messages through mosquitto")
        finally:
            pub.loop_stop()
            pub.disconnect()
            rx.close()
    assert not rx.rejected and not intake.rejected, (rx.rejected, intake.rejected)
    assert intake.accepted == intake.received == len(messages) - len(gone)
    assert len(intake.seats[OLD["seat"]].history) == sum(t.endswith("/s") for t, _ in messages)
    # its tagged online, then its goodbye (the same epoch): the unit left, said by the host
    left = intake.check_health(gone, now=now)
    assert {"event": "unit_quiet", "unit": UNIT, "why": "left", "silent_s": 0.0} in left
    assert [e["why"] for e in left if e["event"] == "unit_release"] == [
        "older than the host: update the unit"]


def test_an_older_host_s_sync_reply_and_cue_decode_here():
    made = OLD["made"]
    reply = wire.decode_sync_reply(bytes.fromhex(made["sync_reply"]["packet"]), KEY)
    assert [reply.unit_id, reply.seq, reply.t1_us, reply.t2_us, reply.t3_us] == \
        made["sync_reply"]["fields"]
    cue = wire.decode_cue(bytes.fromhex(made["cue"]["packet"]),
                          wire.CueVerifier(bytes.fromhex(OLD["cue_public"])))
    assert [cue.seq, cue.ts_us, cue.clip_id, cue.clip_ms] == made["cue"]["fields"][:4]
    faults = wire.decode_faults(bytes.fromhex(made["faults"]["packet"]), {UNIT: KEY})
    assert [faults.unit_id, faults.seq, faults.seat_id, faults.faults, faults.for_s] == \
        made["faults"]["fields"]


def test_this_unit_s_heartbeat_is_read_by_an_older_host_and_tells_it_apart():
    """By the older host's rules, kept as data: the heartbeat lengths its decoder took, and
    the layout (the same fields give the same bytes but the release and the tag)."""
    hb = OLD["made"]["heartbeat"]
    f = hb["fields"]
    ours = wire.encode_health(wire.Health(f[0], f[1], f[2], wire.RELEASE, *f[4:]), KEY)
    taken = {int(n) for n, v in hb["verdict_by_length"].items() if v == "ok"}
    assert len(ours) in taken
    old = bytes.fromhex(hb["packet"])
    assert ours[:13] == old[:13] and ours[16:-wire.TAG_SIZE] == old[16:-wire.TAG_SIZE]
    # what the older release's units declared, read from their recorded heartbeats
    declared = {wire.decode_health(bytes.fromhex(p), {UNIT: KEY}).firmware
                for p in OLD["udp"] if wire.kind_of(bytes.fromhex(p)) == wire.KIND_HEALTH}
    assert declared == {(0, 1, 0)} and tuple(wire.RELEASE) > (0, 1, 0)
    assert against_host((0, 1, 0)) == "older" and against_host(wire.RELEASE) == "same"
    assert against_host((0, 99, 0)) == "newer"


@pytest.mark.parametrize("v1", [True, False])
def test_this_host_announces_a_record_an_older_unit_checks(v1):
    """The older unit's rule (kept as data): it checks the `sig` of a record holding `url`
    and `screen` over its CONTEXT + url + NUL + screen, and takes the first that verifies."""
    old = OLD["announcement"]
    signing = bytes.fromhex(OLD["cue_signing"])
    # (a screen of its own: a unit searching beside this test takes no record of it)
    ann = Announcement("udp://0.0.0.0:47109", signing, screen=f"compat-{secrets.token_hex(4)}",
                       v1=v1)
    rotated = bytes(32)  # `empathy keys cue-key` on the running host: both signed again
    try:
        records = _records(ann)
        ann.sign(rotated)
        again = _records(ann)
    finally:
        ann.close()

    def old_unit_takes(p: dict, public: bytes) -> bool:
        body = bytes.fromhex(old["context"]) + p["url"].encode() + b"\0" + p["screen"].encode()
        return wire.CueVerifier(public).verify(body, bytes.fromhex(p["sig"]))
    public = bytes.fromhex(OLD["cue_public"])
    assert [old_unit_takes(p, public) for p in records] == [False] + [True] * v1
    assert [old_unit_takes(p, wire.CueSigner(rotated).public) for p in again] == \
        [False] + [True] * v1
    assert set(old["properties"]) <= set(records[-1])


def _records(ann: Announcement) -> list[dict]:
    """The properties of the records a host announces (the v2 one first)."""
    return [{k.decode(): (v or b"").decode() for k, v in info.properties.items()}
            for info in (ann.info, ann.info_v1) if info]
