"""MQTT through a broker (mosquitto, EMQX): for cinemas. One topic tree per screen::

    empathy/<screen>/u/<unit>/s       samples             QoS 0 (perishable, 10 Hz)
    empathy/<screen>/u/<unit>/h       heartbeats          QoS 1
    empathy/<screen>/u/<unit>/c       clock-sync requests QoS 0 (a redelivered one is stale)
    empathy/<screen>/u/<unit>/d       host -> unit        QoS 0 (clock-sync replies)
    empathy/<screen>/u/<unit>/status  "online", or the last will "offline"   QoS 1, retained

URL: ``mqtt://HOST:PORT/SCREEN?v=5&group=G&keepalive=2``. ``v`` is the protocol (3.1.1 or
5); ``group`` makes the host's subscriptions shared (``$share/G/...``), so several host
workers split one screen's load; ``keepalive`` bounds how long the broker takes to notice a
unit that vanished without a word (1.5 x keepalive) and publish its last will.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import paho.mqtt.client as mqtt

from empathy import wire
from empathy.transports import TransportError

_VERSIONS = {"3.1.1": mqtt.MQTTv311, "311": mqtt.MQTTv311, "5": mqtt.MQTTv5}
_PACKET_LEAVES = b"sch"  # topic leaves that carry wire packets (see the table above)
_ROUTE = {wire.KIND_SAMPLE: ("s", 0), wire.KIND_HEALTH: ("h", 1), wire.KIND_SYNC: ("c", 0)}


class _Url:
    def __init__(self, url: str):
        u = urlsplit(url)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 1883
        self.screen = u.path.strip("/") or "main"
        if "/" in self.screen or "+" in self.screen or "#" in self.screen:
            raise TransportError(f"{url}: screen name {self.screen!r} may not hold / + #")
        v = q.get("v", "5")
        if v not in _VERSIONS:
            raise TransportError(f"{url}: MQTT version {v!r} (known: 3.1.1, 5)")
        self.protocol = _VERSIONS[v]
        self.group = q.get("group", "")
        self.keepalive = int(q.get("keepalive", "2"))
        self.base = f"empathy/{self.screen}/u"

    def client(self, role: str) -> mqtt.Client:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                           client_id=f"empathy-{self.screen}-{role}-{uuid.uuid4().hex[:8]}",
                           protocol=self.protocol)


class _Inbox:
    """Payloads from paho's network thread, handed over in batches."""

    def __init__(self):
        self.cond = threading.Condition()
        self.items: list[bytes] = []

    def put_many(self, payloads: list[bytes]) -> None:
        with self.cond:
            wake = not self.items
            self.items.extend(payloads)
            if wake:
                self.cond.notify()

    def take(self, timeout_s: float, limit: int) -> list[bytes]:
        with self.cond:
            if not self.items and timeout_s > 0:
                self.cond.wait(timeout_s)
            out, self.items = self.items[:limit], self.items[limit:]
        return out


