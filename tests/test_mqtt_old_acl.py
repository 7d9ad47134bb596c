"""A broker whose ACL was written before the seat faults' topic (`f`, kind 7) refuses a
unit's faults: the dashboard then shows none, and nothing said why. Over MQTT 5 (the
default) mosquitto acknowledges such a publish with "Not authorized": the unit now says so
in one rate-limited log line naming the topic and the fix, and counts it in its stats
(`uplink.refused_by_broker`). Over 3.1.1 mosquitto acknowledges success and drops it:
nothing can be seen (docs/link.md). Real mosquitto, the ACL `empathy keys` writes."""

from __future__ import annotations

import logging
import os
import time

import pytest

from empathy import broker_auth, wire
from empathy.transports.mqtt import LocalBroker, Sender
from empathy.transports.mqtt_broker import free_port

KEY = bytes(range(32))


def _broker(folder, acl: str):
    port = free_port()
    (folder / "passwd").write_text(f"unit1:{broker_auth.hash_password('pw')}\n")
    (folder / "acl").write_text(acl)
    return LocalBroker(folder, port=port, config=(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
        f"password_file {folder / 'passwd'}\nacl_file {folder / 'acl'}\n"
        # as root mosquitto drops to its own user, who cannot read a test's private folder
        + ("user root\n" if os.geteuid() == 0 else "")))


def _send_faults(b, version: str, n: int = 3) -> Sender:
    s = Sender(f"mqtt://unit1:pw@127.0.0.1:{b.port}/screen1?v={version}", unit_id=1)
    deadline = time.monotonic() + 30
    while not s.client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    for i in range(n):
        s.send(wire.encode_faults(wire.SeatFaults(1, i, 7, 1 << 3), KEY))  # unplugged
    s.send(wire.encode_health(wire.Health(1, n, 0), KEY))
    while s._leaf_of and time.monotonic() < deadline:  # every QoS 1 message acknowledged
        time.sleep(0.05)
    return s


@pytest.mark.parametrize("old", [True, False], ids=["acl_before_faults", "acl_now"])
def test_a_broker_acl_from_before_seat_faults_is_said_by_the_unit(tmp_path, caplog, old):
    acl = broker_auth.acl_text("screen1", [1])
    if old:  # as `empathy keys` wrote it before kind 7
        acl = acl.replace("topic write empathy/screen1/u/1/f\n", "")
    with _broker(tmp_path, acl) as b, caplog.at_level(logging.ERROR):
        s = _send_faults(b, "5")
        try:
            assert not s._leaf_of, "PUBACKs never came"
            if old:
                assert s.denied == {"f": 3}, s.denied  # the heartbeat is let through
                said = [r.getMessage() for r in caplog.records if "refuses" in r.getMessage()]
                assert len(said) == 1, said  # once, not every 5 s
                assert "empathy/screen1/u/1/f" in said[0] and "keys new --broker-dir" in said[0]
            else:
                assert s.denied == {}
        finally:
            s.close()


def test_over_mqtt_3_1_1_a_refused_publish_cannot_be_seen(tmp_path):
    acl = broker_auth.acl_text("screen1", [1]).replace("topic write empathy/screen1/u/1/f\n", "")
    with _broker(tmp_path, acl) as b:
        s = _send_faults(b, "3.1.1")
        try:
            assert s.denied == {}  # mosquitto acks success and drops: documented, not seen
        finally:
            s.close()
