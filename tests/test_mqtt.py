"""MQTT specifics against a real mosquitto: last will, shared subscriptions, bad brokers."""

import os
import signal
import subprocess
import sys
import time

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import TransportError, open_receiver, open_sender
from empathy.transports.mqtt import LocalBroker

UNIT = r"""
import sys, time
from empathy import wire
from empathy.clock import now_us
from empathy.transports import open_sender
url, key = sys.argv[1], bytes.fromhex(sys.argv[2])
tx = open_sender(url, 9, status_key=lambda: key, epochs=lambda: time.time_ns() >> 24)
seq = 0
while True:
    tx.send(wire.encode(wire.SeatSample(9, 90, seq, now_us(), 70.0, flags=0x1F), key))
    seq += 1
    time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with LocalBroker(tmp_path_factory.mktemp("mqtt")) as b:
        yield b


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_a_killed_unit_is_reported_by_its_last_will(broker, version):
    url = broker.url(f"will{version.replace('.', '')}", v=version, keepalive=1)
    keys = Keystore.new([9])
    rx = open_receiver(url)
    intake = Intake(keys.units, quiet_s=30)  # silence alone would take 30 s: the will is faster
    unit = subprocess.Popen([sys.executable, "-c", UNIT, url, keys.units[9].hex()])
    try:
        end = time.monotonic() + 15
        while intake.accepted < 10 and time.monotonic() < end:
            intake.feed(rx.recv_batch(0.05))
        assert intake.accepted >= 10
        os.kill(unit.pid, signal.SIGKILL)  # no goodbye: the broker speaks for it
        t_kill = time.monotonic()
        events = []
        while not events and time.monotonic() - t_kill < 5:
            intake.feed(rx.recv_batch(0.05))
            events = intake.check_health(rx.take_gone())
        assert events and events[0]["event"] == "unit_quiet" and events[0]["why"] == "left"
        assert time.monotonic() - t_kill < 3
    finally:
        unit.kill()
        unit.wait()
        rx.close()


def test_shared_subscription_splits_units_between_host_workers(broker):
    url = broker.url("shared", group="hosts")
    keys = Keystore.new(range(1, 21))
    workers = [open_receiver(url), open_receiver(url)]
    intakes = [Intake(keys.units), Intake(keys.units)]
    senders = [open_sender(url, u) for u in range(1, 21)]
    try:
        end = time.monotonic() + 5
        while not all(s.client.is_connected() for s in senders) and time.monotonic() < end:
            time.sleep(0.02)
        for seq in range(10):
            for u, tx in enumerate(senders, 1):
                tx.send(wire.encode(wire.SeatSample(u, u, seq, now_us()), keys.units[u]))
        end = time.monotonic() + 10
        while sum(i.accepted for i in intakes) < 200 and time.monotonic() < end:
            for w, i in zip(workers, intakes):
                i.feed(w.recv_batch(0.02))
        counts = [i.accepted for i in intakes]
        assert sum(counts) == 200  # each packet to exactly one worker
        assert min(counts) > 0, counts  # and both did a share
    finally:
        for tx in senders:
            tx.close()
        for w in workers:
            w.close()


def test_unreachable_broker_and_bad_urls_are_clear_errors(tmp_path):
    with pytest.raises(TransportError, match="cannot reach the MQTT broker"):
        open_receiver("mqtt://127.0.0.1:1/screen")
    with pytest.raises(TransportError, match="MQTT version"):
        open_receiver("mqtt://127.0.0.1:1/screen?v=4")
    with pytest.raises(TransportError, match="may not hold"):
        open_sender("mqtt://127.0.0.1:1/a/b", 1)
    with pytest.raises(TransportError, match="unknown transport"):
        open_sender("tcp://127.0.0.1:1", 1)
    with pytest.raises(TransportError, match="screen name is longer than 64 bytes"):
        open_sender("mqtt://127.0.0.1:1/" + "x" * 65, 1, status_key=lambda: bytes(32),
                    epochs=lambda: 1)


def test_host_and_unit_ride_out_a_broker_restart(tmp_path):
    keys = Keystore.new([4])
    b1 = LocalBroker(tmp_path / "b1")
    url = b1.url("restart", keepalive=1)
    rx = open_receiver(url)
    seq = iter(range(10**6))
    tx = open_sender(url, 4, status_key=lambda: keys.units[4], epochs=seq.__next__)
    intake = Intake(keys.units)

    def deliver(n, timeout_s=15):
        start = intake.accepted
        end = time.monotonic() + timeout_s
        while intake.accepted - start < n and time.monotonic() < end:
            tx.send(wire.encode(wire.SeatSample(4, 40, next(seq), now_us()), keys.units[4]))
            intake.feed(rx.recv_batch(0.05))
            intake.check_health(rx.take_gone())
        return intake.accepted - start

    try:
        assert deliver(5) >= 5
        first_epoch = intake.epochs[4]
        assert tx.problem == "", tx.problem
        b1.stop()
        end = time.monotonic() + 5
        while not tx.problem.startswith("lost") and time.monotonic() < end:
            time.sleep(0.05)
        assert tx.problem.startswith("lost the broker"), tx.problem
        b2 = LocalBroker(tmp_path / "b2", port=b1.port)  # same address, empty broker
        try:
            assert deliver(5) >= 5  # both sides reconnected and resubscribed by themselves
            assert tx.problem == "", tx.problem  # the operator is not told of a past loss
            # the unit's new connection has a new epoch, its will armed before reconnecting
            assert intake.epochs[4] > first_epoch and not intake.rejected, intake.rejected
        finally:
            tx.close()
            rx.close()
            b2.stop()
    finally:
        if b1.proc.poll() is None:
            b1.stop()


@pytest.mark.parametrize("screen", ["s", "x" * wire.STATUS_MAX_SCREEN, "salle-\u00e9"])
def test_the_host_takes_every_status_of_its_screen_and_refuses_the_rest_early(broker, screen):
    """The transport reads a status's unit and screen (unverified) to refuse what cannot be
    this screen's unit's before it queues for the intake; every genuine variant passes."""
    import paho.mqtt.client as mqtt

    url, key = broker.url(screen), bytes(32)
    rx = open_receiver(url)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", broker.port, 5)
    pub.loop_start()
    good = [wire.encode_status(wire.Status(3, e, on, screen), key)
            for e in (0, 1 << 31, wire.SEQ_MASK) for on in (True, False)]
    other = "y" if screen != "y" else "z"
    bad = {"bad_status": [b"", b"offline", good[0][:-1], good[0] + b"\0",
                          wire.encode_status(wire.Status(3, 1, True, other), key),
                          wire.encode_status(wire.Status(3, 1, True, screen[:-1] + "2"), key),
                          wire.encode(wire.SeatSample(3, 3, 1, 1), key)],
           "topic_mismatch": [wire.encode_status(wire.Status(4, 1, True, screen), key)]}
    try:
        for payload in good + [p for ps in bad.values() for p in ps]:
            pub.publish(f"empathy/{screen}/u/3/status", payload, 1).wait_for_publish(5)
        want = {k: len(v) for k, v in bad.items()}
        gone, end = [], time.monotonic() + 5
        while (len(gone) < len(good) or dict(rx.rejected) != want) and time.monotonic() < end:
            time.sleep(0.02)
            gone += rx.take_gone()
        assert gone == good and dict(rx.rejected) == want, (len(gone), rx.rejected)
    finally:
        pub.disconnect()
        pub.loop_stop()
        rx.close()


@pytest.mark.slow
def test_demo_runs_over_mqtt(tmp_path):
    from empathy.host.demo import run_demo

    s = run_demo(tmp_path, seats=2, duration_s=6, baseline_s=1, faces=False, quiet=True,
                 transport="mqtt")
    assert s["frames_rendered"] > 0
    assert s["packets_received"] >= 0.95 * s["packets_sent"] > 100
    assert not s["packets_rejected"]