class Sender:
    def __init__(self, url: str, unit_id: int = 0):
        self.url, self.cfg, self.unit = url, _Url(url), unit_id
        base = f"{self.cfg.base}/{unit_id}"
        self.topics = {leaf: f"{base}/{leaf}" for leaf in ("s", "h", "c")}
        self.status = f"{base}/status"
        self.inbox = _Inbox()
        c = self.client = self.cfg.client(f"unit{unit_id}")
        c.will_set(self.status, b"offline", qos=1, retain=True)

        broker = f"the broker at {self.cfg.host}:{self.cfg.port}"
        self.problem = f"not connected yet to {broker}"
        self.reached = False  # the broker accepted us at least once

        def connected(client, _u, _f, rc, _p):
            if rc.is_failure:
                self.problem = f"{broker} refused the connection: {rc}"
                return
            self.reached = True
            client.subscribe(f"{base}/d", 0)
            client.publish(self.status, b"online", qos=1, retain=True)

        def lost(_c, _u, *_rest):
            self.problem = f"lost {broker}"

        def unreachable(_c, _u):
            self.problem = f"cannot reach {broker}"

        c.on_connect = connected
        c.on_disconnect, c.on_connect_fail = lost, unreachable
        c.on_message = lambda _c, _u, msg: self.inbox.put_many([msg.payload])
        # Heartbeats (QoS 1) wait in paho's queue while the broker is away: keep it bounded.
        c.max_queued_messages_set(64)
        # Asynchronous: a unit that boots before the broker keeps trying, like a real one.
        c.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive)
        c.loop_start()

    def send(self, packet: bytes) -> bool:
        """False when the broker is not connected (a QoS 1 heartbeat then waits in the
        bounded queue, but has not left) or refused the publish."""
        leaf, qos = _ROUTE.get(wire.kind_of(packet), ("s", 0))  # packet kind -> topic, QoS
        up = self.client.is_connected()
        rc = self.client.publish(self.topics[leaf], packet, qos).rc
        if rc != mqtt.MQTT_ERR_SUCCESS and up:
            self.problem = f"publish failed: {mqtt.error_string(rc)}"
        return up and rc == mqtt.MQTT_ERR_SUCCESS

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 64) -> list[bytes]:
        return self.inbox.take(timeout_s, limit)

    def close(self) -> None:
        """A clean exit says "offline" itself (a clean disconnect suppresses the will)."""
        if self.client.is_connected():
            self.client.publish(self.status, b"offline", qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, b = divmod(n, 128)
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(s: str) -> bytes:
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def _packet(header: int, body: bytes) -> bytes:
    return bytes([header]) + _varint(len(body)) + body


class Receiver:
    """The host's side: a lean MQTT subscriber that parses a whole socket read at once.

    paho (which the units use) reads each message with three `recv` calls and builds a
    message object and a callback for it: at 10,000 messages/s that alone outruns a core.
    Here one `recv` brings in everything waiting and a tight loop slices the PUBLISH
    payloads out of it; CONNECT, SUBSCRIBE, PUBACK (QoS 1), PINGREQ and our QoS 0 replies
    are the only other packets a host needs. A lost connection is re-made in the background.
    """

    def __init__(self, url: str, connect_timeout_s: float = 5.0):
        self.url, self.cfg = url, _Url(url)
        self.v5 = self.cfg.protocol == mqtt.MQTTv5
        self.inbox = _Inbox()
        self.gone: list[int] = []
        self.lock = threading.Lock()  # writes come from the reader thread and from reply()
        self.running = True
        share = f"$share/{self.cfg.group}/" if self.cfg.group else ""
        b = self.cfg.base
        self.subs = [(f"{share}{b}/+/s", 0), (f"{share}{b}/+/c", 0), (f"{share}{b}/+/h", 1),
                     (f"{b}/+/status", 1)]  # every worker hears who left
        self.client_id = f"empathy-{self.cfg.screen}-host-{uuid.uuid4().hex[:8]}"
        try:
            self._session(connect_timeout_s)
        except OSError as e:
            raise TransportError(f"{url}: cannot reach the MQTT broker: {e}") from None
        self.thread = threading.Thread(target=self._run, name="mqtt-intake", daemon=True)
        self.thread.start()

    # -- session ---------------------------------------------------------------------------
    def _session(self, timeout_s: float) -> None:
        """Connect, subscribe, and wait for the broker to confirm both."""
        sock = self.sock = socket.create_connection((self.cfg.host, self.cfg.port), timeout_s)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        props = b"\x00" if self.v5 else b""
        sock.sendall(_packet(0x10, _text("MQTT") + bytes([5 if self.v5 else 4, 0x02])
                             + self.cfg.keepalive.to_bytes(2, "big") + props
                             + _text(self.client_id)))
        sock.sendall(_packet(0x82, b"\x00\x01" + props + b"".join(
            _text(t) + bytes([q]) for t, q in self.subs)))
        self.buf = bytearray()
        acked = set()
        end = time.monotonic() + timeout_s
        while acked != {2, 9}:
            if time.monotonic() > end:
                sock.close()
                raise OSError("broker did not confirm the connection and subscriptions")
            data = sock.recv(65536)
            if not data:
                sock.close()
                raise OSError("broker closed the connection")
            self.buf += data
            for typ, body in self._parse():
                if typ == 2 and body[1] != 0:
                    sock.close()
                    raise OSError(f"broker refused the connection (code {body[1]})")
                if typ == 9 and any(c >= 0x80 for c in body[3 if self.v5 else 2:]):
                    sock.close()
                    raise OSError("broker refused a subscription")
                acked.add(typ)
        sock.settimeout(None)

    def _run(self) -> None:
        ping_every = max(0.5, self.cfg.keepalive / 2)
        next_ping = time.monotonic() + ping_every
        while self.running:
            try:
                if select.select([self.sock], [], [], 0.2)[0]:
                    data = self.sock.recv(1 << 20)
                    if not data:
                        raise OSError("broker closed the connection")
                    self.buf += data
                    for _typ, _body in self._parse():
                        pass  # PINGRESP and the like: being alive is all they say
                if time.monotonic() >= next_ping:
                    self._write(b"\xc0\x00")
                    next_ping = time.monotonic() + ping_every
            except (OSError, ValueError):
                if not self.running:
                    return
                self.sock.close()
                while self.running:  # the broker restarted or the network blinked
                    time.sleep(1.0)
                    try:
                        self._session(5.0)
                        break
                    except OSError:
                        continue

    def _write(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def _parse(self) -> list[tuple[int, bytes]]:
        """Slice complete packets off the buffer: payloads to the inbox, others returned."""
        buf, n, i = self.buf, len(self.buf), 0
        payloads, others, acks = [], [], []
        while i < n:
            j, length, shift = i + 1, 0, 0
            while j < n and buf[j] & 0x80:
                length |= (buf[j] & 0x7F) << shift
                j, shift = j + 1, shift + 7
            if j >= n:
                break
            length |= buf[j] << shift
            j += 1
            if j + length > n:
                break
            header, i = buf[i], j + length
            if header >> 4 != 3:
                others.append((header >> 4, bytes(buf[j:i])))
                continue
            tl = (buf[j] << 8) | buf[j + 1]
            k = j + 2 + tl
            if header & 0x06:  # QoS 1: acknowledge
                acks.append(_packet(0x40, bytes(buf[k:k + 2])))
                k += 2
            if self.v5:
                plen, shift = 0, 0
                while buf[k] & 0x80:
                    plen |= (buf[k] & 0x7F) << shift
                    k, shift = k + 1, shift + 7
                k += 1 + (plen | buf[k] << shift)
            t_end = j + 2 + tl
            if buf[t_end - 2] == 0x2F and buf[t_end - 1] in _PACKET_LEAVES:
                payloads.append(bytes(buf[k:i]))
            else:
                self._status(bytes(buf[j + 2:t_end]), bytes(buf[k:i]))
        del buf[:i]
        if acks:
            self._write(b"".join(acks))
        if payloads:
            self.inbox.put_many(payloads)
        return others

    def _status(self, topic: bytes, payload: bytes) -> None:
        if topic.endswith(b"/status") and payload == b"offline":
            try:
                self.gone.append(int(topic.split(b"/")[-2]))
            except ValueError:
                pass  # not one of ours

    # -- the receiver protocol ---------------------------------------------------------
    def recv_batch(self, timeout_s: float = 0.05, limit: int = 4096) -> list[bytes]:
        return self.inbox.take(timeout_s, limit)

    def reply(self, unit_id: int, packet: bytes) -> None:
        body = _text(f"{self.cfg.base}/{unit_id}/d") + (b"\x00" if self.v5 else b"") + packet
        try:
            self._write(_packet(0x30, body))
        except OSError:
            pass  # reconnecting: the unit asks again in half a second

    def take_gone(self) -> list[int]:
        """Units the broker says left (their last will, or a clean goodbye)."""
        out, self.gone = self.gone, []
        return out

    def close(self) -> None:
        self.running = False
        try:
            self._write(b"\xe0\x00")  # DISCONNECT
        except OSError:
            pass
        self.thread.join(2)
        self.sock.close()


class LocalBroker:
    """A private mosquitto on 127.0.0.1 for one screen (demo, tests, benches).

    In a cinema the broker is a system service; this starts one that lives in `folder`.
    """

    def __init__(self, folder: str | Path, port: int = 0):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            raise TransportError("mosquitto is not installed (apt-get install mosquitto)")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        conf = self.folder / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "max_queued_messages 100000\nmax_inflight_messages 100\n")
        self.log = open(self.folder / "mosquitto.log", "w")
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise TransportError(f"mosquitto exited: see {self.folder / 'mosquitto.log'}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise TransportError("mosquitto did not start listening within 10 s")

    def url(self, screen: str = "main", **query) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"mqtt://127.0.0.1:{self.port}/{screen}" + (f"?{q}" if q else "")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()
