"""`lsl://[NAME]?type=ECG&source_id=...&channel=...`: any Lab Streaming Layer stream as a seat.

A lab's own devices (an ECG amplifier, a PPG clip, EmotiBit's EDA, an eye tracker's pupil
diameter) publish LSL streams; this source picks one by name (the URL's host part or
`name=`), `type=` and/or `source_id=`, one channel of it (`channel=` index or label,
default 0) and turns its samples into the same readings our own sensors give, so the
edge's one path (edge/features.py) processes them:

    kind=ecg | ppg   Waveform chunks (raw units; the beat detector needs no scale)
    kind=eda         Waveform chunks in microsiemens (the channel's <unit> µS, nS or S is
                     converted; `scale=` overrides); a value outside 0..100 µS rejects its
                     chunk
    kind=pupil       one Pupil per sample, diameter in mm (`scale=` for other units), with
                     `confidence=` a channel 0..1 if the tracker has one; NaN, 0 or a
                     diameter outside 0.5..12 mm is a lost sample (blink), not a reading

`kind` defaults from the stream's type (ECG, PPG/BVP/PLETH, EDA/GSR, PUPIL). ECG, PPG and
EDA need a regular stream (a nominal rate).

Clocks: the inlet runs with LSL's clock synchronisation (`proc_clocksync`: the sender's
stamps mapped onto this machine's `local_clock()` by LSL's own time_correction
exchanges), de-jittered (`proc_dejitter`, regular streams) and monotonic. On Linux
`local_clock()` is CLOCK_MONOTONIC, the edge's own clock; the difference is measured at
start anyway (it is 0 there) and added, so stamps are right on any platform. Readings keep
the sender's measurement time, not the time they arrived.

The stream may start after the seat (it is looked for again every second, and a `Health`
fault says so meanwhile); a stream that goes quiet for `silence_s` (default 2) is reported,
and LSL reconnects by itself when it comes back. Query: resolve_s (how long before "not
found" is reported, default 5).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from typing import Optional
from urllib.parse import unquote, urlsplit

import numpy as np
import pylsl
from pylsl.util import LostError

from empathy import wire
from empathy.clock import now_us
from empathy.sensors.base import Health, Pupil, Reading, SourceError, Waveform, drain

log = logging.getLogger("empathy.sensors.lsl")

KINDS = {"ecg": "ecg", "ekg": "ecg", "ppg": "ppg", "bvp": "ppg", "pleth": "ppg", "eda": "eda",
         "gsr": "eda", "pupil": "pupil"}
WAVE_KINDS = ("ecg", "ppg", "eda")
EDA_UNITS = {"us": 1.0, "µs": 1.0, "microsiemens": 1.0, "ns": 1e-3, "nanosiemens": 1e-3,
             "s": 1e6, "siemens": 1e6}
EDA_RANGE_US = (0.0, 100.0)  # skin conductance of a hand: ~0.05-60 µS
PUPIL_RANGE_MM = wire.RANGES["pupil_mm"][:2]  # what the wire takes
PROC_FLAGS = pylsl.proc_clocksync | pylsl.proc_monotonize


def lsl_offset_us(n: int = 9) -> float:
    """now_us() - LSL local_clock() in µs: 0 on Linux (both CLOCK_MONOTONIC), measured
    rather than assumed; the median of a few back-to-back reads."""
    d = []
    for _ in range(n):
        a = now_us()
        b = pylsl.local_clock()
        c = now_us()
        d.append((a + c) / 2 - b * 1e6)
    return float(np.median(d))


class LslSource:
    """One channel of one LSL stream. See the module docstring for the URL."""

    def __init__(self, url: str, query: dict, **_):
        self.url = url
        name = unquote(urlsplit(url).netloc) or query.get("name", "")
        self.match = {k: v for k, v in (("name", name), ("type", query.get("type", "")),
                                        ("source_id", query.get("source_id", ""))) if v}
        if not self.match:
            raise SourceError(f"{url}: say which stream: lsl://NAME, ?type= or ?source_id=")
        if any("'" in v for v in self.match.values()):
            raise SourceError(f"{url}: a stream name, type or source id cannot contain '")
        self.kind = query.get("kind", "").lower() or None
        if self.kind is not None and self.kind not in WAVE_KINDS + ("pupil",):
            raise SourceError(f"{url}: kind {self.kind!r} is not one of ecg, ppg, eda, pupil")
        self.channel = query.get("channel", "0")
        self.conf_channel = query.get("confidence")
        try:
            self.scale = float(query["scale"]) if "scale" in query else None
            self.resolve_s = float(query.get("resolve_s", 5))
            self.silence_s = float(query.get("silence_s", 2))
        except ValueError as e:
            raise SourceError(f"{url}: {e}") from None
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise SourceError(f"{url}: scale must be a positive number")
        self.sensor = f"lsl:{'/'.join(self.match.values())}"
        self.offset_us = lsl_offset_us()
        self.info: dict = {}  # the stream picked, once found
        self.samples = 0
        self.rejected = 0  # samples out of range or not finite
        self.reconnects = 0
        self._q: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._inlet: Optional[pylsl.StreamInlet] = None
        self._thread = threading.Thread(target=self._run, name=f"lsl {self.sensor}", daemon=True)
        self._thread.start()

    # -- finding and opening the stream ------------------------------------------------------
    def _predicate(self) -> str:
        return " and ".join(f"{k}='{v}'" for k, v in self.match.items())

    def _resolve(self) -> Optional[pylsl.StreamInfo]:
        t0, said = time.monotonic(), False
        while not self._stop.is_set():
            found = pylsl.resolve_bypred(self._predicate(), 1, 1.0)
            if found:
                return found[0]
            if not said and time.monotonic() - t0 >= self.resolve_s:
                said = True
                self._q.put(Health(now_us(), self.sensor, contact=False,
                                   fault=f"no LSL stream with {self._predicate()}"))
                log.warning("LSL stream not found", extra={"url": self.url})
        return None

    def _open(self, found: pylsl.StreamInfo) -> Optional[str]:
        """Open the inlet and work out kind, channel, scale; a reason if it cannot be used."""
        regular = found.nominal_srate() > 0
        flags = PROC_FLAGS | (pylsl.proc_dejitter if regular else 0)
        inlet = pylsl.StreamInlet(found, max_buflen=30, recover=True, processing_flags=flags)
        info = inlet.info(timeout=5.0)
        labels, units = _channels(info)
        kind = self.kind or KINDS.get(info.type().lower())
        if kind is None:
            return (f"stream type {info.type()!r} is not ECG, PPG, EDA or PUPIL: give "
                    "kind=ecg|ppg|eda|pupil")
        if info.channel_format() in (pylsl.cf_string, pylsl.cf_undefined):
            return "stream carries strings, not numbers"
        if kind in WAVE_KINDS and not regular:
            return f"{kind} needs a regular stream (this one has no nominal rate)"
        col = _column(self.channel, labels)
        conf = _column(self.conf_channel, labels) if self.conf_channel else None
        if col is None or (self.conf_channel and conf is None):
            return f"no channel {self.channel!r} (channels: {', '.join(labels)})"
        scale = self.scale
        if scale is None and kind == "eda":
            scale = EDA_UNITS.get(units[col].strip().lower(), 1.0) if units[col] else 1.0
        self._kind, self._col, self._conf, self._scale = kind, col, conf, scale or 1.0
        self._fs = info.nominal_srate()
        self._inlet = inlet
        self.info = {"name": info.name(), "type": info.type(), "source_id": info.source_id(),
                     "hostname": info.hostname(), "fs_hz": self._fs, "kind": kind,
                     "channel": labels[col], "unit": units[col], "scale": self._scale}
        return None

    # -- reading ------------------------------------------------------------------------------
    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            found = self._resolve()
            if found is None:
                return
            try:
                why = self._open(found)
            except (pylsl.util.TimeoutError, LostError, RuntimeError) as e:
                why = f"cannot open: {e}"
            if why:
                self._q.put(Health(now_us(), self.sensor, contact=False, fault=why))
                log.warning("LSL stream unusable", extra={"url": self.url, "reason": why})
                self._stop.wait(2.0)
                continue
            self.reconnects += not first
            first = False
            self._connected.set()
            log.info("LSL stream open", extra={"url": self.url, "stream": self.info})
            self._q.put(Health(now_us(), self.sensor, contact=True))
            self._pull()
            self._connected.clear()
            self._inlet.close_stream()
            self._inlet = None

    def _pull(self) -> None:
        last, quiet = time.monotonic(), False
        while not self._stop.is_set():
            try:
                data, stamps = self._inlet.pull_chunk(timeout=0.2, max_samples=4096)
            except LostError:
                self._q.put(Health(now_us(), self.sensor, contact=False, fault="LSL stream lost"))
                return
            if not stamps:
                if not quiet and time.monotonic() - last > self.silence_s:
                    quiet = True
                    self._q.put(Health(now_us(), self.sensor, contact=False,
                                       fault="LSL stream silent"))
                continue
            if quiet:
                quiet = False
                self._q.put(Health(now_us(), self.sensor, contact=True))
            last = time.monotonic()
            x = np.asarray(data, dtype=np.float64).reshape(len(stamps), -1)
            ts_us = np.asarray(stamps) * 1e6 + self.offset_us
            self.samples += len(stamps)
            for r in self._readings(x, ts_us):
                self._q.put(r)

    def _readings(self, x: np.ndarray, ts_us: np.ndarray) -> list[Reading]:
        v = x[:, self._col] * self._scale
        if self._kind == "pupil":
            conf = np.clip(x[:, self._conf], 0, 1) if self._conf is not None else np.ones(len(v))
            ok = np.isfinite(v) & (v >= PUPIL_RANGE_MM[0]) & (v <= PUPIL_RANGE_MM[1]) \
                & np.isfinite(conf)
            self.rejected += int((~ok & np.isfinite(v) & (v != 0)).sum())
            return [Pupil(int(t), float(d), float(c)) if good else Pupil(int(t), 0.0, 0.0)
                    for t, d, c, good in zip(ts_us, v, conf, ok)]
        bad = ~np.isfinite(v)
        if self._kind == "eda":
            bad |= (v < EDA_RANGE_US[0]) | (v > EDA_RANGE_US[1])
        if bad.any():  # a gap in the waveform rather than made-up values
            self.rejected += int(bad.sum())
            return []
        return [Waveform(int(round(ts_us[0])), self._kind, self._fs, v)]

    # -- Source -------------------------------------------------------------------------------
    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def clock_offset_s(self) -> Optional[float]:
        """LSL's current estimate of the sender's clock minus ours (what proc_clocksync adds)."""
        inlet = self._inlet
        try:
            return inlet.time_correction(timeout=2.0) if inlet is not None else None
        except (pylsl.util.TimeoutError, LostError):
            return None

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        return drain(self._q, timeout_s)

    def stats(self) -> dict:
        return {"samples": self.samples, "rejected": self.rejected,
                "reconnects": self.reconnects, "offset_us": round(self.offset_us, 1),
                **self.info}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _channels(info: pylsl.StreamInfo) -> tuple[list[str], list[str]]:
    """Channel labels and units from the stream's <desc> (index numbers where it has none)."""
    labels, units = [], []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < info.channel_count():
        labels.append(ch.child_value("label") or str(len(labels)))
        units.append(ch.child_value("unit"))
        ch = ch.next_sibling()
    n = len(labels)
    labels += [str(i) for i in range(n, info.channel_count())]
    units += [""] * (info.channel_count() - n)
    return labels, units


def _column(channel: str, labels: list[str]) -> Optional[int]:
    if channel in labels:
        return labels.index(channel)
    if channel.isdigit() and int(channel) < len(labels):
        return int(channel)
    return None
