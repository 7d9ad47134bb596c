"""Every byte an edge unit puts on its link, captured for tests/test_privacy.py: a UDP
socket, the host's end of a serial pty pair, and a recording TCP proxy in front of a private
mosquitto, each giving the messages as the host would read them."""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path

from empathy import wire
from empathy.transports.mqtt import LocalBroker
from empathy.transports.serial import SlipDecoder


class UdpCapture:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"udp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.messages: list[bytes] = []
        self._run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self._run:
            try:
                self.messages.append(self.sock.recv(65536))
            except socket.timeout:
                pass

    def close(self):
        self._run = False
        self.thread.join(2)
        self.sock.close()

    @property
    def raw(self) -> bytes:
        return b"".join(self.messages)


class SerialCapture:
    """The host's end of a pty pair: every byte the unit writes to its cable."""

    def __init__(self):
        self.master, slave = os.openpty()
        self.url = f"serial://{os.ttyname(slave)}"
        self._slave = slave
        self.buf = bytearray()
        self._run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        import select

        while self._run:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.buf += os.read(self.master, 65536)
                except OSError:
                    return

    def close(self):
        self._run = False
        self.thread.join(2)
        os.close(self.master)
        os.close(self._slave)

    @property
    def raw(self) -> bytes:
        return bytes(self.buf)

    @property
    def messages(self) -> list[bytes]:
        return SlipDecoder().feed(self.raw)


def _varint(b: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        n |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


class MqttCapture:
    """A TCP proxy in front of a private mosquitto, keeping what the unit sends upstream."""

    def __init__(self, folder: Path):
        self.broker = LocalBroker(folder)
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.url = f"mqtt://127.0.0.1:{self.lsock.getsockname()[1]}/privacy"
        self.buf = bytearray()
        self._socks: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.broker.port))
            self._socks += [client, up]
            threading.Thread(target=self._pump, args=(client, up, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, False), daemon=True).start()

    def _pump(self, src, dst, keep):
        try:
            while data := src.recv(65536):
                if keep:
                    self.buf += data
                dst.sendall(data)
        except OSError:
            pass

    def close(self):
        self.lsock.close()
        for s in self._socks:
            s.close()
        self.broker.stop()

    @property
    def raw(self) -> bytes:
        return bytes(self.buf)

    def control_packets(self) -> list[tuple[int, bytes]]:
        """(type, body) of every MQTT control packet in the upstream bytes."""
        b, i, out = self.raw, 0, []
        while i < len(b):
            kind = b[i] >> 4
            n, j = _varint(b, i + 1)
            out.append((kind, b[i], b[j:j + n]))
            i = j + n
        return out

    @property
    def messages(self) -> list[bytes]:
        """PUBLISH payloads on the packet topics; status words and control packets are
        checked here, as they must hold nothing else."""
        out = []
        for kind, first, body in self.control_packets():
            if kind == 3:  # PUBLISH: topic, [packet id], MQTT 5 properties, payload
                tlen = struct.unpack_from(">H", body)[0]
                topic = body[2:2 + tlen].decode()
                j = 2 + tlen + (2 if (first >> 1) & 3 else 0)
                plen, j = _varint(body, j)
                payload = body[j + plen:]
                if topic.endswith("/status"):  # wire.Status: unit, epoch, word, screen, tag
                    screen = topic.split("/")[1].encode()
                    assert (payload[0] == (wire.VERSION << 4 | wire.KIND_STATUS)
                            and payload[7] in (0, 1) and payload[8:9 + len(screen)]
                            == bytes([len(screen)]) + screen
                            and len(payload) == 9 + len(screen) + wire.TAG_SIZE), payload[:40]
                else:
                    assert topic.rsplit("/", 1)[1] in ("s", "h", "c", "f"), topic
                    out.append(payload)
            else:  # CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT, acks: small and fixed
                assert kind in (1, 4, 8, 12, 14) and len(body) < 200, (kind, len(body))
        return out
