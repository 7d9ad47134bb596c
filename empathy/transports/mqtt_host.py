"""The host's side of MQTT: a lean subscriber that parses a whole socket read at once
(see empathy/transports/mqtt.py for the topics and the URL)."""

from __future__ import annotations

import select
import socket
import threading
import time
import uuid
from collections import Counter

import paho.mqtt.client as mqtt

from empathy import wire
from empathy.transports import TransportError
from empathy.transports.mqtt_login import hold_login, login_of
from empathy.transports.mqtt_url import Inbox, MqttUrl, log

_PACKET_LEAVES = (b"s", b"c", b"h", b"f")  # topic leaves that carry wire packets
MAX_STATUS = 1024  # status messages awaiting the intake (a screen's units all reconnecting)
MAX_PACKET = 4096  # our messages are < 128 bytes with their topic; anything this long is junk
# A connection the broker ends this soon after taking it, this many times in a row: another
# client logging in as our user takes its place (a listener that names connections by user).
TAKEN_S, TAKEN_SAID = 5.0, 3


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


_REFUSALS = {1: "protocol version", 2: "client id", 3: "server unavailable",
             4: "bad user name or password", 5: "not authorized",
             0x86: "bad user name or password", 0x87: "not authorized"}


class Receiver:
    """The host's side: a lean MQTT subscriber that parses a whole socket read at once.

    paho (which the units use) reads each message with three `recv` calls and builds a
    message object and a callback for it: at 10,000 messages/s that alone outruns a core.
    Here one `recv` brings in everything waiting and a tight loop slices the PUBLISH
    payloads out of it; CONNECT, SUBSCRIBE, PUBACK, PUBREC, PUBCOMP, PINGREQ and QoS 0 replies
    are the only other packets a host needs. A lost connection is re-made in the background.
    """

    def __init__(self, url: str, connect_timeout_s: float = 5.0):
        self.url, self.cfg = url, MqttUrl(url)
        self.v5 = self.cfg.protocol == mqtt.MQTTv5
        self.inbox = Inbox()
        self.gone: list[bytes] = []  # status messages (`wire.Status`), unverified
        self.rejected: Counter = Counter()  # oversized, malformed, topic_mismatch, bad_topic,
        # bad_status (not a tagged status for this screen)
        self.skip = 0  # bytes still to skip of an oversized message
        self.lock = threading.Lock()  # the socket is shared by the reader thread and reply()
        self.running = True
        self.ctx = self.cfg.ssl_context() if self.cfg.tls else None
        self.prefix = f"{self.cfg.base}/".encode()
        share = f"$share/{self.cfg.group}/" if self.cfg.group else ""
        b = self.cfg.base
        self.subs = [(f"{share}{b}/+/s", 0), (f"{share}{b}/+/c", 0), (f"{share}{b}/+/h", 1),
                     (f"{share}{b}/+/f", 1), (f"{b}/+/status", 1)]  # every worker: who left
        self.client_id = f"empathy-{self.cfg.screen}-host-{uuid.uuid4().hex[:8]}"
        self.taken = 0  # connections in a row the broker ended within TAKEN_S of taking them
        self.login = None
        try:
            self.login = hold_login(self.cfg)
        except BlockingIOError:
            log.warning("another host process logs in with %s now: on a broker that holds "
                        "one connection per user, as the shipped one does, each login takes "
                        "the other's place; give each host worker its own user: `empathy keys "
                        "new --broker-dir DIR --host-workers N`", login_of(self.cfg))
        try:
            self._session(connect_timeout_s)
        except (OSError, ValueError) as e:
            self._let_go()
            raise TransportError(f"{MqttUrl.redacted(url)}: cannot reach the MQTT broker: {e}") \
                from None
        self.thread = threading.Thread(target=self._run, name="mqtt-intake", daemon=True)
        self.thread.start()

    @property
    def queue_drops(self) -> int:
        return self.inbox.dropped

    # -- session ---------------------------------------------------------------------------
    def _connect_packet(self) -> bytes:
        flags, tail = 0x02, b""  # clean session
        if self.cfg.username:
            flags, tail = flags | 0x80, tail + _text(self.cfg.username)
        if self.cfg.password:
            flags, tail = flags | 0x40, tail + _text(self.cfg.password)
        props = b"\x00" if self.v5 else b""
        return _packet(0x10, _text("MQTT") + bytes([5 if self.v5 else 4, flags])
                       + self.cfg.keepalive.to_bytes(2, "big") + props
                       + _text(self.client_id) + tail)

    def _session(self, timeout_s: float) -> None:
        """Connect, subscribe, and wait for the broker to confirm both."""
        raw = socket.create_connection((self.cfg.host, self.cfg.port), timeout_s)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        try:
            sock = self.ctx.wrap_socket(raw, server_hostname=self.cfg.host) if self.ctx else raw
        except OSError:
            raw.close()
            raise
        self.sock, self.buf, self.skip = sock, bytearray(), 0
        self.received: set[bytes] = set()  # QoS 2 packet ids delivered, not yet released
        props = b"\x00" if self.v5 else b""
        sock.sendall(self._connect_packet())
        sock.sendall(_packet(0x82, b"\x00\x01" + props + b"".join(
            _text(t) + bytes([q]) for t, q in self.subs)))
        acked = set()
        end = time.monotonic() + timeout_s
        while acked != {2, 9}:
            if time.monotonic() > end:
                sock.close()
                raise OSError("broker did not confirm the connection and subscriptions")
            data = sock.recv(65536)
            if not data:
                sock.close()
                raise OSError("broker closed the connection (refused the credentials?)")
            for typ, body in self._feed(data):
                if typ == 2 and len(body) > 1 and body[1] != 0:
                    sock.close()
                    raise OSError(f"broker refused the connection: "
                                  f"{_REFUSALS.get(body[1], f'code {body[1]}')}")
                if typ == 9 and any(c >= 0x80 for c in body[3 if self.v5 else 2:]):
                    sock.close()
                    raise OSError("broker refused a subscription (not authorized to read?)")
                acked.add(typ)
        self.since = time.monotonic()
        sock.settimeout(5.0)  # a TLS record half-arrived never holds the lock for longer

    def _run(self) -> None:
        ping_every = max(0.5, self.cfg.keepalive / 2)
        next_ping = time.monotonic() + ping_every
        while self.running:
            try:
                sock = self.sock
                pending = sock.pending() if self.ctx else 0  # TLS: decrypted, not yet read
                if pending or select.select([sock], [], [], 0.2)[0]:
                    with self.lock:
                        data = sock.recv(1 << 20)
                    if not data:
                        raise OSError("broker closed the connection")
                    self._feed(data)  # PINGRESP and the like: being alive is all they say
                if time.monotonic() >= next_ping:
                    self._write(b"\xc0\x00")
                    next_ping = time.monotonic() + ping_every
            except (OSError, ValueError) as e:
                if not self.running:
                    return
                self.sock.close()
                self._reconnect(e)

    def _reconnect(self, why: Exception) -> None:
        """Until the broker takes us again (it restarted, the network blinked, it refuses
        us for now): the loss, each new reason a try fails and the return, one line each."""
        where, lost_at, said = f"{self.cfg.host}:{self.cfg.port}", time.monotonic(), ""
        log.warning("lost the MQTT broker at %s (%s): reconnecting every second", where, why)
        self.taken = self.taken + 1 if lost_at - self.since < TAKEN_S else 0
        if self.taken == TAKEN_SAID and self.cfg.username:
            log.error("MQTT broker at %s ended this connection %d times in a row within %g s "
                      "of taking it: another client logs in as %r and takes its place (a "
                      "listener that names connections by user, as the shipped one does); "
                      "host workers sharing a screen (group=) need a broker user each: "
                      "`empathy keys new --broker-dir DIR --host-workers N`", where,
                      self.taken, TAKEN_S, self.cfg.username)
        while self.running:
            time.sleep(1.0)
            try:
                self._session(5.0)
            except (OSError, ValueError) as e:
                if not self.running:  # closed mid-try (its socket closed under it): no news
                    return
                if str(e) != said:
                    said = str(e)
                    log.warning("MQTT broker at %s: %s (still trying)", where, said)
                continue
            log.info("MQTT broker at %s back after %.1f s", where, time.monotonic() - lost_at)
            return

    def _write(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def _feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self.skip:  # the tail of an oversized message: never buffered
            cut = min(self.skip, len(data))
            self.skip -= cut
            data = data[cut:]
        self.buf += data
        return self._parse()

    def _parse(self) -> list[tuple[int, bytes]]:
        """Slice complete packets off the buffer: payloads to the inbox, others returned."""
        buf, n, i = self.buf, len(self.buf), 0
        payloads, others, acks = [], [], []
        while i < n:
            j, length, shift = i + 1, 0, 0
            while j < n and buf[j] & 0x80:
                length |= (buf[j] & 0x7F) << shift
                j, shift = j + 1, shift + 7
                if shift > 21:
                    raise ValueError("malformed MQTT length")  # the stream is lost: reconnect
            if j >= n:
                break
            length |= buf[j] << shift
            j += 1
            header, end = buf[i], j + length
            if length > MAX_PACKET:
                self.rejected["oversized"] += 1
                self.skip, i = max(0, end - n), min(end, n)
                continue
            if end > n:
                break
            i = end
            if header & 0xF6 == 0x36:  # QoS 3: no such thing (MQTT 3.1.1 3.3.1-4, 5: 3.3.1-4)
                raise ValueError("the broker sent a PUBLISH with QoS 3, a protocol violation")
            if header == 0x62 and length >= 2:  # PUBREL: a QoS 2 message's last word
                self.received.discard(bytes(buf[j:j + 2]))
                acks.append(_packet(0x70, bytes(buf[j:j + 2])))  # PUBCOMP
                continue
            if header >> 4 != 3:
                others.append((header >> 4, bytes(buf[j:i])))
                continue
            try:
                self._publish(header, buf, j, i, payloads, acks)
            except (IndexError, ValueError):
                self.rejected["malformed"] += 1
        del buf[:i]
        if acks:
            self._write(b"".join(acks))
        if payloads:
            self.inbox.put_many(payloads)
        return others

    def _publish(self, header: int, buf: bytearray, j: int, end: int, payloads: list,
                 acks: list) -> None:
        """One PUBLISH in buf[j:end]: its payload to `payloads` if its topic allows."""
        t_end = j + 2 + ((buf[j] << 8) | buf[j + 1])
        qos = (header >> 1) & 3
        k = t_end + (2 if qos else 0)  # QoS 1 and 2: a packet id follows the topic
        if k > end:
            raise ValueError("PUBLISH shorter than its topic")
        pid = bytes(buf[t_end:k])
        if qos == 1:
            acks.append(_packet(0x40, pid))  # PUBACK
        elif qos == 2:  # we subscribe at 1 at most, but a broker may still send 2: PUBREC,
            acks.append(_packet(0x50, pid))  # and once only until its PUBREL (3.1.1 4.3.3)
            if pid in self.received:
                return
            self.received.add(pid)
        if self.v5:
            plen, shift = 0, 0
            while buf[k] & 0x80 and shift < 21:  # a varint has at most 4 bytes
                plen |= (buf[k] & 0x7F) << shift
                k, shift = k + 1, shift + 7
            k += 1 + (plen | buf[k] << shift)
        if k > end:
            raise ValueError("PUBLISH shorter than its properties")
        topic = bytes(buf[j + 2:t_end])
        unit_txt, _, leaf = topic[len(self.prefix):].partition(b"/")
        if not (topic.startswith(self.prefix) and unit_txt.isdigit() and len(unit_txt) <= 5
                and int(unit_txt) <= 0xFFFF):
            self.rejected["bad_topic"] += 1
            return
        if leaf in _PACKET_LEAVES:
            payload = bytes(buf[k:end])
            # The broker's ACL says who may publish under u/N/: the packet must claim N.
            if len(payload) >= 3 and wire.unit_of(payload) != int(unit_txt):
                self.rejected["topic_mismatch"] += 1
            else:
                payloads.append(payload)
        elif leaf == b"status":  # its tag is checked by the intake, which holds the keys
            payload = bytes(buf[k:end])
            try:
                claim = wire.peek_status(payload)
            except wire.WireError:  # plain words, a packet of another kind, cut or padded
                claim = None
            if claim is None or claim.screen != self.cfg.screen:
                self.rejected["bad_status"] += 1
            elif claim.unit_id != int(unit_txt):
                self.rejected["topic_mismatch"] += 1
            elif len(self.gone) >= MAX_STATUS:  # a flood: each costs the intake an HMAC
                self.rejected["status_flood"] += 1
            else:
                self.gone.append(payload)
        else:
            self.rejected["bad_topic"] += 1

    # -- the receiver protocol ---------------------------------------------------------
    def recv_batch(self, timeout_s: float = 0.05, limit: int = 4096) -> list[bytes]:
        return self.inbox.take(timeout_s, limit)

    def reply(self, unit_id: int, packet: bytes, origin: int | None = None) -> None:
        """To the unit's own downlink topic (the broker's ACL lets only unit N read it)."""
        body = _text(f"{self.cfg.base}/{unit_id}/d") + (b"\x00" if self.v5 else b"") + packet
        try:
            self._write(_packet(0x30, body))
        except OSError:
            pass  # reconnecting: the unit asks again in half a second

    def take_gone(self) -> list[bytes]:
        """Status messages from the units' topics (a last will, a clean goodbye, an
        online), unverified: `Intake.check_health(gone)` checks them."""
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
        self._let_go()

    def _let_go(self) -> None:
        if self.login is not None:
            self.login.close()
            self.login = None
