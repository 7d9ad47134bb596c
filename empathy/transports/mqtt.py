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
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import paho.mqtt.client as mqtt

from empathy.transports import TransportError

_VERSIONS = {"3.1.1": mqtt.MQTTv311, "311": mqtt.MQTTv311, "5": mqtt.MQTTv5}
_ROUTE = {0: ("s", 0), 2: ("h", 1), 3: ("c", 0)}  # packet kind -> (topic leaf, QoS)


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

    def put(self, payload: bytes) -> None:
        with self.cond:
            self.items.append(payload)
            if len(self.items) == 1:
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

        def connected(client, _u, _f, rc, _p):
            if not rc.is_failure:
                client.subscribe(f"{base}/d", 0)
                client.publish(self.status, b"online", qos=1, retain=True)

        c.on_connect = connected
        c.on_message = lambda _c, _u, msg: self.inbox.put(msg.payload)
        # Asynchronous: a unit that boots before the broker keeps trying, like a real one.
        c.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive)
        c.loop_start()

    def send(self, packet: bytes) -> None:
        leaf, qos = _ROUTE.get(packet[0] & 0x0F if packet else 0, ("s", 0))
        self.client.publish(self.topics[leaf], packet, qos)

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 64) -> list[bytes]:
        return self.inbox.take(timeout_s, limit)

    def close(self) -> None:
        """A clean exit says "offline" itself (a clean disconnect suppresses the will)."""
        if self.client.is_connected():
            self.client.publish(self.status, b"offline", qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()


class Receiver:
    def __init__(self, url: str, connect_timeout_s: float = 5.0):
        self.url, self.cfg = url, _Url(url)
        self.inbox = _Inbox()
        self.gone: list[int] = []
        self._subscribed = threading.Event()
        share = f"$share/{self.cfg.group}/" if self.cfg.group else ""
        b = self.cfg.base
        subs = [(f"{share}{b}/+/s", 0), (f"{share}{b}/+/c", 0), (f"{share}{b}/+/h", 1),
                (f"{b}/+/status", 1)]  # every worker hears who left
        c = self.client = self.cfg.client("host")

        def connected(client, _u, _f, rc, _p):
            if not rc.is_failure:
                client.subscribe(subs)

        c.on_connect = connected
        c.on_subscribe = lambda *_a: self._subscribed.set()
        c.on_message = self._message
        try:
            c.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive)
        except OSError as e:
            raise TransportError(f"{url}: cannot reach the MQTT broker: {e}") from None
        c.loop_start()
        if not self._subscribed.wait(connect_timeout_s):
            self.close()
            raise TransportError(f"{url}: broker did not confirm the subscriptions")

    def _message(self, _c, _u, msg) -> None:
        if msg.topic.endswith("/status"):
            if msg.payload == b"offline":
                try:
                    self.gone.append(int(msg.topic.split("/")[-2]))
                except ValueError:
                    pass  # not one of ours
            return
        self.inbox.put(msg.payload)

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 4096) -> list[bytes]:
        return self.inbox.take(timeout_s, limit)

    def reply(self, unit_id: int, packet: bytes) -> None:
        self.client.publish(f"{self.cfg.base}/{unit_id}/d", packet, 0)

    def take_gone(self) -> list[int]:
        """Units the broker says left (their last will, or a clean goodbye)."""
        out, self.gone = self.gone, []
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


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
