"""Discovery: edge units find their host on the LAN by mDNS/DNS-SD (zeroconf).

The host announces one `_empathy._tcp.local.` service per screen, whose TXT record holds
the receiver URL (``udp://...``, ``mqtt://...``), the screen, and a signature over both by
the host's cue key (Ed25519, the key that signs screen cues; every unit's keystore holds
its public half). A unit configured with ``uplink = "udp://auto"`` (or ``mqtt://auto``)
takes the first announced URL of that scheme that its host signed. A configured address
always wins: discovery only runs for ``auto``.

mDNS is unauthenticated: anyone can announce. An unsigned or wrongly signed announcement
(a rogue, or a host older than the unit) drew a unit's packets to whoever announced first;
now it is skipped and named in one line. Left: someone who kept a genuine announcement can
announce it again after the host's address changed (the unit then sends to the old one).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from empathy import wire
from empathy.transports import TransportError

SERVICE = "_empathy._tcp.local."
# What the cue key signs here starts with a 0 byte, which no screen cue's header starts
# with: an announcement's signature is never a cue's, nor a cue's an announcement's.
CONTEXT = b"\0empathy announcement v1\0"
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


def _signed(url: str, screen: str) -> bytes:
    return CONTEXT + url.encode() + b"\0" + screen.encode()


class Announcement:
    """Says "a host for screen NAME receives at URL" on the LAN until closed, signed with
    `cue_key` (the host keystore's cue signing key)."""

    def __init__(self, url: str, cue_key: bytes, screen: str = "main", interfaces=None):
        u = urlsplit(url)
        host = u.hostname or ""
        if host in ("", "0.0.0.0"):
            host = _lan_address()
        # Where to reach us and nothing else: no user, no file paths from the query.
        self.url = urlunsplit((u.scheme, f"{host}:{u.port}" if u.port else host, u.path,
                               "", ""))
        self.screen, self._address = screen, socket.inet_aton(host)
        self.info = self._info(f"empathy-{screen}-{u.scheme}.{SERVICE}", cue_key)
        if not interfaces:
            _check_ours(host)
        self.zc = Zeroconf(interfaces=interfaces or [host], ip_version=IPVersion.V4Only)
        try:
            self.zc.register_service(self.info, allow_name_change=True)
        except BaseException:
            self.zc.close()
            raise

    def _info(self, name: str, cue_key: bytes) -> ServiceInfo:
        sig = wire.CueSigner(cue_key).sign(_signed(self.url, self.screen)).hex()
        return ServiceInfo(SERVICE, name, addresses=[self._address],
                           port=urlsplit(self.url).port or 0,
                           properties={"url": self.url, "screen": self.screen, "sig": sig},
                           server=f"empathy-{self.screen}.local.")

    def sign(self, cue_key: bytes) -> None:
        """Announce again, signed with a rotated cue key (units with the new keystore)."""
        self.info = self._info(self.info.name, cue_key)  # (the name mDNS let us have)
        self.zc.update_service(self.info)

    def close(self) -> None:
        self.zc.unregister_service(self.info)
        self.zc.close()


def find_host(scheme: str, host_key: bytes, timeout_s: float = 5.0, screen: str = "",
              interfaces=None) -> str:
    """The first announced receiver URL of this scheme (and screen, if given) signed by
    the host whose public cue key is `host_key`; those not signed by it are named."""
    if len(host_key) != wire.CUE_KEY_SIZE:
        raise TransportError("finding the host on the LAN needs its public cue key (a unit "
                             "keystore's cue_public_key) to check its announcement by")
    found: list[str] = []
    unsigned: list[str] = []  # what others announced, said once the search ends
    done = threading.Event()
    verifier = wire.CueVerifier(host_key)
    zc = Zeroconf(interfaces=interfaces or [_lan_address()], ip_version=IPVersion.V4Only)
    end = time.monotonic() + timeout_s

    def changed(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            return  # Updated too: a rogue that takes the host's very name changes its record
        # as long as the search has left: a busy unit or a lossy Wi-Fi answered too late for
        # a fixed 2 s, and the host's announcement, added once, was lost for good
        info = zeroconf.get_service_info(service_type, name,
                                         max(100, int((end - time.monotonic()) * 1000)))
        raw = info.properties if info else {}
        props = {k.decode(errors="replace"): (v or b"").decode(errors="replace")
                 for k, v in raw.items()}
        url, at = props.get("url", ""), props.get("screen", "")
        try:
            ok = urlsplit(url).scheme == scheme and urlsplit(url).port != 0
            sig = bytes.fromhex(props.get("sig", ""))
        except ValueError:  # an announcement is network input: a bad one is skipped
            ok, sig = False, b""
        if not ok or (screen and at != screen):
            return
        if len(sig) == wire.SIG_SIZE and verifier.verify(_signed(url, at), sig):
            found.append(url)
            done.set()
        elif len(unsigned) < 8 and repr(url[:80]) not in unsigned:
            unsigned.append(repr(url[:80]))

    try:
        browser = ServiceBrowser(zc, SERVICE, handlers=[changed])
        try:
            done.wait(timeout_s)
        finally:
            browser.cancel()
    finally:
        zc.close()
    others = (f"{len(unsigned)} announcement(s) not signed by this unit's host ignored "
              f"({', '.join(unsigned)}): a rogue on the LAN, or a host older than this unit"
              if unsigned else "")
    if not found:
        raise TransportError(f"no Empathy host announced a {scheme}:// receiver signed by "
                             f"this unit's host key within {timeout_s:g} s"
                             f"{'; ' + others if others else ''}; configure the host's "
                             "address instead of auto")
    if others:
        log.warning("discovery: %s; %s taken", others, found[0])
    return found[0]


def announce_if_lan(url: str, cue_key: bytes, screen: str = "main") -> Announcement | None:
    """Announce a receiver that listens beyond this machine; loopback and serial stay quiet."""
    u = urlsplit(url)
    if u.scheme == "serial" or (u.hostname or "").startswith("127.") or u.hostname == "localhost":
        return None
    try:
        return Announcement(url, cue_key, screen)
    except Exception as e:  # no multicast here: units must be told the address; the show goes on
        log.warning("cannot announce %s by mDNS (%s): configure units' uplink addresses", url, e)
        return None
