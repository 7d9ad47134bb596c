"""Anyone on an OPEN broker (anonymous, not the shipped config): forged and replayed unit
status messages against the host's intake. The shipped ACL stops these publishes; the
tagged status must stop them everywhere."""

import threading
import time

import paho.mqtt.client as mqtt

from empathy import wire
from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver, open_sender
from empathy.transports.mqtt_broker import LocalBroker


class Eve:
    """An anonymous client: publishes anything, keeps every status payload it hears."""

    def __init__(self, port):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.heard: list[tuple[str, bytes]] = []
        self.c.on_message = lambda c, u, m: self.heard.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", port, 5)
        self.c.subscribe("empathy/+/u/+/status", 1)
        self.c.loop_start()

    def publish(self, topic, payload):
        self.c.publish(topic, payload, 1, retain=True).wait_for_publish(5)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def _pump(intake, rx, tx, key, seconds, seq):
    """The unit keeps talking for `seconds`; returns the host's health events meanwhile."""
    events, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        tx.send(wire.encode(wire.SeatSample(1, 10, seq[0], now_us(), 70.0, flags=0x1F), key))
        seq[0] += 1
        intake.feed(rx.recv_batch(0.05))
        events += intake.check_health(rx.take_gone())
    return events


def test_forged_status_on_an_open_broker_does_not_mark_a_live_unit_offline(tmp_path):
    keys = Keystore.new([1])
    with LocalBroker(tmp_path / "broker") as broker:
        url = broker.url("open", keepalive=1)
        rx = open_receiver(url)
        tx = open_sender(url, 1)
        eve = Eve(broker.port)
        intake, seq = Intake(keys.units, quiet_s=30), [0]
        try:
            _pump(intake, rx, tx, keys.units[1], 1.0, seq)
            assert intake.accepted >= 5
            topic = "empathy/open/u/1/status"
            for forged in (b"offline", b"online", b"offline"):
                eve.publish(topic, forged)
                events = _pump(intake, rx, tx, keys.units[1], 0.6, seq)
                assert not [e for e in events if e["event"] == "unit_quiet"], events
        finally:
            eve.close()
            tx.close()
            rx.close()
