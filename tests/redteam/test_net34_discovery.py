"""Red team, session 34: a `udp://auto` unit's search for its host (empathy.discovery),
against a rogue on the LAN sending mDNS responses from port 5353 (real zeroconf on both
sides, real multicast on the machine's LAN address).

Before: the unit took the first signed announcement that it could resolve, asking for
each announced name's details in turn. A recording of the host's own announcement at its
old address, replayed, sent the unit there though the host announced its new one; and
names announced without details held the search on the first of them until it ended."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time

import pytest
from zeroconf import DNSOutgoing, DNSPointer, DNSText
from zeroconf.const import _CLASS_IN, _FLAGS_AA, _FLAGS_QR_RESPONSE, _TYPE_PTR, _TYPE_TXT

from empathy.discovery import SERVICE, Announcement, _lan_address, find_host
from empathy.keys import Keystore

# real time: the unit listens SETTLE_S after the first signed announcement for a newer one
pytestmark = [pytest.mark.timeout(120), pytest.mark.realtime]
# this run's own screen: another run's announcements (a second suite on the machine) are
# another screen's, refused before any check
SCREEN = f"net34-{secrets.token_hex(4)}"


class Rogue:
    """Sends packet(n) for n = 0, 1, ... to the mDNS group from port 5353, one every
    10 ms, until closed."""

    def __init__(self, packet):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                             socket.inet_aton(_lan_address()))
        self.sock.bind(("", 5353))
        self.packet, self.sent, self.stop = packet, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.01):
            self.sock.sendto(self.packet(self.sent), ("224.0.0.251", 5353))
            self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def _response(*records) -> bytes:
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
    for r in records:
        out.add_answer_at_time(r, 0)
    return out.packets()[0]


def _recorded(url: str, keys: Keystore) -> bytes:
    """What the host said on the LAN announcing `url`, as a rogue keeps it."""
    ann = Announcement(url, keys.cue_signing, screen=SCREEN)
    info = ann.info
    ann.close()
    return _response(info.dns_pointer(), info.dns_service(), info.dns_text(),
                     *info.dns_addresses())


def test_a_replayed_announcement_of_the_old_address_loses_to_the_host_s_own(caplog):
    keys = Keystore.new([])
    old = _recorded("udp://0.0.0.0:47301", keys)  # the host, before its address changed
    rogue = Rogue(lambda n: old)
    host = Announcement("udp://0.0.0.0:47302", keys.cue_signing, screen=SCREEN)
    time.sleep(1.0)  # (a host says a record at most once a second: as one announcing for a while)
    try:
        with caplog.at_level(logging.DEBUG, logger="empathy.discovery"):
            found = find_host("udp", keys.public_cue_key(), 5.0, screen=SCREEN)
    finally:
        host.close()
        rogue.close()
    assert rogue.sent >= 20, rogue.sent  # (it replayed throughout)
    assert found.endswith(":47302"), (found, caplog.text)


def test_names_that_never_resolve_and_a_forged_flood_neither_hide_the_host(caplog):
    """Each packet a name announced with no details and the same forged announcement
    again. Before, the unit asked for each name's details in turn (100 ms each once its
    5 s were spent), and found its host after 51.5 s; now within its 5 s, the forgery
    checked once."""
    keys = Keystore.new([])
    items = (b"url=udp://10.9.9.9:47100", b"screen=" + SCREEN.encode(), b"at=9999999999999",
             b"sig=" + b"ab" * 64)
    forged = DNSText(f"rogue.{SERVICE}", _TYPE_TXT, _CLASS_IN | 0x8000, 4500,
                     b"".join(bytes([len(s)]) + s for s in items))
    rogue = Rogue(lambda n: _response(
        DNSPointer(SERVICE, _TYPE_PTR, _CLASS_IN, 4500, f"rogue-{n}.{SERVICE}"), forged))
    host = Announcement("udp://0.0.0.0:47303", keys.cue_signing, screen=SCREEN)
    time.sleep(1.0)
    try:
        with caplog.at_level(logging.DEBUG, logger="empathy.discovery"):
            began = time.monotonic()
            url = find_host("udp", keys.public_cue_key(), 5.0, screen=SCREEN)
            took = time.monotonic() - began
    finally:
        host.close()
        rogue.close()
    assert url.endswith(":47303"), url
    assert took < 20, took  # (its own limit 5 s; a margin for a loaded machine)
    said = [r.getMessage() for r in caplog.records if "records heard" in r.getMessage()]
    heard, _, checked = (int(w) for w in said[0].split() if w.isdigit())
    assert heard >= 20 and checked == 2, said  # the forgery and the host's
