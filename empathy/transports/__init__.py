"""Transports carry wire packets between edge units and the host. One folder, one shape.

`open_sender(url, unit_id)` on the edge, `open_receiver(url)` on the host. Both directions:

    Sender:   send(packet) -> bool    recv_batch(timeout_s) -> host's replies   close()
              (False: the packet was not handed to the network; `problem` says why;
              UDP's `pin(i)`: the last batch's packet i was an authentic reply)
    Receiver: recv_batch(timeout_s) -> list of packets
              reply(unit_id, packet, origin) -> to where that batch's packet `origin` came from
              take_gone() -> status messages the transport itself carried (MQTT: a unit's
              last will, goodbye or online; unverified: the intake checks them)  close()

URLs: ``udp://HOST:PORT`` (kiosks, small rooms), ``mqtts://USER@HOST:PORT/SCREEN?...``
(cinemas, through a broker, authenticated and encrypted; ``mqtt://`` on a trusted link),
``serial:///dev/ttyUSB0?baud=921600`` (a unit cabled to the host).
A sender whose host is ``auto`` (``udp://auto``) finds the host by mDNS (`discovery`).
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit, urlunsplit

# URL scheme -> the module that carries it (as pyserial's URL handlers): each module has
# `Sender(url, unit_id, status_key, epochs)` and `Receiver(url)`, the shapes above.
SCHEMES = {"udp": "empathy.transports.udp", "mqtt": "empathy.transports.mqtt",
           "mqtts": "empathy.transports.mqtt", "serial": "empathy.transports.serial"}


class TransportError(RuntimeError):
    pass


def _module_name(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        what = f"unknown transport {scheme!r}" if scheme else "no transport scheme"
        raise TransportError(f"{url!r}: {what} (known: "
                             f"{', '.join(s + '://' for s in sorted(SCHEMES))})")
    return SCHEMES[scheme]


def redacted(url: str) -> str:
    """The URL without a password, for messages, logs and reports."""
    u = urlsplit(url)
    if u.password is None:
        return url
    return url.replace(f":{u.password}@", ":***@", 1)


def check_url(url: str) -> None:
    """Config check: a transport URL with a known scheme and a real port (ValueError)."""
    from empathy.config import url_port

    try:
        _module_name(url)
    except TransportError as e:
        raise ValueError(str(e)) from None
    url_port(url)
    host = urlsplit(url).hostname
    if host and not _host_name(host):
        raise ValueError(f"{redacted(url)!r}: {host!r} is no host name or address (letters, "
                         "digits, '-' and '_' between dots): no resolver will find it")


def _host_name(host: str) -> bool:
    """An address, or a name a resolver could answer (RFC 1123 labels; '_' as /etc/hosts
    allows it; non-ASCII as IDNA encodes it): 'empathy host', 'a..lan' never resolve."""
    import ipaddress
    import re

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode()
    except UnicodeError:
        return False
    return len(name) <= 253 and all(
        re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", label)
        for label in name.removesuffix(".").split("."))


def open_sender(url: str, unit_id: int = 0, status_key=None, epochs=None,
                host_key: bytes = b""):
    """`status_key`, `epochs`: callables that let a unit tag its online/offline status where
    the transport carries one (MQTT, empathy/transports/mqtt.py); the others have none.
    `host_key`: the host's public cue key, which an `auto` host's announcement is signed by."""
    module = _module_name(url)  # first: an unknown scheme is not looked for on the LAN
    u = urlsplit(url)
    if u.hostname == "auto":  # the announced host and port; our own user, screen and options
        from empathy.discovery import find_host

        found = urlsplit(find_host(u.scheme, host_key))
        user = u.netloc.rpartition("@")[0]
        url = urlunsplit((u.scheme, (user + "@" if user else "") + found.netloc,
                          u.path or found.path, u.query, ""))
    return importlib.import_module(module).Sender(url, unit_id, status_key, epochs)


def open_receiver(url: str):
    return importlib.import_module(_module_name(url)).Receiver(url)
