"""A BlueZ-shaped private bus with simulated heart-rate straps, for tests and demos.

It starts a private `dbus-daemon` as the system bus (DBUS_SYSTEM_BUS_ADDRESS, inherited by
child processes), runs python-dbusmock's `bluez5` template on it, and adds what that
template lacks: straps with correctly typed Device1 properties, a `Connect` that resolves
services, and the GATT objects of the Heart Rate (0x180D) and Battery (0x180F) services.
Notifications are `Value` property changes, exactly as BlueZ sends them, so a real bleak
client, through our driver, sees what it would see from a real strap.

A strap added with `rr=False` sends its own bpm only, no RR intervals (a watch broadcasting
heart rate, an optical armband, a cheap strap), computed the device's way (sim/hr_device.py),
and `off_skin` says what it sends once off the body. Every strap's HR field is that figure.

A strap added with `pmd=True` is a Polar H10: it also has Polar's measurement-data service
(sensors/ble/pmd.py), whose control point answers start/stop requests by indication, and
while ECG (or ACC) streams it notifies frames of the wearer's ECG (its wearer a
`sim://...&ecg=1`, whose ECG is made as the heart beats: sim/ecg.py, 130 Hz; 73 samples a
frame, sent once its last sample is measured: sim/ecg.py's H10Frames) stamped with their
last sample's time on the strap's own clock in ns since 2000, as Polar's SDK reads them
(polar-ble-sdk: PolarEcgData, technical_documentation/TimeSystemExplained.md).

    with BluezSim() as bz:
        strap = bz.add_strap("C0:FF:EE:00:00:01", "Polar H10 1")
        strap.notify(hrs.measurement_encode(72, [850], contact=True))
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from typing import Optional

import dbus
import numpy as np
from dbusmock.testcase import BusType, PrivateDBus, SpawnedMock
from empathy.sensors.base import Beat, Health, Waveform
from empathy.sensors.ble import pmd
from empathy.sensors.firmware import hrs
from empathy.clock import now_us
from empathy.edge.watcher import guard, release
from empathy.sim.ecg import H10Frames
from empathy.sim.hr_device import HrDevice

DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
DESC = "org.bluez.GattDescriptor1"
RADIO = "org.empathy.SimRadio"  # ours: whether the strap is in range (not part of BlueZ)
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
MOCK = "org.freedesktop.DBus.Mock"
ADAPTER = "hci0"
ADVERTISE_S = 0.25


def uuid16(n: int) -> str:
    return f"0000{n:04x}-0000-1000-8000-00805f9b34fb"


# Device1.Connect as BlueZ does it for a strap in range: connected, then services resolved.
CONNECT = f"""
if not self.props['{RADIO}']['InRange']:
    raise dbus.exceptions.DBusException('Host is down (112)', name='org.bluez.Error.Failed')
self.UpdateProperties('{DEVICE}', {{'Connected': dbus.Boolean(True)}})
self.UpdateProperties('{DEVICE}', {{'ServicesResolved': dbus.Boolean(True)}})
"""
DISCONNECT = f"""
self.UpdateProperties('{DEVICE}', {{'ServicesResolved': dbus.Boolean(False),
                                   'Connected': dbus.Boolean(False)}})
"""
READ_VALUE = "ret = self.props[self.interface]['Value']"
WRITE_VALUE = "self.UpdateProperties(self.interface, {'Value': dbus.Array(args[0], signature='y')})"
NOTIFY_ON = f"self.UpdateProperties('{CHAR}', {{'Notifying': dbus.Boolean(True)}})"
NOTIFY_OFF = f"self.UpdateProperties('{CHAR}', {{'Notifying': dbus.Boolean(False)}})"


# The PMD control point, as the H10 answers it: start/stop of ECG and ACC by indication.
PMD_OFFERED = (pmd.ECG, pmd.ACC)
PMD_READ = f"ret = dbus.Array({list(pmd.features_encode(PMD_OFFERED))}, signature='y')"
PMD_WRITE = f"""
req = bytes(args[0])
op, kind = req[0], (req[1] if len(req) > 1 else 255)
on = set(self.props['{RADIO}']['Streaming'])
if op == {pmd.START}:
    status = 3 if kind not in {PMD_OFFERED} else (6 if kind in on else 0)
    on.add(kind) if status == 0 else None
