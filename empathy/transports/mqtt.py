"""MQTT through a broker (mosquitto, EMQX): for cinemas. One topic tree per screen::

    empathy/<screen>/u/<unit>/s       samples             QoS 0 (perishable, 10 Hz)
    empathy/<screen>/u/<unit>/h       heartbeats          QoS 1
    empathy/<screen>/u/<unit>/c       clock-sync requests QoS 0 (a redelivered one is stale)
    empathy/<screen>/u/<unit>/f       seats' faults       QoS 1, not retained (below)
    empathy/<screen>/u/<unit>/d       host -> unit        QoS 0 (clock-sync replies)
    empathy/<screen>/u/<unit>/status  online, or the last will offline      QoS 1, retained
                                      (`wire.Status`, tagged with the unit's key)

Seats' faults (`wire.SeatFaults`) are not retained: a topic retains one message, and a
unit's several seats share its topic, so the retained one would be one seat's; and after
the unit died it would still name a fault long cleared. The unit repeats a seat's faults
every `wire.RESEND_S` while any is set, so a host that subscribes late learns them.

URL: ``mqtt[s]://[USER[:PASSWORD]@]HOST:PORT/SCREEN?v=5&group=G&keepalive=2``, plus for
an authenticated, encrypted link (the cinema default, see deploy/cinema/mosquitto.conf):

    mqtts://          TLS (port 8883 by default), the broker's certificate checked
    ca=FILE           the CA that signed the broker's certificate (else the system's)
    cert=FILE&key=FILE  a client certificate, where the broker asks for one
    password_file=FILE  the password, read from a 0600 file instead of the URL

``v`` is the protocol (3.1.1 or 5); ``group`` makes the host's subscriptions shared
(``$share/G/...``), so several host workers split one screen's load; ``keepalive``
bounds how long the broker takes to notice a unit that vanished without a word
(1.5 x keepalive) and publish its last will.

Everything the host takes from the broker is checked where it enters: a message longer
than `MAX_PACKET` is skipped unread, a malformed one is dropped, a packet whose claimed
unit is not the unit in its topic is refused (so the broker's per-unit ACL binds the
wire identity too), a status topic's unit must be a unit id; all are counted in
`Receiver.rejected`. The inbox between the network thread and the show is bounded
(`queue_drops`). Status messages go to the host's intake, which checks their tag and
connection epoch (`bad_status`, `stale_status`): on an open broker nobody but the unit
can say it left.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import paho.mqtt.client as mqtt

from empathy import wire
from empathy.log import RateLimited
from empathy.transports import TransportError
from empathy.transports.mqtt_host import Receiver  # noqa: F401 (the host's side)
from empathy.transports.mqtt_login import hold_login, login_of
from empathy.transports.mqtt_url import Inbox, MqttUrl, log

_ROUTE = {wire.KIND_SAMPLE: ("s", 0), wire.KIND_HEALTH: ("h", 1), wire.KIND_SYNC: ("c", 0),
          wire.KIND_FAULTS: ("f", 1)}


class Sender:
    """`status_key()` (the unit's current key) and `epochs()` (a number from the unit's
    persisted sequence, newer at each call, over restarts too) tag its status messages;
    without them the unit publishes no status and the host notices it leave by silence."""

    def __init__(self, url: str, unit_id: int = 0,
                 status_key: Optional[Callable[[], bytes]] = None,
                 epochs: Optional[Callable[[], int]] = None):
        self.url, self.cfg, self.unit = url, MqttUrl(url), unit_id
        base = f"{self.cfg.base}/{unit_id}"
        self.topics = {leaf: f"{base}/{leaf}" for leaf, _ in _ROUTE.values()}
        self.status = f"{base}/status"
        self.inbox = Inbox(limit=1024)  # the host's replies; a flood of them cannot grow it
        self.refused = 0  # connections the broker refused (credentials, ACL)
        # QoS 1 messages the broker acknowledged with a refusal, by topic leaf: over MQTT 5
        # its ACL says "Not authorized" (an ACL written before a leaf existed: the seat
        # faults' `f`); over 3.1.1 mosquitto drops them and acknowledges success, unseen
        self.denied: dict[str, int] = {}
        self._leaf_of: dict[int, str] = {}  # message id -> leaf, awaiting its PUBACK
        self._say = RateLimited(log, burst=3)
        self._say_denied = RateLimited(log, burst=1, period_s=600.0)  # (every 5 s otherwise)
        self._key, self._epochs = (status_key, epochs) if status_key and epochs else (None, None)
        if self._key and not 0 < len(self.cfg.screen.encode()) <= wire.STATUS_MAX_SCREEN:
            raise TransportError(f"{MqttUrl.redacted(url)}: the screen name is longer than "
                                 f"{wire.STATUS_MAX_SCREEN} bytes (a unit's status carries it)")
        try:  # held as the host holds its own: `empathy doctor` leaves a running unit alone
            self.login = hold_login(self.cfg)
        except BlockingIOError:
            self.login = None
            log.warning("another process logs in with %s now: on a broker that holds one "
                        "connection per user, as the shipped one does, each login takes the "
                        "other's place (two configs with one unit_id?)", login_of(self.cfg))
        c = self.client = self.cfg.client(f"unit{unit_id}")
        self._arm()

        broker = f"the broker at {self.cfg.host}:{self.cfg.port}"
        self.problem = f"not connected yet to {broker}"
        self.reached = False  # the broker accepted us at least once

        def connected(client, _u, _f, rc, _p):
            if rc.is_failure:
                self.refused += 1
                self.problem = f"{broker} refused the connection: {rc}"
                self._say(logging.ERROR, "broker %s:%d refused unit %d: %s",
                          self.cfg.host, self.cfg.port, unit_id, rc)
                return
            self.reached, self.problem = True, ""  # a past loss is no longer the news
            client.subscribe(f"{base}/d", 0)
            self._say_status(True)

        def lost(_c, _u, *_rest):
            self.problem = f"lost {broker}"
            self._arm()  # the next connection's will, made before paho reconnects

        def unreachable(_c, _u):
            self.problem = f"cannot reach {broker}"

        c.on_connect = connected
        c.on_disconnect, c.on_connect_fail = lost, unreachable
        c.on_message = lambda _c, _u, msg: self.inbox.put_many([msg.payload])
        c.on_publish = self._acked
        # Heartbeats (QoS 1) wait in paho's queue while the broker is away: keep it bounded.
        c.max_queued_messages_set(64)
        # Asynchronous: a unit that boots before the broker keeps trying, like a real one.
        c.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive)
        c.loop_start()

    def _word(self, online: bool) -> bytes:
        return wire.encode_status(wire.Status(self.unit, self.epoch, online, self.cfg.screen),
                                  self._key())

    def _arm(self) -> None:
        """A new connection epoch; its will is fixed now, as the broker keeps it from
        CONNECT on, so a will from an earlier connection can never pass for this one's."""
        if self._key:
            self.epoch = self._epochs() & wire.SEQ_MASK
            self.client.will_set(self.status, self._word(False), qos=1, retain=True)

    def _say_status(self, online: bool):
        if self._key:
            return self.client.publish(self.status, self._word(online), qos=1, retain=True)

    def _acked(self, _c, _u, mid: int, reason, _props) -> None:
        """A QoS 1 message's PUBACK (paho's network thread; no lock of ours is taken here:
        paho calls this holding its own, which `publish` takes too)."""
        leaf = self._leaf_of.pop(mid, None) or "status"  # (acked before send() noted it)
        if not reason.is_failure:
            return
        self.denied[leaf] = self.denied.get(leaf, 0) + 1
        self._say_denied(logging.ERROR, "the broker refuses unit %d's messages on %s: %s "
                         "(its ACL predates this unit's software? write it again: `empathy "
                         "keys new --broker-dir DIR UNITS`, docs/link.md)", self.unit,
                         self.topics.get(leaf, self.status), reason,
                         extra={"uplink_denied": leaf})

    def send(self, packet: bytes) -> bool:
        """False when the broker is not connected (a QoS 1 heartbeat then waits in the
        bounded queue, but has not left) or refused the publish."""
        leaf, qos = _ROUTE.get(wire.kind_of(packet), ("s", 0))  # packet kind -> topic, QoS
        up = self.client.is_connected()
        info = self.client.publish(self.topics[leaf], packet, qos)
        rc = info.rc
        if qos and rc == mqtt.MQTT_ERR_SUCCESS:
            if len(self._leaf_of) > 256:  # ids of messages a lost connection never acked
                for mid in list(self._leaf_of)[:128]:  # (a copy: the acks pop meanwhile)
                    self._leaf_of.pop(mid, None)
            self._leaf_of[info.mid] = leaf
        if rc != mqtt.MQTT_ERR_SUCCESS and up:
            self.problem = f"publish failed: {mqtt.error_string(rc)}"
        return up and rc == mqtt.MQTT_ERR_SUCCESS

    def recv_batch(self, timeout_s: float = 0.05, limit: int = 64) -> list[bytes]:
        return self.inbox.take(timeout_s, limit)

    def close(self) -> None:
        """A clean exit says "offline" itself (a clean disconnect suppresses the will)."""
        if self.client.is_connected() and self._key:
            self._say_status(False).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        if self.login is not None:
            self.login.close()


# Tests, benches and the demo start their private brokers from here.
from empathy.transports.mqtt_broker import LocalBroker  # noqa: E402,F401
