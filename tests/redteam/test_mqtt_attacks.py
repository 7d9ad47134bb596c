"""Anyone on the broker: junk, out-of-range and oversized topics and payloads against a real
host, first through an anonymous broker (defence in depth: the host alone must hold), then
through the shipped hardened broker, which must refuse them outright."""

import os
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.keys import Keystore
from empathy.transports import open_sender
from empathy.transports.mqtt_broker import LocalBroker

from hardened import HardenedBroker
from redteam_rig import Host, Unit, wait_for

SCREEN = "redteam"


def _connected(tx):
    wait_for(tx.client.is_connected, 10, "the unit's MQTT connection")
    return tx


def _heard(host, unit):
    return host.wait_state(lambda s: any(u["unit"] == unit and u["silent_s"] < 1.0
                                         for u in s["units"])
                           and any(x["unit"] == unit and x["age_s"] < 1.0 for x in s["seats"]),
                           40, f"unit {unit} heard")


class Mallory:
    """A raw MQTT client: publishes whatever it likes and notes what the broker answers."""

    def __init__(self, port, user=None, creds=None, ca=None, wait_s=10.0):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if user:
            self.c.username_pw_set(user, creds.read_text().strip())
        if ca:
            self.c.tls_set(ca_certs=str(ca))
        self.connack, self.acks, self.got = [], {}, []
        self.done = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, p: (self.connack.append(rc), self.done.set())
        self.c.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc)
        self.c.on_message = lambda c, u, msg: self.got.append(msg.topic)
        self.c.connect("127.0.0.1", port, 5)
        self.c.loop_start()
        assert self.done.wait(wait_s), "no CONNACK"

    def publish(self, topic, payload, qos=0, retain=False):
        return self.c.publish(topic, payload, qos, retain)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def test_junk_through_an_anonymous_broker_cannot_stop_the_show(tmp_path):
    """Finding: one retained `offline` for unit 70000 made the host exit with IndexError,
    and again at every restart (the broker re-sends retained messages)."""
    with LocalBroker(tmp_path / "broker") as broker:
        url = broker.url(SCREEN)
        keys = Keystore.new([1, 2])
        host = Host(tmp_path, url, keys).start()
        tx = _connected(open_sender(url, 1))
        unit = Unit(1, [1, 2], keys.units[1], tx.send).start()
        mallory = None
        try:
            _heard(host, 1)
            mallory = Mallory(broker.port)  # no user, no password: the broker lets it in
            base = f"empathy/{SCREEN}/u"
            for bad in ("70000", "-1", "abc", "99999999999", "1e3", "", "0x10"):
                mallory.publish(f"{base}/{bad}/status", b"offline", qos=1, retain=True)
            for topic in (f"{base}/1/s", f"{base}/70000/s", f"{base}/2/h", f"{base}/1/c"):
                for junk in (b"", b"\x00", os.urandom(32), os.urandom(43),
                             b"\x13" + os.urandom(21), b"\x12" + os.urandom(42),
                             b"\x10" + b"\xff" * 31):
                    mallory.publish(topic, junk)
            # unit 1's own (authentic) packet published under unit 2's topic
            stolen = wire.encode(wire.SeatSample(1, 1, 10**7, now_us(), flags=0x1F), keys.units[1])
            mallory.publish(f"{base}/2/s", stolen)
            mallory.publish(f"{base}/3/s", os.urandom(200_000))  # 200 KB "sample"
            # every one refused and counted, by the transport (topic) or the intake (packet)
            host.wait_state(lambda s: s["packets"]["rejected"].get("oversized") == 1
                            and s["packets"]["rejected"].get("bad_topic", 0) >= 14  # 7 + 7
                            and s["packets"]["rejected"].get("topic_mismatch", 0) >= 1
                            and s["packets"]["rejected"].get("too_short", 0) >= 6, 20,
                            "the junk refused and counted by reason")
            assert host.alive()
            _heard(host, 1)  # the honest unit still counts
            # Restart with every retained message still on the broker: no crash loop.
            host.stop()
            host.start()
            time.sleep(3)
            assert host.alive(), host.log()[-3000:]
            _heard(host, 1)
        finally:
            unit.stop()
            tx.close()
            if mallory:
                mallory.close()
            summary = host.stop()
    assert summary and summary["contained"] == {}, summary  # nothing even had to be caught


def test_the_shipped_broker_refuses_anonymous_wrong_unit_and_oversized(tmp_path):
    """Finding: the shipped mosquitto.conf allowed anonymous clients on 0.0.0.0, and the
    MQTT link could use neither passwords nor TLS. With the shipped config (TLS, password
    file, per-unit ACL, size limits) the broker itself refuses every attack above."""
    broker = HardenedBroker(tmp_path / "broker", SCREEN, [1, 2])
    keys = Keystore.new([1, 2])
    host = Host(tmp_path, broker.user_url("empathy-host"), keys).start()
    tx = _connected(open_sender(broker.user_url("unit1"), 1))  # mqtts://, password file, CA
    unit = Unit(1, [1, 2], keys.units[1], tx.send).start()
    attackers = []
    try:
        _heard(host, 1)
        anonymous = Mallory(broker.port, ca=broker.pki["ca.crt"])
        attackers.append(anonymous)
        assert anonymous.connack[0] == "Not authorized"
        with pytest.raises(AssertionError, match="no CONNACK"):  # no TLS: no MQTT at all
            attackers.append(Mallory(broker.port, wait_s=2.0))
        # unit 2's own credentials, used to speak for unit 1, for the host and for nobody
        mallory = Mallory(broker.port, "unit2", broker.creds["unit2"], broker.pki["ca.crt"])
        attackers.append(mallory)
        assert mallory.connack[0] == "Success"
        base = f"empathy/{SCREEN}/u"
        stolen = wire.encode(wire.SeatSample(2, 1, 10**7, now_us(), flags=0x1F), keys.units[2])
        refused = [mallory.publish(t, p, qos=1, retain=r) for t, p, r in (
            (f"{base}/1/s", stolen, False), (f"{base}/1/status", b"offline", True),
            (f"{base}/70000/status", b"offline", True), (f"{base}/1/d", b"x" * 38, False))]
        mallory.c.subscribe(f"empathy/{SCREEN}/#", 0)  # read every seat, every reply
        own = mallory.publish(f"{base}/2/s", stolen, qos=1)  # its own topic: allowed
        wait_for(lambda: len(mallory.acks) == 5, 10, "the broker's answers")
        assert [mallory.acks[m.mid] for m in refused] == ["Not authorized"] * 4
        assert mallory.acks[own.mid] == "Success"
        # a valid unit sending a 100 KB payload: dropped by the broker, never forwarded
        tx.client.publish(tx.topics["s"], os.urandom(100_000))
        time.sleep(2)
        _heard(host, 1)
        s = host.state()
        assert mallory.got == []  # 2 s of unit 1's seats went by: none reached unit 2
        # Nothing but unit 2's one packet on its own topic reached the host (it claims
        # seat 1, unit 1's, and is refused there); no junk, no impostor status.
        assert s["packets"]["rejected"] == {"foreign_seat": 1}, s["packets"]
        assert all(x["unit"] == 1 for x in s["seats"])
    finally:
        unit.stop()
        tx.close()
        for a in attackers:
            a.close()
        host.stop()
        broker.stop()
