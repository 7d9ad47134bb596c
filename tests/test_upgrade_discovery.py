"""A `udp://auto` unit of this release against a host of the release before session 35:
that host's announcement, recorded (tests/data/compat/), said on the LAN again from port
5353 (real zeroconf on the unit's side, real multicast on the machine's LAN address)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from empathy.discovery import Announcement, find_host
from redteam.test_net34_discovery import Rogue  # (says a record on the LAN every 10 ms)

# real time: the unit listens SETTLE_S after the first signed announcement for a newer one
pytestmark = [pytest.mark.timeout(120), pytest.mark.realtime]
OLD = json.loads((Path(__file__).parent / "data" / "compat" / "f128ac6.json").read_text())


def test_a_newer_unit_finds_an_older_host_but_never_over_this_release_s(caplog):
    old = OLD["announcement"]
    public = bytes.fromhex(OLD["cue_public"])
    response = bytes.fromhex(old["response"])
    host = Rogue(lambda n: response)  # the older host, as the unit hears it
    try:
        with caplog.at_level(logging.WARNING, "empathy.discovery"):
            assert find_host("udp", public, 5.0, screen=OLD["screen"]) == old["url"]
        assert "announces as hosts before session 35 did" in caplog.text
        assert "update the host" in caplog.text
        # the same record, said beside a host of this release (the same key: the older
        # host's recording at its old address, replayed): the host's own, signed with its
        # time, wins, whichever the unit heard first
        new = Announcement("udp://0.0.0.0:47303", bytes.fromhex(OLD["cue_signing"]),
                           screen=OLD["screen"], v1=True)
        try:
            assert find_host("udp", public, 5.0, screen=OLD["screen"]).endswith(":47303")
        finally:
            new.close()
    finally:
        host.close()
