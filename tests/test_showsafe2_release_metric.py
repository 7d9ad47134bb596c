"""Prometheus says which release each unit runs, against the host's: a real `empathy host
run` heard from a unit of the release before session 35 (its recorded heartbeats,
tests/data/compat/), one of this release and one newer, scraped at /metrics as Prometheus
does (the operator token), parsed by prometheus_client's own parser."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from empathy import wire
from empathy.clock import now_us
from empathy.keys import Keystore
from redteam.redteam_rig import Host, free_udp_port, wait_for

pytestmark = [pytest.mark.timeout(180), pytest.mark.realtime]  # a live host
OLD = json.loads((Path(__file__).parent / "data" / "compat" / "f128ac6.json").read_text())
OLD_UNIT, SAME_UNIT, NEWER_UNIT, OFF_UNIT = OLD["unit"], 2, 3, 4


def _releases(host: Host) -> dict:
    status, _, body = host.request("/metrics")
    assert status == 200, body
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    fam = fams.get("empathy_unit_release_info")
    if fam is None:
        return {}
    assert fam.type == "gauge"
    return {int(s.labels["unit"]): (s.labels["release"], s.labels["vs_host"], s.value)
            for s in fam.samples}


def test_the_metrics_say_each_units_release_against_the_hosts(tmp_path):
    keys = Keystore({OLD_UNIT: bytes.fromhex(OLD["unit_key"]), SAME_UNIT: os.urandom(32),
                     NEWER_UNIT: os.urandom(32), OFF_UNIT: os.urandom(32)},
                    cue_signing=os.urandom(32))
    port = free_udp_port()
    host = Host(tmp_path, f"udp://127.0.0.1:{port}", keys).start()
    newer = (wire.RELEASE[0] + 1, 0, 0)
    try:
        packets = [bytes.fromhex(p) for p in OLD["udp"]
                   if wire.kind_of(bytes.fromhex(p)) == wire.KIND_HEALTH]
        for unit, release in ((SAME_UNIT, wire.RELEASE), (NEWER_UNIT, newer)):
            packets.append(wire.encode_health(wire.Health(unit, 1, now_us() & wire.TS_MASK,
                                                          release), keys.units[unit]))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for p in packets:
                tx.sendto(p, ("127.0.0.1", port))
        got = wait_for(lambda: len(r := _releases(host)) == 3 and r, 60,
                       "three units' releases in /metrics")
        text = ".".join(map(str, wire.RELEASE))
        assert got == {OLD_UNIT: ("0.1.0", "older", 1.0), SAME_UNIT: (text, "same", 1.0),
                       NEWER_UNIT: (".".join(map(str, newer)), "newer", 1.0)}  # OFF: unheard
    finally:
        host.stop()
