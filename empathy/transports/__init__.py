"""Transports carry wire packets between edge units and the host. One folder, one shape.

`open_sender(url, unit_id)` on the edge, `open_receiver(url)` on the host. Both directions:

    Sender:   send(packet) -> bool    recv_batch(timeout_s) -> host's replies   close()
              (False: the packet was not handed to the network; `problem` says why)
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

SCHEMES = {"udp": "empathy.transports.udp", "mqtt": "empathy.transports.mqtt",
           "mqtts": "empathy.transports.mqtt", "serial": "empathy.transports.serial"}


class TransportError(RuntimeError):
    pass


def check_url(url: str) -> None:
    """Config check: a transport URL with a known scheme and a real port (ValueError)."""
    from empathy.config import url_port

    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ValueError(f"{url!r}: unknown transport {scheme!r} (known: "
                         f"{', '.join(sorted(SCHEMES))})")
    url_port(url)


def _module(url: str):
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise TransportError(f"{url}: unknown transport {scheme!r} (known: {', '.join(SCHEMES)})")
    return importlib.import_module(SCHEMES[scheme])


def open_sender(url: str, unit_id: int = 0, status_key=None, epochs=None):
    """`status_key`, `epochs`: callables that let an MQTT unit tag its online/offline
    status (empathy/transports/mqtt.py); other transports have no status to tag."""
    u = urlsplit(url)
    if u.hostname == "auto":  # the announced host and port; our own user, screen and options
        from empathy.discovery import find_host

        found = urlsplit(find_host(u.scheme))
        user = u.netloc.rpartition("@")[0]
        url = urlunsplit((u.scheme, (user + "@" if user else "") + found.netloc,
                          u.path or found.path, u.query, ""))
    mod = _module(url)
    if status_key and mod.__name__.endswith(".mqtt"):
        return mod.Sender(url, unit_id, status_key, epochs)
    return mod.Sender(url, unit_id)


def open_receiver(url: str):
    return _module(url).Receiver(url)
