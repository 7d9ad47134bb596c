"""`ble://AA:BB:CC:DD:EE:FF` or `ble://?name=Polar`: a Bluetooth heart-rate strap via bleak.

The driver connects by address, or by name (sensors/ble/strap_find.py: the one strap whose
name starts with `name` heard over scan_s, nearest first in `empathy sensors scan`; one
found by name and silent for `swap_s`, a dead battery, is searched for again, and another
strap found is said as `Health(new_wearer=True)`: the seat takes a new viewer).
It then reads Body Sensor Location (0x2A38) and Battery Level (0x2A19), subscribes to Heart
Rate Measurement (0x2A37) and turns every notification into readings: one `Beat` per RR
interval and one `HeartRate` with the strap's own bpm and energy (a device that sends no RR
intervals, a watch or an optical armband, gives that alone: the seat reads it then,
edge/device_hr.py). Each connection first names the strap as a `Device` (a restarted
unit's seat takes its viewer back only from theirs). Contact changes and battery come out
as `Health`. When the strap drops out it reconnects on its own, with
backoff, and says so as `Health(fault="disconnected")` meanwhile.

`ecg=1` (and `acc=1`): a Polar H10's raw ECG (130 Hz, µV) and accelerometer (25 Hz, mG)
over its measurement-data service (sensors/ble/pmd.py), as `Waveform` readings (kinds
"ecg" and "acc", the magnitude): the edge then finds the R-peaks itself (edge/heart.py)
instead of taking the strap's RR intervals, which are left out while the ECG streams. A
strap without that service says so as `Health` and gives its RR intervals as usual. The
strap's clock (ns since 2000) is mapped onto ours by the least-delayed frame.

All straps of a process share one asyncio loop in a background thread (bleak's BlueZ
backend keeps one D-Bus manager per loop). Query: name, scan_s (default 10),
retry_max_s (longest wait between reconnects, default 2: a strap back in range is read
again within 5 s), swap_s (by name only: default 120, 1-3600), ecg, acc.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Optional
from urllib.parse import urlsplit

from bleak import BleakClient
from bleak.exc import BleakError

import numpy as np

from empathy.clock import now_us
from empathy.log import RateLimited
from empathy.sensors.base import (NO_SKIN, STRAP_GONE, Device, Health, HeartRate, Reading,
                                  SourceError, Waveform, drain)
from empathy.sensors.ble import pmd
from empathy.sensors.ble.beats import beats_from
from empathy.sensors.ble.budget import TimeBudget
from empathy.sensors.ble.links import MEASUREMENT
from empathy.sensors.ble.strap_find import (SWAP_MAX_S, SWAP_MIN_S, SWAP_S, find_strap,
                                            say_swapped, swap_due)
from empathy.sensors.firmware import hrs
from empathy.sensors.serial.board import BoardClock

log = logging.getLogger("empathy.sensors.ble")

BODY_LOCATION = f"0000{hrs.BODY_LOCATION:04x}-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = f"0000{hrs.BATTERY_LEVEL:04x}-0000-1000-8000-00805f9b34fb"
# what a human heart can do: a strap's figure over it is a broken value, sent on as 0 bpm
# (the strap's own "no reading")
HR_MAX_BPM = 300
RETRY_MIN_S = 0.2
RETRY_MAX_S = 600.0  # a strap back in range waits at most this long to be read again
SCAN_MAX_S = 300.0

_loop: Optional[asyncio.AbstractEventLoop] = None
_loop_lock = threading.Lock()


def ble_loop() -> asyncio.AbstractEventLoop:
    """The process's one BLE event loop, started on first use."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="ble loop", daemon=True).start()
        return _loop


class _Stopped(Exception):
    """close() was called while the strap loop scanned or connected."""


