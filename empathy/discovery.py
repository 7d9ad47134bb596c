"""Discovery: edge units find their host on the LAN by mDNS/DNS-SD (zeroconf).

The host announces one `_empathy._tcp.local.` service per screen, whose TXT record holds
the receiver URL (``udp://...``, ``mqtt://...``). A unit configured with ``uplink =
"udp://auto"`` (or ``mqtt://auto``) takes the first announced URL of that scheme. A
configured address always wins: discovery only runs for ``auto``.

mDNS is unauthenticated: a rogue announcer can only attract packets, not forge them (every
packet is tagged with the unit's key and the host verifies every reply), but it can starve
the real host; a cinema with hostile LANs configures addresses instead.
"""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from empathy.transports import TransportError

SERVICE = "_empathy._tcp.local."
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


class Announcement:
    """Says "a host for screen NAME receives at URL" on the LAN until closed."""

    def __init__(self, url: str, screen: str = "main", interfaces=None):
        u = urlsplit(url)
        host = u.hostname or ""
        if host in ("", "0.0.0.0"):
            host = _lan_address()
        # Where to reach us and nothing else: no user, no file paths from the query.
        self.url = urlunsplit((u.scheme, f"{host}:{u.port}" if u.port else host, u.path,
                               "", ""))
        self.info = ServiceInfo(SERVICE, f"empathy-{screen}-{u.scheme}.{SERVICE}",
                                addresses=[socket.inet_aton(host)], port=u.port or 0,
                                properties={"url": self.url, "screen": screen},
                                server=f"empathy-{screen}.local.")
        if not interfaces:
            _check_ours(host)
        self.zc = Zeroconf(interfaces=interfaces or [host], ip_version=IPVersion.V4Only)
        try:
            self.zc.register_service(self.info, allow_name_change=True)
        except BaseException:
            self.zc.close()
            raise

    def close(self) -> None:
        self.zc.unregister_service(self.info)
        self.zc.close()


def find_host(scheme: str, timeout_s: float = 5.0, screen: str = "", interfaces=None) -> str:
    """The first announced receiver URL of this scheme (and screen, if given)."""
    found: list[str] = []
    done = threading.Event()
    zc = Zeroconf(interfaces=interfaces or [_lan_address()], ip_version=IPVersion.V4Only)

    def changed(zeroconf, service_type, name, state_change):
        if state_change is not ServiceStateChange.Added:
            return
        info = zeroconf.get_service_info(service_type, name, 2000)
        raw = info.properties if info else {}
        props = {k.decode(errors="replace"): (v or b"").decode(errors="replace")
                 for k, v in raw.items()}
        url = props.get("url", "")
        try:
            ok = urlsplit(url).scheme == scheme and urlsplit(url).port != 0
        except ValueError:  # an announcement is network input: a bad one is skipped
            ok = False
        if ok and (not screen or props.get("screen") == screen):
            found.append(url)
            done.set()

    try:
        browser = ServiceBrowser(zc, SERVICE, handlers=[changed])
        try:
            done.wait(timeout_s)
        finally:
            browser.cancel()
    finally:
        zc.close()
    if not found:
        raise TransportError(f"no Empathy host announced a {scheme}:// receiver on the LAN "
                             f"within {timeout_s:g} s; configure the host's address instead "
                             "of auto")
    return found[0]


def announce_if_lan(url: str, screen: str = "main") -> Announcement | None:
    """Announce a receiver that listens beyond this machine; loopback and serial stay quiet."""
    u = urlsplit(url)
    if u.scheme == "serial" or (u.hostname or "").startswith("127.") or u.hostname == "localhost":
        return None
    try:
        return Announcement(url, screen)
    except Exception as e:  # no multicast here: units must be told the address; the show goes on
        log.warning("cannot announce %s by mDNS (%s): configure units' uplink addresses", url, e)
        return None
