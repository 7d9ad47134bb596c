"""Discovery: edge units find their host on the LAN by mDNS/DNS-SD (zeroconf).

The host announces one `_empathy._tcp.local.` service per screen, whose TXT record holds
the receiver URL (``udp://...``, ``mqtt://...``), the screen, when it was issued (the
host's wall clock, ms) and a signature over the three by the host's cue key (Ed25519, the
key that signs screen cues; every unit's keystore holds its public half). A unit
configured with ``uplink = "udp://auto"`` (or ``mqtt://auto``) takes the most recently
issued URL of that scheme that its host signed. A configured address always wins:
discovery only runs for ``auto``.

mDNS is unauthenticated: anyone can announce. An unsigned or wrongly signed announcement
(a rogue, or a host older than the unit) drew a unit's packets to whoever announced first;
now it is skipped and named in one line. A recorded announcement of the host's old address
(before a DHCP renewal, or of a host replaced by a spare), replayed, loses to the host's
own, issued later; it wins only where the host is not announcing at all.

A cinema updates its host and units over a night, not at once. Units from before session
35 check the v1 record (URL and screen, no issue time, signed in CONTEXT_V1) and take the
first their host signed; so a host also announces that record under a second name while
`announce_v1` is on (host config [show], default on), and a unit takes a v1 record its
host signed where no v2 is heard (an older host), ranked below every v2 record (a
recording of v1 loses to the host's own v2 as any older one does).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from zeroconf import (DNSQuestionType, IPVersion, RecordUpdateListener, ServiceBrowser,
                      ServiceInfo, Zeroconf)
from zeroconf.const import _TYPE_TXT

from empathy import wire
from empathy.transports import TransportError

SERVICE = "_empathy._tcp.local."
# What the cue key signs here starts with a 0 byte, which no screen cue's header starts
# with: an announcement's signature is never a cue's, nor a cue's an announcement's.
CONTEXT = b"\0empathy announcement v2\0"
CONTEXT_V1 = b"\0empathy announcement v1\0"  # (no issue time: hosts before session 35)
# After the first signed announcement, listened for a newer one this long: a host answers
# the unit's queries within ~0.1 s, or at its next query (~1 s) if it had just answered
# another's (a record is multicast at most once a second); 3 s: two of the unit's queries
SETTLE_S = 3.0
MAX_SEEN = 4096  # distinct announcement records remembered as checked
log = logging.getLogger("empathy.discovery")


def _lan_address() -> str:
    """The address this machine uses towards the LAN (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def _check_ours(host: str) -> None:
    """OSError unless `host` is an address of this machine: zeroconf opens its listening
    socket before it finds out, and leaves that socket open when it fails."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, 0))
        except OSError:
            raise OSError(f"{host} is not an address of this machine") from None


def _signed(url: str, screen: str, issued_ms: int) -> bytes:
    """What a v2 record's signature covers; issued_ms 0: a v1 record's (no time)."""
    if not issued_ms:
        return CONTEXT_V1 + url.encode() + b"\0" + screen.encode()
    return CONTEXT + url.encode() + b"\0" + screen.encode() + b"\0" + str(issued_ms).encode()


class Announcement:
    """Says "a host for screen NAME receives at URL" on the LAN until closed, signed with
    `cue_key` (the host keystore's cue signing key); `v1`: also as hosts before session 35
    did, for units not yet updated (module doc)."""

    def __init__(self, url: str, cue_key: bytes, screen: str = "main", interfaces=None,
                 v1: bool = False):
        u = urlsplit(url)
        host = u.hostname or ""
        if host in ("", "0.0.0.0"):
            host = _lan_address()
        # Where to reach us and nothing else: no user, no file paths from the query.
        self.url = urlunsplit((u.scheme, f"{host}:{u.port}" if u.port else host, u.path,
                               "", ""))
        self.screen, self._address = screen, socket.inet_aton(host)
        self.issued = 0  # ms, the wall clock's at the last signing
        self.info = self._info(f"empathy-{screen}-{u.scheme}.{SERVICE}", cue_key)
        self.info_v1 = (self._info(f"empathy-{screen}-{u.scheme}-v1.{SERVICE}", cue_key, v1=True)
                        if v1 else None)
        if not interfaces:
            _check_ours(host)
        self.zc = Zeroconf(interfaces=interfaces or [host], ip_version=IPVersion.V4Only)
        try:
            for info in self._infos():
                self.zc.register_service(info, allow_name_change=True)
        except BaseException:
            self.zc.close()
            raise

    def _infos(self) -> list[ServiceInfo]:
        return [self.info] + ([self.info_v1] if self.info_v1 else [])

    def _info(self, name: str, cue_key: bytes, v1: bool = False) -> ServiceInfo:
        props = {"url": self.url, "screen": self.screen}
        if not v1:
            # issued now (the wall clock, ms: a spare host or a new address announces later
            # than any recording of the old one, so units take it)
            self.issued = max(time.time_ns() // 1_000_000, self.issued + 1)
            props["at"] = str(self.issued)
        signed = _signed(self.url, self.screen, 0 if v1 else self.issued)
        props["sig"] = wire.CueSigner(cue_key).sign(signed).hex()
        return ServiceInfo(SERVICE, name, addresses=[self._address],
                           port=urlsplit(self.url).port or 0, properties=props,
                           server=f"empathy-{self.screen}.local.")

    def sign(self, cue_key: bytes) -> None:
        """Announce again, signed with a rotated cue key (units with the new keystore)."""
        # (the names mDNS let us have)
        self.info = self._info(self.info.name, cue_key)
        if self.info_v1:
            self.info_v1 = self._info(self.info_v1.name, cue_key, v1=True)
        for info in self._infos():
            self.zc.update_service(info)

    def close(self) -> None:
        for info in self._infos():
            self.zc.unregister_service(info)
        self.zc.close()


class _Heard(RecordUpdateListener):
    """Every TXT record of an `_empathy._tcp` instance that reaches the unit, as it comes
    (zeroconf's loop thread): each distinct one checked once, the newest signed kept.

    Records, not zeroconf's service callbacks: those asked for each name's details in
    turn, waiting for each, so a rogue announcing names it never answered for held the
    search on its first one until the search ended (the host's came after it); and a
    name's cache entry holds one TXT, which a replayed record of the host's own name took."""

    def __init__(self, scheme: str, screen: str, verifier):
        self.scheme, self.screen, self.verifier = scheme, screen, verifier
        self.best: tuple[int, str] | None = None  # (issued at, url) of the newest signed
        # (issued at 0: a v1 record, from a host older than this unit)
        self.seen: set[bytes] = set()
        self.heard = self.checked = 0
        self.unsigned: list[str] = []  # what others announced, said once the search ends
        self.found = threading.Event()

    def async_update_records(self, zc, now, records) -> None:
        for update in records:
            r = update.new
            if r.type == _TYPE_TXT and r.name.lower().endswith("." + SERVICE):
                self.heard += 1
                if r.text not in self.seen:  # (a record sent again costs a set lookup)
                    if len(self.seen) >= MAX_SEEN:
                        self.seen.clear()
                    self.seen.add(r.text)
                    self._check(_properties(r.text))

    def _check(self, props: dict) -> None:
        url, where = props.get("url", ""), props.get("screen", "")
        try:
            ok = urlsplit(url).scheme == self.scheme and urlsplit(url).port != 0
            sig = bytes.fromhex(props.get("sig", ""))
            issued = int(props["at"]) if "at" in props else 0  # none: a v1 record
        except ValueError:  # an announcement is network input: a bad one is skipped
            return
        if not ok or (self.screen and where != self.screen) or not 0 <= issued < 1 << 63 \
                or (issued == 0 and "at" in props):  # (a v2 record's time is never 0)
            return
        if self.best and issued <= self.best[0]:
            return  # no newer than what we hold: not worth a signature check
        self.checked += 1
        if len(sig) == wire.SIG_SIZE and self.verifier.verify(_signed(url, where, issued), sig):
            self.best = (issued, url)
            self.found.set()
        elif len(self.unsigned) < 8 and repr(url[:80]) not in self.unsigned:
            self.unsigned.append(repr(url[:80]))


def _properties(text: bytes) -> dict:
    """A TXT record's `key=value` strings (each one length byte, then the string)."""
    props, i = {}, 0
    while i < len(text):
        item = text[i + 1:i + 1 + text[i]]
        i += 1 + text[i]
        key, _, value = item.partition(b"=")
        props.setdefault(key.decode(errors="replace").lower(), value.decode(errors="replace"))
    return props


def find_host(scheme: str, host_key: bytes, timeout_s: float = 5.0, screen: str = "",
              interfaces=None) -> str:
    """The receiver URL of this scheme (and screen, if given) that the host whose public
    cue key is `host_key` announced most recently: once one signed announcement is heard,
    SETTLE_S more for a newer one (a recorded announcement of the host's old address,
    replayed, loses to the host's own); those not signed by it are named."""
    if len(host_key) != wire.CUE_KEY_SIZE:
        raise TransportError("finding the host on the LAN needs its public cue key (a unit "
                             "keystore's cue_public_key) to check its announcement by")
    heard = _Heard(scheme, screen, wire.CueVerifier(host_key))
    zc = Zeroconf(interfaces=interfaces or [_lan_address()], ip_version=IPVersion.V4Only)
    end = time.monotonic() + timeout_s
    try:
        zc.add_listener(heard, None)
        # (for its queries; QM: answers multicast, heard by every zeroconf on the machine,
        # where a unicast answer reached only one of those sharing port 5353)
        browser = ServiceBrowser(zc, SERVICE, handlers=[lambda **_: None],
                                 question_type=DNSQuestionType.QM)
        try:
            if heard.found.wait(timeout_s):
                time.sleep(max(0.0, min(end, time.monotonic() + SETTLE_S) - time.monotonic()))
        finally:
            browser.cancel()
    finally:
        zc.close()
    log.debug("discovery: %d announcement records heard, %d distinct, %d checked",
              heard.heard, len(heard.seen), heard.checked)
    others = (f"{len(heard.unsigned)} announcement(s) not signed by this unit's host ignored "
              f"({', '.join(heard.unsigned)}): a rogue on the LAN, or a host with another "
              "cue key, from before session 33 (unsigned: update it) or newer than this unit "
              "(its announce_v1 off)" if heard.unsigned else "")
    if heard.best is None:
        raise TransportError(f"no Empathy host announced a {scheme}:// receiver signed by "
                             f"this unit's host key within {timeout_s:g} s"
                             f"{'; ' + others if others else ''}; configure the host's "
                             "address instead of auto")
    if others:
        log.warning("discovery: %s; %s taken", others, heard.best[1])
    if heard.best[0] == 0:
        log.warning("discovery: the host at %s announces as hosts before session 35 did (no "
                    "issue time): update the host (docs/guide-cinema.md, Upgrading a cinema)",
                    heard.best[1])
    return heard.best[1]


def announce_if_lan(url: str, cue_key: bytes, screen: str = "main",
                    v1: bool = False) -> Announcement | None:
    """Announce a receiver that listens beyond this machine; loopback and serial stay quiet.
    `v1`: the v1 record too, for units older than this host."""
    u = urlsplit(url)
    if u.scheme == "serial" or (u.hostname or "").startswith("127.") or u.hostname == "localhost":
        return None
    try:
        return Announcement(url, cue_key, screen, v1=v1)
    except Exception as e:  # no multicast here: units must be told the address; the show goes on
        log.warning("cannot announce %s by mDNS (%s): configure units' uplink addresses", url, e)
        return None