elif op == {pmd.STOP}:
    status = 0 if kind in on else 12
    on.discard(kind)
else:
    status = 1
self.UpdateProperties('{RADIO}', {{'Streaming': dbus.Array(sorted(on), signature='y')}})
self.UpdateProperties('{CHAR}', {{'Value': dbus.Array([{pmd.RESPONSE}, op, kind, status, 0],
                                                   signature='y')}})
"""
STRAP_EPOCH_NS = 7 * 365 * 86400 * 10**9  # the strap's clock: its own, years from ours


def _bytes(b: bytes) -> dbus.Array:
    return dbus.Array([dbus.Byte(x) for x in b], signature="y")


class SimStrap:
    """One strap on the simulated bus. `notify()` sends a 0x2A37 value when subscribed."""

    def __init__(self, sim: "BluezSim", address: str, name: str, location: Optional[int],
                 battery: Optional[int], pmd_service: bool = False, rr: bool = True,
                 off_skin: str = "contact"):
        self.sim, self.address, self.name = sim, address, name
        self.rr = rr  # False: its own bpm only (see the module docstring)
        self.device = HrDevice(off_skin)
        self.path = f"/org/bluez/{ADAPTER}/dev_{address.replace(':', '_').upper()}"
        self.hrm = f"{self.path}/service000a/char000b"
        self.battery_char = (None if battery is None  # (no battery service: many watches)
                             else f"{self.path}/service0010/char0011")
        self.notified = 0
        self.in_range = True
        self.viewer = None  # a sim:// source when worn (see BluezSim.wear)
        self.contact = True  # skin contact, as the strap reports it
        self._rr_1024: list[int] = []
        self.pmd = pmd_service
        self.pmd_cp = f"{self.path}/service0020/char0021"
        self.pmd_data = f"{self.path}/service0020/char0024"
        self.pmd_frames = 0
        self._frames: Optional[H10Frames] = None
        self._acc_rng: Optional[np.random.Generator] = None
        self._acc_next_us: Optional[int] = None
        dev = {
            "Address": dbus.String(address), "AddressType": dbus.String("public"),
            "Name": dbus.String(name), "Alias": dbus.String(name),
            "Appearance": dbus.UInt16(0x0341),  # heart rate belt
            "UUIDs": dbus.Array([uuid16(hrs.SERVICE)] + (
                [] if battery is None else [uuid16(hrs.BATTERY_SERVICE)]), signature="s"),
            "Paired": False, "Bonded": False, "Trusted": False, "Blocked": False,
            "LegacyPairing": False, "Connected": False, "ServicesResolved": False,
            "Adapter": dbus.ObjectPath(f"/org/bluez/{ADAPTER}"),
            "RSSI": dbus.Int16(-60), "TxPower": dbus.Int16(0),
            "ManufacturerData": dbus.Dictionary({}, signature="qv"),
            "ServiceData": dbus.Dictionary({}, signature="sv"),
            "AdvertisingFlags": dbus.Array([dbus.Byte(6)], signature="y"),
        }
        self._add(self.path, DEVICE, dev, [
            ("Connect", "", "", CONNECT), ("Disconnect", "", "", DISCONNECT),
            ("Pair", "", "", ""), ("CancelPairing", "", "", ""),
            ("ConnectProfile", "s", "", ""), ("DisconnectProfile", "s", "", "")],
            extra={RADIO: {"InRange": dbus.Boolean(True)}})
        self._service("service000a", hrs.SERVICE)
        self._char("service000a/char000b", hrs.MEASUREMENT, ["notify"], b"")
        self._desc("service000a/char000b/desc000d")
        if location is not None:  # Body Sensor Location is optional in the HR service
            self._char("service000a/char000e", hrs.BODY_LOCATION, ["read"], bytes((location,)))
        if battery is not None:
            self._service("service0010", hrs.BATTERY_SERVICE)
            self._char("service0010/char0011", hrs.BATTERY_LEVEL, ["read", "notify"],
                       bytes((battery,)))
            self._desc("service0010/char0011/desc0013")
        if pmd_service:
            self._service("service0020", pmd.SERVICE)
            self._char("service0020/char0021", pmd.CONTROL, ["read", "write", "indicate"],
                       b"", read=PMD_READ, write=PMD_WRITE,
                       extra={RADIO: {"Streaming": dbus.Array([], signature="y")}})
            self._desc("service0020/char0021/desc0023")
            self._char("service0020/char0024", pmd.DATA, ["notify"], b"")
            self._desc("service0020/char0024/desc0026")

    # -- building the object tree ---------------------------------------------------------
    def _add(self, path, iface, props, methods, extra=None):
        self.sim.mock.AddObject(path, iface, props, methods, dbus_interface=MOCK)
        obj = self.sim.bus.get_object("org.bluez", path)
        ifaces = dbus.Dictionary({iface: dbus.Dictionary(props, signature="sv")},
                                 signature="sa{sv}")
        for name, extra_props in (extra or {}).items():
            for k, v in extra_props.items():
                obj.AddProperty(name, k, v, dbus_interface=MOCK)
            ifaces[name] = dbus.Dictionary(extra_props, signature="sv")
        self.sim.root.EmitSignal(OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}",
                                 [dbus.ObjectPath(path), ifaces], dbus_interface=MOCK)

    def _service(self, rel, uuid):
        self._add(f"{self.path}/{rel}", SERVICE, {
            "UUID": uuid if isinstance(uuid, str) else uuid16(uuid),
            "Device": dbus.ObjectPath(self.path), "Primary": True,
            "Includes": dbus.Array([], signature="o")}, [])

    def _char(self, rel, uuid, flags, value, read=READ_VALUE, write=WRITE_VALUE, extra=None):
        path = f"{self.path}/{rel}"
        self._add(path, CHAR, {
            "UUID": uuid if isinstance(uuid, str) else uuid16(uuid),
            "Service": dbus.ObjectPath(path.rsplit("/", 1)[0]),
            "Value": _bytes(value), "Notifying": False, "MTU": dbus.UInt16(247),
            "Flags": dbus.Array(flags, signature="s")}, [
            ("ReadValue", "a{sv}", "ay", read), ("WriteValue", "aya{sv}", "", write),
            ("StartNotify", "", "", NOTIFY_ON), ("StopNotify", "", "", NOTIFY_OFF)], extra=extra)

    def _desc(self, rel):
        path = f"{self.path}/{rel}"
        self._add(path, DESC, {
            "UUID": uuid16(0x2902), "Characteristic": dbus.ObjectPath(path.rsplit("/", 1)[0]),
            "Value": _bytes(b"\x00\x00"), "Flags": dbus.Array(["read", "write"], signature="s")},
            [("ReadValue", "a{sv}", "ay", READ_VALUE), ("WriteValue", "aya{sv}", "", WRITE_VALUE)])

    # -- what a strap does ----------------------------------------------------------------------
    def _get(self, path, iface, name):
        with self.sim.lock:
            return self.sim.bus.get_object("org.bluez", path).Get(
                iface, name, dbus_interface=dbus.PROPERTIES_IFACE)

    def _update(self, path, iface, props):
        with self.sim.lock:
            self.sim.bus.get_object("org.bluez", path).UpdateProperties(iface, props,
                                                                       dbus_interface=MOCK)

    @property
    def connected(self) -> bool:
        return bool(self._get(self.path, DEVICE, "Connected"))

    @property
    def subscribed(self) -> bool:
        return self.connected and bool(self._get(self.hrm, CHAR, "Notifying"))

    def notify(self, value: bytes) -> bool:
        """Send one Heart Rate Measurement if a client is subscribed (like the radio would)."""
        if not self.subscribed:
            return False
        self._update(self.hrm, CHAR, {"Value": _bytes(value)})
        self.notified += 1
        return True

    def set_battery(self, pct: int) -> None:
        self._update(self.battery_char, CHAR, {"Value": _bytes(bytes((pct,)))})

    def advertise(self, rssi: int) -> None:
        """An advertisement heard while scanning: BlueZ updates RSSI on the device."""
        self._update(self.path, DEVICE, {"RSSI": dbus.Int16(rssi)})

    def streaming(self) -> set[int]:
        """PMD measurement types a subscribed client has started (none if not a PMD strap)."""
        if not self.pmd or not self.connected or not self._get(self.pmd_data, CHAR, "Notifying"):
            return set()
        return set(int(k) for k in self._get(self.pmd_cp, RADIO, "Streaming"))

    def pmd_due_us(self) -> Optional[float]:
        """When the next PMD frame goes out (None: nothing streams)."""
        due = (self._frames.send_us if self._frames else None, self._acc_next_us)
        return min((t for t in due if t is not None), default=None)

    def _pmd_tick(self, on: set[int]) -> None:
        """Start or stop measuring as the client asked, and notify the frames now due."""
        now = now_us()
        if pmd.ECG not in on:
            self._frames.stop()
        elif self._frames.start_us is None:  # started: its first sample is now's
            self._frames.start(now)
        for last_us, part in self._frames.due(now):
            self._notify_pmd(pmd.frame_encode(pmd.ECG, int(last_us * 1000) + STRAP_EPOCH_NS,
                                              part))
        if pmd.ACC not in on:
            self._acc_next_us = None
        elif self._acc_next_us is None or now >= self._acc_next_us:
            n, fs = 10, pmd.ACC_SETTINGS[pmd.SAMPLE_RATE]  # gravity and a little sway
            if self._acc_next_us is not None:  # (its first frame: one frame after the start)
                acc = np.tile([0.0, 0.0, 1000.0], (n, 1)) + self._acc_rng.normal(0, 8, (n, 3))
                self._notify_pmd(pmd.frame_encode(pmd.ACC, now * 1000 + STRAP_EPOCH_NS, acc))
            self._acc_next_us = now + int(n * 1e6 / fs)

    def _notify_pmd(self, value: bytes) -> None:
        self._update(self.pmd_data, CHAR, {"Value": _bytes(value)})
        self.pmd_frames += 1

    def wear_tick(self, notify_now: bool) -> None:
        if self._frames is None:
            seed = int(self.address.replace(":", ""), 16) % 2**32
            self._frames, self._acc_rng = H10Frames(seed), np.random.default_rng(seed)
        for r in self.viewer.read(timeout_s=0):
            if isinstance(r, Beat):
                self._rr_1024.append(round(r.rr_ms * 1.024))
                self.device.beat(r.ts_us / 1e6, r.rr_ms)
            elif isinstance(r, Waveform) and r.kind == "ecg":
                self._frames.measure(r.ts_us, r.samples)
            elif isinstance(r, Health):  # the wearer's strap slipped (or came back)
                self.contact = r.contact
        if self.pmd:
            self._pmd_tick(self.streaming())
        if notify_now:
            rr, self._rr_1024 = self._rr_1024, []
            hr, contact = self.device.tick(now_us() / 1e6, self.contact)
            if self.rr:
                self.notify(hrs.measurement_encode(hr, rr[-9:], contact=self.contact))
            else:
                self.notify(hrs.measurement_encode(hr, contact=contact))

    def leave(self) -> None:
        """Out of range (battery pulled, viewer walked off): the link drops, connects fail."""
        self.in_range = False
        self._update(self.path, RADIO, {"InRange": dbus.Boolean(False)})
        self._update(self.hrm, CHAR, {"Notifying": dbus.Boolean(False)})
        if self.battery_char is not None:
            self._update(self.battery_char, CHAR, {"Notifying": dbus.Boolean(False)})
        if self.connected:
            self._update(self.path, DEVICE, {"ServicesResolved": dbus.Boolean(False),
                                             "Connected": dbus.Boolean(False)})

    def come_back(self) -> None:
        self.in_range = True
        self._update(self.path, RADIO, {"InRange": dbus.Boolean(True)})


class BluezSim:
    """Private system bus + dbusmock BlueZ + straps. Use as a context manager."""

    def __init__(self, log_path: Optional[str] = None, lifeline=None):
        """lifeline: the demo's (edge/lifeline.py): the bus and its mock stop once the demo
        has gone, even killed (edge/watcher.py)."""
        self._env_before = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        self.private = PrivateDBus(BusType.SYSTEM)
        self.private.start()  # sets DBUS_SYSTEM_BUS_ADDRESS for us and our children
        self.address = self.private.address
        self._log = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.spawned = SpawnedMock.spawn_with_template("bluez5", {}, BusType.SYSTEM,
                                                       stdout=self._log)
        self._watcher = None if lifeline is None else guard(
            lifeline, [self.private.pid, self.spawned.process.pid], "the BLE seats' bus",
            self._log)
        self.bus = dbus.bus.BusConnection(self.address)
        self.mock = self.bus.get_object("org.bluez", "/org/bluez")
        self.root = self.bus.get_object("org.bluez", "/")
        self.root.AddAdapter(ADAPTER, "empathy-edge", dbus_interface="org.bluez.Mock")
        self.straps: list[SimStrap] = []
        self.lock = threading.RLock()  # one dbus-python connection, shared by strap threads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._radio, name="sim radio", daemon=True)
        self._thread.start()

    def add_strap(self, address: str, name: str, location: Optional[int] = 1,
                  battery: Optional[int] = 87, pmd: bool = False, rr: bool = True,
                  off_skin: str = "contact") -> SimStrap:
        """pmd: a Polar H10 with the measurement-data service (raw ECG, its wearer's: a
        `sim://...&ecg=1`, and ACC). rr=False:
        a device that sends its own bpm only; off_skin: what it sends off the body
        (sim/hr_device.py). battery None: no battery service."""
        with self.lock:
            s = SimStrap(self, address, name, location, battery, pmd, rr, off_skin)
        self.straps.append(s)
        return s

    def wear(self, strap: SimStrap, viewer) -> None:
        """Drive a strap from a simulated viewer (`sim://` source): once a second, while a
        client is subscribed, notify that second's RR intervals, like a chest strap."""
        strap.viewer = viewer

    def _radio(self) -> None:
        """What the straps send on air: advertisements while nobody is connected (BlueZ
        shows them as RSSI updates during discovery) and worn straps' notifications."""
        rng, last, tick_us = random.Random(0), 0.0, now_us() + ADVERTISE_S * 1e6
        while True:  # every ADVERTISE_S, and whenever a strap's PMD frame is due
            due = [s.pmd_due_us() for s in list(self.straps) if s.in_range and s.viewer]
            wake_us = min([tick_us] + [t for t in due if t is not None])
            if self._stop.wait(max(0.0, (wake_us - now_us()) / 1e6)):
                return
            now = now_us()
            tick = now >= tick_us
            tick_us = now + ADVERTISE_S * 1e6 if tick else tick_us
            beat_tick = tick and time.monotonic() - last >= 1.0
            last = time.monotonic() if beat_tick else last
            for strap in list(self.straps):
                try:
                    if not strap.in_range:
                        continue
                    if tick and not strap.connected:
                        strap.advertise(-55 - rng.randrange(20))
                    frame = strap.pmd_due_us()
                    if strap.viewer is not None and (tick or (frame is not None and now >= frame)):
                        strap.wear_tick(beat_tick)
                except dbus.exceptions.DBusException:
                    if not self._stop.is_set():
                        raise

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.spawned.terminate()
        self.private.stop()
        if self._watcher is not None:
            release(self._watcher)
        if self._env_before is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self._env_before
        if self._log is not subprocess.DEVNULL:
            self._log.close()

    def __enter__(self) -> "BluezSim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
