"""`lsl://[NAME]?type=ECG&source_id=...&channel=...`: any Lab Streaming Layer stream as a seat.

A lab's own devices (an ECG amplifier, a PPG clip, EmotiBit's EDA, an eye tracker's pupil
diameter) publish LSL streams; this source picks one by name (the URL's host part or
`name=`), `type=`, `source_id=` and/or `host=` (the machine publishing it). It is taken
only when no second stream answers within a second (several: a `Health` fault names them
and none is taken; one matching later is said, never read), and after a loss only that
stream (same name, type, source_id and host, the same channels) is taken again
(sensors/lsl_pick.py). One channel of it (`channel=`
index or label, default 0) becomes the same readings our own sensors give, so the edge's
one path (edge/features.py) processes them:

    kind=ecg | ppg   Waveform chunks (raw units; the beat detector needs no scale)
    kind=eda         Waveform chunks in microsiemens (the channel's <unit> µS, nS or S is
                     converted; `scale=` overrides); a value outside 0..100 µS rejects its
                     chunk
    kind=pupil       one Pupil per sample, diameter in mm (`scale=` for other units), with
                     `confidence=` a channel 0..1 if the tracker has one; NaN, 0 or a
                     diameter outside 0.5..12 mm is a lost sample (blink), not a reading

`kind` defaults from the stream's type (ECG, PPG/BVP/PLETH, EDA/GSR, PUPIL). ECG, PPG and
EDA need a regular stream (a nominal rate of 1..20,000 Hz); at most 1024 channels.

Clocks: the inlet runs with LSL's clock synchronisation (`proc_clocksync`: the sender's
stamps mapped onto this machine's `local_clock()` by LSL's own time_correction
exchanges), de-jittered (`proc_dejitter`, regular streams) and monotonic. On Linux
`local_clock()` is CLOCK_MONOTONIC, the edge's own clock; the difference is measured at
start anyway (it is 0 there) and added, so stamps are right on any platform. Readings keep
the sender's measurement time, not the time they arrived.

The stream may start after the seat (it is looked for again every second, and a `Health`
fault says so meanwhile); a stream that goes quiet for `silence_s` (default 2) is reported,
and it is taken again when it comes back (silent for 5 x `silence_s`, it is looked for
again: liblsl's own recovery, which would notice a cut link, is off). Query: resolve_s (how
long before "not found" is reported, default 5).
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
from empathy.sensors import lsl_pick as pick
from empathy.clock import now_us
from empathy.sensors.base import Health, Pupil, Reading, SourceError, Waveform, drain
from empathy.whole import whole

log = logging.getLogger("empathy.sensors.lsl")

KINDS = {"ecg": "ecg", "ekg": "ecg", "ppg": "ppg", "bvp": "ppg", "pleth": "ppg", "eda": "eda",
         "gsr": "eda", "pupil": "pupil"}
WAVE_KINDS = ("ecg", "ppg", "eda")
EDA_UNITS = {"us": 1.0, "µs": 1.0, "microsiemens": 1.0, "ns": 1e-3, "nanosiemens": 1e-3,
             "s": 1e6, "siemens": 1e6}
EDA_RANGE_US = (0.0, 100.0)  # skin conductance of a hand: ~0.05-60 µS
WAVE_MAX = 1e10  # raw ECG/PPG units: beyond any ADC's counts (2**31)
STAMP_MAX_US = 2.0**62  # a stamp that still fits the wire's int64 µs
PUPIL_RANGE_MM = wire.RANGES["pupil_mm"][:2]  # what the wire takes
PROC_FLAGS = pylsl.proc_clocksync | pylsl.proc_monotonize
REOPEN_SILENT = 5  # x silence_s: a silent stream's inlet is dropped and the stream looked for
PULL_VALUES = 1 << 16  # values per pull (numpy, not pylsl's lists): bounded at any width
# Another stream matching the URL after one was taken (a device of the same name switched on
# later): liblsl's continuous resolver asks in the background, its answers looked at this
# often; one gone this long is forgotten (said again if it comes back)
WATCH_S = 2.0
WATCH_FORGET_S = 5.0


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
        self.match = {k: v for k, v in (("name", name), *((k, query.get(k, "")) for k in
                                                         ("type", "source_id", "host"))) if v}
        if not self.match:
            raise SourceError(f"{url}: say which stream: lsl://NAME, ?type= or ?source_id=")
        self.kind = query.get("kind", "").lower() or None
        if self.kind is not None and self.kind not in WAVE_KINDS + ("pupil",):
            raise SourceError(f"{url}: kind {self.kind!r} is not one of ecg, ppg, eda, pupil")
        self.channel = query.get("channel", "0")
        self.conf_channel = query.get("confidence")
        try:
            self.scale = float(query["scale"]) if "scale" in query else None
            self.resolve_s = float(query.get("resolve_s", 5))
            self.silence_s = float(query.get("silence_s", 2))
        except ValueError:
            raise SourceError(f"{url}: scale, resolve_s and silence_s are numbers "
                              "(e.g. resolve_s=5)") from None
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise SourceError(f"{url}: scale must be a positive number")
        if not all(0 < v < 3600 for v in (self.resolve_s, self.silence_s)):
            raise SourceError(f"{url}: resolve_s and silence_s are seconds, 0..3600")
        self.sensor = f"lsl:{'/'.join(self.match.values())}"
        self.offset_us = lsl_offset_us()
        self.info: dict = {}  # the stream picked, once found
        self.samples = 0
        self.rejected = 0  # samples out of range or not finite
        self.reconnects = 0
        self._pin: Optional[dict] = None  # the stream taken (lsl_pick.pin), once taken
        self._shape: Optional[tuple] = None  # its channels, format, and the one read
        self._said = ""  # the last fault said, so that one that persists is said once
        self._quiet = False  # silent for silence_s (said), until data comes again
        self._q: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._inlet: Optional[pylsl.StreamInlet] = None
        self._thread = threading.Thread(target=self._run, name=f"lsl {self.sensor}", daemon=True)
        self._thread.start()

    # -- finding and opening the stream ------------------------------------------------------
    def _predicate(self) -> str:
        return pick.predicate(self._pin or self.match)

    def _fault(self, why: str) -> None:
        if why != self._said:
            self._said = why
            self._q.put(Health(now_us(), self.sensor, contact=False, fault=why))
            log.warning("LSL stream fault", extra={"url": self.url, "reason": why})

    def _resolve(self) -> Optional[pylsl.StreamInfo]:
        t0 = time.monotonic()
        while not self._stop.is_set():
            found = pylsl.resolve_bypred(self._predicate(), 1, 1.0)
            if found:
                return found[0]
            if time.monotonic() - t0 >= self.resolve_s:
                self._fault(f"no LSL stream with {self._predicate()}")
        return None

    def _open(self, found: pylsl.StreamInfo) -> Optional[str]:
        """Open the inlet and work out kind, channel, scale; a reason if it cannot be used."""
        kind = self.kind or KINDS.get(found.type().lower())
        if kind is None:
            return (f"stream type {found.type()!r} is not ECG, PPG, EDA or PUPIL: give "
                    "kind=ecg|ppg|eda|pupil")
        why = pick.unfit(found, kind)
        if why:
            return why
        flags = PROC_FLAGS | (pylsl.proc_dejitter if found.nominal_srate() > 0 else 0)
        # recover=False: liblsl's own recovery takes any stream with the same source_id
        # (another host's, another rate) and keeps the old info; the seat re-resolves its pin
        inlet = pylsl.StreamInlet(found, max_buflen=pick.buflen_s(found), recover=False,
                                  processing_flags=flags)
        info = inlet.info(timeout=5.0)
        inlet.open_stream(timeout=5.0)  # its samples are kept while others are looked for
        # the first to answer is not the only one: a second has a second to answer
        answers = pylsl.resolve_bypred(self._predicate(), 2, 1.0)
        if len(answers) > 1:
            return pick.ambiguous(answers, self._predicate())
        labels, units = _channels(info)
        col = _column(self.channel, labels)
        conf = _column(self.conf_channel, labels) if self.conf_channel else None
        if col is None or (self.conf_channel and conf is None):
            return f"no channel {self.channel!r} (channels: {', '.join(labels[:20])})"
        shape = pick.shape(info, labels[col])
        if self._shape is not None and shape != self._shape:
            return (f"{pick.describe(info)} came back with {shape[0]} {shape[1]} channels, "
                    f"{shape[2]!r} read (was {self._shape[0]} {self._shape[1]}, "
                    f"{self._shape[2]!r}): not taken; restart the seat to take it")
        scale = self.scale
        if scale is None and kind == "eda":
            scale = EDA_UNITS.get(units[col].strip().lower(), 1.0) if units[col] else 1.0
        self._kind, self._col, self._conf, self._scale = kind, col, conf, scale or 1.0
        if self._pin is not None and info.nominal_srate() != self._fs:
            log.warning("LSL stream back at another rate", extra={
                "url": self.url, "was_hz": self._fs, "now_hz": info.nominal_srate()})
        self._fs = info.nominal_srate()
        self._pin, self._shape = self._pin or pick.pin(info), shape
        self._max_samples = max(1, min(4096, PULL_VALUES // info.channel_count()))
        self._inlet, self._taken = inlet, info
        self.info = {"name": info.name(), "type": info.type(), "source_id": info.source_id(),
                     "hostname": info.hostname(), "fs_hz": self._fs, "kind": kind,
                     "channel": labels[col], "unit": units[col], "scale": self._scale,
                     "uid": info.uid()}
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
                self._fault(why)
                self._stop.wait(2.0)
                continue
            self.reconnects += not first
            first, self._said = False, ""
            self._connected.set()
            if not self._quiet:  # reopened while silent: contact is said when data comes
                log.info("LSL stream open", extra={"url": self.url, "stream": self.info})
                self._q.put(Health(now_us(), self.sensor, contact=True))
            self._pull()
            self._connected.clear()
            self._inlet.close_stream()
            self._inlet = None

    def _pull(self) -> None:
        last = time.monotonic()
        watch = pylsl.ContinuousResolver(pred=pick.predicate(self.match),
                                         forget_after=WATCH_FORGET_S)
        looked, beside = last, set()
        while not self._stop.is_set():
            if time.monotonic() - looked > WATCH_S:
                looked = time.monotonic()
                beside = self._beside(watch.results(), beside)
            try:
                data, stamps = self._inlet.pull_chunk(timeout=0.2, max_samples=self._max_samples,
                                                      as_numpy=True)
            except LostError:
                self._quiet = False
                self._fault(f"LSL stream lost; waiting for {pick.predicate(self._pin)}")
                return
            if len(stamps) == 0:
                silent_s = time.monotonic() - last
                if not self._quiet and silent_s > self.silence_s:
                    self._quiet = True
                    self._q.put(Health(now_us(), self.sensor, contact=False,
                                       fault="LSL stream silent"))
                # without liblsl's recovery nothing notices a link cut with no FIN (a
                # cable, a Wi-Fi drop): a stream silent this long is looked for again
                if silent_s > REOPEN_SILENT * self.silence_s:
                    return
                continue
            if self._quiet:
                self._quiet = False
                self._q.put(Health(now_us(), self.sensor, contact=True))
            last = time.monotonic()
            x = np.asarray(data, dtype=np.float64).reshape(len(stamps), -1)
            ts_us = np.asarray(stamps, dtype=np.float64) * 1e6 + self.offset_us
            self.samples += len(stamps)
            if not np.all(np.abs(ts_us) < STAMP_MAX_US):
                # one inf or 1e300 stamp sent leaves liblsl's de-jitter and monotonic stamps
                # NaN or 1e300 for good: only a new inlet starts them afresh
                self._reject(len(stamps), "stamps not finite")
                self._fault("LSL stream sent a stamp that is not a time (inf, NaN or beyond "
                            "2**62 µs): its samples dropped, the stream reopened")
                return
            for r in self._readings(x, ts_us):
                self._q.put(r)

    def _beside(self, found: list, said: set) -> set:
        """Streams matching the URL besides the one read (their uids): said when they change;
        the one taken goes on being read (the seat must not switch person)."""
        others = [i for i in found if i.uid() != self.info["uid"]]
        uids = {i.uid() for i in others}
        if uids and uids != said:
            log.warning("another LSL stream matches", extra={
                "url": self.url, "others": [pick.describe(i) for i in others]})
            self._q.put(Health(now_us(), self.sensor, contact=not self._quiet,
                               fault=pick.beside(others, self._taken, pick.predicate(self.match))))
        return uids

    def _readings(self, x: np.ndarray, ts_us: np.ndarray) -> list[Reading]:
        v = x[:, self._col] * self._scale
        if self._kind == "pupil":
            conf = np.clip(x[:, self._conf], 0, 1) if self._conf is not None else np.ones(len(v))
            ok = np.isfinite(v) & (v >= PUPIL_RANGE_MM[0]) & (v <= PUPIL_RANGE_MM[1]) \
                & np.isfinite(conf)
            self._reject(int((~ok & np.isfinite(v) & (v != 0)).sum()), "pupil out of range")
            return [Pupil(int(t), float(d), float(c)) if good else Pupil(int(t), 0.0, 0.0)
                    for t, d, c, good in zip(ts_us, v, conf, ok)]
        bad = ~(np.abs(v) <= WAVE_MAX)
        if self._kind == "eda":
            bad |= (v < EDA_RANGE_US[0]) | (v > EDA_RANGE_US[1])
        if bad.any():  # a gap in the waveform rather than made-up values
            self._reject(int(bad.sum()), f"{self._kind} not finite or out of range")
            return []
        return [Waveform(int(round(ts_us[0])), self._kind, self._fs, v)]

    def _reject(self, n: int, what: str) -> None:
        """Count samples not taken; the first of them is said (one line, not one a chunk)."""
        if n and not self.rejected:
            log.warning("LSL samples rejected", extra={"url": self.url, "reason": what,
                                                       "samples": n})
        self.rejected += n

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
    index = whole(channel)
    return index if index is not None and index < len(labels) else None
