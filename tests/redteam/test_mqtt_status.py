"""Anyone on an OPEN broker (anonymous, not the shipped config): forged and replayed unit
status messages against the host's intake. The shipped ACL stops these publishes; the
tagged status must stop them everywhere."""

import signal
import subprocess
import sys
import time
from collections import Counter

import paho.mqtt.client as mqtt

from empathy import wire
from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver, open_sender
from empathy.transports.mqtt_broker import LocalBroker

# A unit as its own process: its status epochs come from a sequence persisted on disk the
# way `empathy edge run` keeps its own (edge.runtime.SeqReserve), so they grow over
# restarts; SIGTERM is a clean exit (it says offline itself), SIGKILL leaves the will.
UNIT = r"""
import signal, sys, time
from empathy import wire
from empathy.clock import now_us
from empathy.edge.runtime import SeqReserve
from empathy.transports import open_sender
url, key, seqs = sys.argv[1], bytes.fromhex(sys.argv[2]), SeqReserve(sys.argv[3])
seq = [seqs.start]
def take():
    seq[0] = (seq[0] + 1) & wire.SEQ_MASK
    seqs.use(seq[0])
    return seq[0]
tx = open_sender(url, 1, status_key=lambda: key, epochs=take)
signal.signal(signal.SIGTERM, lambda *_: (tx.close(), sys.exit(0)))
while True:
    tx.send(wire.encode(wire.SeatSample(1, 10, take(), now_us(), 70.0, flags=0x1F), key))
    time.sleep(0.1)
"""


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
        if tx is not None:
            tx.send(wire.encode(wire.SeatSample(1, 10, seq[0], now_us(), 70.0, flags=0x1F), key))
            seq[0] += 1
        intake.feed(rx.recv_batch(0.05))
        events += intake.check_health(rx.take_gone())
    return events


def _pump_until(intake, rx, tx, key, seq, done, limit_s=15.0):
    """_pump till done() holds (a count, not a short window's worth: a loaded machine
    delivers late), at most limit_s; returns the health events meanwhile."""
    events, end = [], time.monotonic() + limit_s
    while not done() and time.monotonic() < end:
        events += _pump(intake, rx, tx, key, 0.2, seq)
    return events


def _quiet(events):
    return [e for e in events if e["event"] == "unit_quiet"]


def _until_quiet(intake, rx, limit_s):
    """Seconds until the host reports unit 1 left (its will or goodbye), or fail."""
    t0, events = time.monotonic(), []
    while not _quiet(events) and time.monotonic() - t0 < limit_s:
        events = _pump(intake, rx, None, None, 0.05, None)
    assert _quiet(events) and _quiet(events)[0]["why"] == "left", events
    return time.monotonic() - t0


def _unit(url, key, seq_file):
    return subprocess.Popen([sys.executable, "-c", UNIT, url, key.hex(), str(seq_file)])


def test_forged_status_on_an_open_broker_does_not_mark_a_live_unit_offline(tmp_path):
    keys = Keystore.new([1])
    with LocalBroker(tmp_path / "broker") as broker:
        url = broker.url("open", keepalive=1)
        rx = open_receiver(url)
        key = keys.units[1]
        tx = open_sender(url, 1, status_key=lambda: key, epochs=iter(range(100, 200)).__next__)
        eve = Eve(broker.port)
        intake, seq = Intake(keys.units, quiet_s=30), [0]
        try:
            _pump_until(intake, rx, tx, key, seq, lambda: intake.accepted >= 5 and intake.epochs)
            assert intake.accepted >= 5 and intake.epochs == {1: 100}  # its online was taken
            topic = "empathy/open/u/1/status"
            wrong = Keystore.new([1]).units[1]  # a status tagged with a key not unit 1's
            forged = [b"offline", b"online",
                      wire.encode_status(wire.Status(1, 1 << 31, False, "open"), wrong),
                      wire.encode_status(wire.Status(1, 101, False, "other"), key)]  # screen
            for payload in forged:
                eve.publish(topic, payload)
                assert not _quiet(_pump(intake, rx, tx, key, 0.6, seq))
            refused = Counter(intake.rejected) + rx.rejected
            assert refused["bad_status"] == 4 and intake.epochs == {1: 100}, refused
            tx.close()  # the genuine goodbye still counts
            assert _until_quiet(intake, rx, 3) < 3
        finally:
            eve.close()
            tx.close()
            rx.close()


