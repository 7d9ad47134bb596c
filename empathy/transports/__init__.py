"""Transports carry wire packets edge -> host. One folder, one shape per member.

`open_sender(url)` on the edge, `open_receiver(url)` on the host. URLs:
``udp://HOST:PORT``. (MQTT and serial links join here with the same two classes.)
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

SCHEMES = {"udp": "empathy.transports.udp"}


class TransportError(RuntimeError):
    pass


def _module(url: str):
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise TransportError(f"{url}: unknown transport {scheme!r} (known: {', '.join(SCHEMES)})")
    return importlib.import_module(SCHEMES[scheme])


def open_sender(url: str):
    return _module(url).Sender(url)


def open_receiver(url: str):
    return _module(url).Receiver(url)
