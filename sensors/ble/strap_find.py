"""Finding a strap for `ble://`: by its address, or by name, and swapping one found by name.

By name it is the one strap whose name starts with `name` heard over scan_s; more than one
heard, none is read and the driver says so as `Health`, "give the address". A strap BlueZ
still holds a link to is taken as it is, unless by name and another client here reads it.
One found by name, silent and unconnectable over swap_s, is searched for by name again;
another strap answering is said as `Health(new_wearer=True)` (sensors/ble/strap.py).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Optional

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from empathy.clock import now_us
from empathy.sensors.base import Health
from empathy.sensors.ble.links import bluez_links

if TYPE_CHECKING:
    from empathy.sensors.ble.strap import BleSource

log = logging.getLogger("empathy.sensors.ble")

# a strap found by name, silent and unconnectable this long, is searched for again by name.
# Long enough that a strap out of range a while (a visitor stepping out, who is a new visitor
# to a kiosk's seat after 10 s anyway: deploy/kiosk-pi5) is not lost to a neighbour's
# unit on another host, whose strap advertises its second slot unread here; short enough
# that a kiosk whose strap died reads the next one within about two minutes, not never
SWAP_S = 120.0
SWAP_MIN_S, SWAP_MAX_S = 1.0, 3600.0


async def find_strap(src: BleSource) -> Optional[BLEDevice]:
    """The strap `src` reads, by its address or by name (in the BLE loop)."""
    if src.address:
        for d, _ in await bluez_links():
            if d.address.upper() == src.address:
                return d  # connected already: bleak takes the link as it is
        return await BleakScanner.find_device_by_address(src.address, timeout=src.scan_s)
    heard = await BleakScanner.discover(timeout=src.scan_s, return_adv=True)
    named = {d.address: d for d, a in heard.values()
             if (a.local_name or d.name or "").startswith(src.name)}
    for d, read in await bluez_links():
        if read:  # another unit (or seat) here reads it
            named.pop(d.address, None)
        elif (d.name or "").startswith(src.name):  # a dead unit's link: it is silent
            named[d.address] = d
    if len(named) > 1:
        fault = (f"{len(named)} straps named {src.name!r} ({', '.join(sorted(named))}): "
                 f"give the address (empathy sensors scan)")
        src._q.put(Health(now_us(), src.sensor, contact=False, fault=fault))
        if fault != src._ambiguous:  # the operator's to fix: said once, not each scan
            log.warning("strap name ambiguous", extra={"url": src.url, "error": fault})
        src._ambiguous = fault
        raise BleakError(fault)
    src._ambiguous = ""
    return next(iter(named.values()), None)


def swap_due(src: BleSource) -> bool:
    """The strap found by name has been silent and unconnectable over swap_s."""
    return not src.address and time.monotonic() - src._heard > src.swap_s


def say_swapped(src: BleSource, device: BLEDevice) -> None:
    """Connected after a search by name again: say so if another strap answered."""
    (old, since), src._gone = src._gone, None
    if device.address == old:
        return  # it came back: the same visitor's
    fault = (f"strap {old} gone for {time.monotonic() - since:.0f} s: "
             f"now reading {device.address}")
    log.warning("strap swapped: %s", fault, extra={"url": src.url})
    src._q.put(Health(now_us(), src.sensor, contact=False, fault=fault, new_wearer=True))
