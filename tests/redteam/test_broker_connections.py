"""The shipped broker's connection cap: `max_connections` counts a listener's connections,
everyone's together, so it is sized to the room. One password holds one of them
(`use_username_as_clientid`: test_session23_broker.py)."""

import re
import threading

import paho.mqtt.client as mqtt

from empathy.broker_auth import HOST_USER, unit_user

from hardened import SHIPPED, HardenedBroker

ROOM_SEATS = 300  # the room the shipped config is sized for (its queue comment)


def test_the_shipped_cap_is_the_room_not_a_thousand():
    caps = re.findall(r"^max_connections (\d+)$", SHIPPED.read_text(), re.M)
    assert len(caps) == 1, caps
    # a unit per seat at most, plus the host's workers, doctor runs and reconnections
    assert ROOM_SEATS < int(caps[0]) <= ROOM_SEATS * 4 // 3, caps


def _connects(broker, user, clients, source: str = "", keepalive: int = 5,
              wait_s: float = 5.0) -> bool:
    """Whether `user` (from the address `source`) gets a CONNACK that accepts it within
    `wait_s`; the client stays connected."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, broker.creds[user].read_text().strip())
    c.tls_set(ca_certs=str(broker.pki["ca.crt"]))
    got, done = [], threading.Event()
    c.on_connect = lambda _c, _u, _f, rc, _p: (got.append(rc), done.set())
    try:
        c.connect("127.0.0.1", broker.port, keepalive, bind_address=source)
    except OSError:  # mosquitto (or the firewall) may close one over the cap before the handshake
        return False
    c.loop_start()
    clients.append(c)
    return done.wait(wait_s) and not got[0].is_failure


def test_the_shipped_cap_holds(tmp_path):
    broker = HardenedBroker(tmp_path / "broker", "cap", [1, 2, 3], max_connections=3)
    clients = []
    try:
        # the shipped config with only the cap lowered still starts and takes logins
        assert [_connects(broker, unit_user(u), clients) for u in (1, 2, 3)] == [True] * 3
        assert not _connects(broker, HOST_USER, clients)  # the 4th: over the cap
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()
        broker.stop()
