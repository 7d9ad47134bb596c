"""MQTT link settings from a URL, and the bounded inbox both ends hand payloads over in.
(The URL's options are described in empathy/transports/mqtt.py.)"""

from __future__ import annotations

import logging
import ssl
import threading
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt

from empathy.transports import TransportError, redacted

log = logging.getLogger("empathy.transports.mqtt")
_VERSIONS = {"3.1.1": mqtt.MQTTv311, "311": mqtt.MQTTv311, "5": mqtt.MQTTv5}
INBOX_LIMIT = 200_000  # messages waiting for the show (20 s of 1,000 seats at 10 Hz)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _read_secret(path: str, url: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        raise TransportError(f"{url}: password_file: {e}") from None


class MqttUrl:
    def __init__(self, url: str):
        u = urlsplit(url)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        self.tls = u.scheme == "mqtts"
        try:
            self.host, self.port = u.hostname or "127.0.0.1", u.port or (8883 if self.tls else 1883)
            self.keepalive = int(q.get("keepalive", "2"))
        except ValueError as e:
            raise TransportError(f"{url}: {e}") from None
        if not 1 <= self.keepalive <= 3600:
            raise TransportError(f"{url}: keepalive {self.keepalive} must be 1..3600 s")
        self.screen = u.path.strip("/") or "main"
        if "/" in self.screen or "+" in self.screen or "#" in self.screen:
            raise TransportError(f"{url}: screen name {self.screen!r} may not hold / + #")
        v = q.get("v", "5")
        if v not in _VERSIONS:
            raise TransportError(f"{url}: MQTT version {v!r} (known: 3.1.1, 5)")
        self.protocol = _VERSIONS[v]
        self.group = q.get("group", "")
        self.base = f"empathy/{self.screen}/u"
        self.username = unquote(u.username) if u.username else None
        self.password = unquote(u.password) if u.password else None
        self.password_file = q.get("password_file")
        if self.password_file:
            self.password = _read_secret(self.password_file, self.redacted(url))
        if self.password and not self.username:
            raise TransportError(f"{self.redacted(url)}: a password needs a user name (USER@HOST)")
        self.ca, self.cert, self.key = q.get("ca"), q.get("cert"), q.get("key")
        if (self.ca or self.cert) and not self.tls:
            raise TransportError(f"{self.redacted(url)}: ca=/cert= need mqtts://")
        if self.password and not self.tls and self.host not in _LOOPBACK:
            log.warning("%s: the MQTT password travels unencrypted: use mqtts://",
                        self.redacted(url))

    redacted = staticmethod(redacted)

    def ssl_context(self) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(cafile=self.ca)
            if self.cert:
                ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as e:
            raise TransportError(f"TLS files for {self.host}: {e}") from None
        return ctx

    def client(self, role: str) -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                        client_id=f"empathy-{self.screen}-{role}-{uuid.uuid4().hex[:8]}",
                        protocol=self.protocol)
        if self.username:
            c.username_pw_set(self.username, self.password)
        if self.tls:
            c.tls_set_context(self.ssl_context())
        return c


class Inbox:
    """Payloads from a network thread, handed over in batches; at most `limit` wait (the
    oldest go first: samples are perishable) and what is dropped is counted."""

    def __init__(self, limit: int = INBOX_LIMIT):
        self.cond = threading.Condition()
        self.items: list[bytes] = []
        self.limit = limit
        self.dropped = 0

    def put_many(self, payloads: list[bytes]) -> None:
        with self.cond:
            wake = not self.items
            self.items.extend(payloads)
            over = len(self.items) - self.limit
            if over > 0:
                del self.items[:over]
                self.dropped += over
            if wake:
                self.cond.notify()

    def take(self, timeout_s: float, limit: int) -> list[bytes]:
        with self.cond:
            if not self.items and timeout_s > 0:
                self.cond.wait(timeout_s)
            out, self.items = self.items[:limit], self.items[limit:]
        return out
