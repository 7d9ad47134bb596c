"""Which heart-rate straps are about: those advertising (a scan) and those BlueZ holds a
link to, which no longer advertise (`empathy sensors scan`, and the strap driver's
discovery, sensors/ble/strap.py)."""

from __future__ import annotations

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from dbus_fast import BusType, Message, MessageType, unpack_variants
from dbus_fast.aio import MessageBus

from empathy.sensors.firmware import hrs

HR_SERVICE = f"0000{hrs.SERVICE:04x}-0000-1000-8000-00805f9b34fb"
MEASUREMENT = f"0000{hrs.MEASUREMENT:04x}-0000-1000-8000-00805f9b34fb"
DEVICE_IFACE, CHAR_IFACE = "org.bluez.Device1", "org.bluez.GattCharacteristic1"


async def scan_straps(timeout_s: float = 5.0) -> list[dict]:
    """Straps advertising the Heart Rate service, strongest signal first (the nearest: an
    installer picks a seat's strap by holding it to the unit), then those BlueZ holds a
    link to that no longer advertise. `connected`: BlueZ holds a link (a Polar H10 still
    advertises then, for a second client); `read`: a client here reads it (a unit's strap;
    connected and unread is a link a dead unit left, which the driver takes)."""
    found = await BleakScanner.discover(timeout=timeout_s, return_adv=True,
                                        service_uuids=[HR_SERVICE])
    links = {d.address: (d, read) for d, read in await bluez_links()}
    heard = sorted(((d.address, a.local_name or d.name or "", a.rssi)
                    for d, a in found.values() if HR_SERVICE in a.service_uuids),
                   key=lambda s: -s[2])
    silent = [(a, d.name or "", None) for a, (d, _) in links.items()
              if a not in {h[0] for h in heard}]
    return [{"address": a, "name": name, "rssi": rssi, "connected": a in links,
             "read": links.get(a, (None, False))[1]} for a, name, rssi in heard + silent]


async def bluez_links() -> list[tuple[BLEDevice, bool]]:
    """Heart-rate straps BlueZ holds a link to now, each with whether a client on this host
    reads it (its Heart Rate Measurement notifying). BlueZ keeps a link whose client died
    (bluez/bluez#89) but ends a client's notifications when its bus name goes (src/gatt-
    client.c, notify_client_disconnect), so a dead unit's strap is connected and unread."""
    bus = MessageBus(bus_type=BusType.SYSTEM)
    try:
        await bus.connect()
        reply = await bus.call(Message(destination="org.bluez", path="/",
                                       interface="org.freedesktop.DBus.ObjectManager",
                                       member="GetManagedObjects"))
    finally:
        bus.disconnect()
    if reply.message_type == MessageType.ERROR:
        raise BleakError(f"BlueZ: {reply.error_name}")
    objects = unpack_variants(reply.body[0])
    read = {path.rsplit("/", 2)[0] for path, ifaces in objects.items()
            if ifaces.get(CHAR_IFACE, {}).get("UUID") == MEASUREMENT
            and ifaces[CHAR_IFACE].get("Notifying")}
    return [(BLEDevice(dev["Address"], dev.get("Alias"), {"path": path, "props": dev}),
             path in read)
            for path, dev in ((p, i.get(DEVICE_IFACE)) for p, i in objects.items())
            if dev and dev.get("Connected") and HR_SERVICE in dev.get("UUIDs", [])]
