"""Red team, session 23: a stolen seat unit's broker password against the shipped broker.

mosquitto counts connections per listener, not per user: with the shipped config a unit's
password could hold every place of `max_connections` (400), shutting out the other units
and the host until it was revoked. Each test runs the shipped config on a real mosquitto."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from empathy.broker_auth import HOST_USER, unit_user
from empathy.keys import Keystore
from empathy.transports import open_sender

from hardened import HardenedBroker
from redteam_rig import Host, Unit, wait_for

THIEF_TRIES = 20


class Login:
    """One MQTT v5 client logged in with `user`'s password (a random client id, as a thief
    would choose); `up` while the broker holds its connection."""

    def __init__(self, broker, user: str, client_id: str = ""):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5)
        self.c.username_pw_set(user, broker.creds[user].read_text().strip())
        self.c.tls_set(ca_certs=str(broker.pki["ca.crt"]))
        self.c.reconnect_delay_set(60, 60)  # a kicked login stays out: we count who holds
        self.accepted, self.kicked = threading.Event(), []
        self.c.on_connect = lambda _c, _u, _f, rc, _p: rc.is_failure or self.accepted.set()
        self.c.on_disconnect = lambda _c, _u, _f, rc, _p: self.kicked.append(str(rc))
        self.c.connect("127.0.0.1", broker.port, 30)
        self.c.loop_start()

    @property
    def up(self) -> bool:
        return self.c.is_connected()

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_a_stolen_unit_password_holds_one_connection_not_the_broker_s_cap(tmp_path):
    """Before: unit 1's password held all 20 connections it opened (and would have held the
    shipped cap's 400). Now the broker names each connection by its user
    (`use_username_as_clientid`), so a second login with the password takes the first one's
    place: the thief holds one connection at a time, and unit 2 and the host still get in."""
    broker = HardenedBroker(tmp_path / "broker", "red23", [1, 2])
    logins = []
    try:
        for _ in range(THIEF_TRIES):
            logins.append(Login(broker, unit_user(1)))
            assert logins[-1].accepted.wait(5), "the broker did not accept the password"
        # the broker's word to the ones it closed: settled, or 10 s (1 s was a guess that a
        # loaded machine's client threads need not keep)
        end = time.monotonic() + 10
        while time.monotonic() < end and not (sum(x.up for x in logins) == 1
                                              and all(x.kicked for x in logins[:-1])):
            time.sleep(0.05)
        held = sum(x.up for x in logins)
        assert held == 1, f"one stolen password holds {held} connections"
        assert logins[-1].up  # the newest login is the one held
        assert all(x.kicked for x in logins[:-1])  # mosquitto 2.0 closes them without a word
        others = [Login(broker, unit_user(2)), Login(broker, HOST_USER)]
        logins += others
        assert all(x.accepted.wait(5) for x in others)
    finally:
        for x in logins:
            x.close()
        broker.stop()


def test_a_thief_knocking_its_unit_off_is_named_by_the_host(tmp_path):
    """With one connection per user, a thief holding a unit's password can only knock that
    unit off, again and again (the unit logs in again within a second and knocks the thief
    off in turn). Before, the host said nothing of it (it heard a unit with gaps); now the
    unit's fourth login within a minute is a `unit_logins` health event naming the unit,
    said once a minute, and the unit is heard again when the thief stops."""
    keys = Keystore.new([1, 2])
    broker = HardenedBroker(tmp_path / "broker", "red23", [1, 2])
    host = Host(tmp_path, broker.user_url(HOST_USER, keepalive=2), keys).start()
    epochs = iter(range(1, 1000))
    tx = open_sender(broker.user_url(unit_user(1), keepalive=2), 1, lambda: keys.units[1],
                     lambda: next(epochs))
    unit = Unit(1, [1, 2], keys.units[1], tx.send).start()
    fresh = lambda s: s["seats"] and all(x["age_s"] < 0.5 for x in s["seats"])  # noqa: E731
    try:
        host.wait_state(fresh, 30, "unit 1 heard")
        assert "unit_logins" not in host.log()
        for _ in range(5):
            thief = Login(broker, unit_user(1))
            assert thief.accepted.wait(5)
            wait_for(lambda: tx.client.is_connected() and not thief.up, 10,
                     "unit 1 back in the thief's place")
            thief.close()
        said = wait_for(lambda: [ln for ln in host.log().splitlines() if "unit_logins" in ln],
                        10, "the host naming the unit's logins")
        assert len(said) == 1 and "'unit': 1," in said[0], said
        host.wait_state(fresh, 5, "unit 1 heard after the thief stopped")
    finally:
        unit.stop()
        tx.close()
        host.stop()
        broker.stop()