def test_a_replayed_will_is_refused_and_a_killed_unit_still_leaves(tmp_path):
    """Eve records unit 1's genuine will (a SIGKILL), replays it once the unit is back,
    and again to a host restarted from its state folder: refused, the unit stays live.
    The genuine will still marks a killed unit gone within the keepalive, and a clean
    exit (SIGTERM) still says offline."""
    keys = Keystore.new([1])
    key, seq_file, state = keys.units[1], tmp_path / "unit1.seq", tmp_path / "host"
    with LocalBroker(tmp_path / "broker") as broker:
        url = broker.url("open", keepalive=1)
        rx = open_receiver(url)
        eve = Eve(broker.port)
        intake = Intake(keys.units, quiet_s=30, state_dir=state)  # silence alone: 30 s
        unit = _unit(url, key, seq_file)
        try:
            end = time.monotonic() + 15
            while intake.accepted < 10 and time.monotonic() < end:
                _pump(intake, rx, None, None, 0.1, None)
            first_epoch = intake.epochs[1]
            unit.send_signal(signal.SIGKILL)
            unit.wait()
            assert _until_quiet(intake, rx, 5) < 3  # the will, within 1.5 x keepalive
            will = [p for t, p in eve.heard if wire.decode_status(p, keys.units).online is False]
            old_online = [p for t, p in eve.heard if wire.decode_status(p, keys.units).online]
            assert len(will) == 1 and wire.decode_status(will[0], keys.units).epoch == first_epoch

            unit = _unit(url, key, seq_file)  # back, with a newer epoch from its seq file
            end = time.monotonic() + 15
            while intake.epochs[1] == first_epoch and time.monotonic() < end:
                _pump(intake, rx, None, None, 0.1, None)
            assert intake.epochs[1] > first_epoch
            _pump(intake, rx, None, None, 0.5, None)
            for replay in (will[0], old_online[0], will[0]):
                eve.publish("empathy/open/u/1/status", replay)
                assert not _quiet(_pump(intake, rx, None, None, 0.6, None))
            assert intake.rejected["stale_status"] == 3

            # The host restarts; the retained status it finds is Eve's old will, and she
            # replays the old online then the old will again: its saved epochs refuse all.
            intake.save_state()
            rx.close()
            rx, intake = open_receiver(url), Intake(keys.units, quiet_s=30, state_dir=state)
            for replay in (old_online[0], will[0]):
                eve.publish("empathy/open/u/1/status", replay)
            events = _pump_until(intake, rx, None, None, None, lambda: intake.accepted >= 5
                                 and intake.rejected["stale_status"] >= 3)
            assert intake.accepted >= 5 and not _quiet(events), events
            assert intake.rejected["stale_status"] == 3, intake.rejected

            unit.send_signal(signal.SIGTERM)  # a clean exit says offline itself
            assert unit.wait(10) == 0
            assert _until_quiet(intake, rx, 3) < 3
        finally:
            unit.kill()
            unit.wait()
            eve.close()
            rx.close()


def test_a_flood_of_forged_status_is_bounded_and_the_unit_stays_live(tmp_path):
    keys = Keystore.new([1])
    key, wrong = keys.units[1], Keystore.new([1]).units[1]
    with LocalBroker(tmp_path / "broker") as broker:
        url = broker.url("open", keepalive=1)
        rx = open_receiver(url)
        tx = open_sender(url, 1, status_key=lambda: key, epochs=iter(range(100, 200)).__next__)
        eve = Eve(broker.port)
        intake, seq = Intake(keys.units, quiet_s=30), [0]
        try:
            _pump(intake, rx, tx, key, 1.0, seq)
            n = 5000
            for e in range(n):  # each one tagged (with the wrong key): an HMAC to refuse
                eve.c.publish("empathy/open/u/1/status",
                              wire.encode_status(wire.Status(1, 1000 + e, False, "open"), wrong))
            end, events = time.monotonic() + 20, []
            while time.monotonic() < end:
                events += _pump(intake, rx, tx, key, 0.2, seq)
                refused = Counter(intake.rejected) + rx.rejected
                if refused["bad_status"] + refused["status_flood"] >= n:
                    break
            assert refused["bad_status"] + refused["status_flood"] == n, refused
            # a burst outruns the show's reads: the rest were dropped before any HMAC
            assert refused["status_flood"] > 0 and refused["bad_status"] >= 1024
            assert not _quiet(events) and intake.epochs == {1: 100}
            print(f"\n{n} forged status: {refused['bad_status']} checked, "
                  f"{refused['status_flood']} dropped unchecked")
        finally:
            eve.close()
            tx.close()
            rx.close()
