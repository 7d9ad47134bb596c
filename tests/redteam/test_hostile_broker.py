"""The host's MQTT receiver against a broker that lies: a real TCP peer that answers the
handshake and then sends malformed, oversized and out-of-range PUBLISH packets. Each is
refused and counted; the receiver's thread lives on and takes the next good packet."""

import socket
import threading
import time

import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.keys import Keystore
from empathy.transports import open_receiver
from empathy.transports.mqtt_host import _packet, _text

from redteam_rig import wait_for


class LyingBroker:
    """Accepts one client, acknowledges its CONNECT and SUBSCRIBE, then sends `script`."""

    def __init__(self, v5: bool):
        self.v5 = v5
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conn = None
        self.ready = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.conn, _ = self.server.accept()
        self.conn.recv(65536)  # CONNECT and SUBSCRIBE arrive together
        props = b"\x00" if self.v5 else b""
        self.conn.sendall(_packet(0x20, b"\x00\x00" + props)
                          + _packet(0x90, b"\x00\x01" + props + b"\x00\x00\x01\x00"))
        self.ready.set()

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> bytes:
        body = _text(topic) + (b"\x00\x07" if qos else b"") + (b"\x00" if self.v5 else b"")
        return _packet(0x30 | qos << 1, body + payload)

    def close(self):
        if self.conn:
            self.conn.close()
        self.server.close()


@pytest.mark.parametrize("v5", [False, True])
def test_a_lying_broker_cannot_crash_or_bloat_the_receiver(v5):
    broker = LyingBroker(v5)
    rx = open_receiver(f"mqtt://127.0.0.1:{broker.port}/s1?v={'5' if v5 else '3.1.1'}")
    try:
        assert broker.ready.wait(5)
        key = Keystore.new([3]).units[3]
        good = wire.encode(wire.SeatSample(3, 30, 1, now_us()), key)
        base = "empathy/s1/u"
        attacks = [
            broker.publish(f"{base}/70000/status", b"offline", qos=1),  # unit out of range
            broker.publish(f"{base}/-1/status", b"offline"),
            broker.publish(f"{base}/3/whatever", good),
            broker.publish("elsewhere/u/3/s", good),
            broker.publish(f"{base}/4/s", good),  # unit 3's packet under unit 4's topic
            _packet(0x30, b"\x00\xff" + b"x" * 10),  # topic longer than the packet
            _packet(0x32, b"\x00\x01a"),  # QoS 1 without room for its packet id
            _packet(0x30, b"\x00"),  # one byte
            broker.publish(f"{base}/3/s", b"\x00" * 100_000),  # 100 KB, sent in pieces
        ]
        if v5:  # a property length running past the packet
            attacks.append(_packet(0x30, _text(f"{base}/3/s") + b"\xff\xff\xff\x7f"))
        for a in attacks:
            for i in range(0, len(a), 4096):
                broker.conn.sendall(a[i:i + 4096])
        broker.conn.sendall(broker.publish(f"{base}/3/s", good))
        got = wait_for(lambda: rx.recv_batch(0.1), 10, "the good packet after the lies")
        assert got == [good]
        assert rx.take_gone() == []  # no unit 70000, no unit -1
        assert rx.rejected == {"bad_topic": 4, "topic_mismatch": 1,
                               "malformed": 4 if v5 else 3, "oversized": 1}, rx.rejected
        assert rx.thread.is_alive() and len(rx.buf) == 0
        # a length field longer than MQTT allows loses the stream: the receiver reconnects
        broker.conn.sendall(b"\x30\xff\xff\xff\xff\x01")
        time.sleep(0.5)
        assert rx.thread.is_alive()
    finally:
        rx.close()
        broker.close()