class BleSource:
    """One heart-rate strap. See the module docstring for the URL."""

    names_device = True  # each connection says which strap it reads (`Device`)

    def __init__(self, url: str, query: dict, **_):
        self.url = url
        parts = urlsplit(url)
        self.address = parts.netloc.upper() or None
        self.name = query.get("name")
        if not self.address and not self.name:
            raise SourceError(f"{url}: give an address (ble://AA:BB:CC:DD:EE:FF) or ?name=")
        try:
            self.scan_s = float(query.get("scan_s", 10))
            self.retry_max_s = float(query.get("retry_max_s", 2))
            self.swap_s = float(query.get("swap_s", SWAP_S))
        except ValueError as e:
            raise SourceError(f"{url}: {e}") from None
        if self.address and "swap_s" in query:
            raise SourceError(f"{url}: swap_s is only for a strap found by name (?name=): "
                              f"a strap given by its address is never swapped")
        # typed by an operator: retry_max_s=0 retried with no wait (3.4 CPU-s in 8 s with the
        # strap away), scan_s=-1 never found it, scan_s=inf crashed the unit at start
        for key, v, lo, hi in (("scan_s", self.scan_s, 1.0, SCAN_MAX_S),
                               ("retry_max_s", self.retry_max_s, RETRY_MIN_S, RETRY_MAX_S),
                               ("swap_s", self.swap_s, SWAP_MIN_S, SWAP_MAX_S)):
            if not lo <= v <= hi:
                raise SourceError(f"{url}: {key}={v:g} is out of range: give {lo:g}-{hi:g} s")
        self.sensor = f"ble:{self.address or self.name}"
        self.pmd_kinds = {k: v for flag, k, v in (("ecg", pmd.ECG, pmd.ECG_SETTINGS),
                                                  ("acc", pmd.ACC, pmd.ACC_SETTINGS))
                          if query.get(flag, "0") not in ("0", "", "false")}
        self.pmd_active: set[int] = set()  # measurement types streaming now
        self.pmd_frames = 0
        self._pmd_clock = BoardClock()
        self._pmd_replies: Optional[asyncio.Queue] = None
        self.info: dict = {}  # location, battery_pct, name, address once connected
        self.notifications = 0
        self.rejected = 0  # notifications too short for their own flags
        self.reconnects = 0
        self._contact: Optional[bool] = None
        self._ambiguous = ""  # the last "N straps named so" said
        self._last_beat_us = 0
        self._refused = RateLimited(log)  # a device's bad values: a flood must not bury the log
        self._heard = time.monotonic()  # the strap's last session ended (or the search began)
        self._gone: Optional[tuple[str, float]] = None  # a strap given up on, and since when
        self._q: queue.Queue = queue.Queue()
        self._stop = asyncio.Event()  # set in the BLE loop by close()
        self._connected = asyncio.Event()
        self._task = asyncio.run_coroutine_threadsafe(self._run(), ble_loop())

    # -- connection life cycle (in the BLE loop) -----------------------------------------------
    async def _run(self) -> None:
        device, wait, first = None, RETRY_MIN_S, True
        while not self._stop.is_set():
            lost, client = asyncio.Event(), None
            try:
                if device is not None and swap_due(self):
                    self._gone = self._gone or (device.address, self._heard)
                    device = None  # search by name again
                if device is None and (device := await self._unless_stopped(find_strap(self))):
                    self._heard = time.monotonic()  # heard now, by scan or BlueZ's link
                if device is None:
                    raise BleakError("not found while scanning")
                client = BleakClient(device, disconnected_callback=lambda _: lost.set())
                await self._unless_stopped(client.connect())
            except _Stopped:
                if client is not None:
                    await self._disconnect(client)
                return
            except (BleakError, asyncio.TimeoutError, OSError) as e:
                if client is not None:
                    await self._disconnect(client)
                log.info("strap not reachable", extra={"url": self.url, "error": str(e),
                                                       "retry_s": wait})
                await self._sleep(wait)
                wait = min(self.retry_max_s, wait * 2)
                continue
            pause = 0.0
            try:
                await self._session(client, device, lost, first)
                first, wait = False, RETRY_MIN_S
            except _Stopped:  # in its first reads: hung up below
                pass
            except (BleakError, asyncio.TimeoutError, OSError) as e:
                log.warning("strap session failed", extra={"url": self.url, "error": str(e)})
                # backs off, hung up: one refusing to notify (pairing wanted) had 2,464 in 10 s
                pause, wait = wait, min(self.retry_max_s, wait * 2)
            except Exception:  # a bug of ours must not end the seat's heart rate for good
                log.exception("strap session crashed", extra={"url": self.url})
                await self._sleep(wait)
            finally:
                await self._disconnect(client)
                self._heard = time.monotonic()
            if not self._stop.is_set():
                self._contact = False  # (as the seat now holds it: see _on_measurement)
                self._q.put(Health(now_us(), self.sensor, contact=False, fault=STRAP_GONE))
                log.warning("strap dropped out", extra={"url": self.url})
            await self._sleep(pause)

    async def _unless_stopped(self, aw):
        """`aw`'s result; once close() is called, a scan, a connect or the connection's first
        reads under way are called off (bleak stops the discovery, or cancels the pending
        connect or read), not waited out: a unit told to stop mid-scan waited for scan_s
        (10 s by default), its demo with it."""
        job, stop = asyncio.ensure_future(aw), asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([job, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not job.done():
                job.cancel()
                await asyncio.wait([job])  # its own clean-up (StopDiscovery, Disconnect)
        if job.cancelled():
            raise _Stopped
        return job.result()

    async def _sleep(self, s: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), s)
        except asyncio.TimeoutError:
            pass

    async def _disconnect(self, client: BleakClient) -> None:
        """Hang up and release the client's own D-Bus connection, also after the strap
        dropped out or a connect failed: bleak (since hbldh/bleak#1923) closes it only in
        disconnect(), so skipping that left one socket per drop open, until the daemon's
        per-user limit (256) refuses every connection, and its end-of-file error
        unretrieved."""
        try:
            await client.disconnect()
        except Exception as e:  # BlueZ or the bus went away (restart, shutdown), or bleak
            # failed on its way out: said, never fatal (the strap loop must go on retrying;
            # bleak says a failed disconnect may leave the strap held, so scans miss it)
            log.info("strap hang-up failed", extra={"url": self.url, "error": repr(e)})

    async def _session(self, client: BleakClient, device, lost: asyncio.Event, first: bool):
        if self._gone:
            say_swapped(self, device)
        self._q.put(Device(now_us(), self.sensor, f"ble:{device.address.upper()}"))
        self._budget = TimeBudget(now_us())  # this session's intervals and samples
        self.info = {"address": device.address, "name": device.name or "", "location": ""}
        # called off by close() too: a strap slow to answer its reads, or one that never
        # answers the ECG start (5 s a measurement type), held a stop for 10 s
        await self._unless_stopped(self._first_reads(client))
        if not first:
            self.reconnects += 1
        self._connected.set()
        log.info("strap connected", extra={"url": self.url, "strap": self.info})
        waits = [asyncio.ensure_future(lost.wait()), asyncio.ensure_future(self._stop.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
        self._connected.clear()
        self.pmd_active = set()

    async def _first_reads(self, client: BleakClient) -> None:
        if client.services.get_characteristic(BODY_LOCATION) is not None:  # optional in HRS
            loc = (await client.read_gatt_char(BODY_LOCATION))[:1]
            self.info["location"] = (hrs.LOCATIONS[loc[0]] if loc and loc[0] < len(hrs.LOCATIONS)
                                     else "other")
        await self._battery(client)
        await client.start_notify(MEASUREMENT, self._on_measurement)
        if self.pmd_kinds:
            await self._pmd_start(client)

    async def _pmd_start(self, client: BleakClient) -> None:
        """Start ECG/ACC streaming; a strap without the service keeps its RR intervals."""
        if client.services.get_characteristic(pmd.CONTROL) is None:
            self._q.put(Health(now_us(), self.sensor, fault="no Polar measurement-data "
                               "service: the strap's RR intervals are used"))
            return
        offered = pmd.features_parse(bytes(await client.read_gatt_char(pmd.CONTROL)))
        self._pmd_replies = asyncio.Queue()
        self._pmd_clock.reset()
        await client.start_notify(pmd.CONTROL, lambda _c, v: self._pmd_replies.put_nowait(
            bytes(v)))
        await client.start_notify(pmd.DATA, self._on_pmd_data)
        for kind, settings in self.pmd_kinds.items():
            status = 3  # not supported
            if kind in offered:
                await client.write_gatt_char(pmd.CONTROL, pmd.start_request(kind, settings),
                                             response=True)
                status = await self._pmd_reply(pmd.START, kind)
            if status in (0, 6):  # started, or already streaming from before
                self.pmd_active.add(kind)
            else:
                self._q.put(Health(now_us(), self.sensor, fault=f"strap refused "
                                   f"{'ECG' if kind == pmd.ECG else 'ACC'} streaming: "
                                   f"{pmd.ERRORS.get(status, status)}"))
        log.info("PMD streaming", extra={"url": self.url, "types": sorted(self.pmd_active)})

    async def _pmd_reply(self, op: int, kind: int) -> int:
        """The status of the control point's answer to (op, kind); 12 (invalid state) if none."""
        try:
            while True:
                value = await asyncio.wait_for(self._pmd_replies.get(), 5.0)
                try:
                    got = pmd.response_parse(value)
                except ValueError:
                    self.rejected += 1
                    continue
                if got[:2] == (op, kind):
                    return got[2]
        except asyncio.TimeoutError:
            return 12

    def _on_pmd_data(self, _char, data: bytearray) -> None:
        t = now_us()
        try:
            f = pmd.frame_parse(bytes(data))
        except ValueError as e:
            self.rejected += 1
            self._refused(logging.WARNING, "bad PMD frame", extra={"url": self.url,
                                                                    "error": str(e)})
            return
        if f.kind not in self.pmd_active:
            return
        fs = float(self.pmd_kinds[f.kind][pmd.SAMPLE_RATE])
        if not self._budget.take(f.kind, [len(f.samples) / fs], t):  # (a flood)
            self.rejected += 1
            self._refused(logging.WARNING, "PMD samples past the time since connecting",
                          extra={"url": self.url, "kind": f.kind})
            return
        self.pmd_frames += 1
        last = self._pmd_clock.to_host(f.ts_ns // 1000, t)  # the frame's last sample
        first = int(last - (len(f.samples) - 1) * 1e6 / fs)
        if f.kind == pmd.ECG:
            self._q.put(Waveform(first, "ecg", fs, f.samples))
        else:
            self._q.put(Waveform(first, "acc", fs, np.linalg.norm(f.samples, axis=1)))

    async def _battery(self, client: BleakClient) -> None:
        char = client.services.get_characteristic(BATTERY_LEVEL)
        if char is None:
            return  # not every strap has a battery service
        self._on_battery(None, await client.read_gatt_char(char))
        if "notify" in char.properties:
            await client.start_notify(char, self._on_battery)

    def _on_battery(self, _char, value: bytearray) -> None:
        if len(value) != 1 or value[0] > 100:
            self.rejected += 1  # not a percentage: keep the last good one
            return
        pct = value[0]
        self.info["battery_pct"] = pct
        self._q.put(Health(now_us(), self.sensor, contact=self._contact is not False,
                           battery_pct=float(pct)))

    def _on_measurement(self, _char, data: bytearray) -> None:
        t = now_us()
        try:
            m = hrs.measurement_parse(bytes(data))
        except ValueError as e:
            self.rejected += 1
            self._refused(logging.WARNING, "bad heart rate measurement",
                          extra={"url": self.url, "error": str(e), "value": bytes(data).hex()})
            return
        self.notifications += 1
        # a change of contact, or the first notification since connecting: the drop said
        # contact=False ("disconnected"), and a device without a battery service (whose
        # read says it again) or without a contact bit said nothing after: the seat's
        # contact stayed off, its HR ended for the rest of the show
        if self._contact is False and m["contact"] is None or (
                m["contact"] is not None and m["contact"] != self._contact):
            self._contact = on = m["contact"] is not False
            self._q.put(Health(t, self.sensor, contact=on,
                               battery_pct=float(self.info.get("battery_pct", -1)),
                               fault="" if on else NO_SKIN))
        hr = m["hr_bpm"]
        if hr > HR_MAX_BPM:  # (0xFFFF: some devices' "no valid reading")
            self.rejected += 1
            self._refused(logging.WARNING, "heart rate out of range",
                          extra={"url": self.url, "bpm": hr})
            hr = 0  # no reading now: dropped, the seat kept the last figure for FRESH_S
        self._q.put(HeartRate(t, float(hr), m["contact"], m["energy_kj"]))
        if pmd.ECG in self.pmd_active:
            return  # the edge finds the R-peaks in the ECG itself
        beats = beats_from(m["rr_1024"], t, self._last_beat_us)
        beats = beats[:self._budget.take("rr", [b.rr_ms / 1000 for b in beats], t)]
        if len(beats) < len(m["rr_1024"]):
            self.rejected += len(m["rr_1024"]) - len(beats)
            self._refused(logging.WARNING, "RR interval out of range or past the time since "
                          "connecting", extra={"url": self.url, "rr_1024": m["rr_1024"]})
        for b in beats:
            self._q.put(b)
            self._last_beat_us = b.ts_us

    # -- Source ----------------------------------------------------------------------------
    def wait_connected(self, timeout_s: float) -> bool:
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(self._connected.wait(), timeout_s), ble_loop())
        try:
            fut.result(timeout_s + 1)
            return True
        except (asyncio.TimeoutError, TimeoutError):
            return False

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        return drain(self._q, timeout_s)

    def stats(self) -> dict:
        return {"notifications": self.notifications, "rejected": self.rejected,
                "reconnects": self.reconnects, "pmd_frames": self.pmd_frames,
                "pmd_streaming": sorted(self.pmd_active), **self.info}

    def close(self) -> None:
        """Hang up cleanly (the strap goes back to advertising for the next client)."""
        ble_loop().call_soon_threadsafe(self._stop.set)
        try:
            self._task.result(timeout=self.scan_s + 10)
        except TimeoutError:
            self._task.cancel()
