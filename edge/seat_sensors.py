"""Which sources could read one body: two seats of an edge unit (EdgeConfig.validate, when
its config is loaded) or a calibration's device and reference (`calibrate hr`), checked
before any sensor is opened."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit


def shared_sensor(sources: list[str]) -> str:
    """Why two of a unit's seats could read one body ('' if none can): one strap or board
    named twice (a link to a serial device is that device), or a strap by name
    (`ble://?name=`: the first heard whose name starts so) where another seat's strap could
    be the same one. A Polar H10 takes two connections: two seats of `ble://?name=Polar`
    both read the first strap heard (tests/redteam/test_ops21.py)."""
    held: dict[str, str] = {}  # sensor -> the first url naming it
    named: list[tuple[str, str]] = []  # (name prefix, url)
    for url in sources:
        parts = urlsplit(url)
        if parts.scheme == "ble" and not parts.netloc:
            name = parse_qs(parts.query).get("name", [""])[-1]
            other = next((u for n, u in named if n.startswith(name) or name.startswith(n)),
                         next((u for k, u in held.items() if k.startswith("ble:")), None))
            named.append((name, url))
        elif parts.scheme in ("ble", "serial") and "://" not in url[len("serial://"):]:
            key = (f"ble:{parts.netloc.upper()}" if parts.scheme == "ble"
                   else f"serial:{os.path.realpath(parts.path)}")
            other = held.get(key) or (named[0][1] if parts.scheme == "ble" and named else None)
            held.setdefault(key, url)
        else:
            continue
        if other:
            return (f"{other!r} and {url!r} can read one sensor: one body read twice (name "
                    f"a strap by its address: `empathy sensors scan` lists them)")
    return ""
