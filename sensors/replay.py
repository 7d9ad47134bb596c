"""Recordings of sources, and `replay://PATH?speed=1&loop=0` to play them back.

A recording (`.emrec`) is a msgpack stream: a header map, then one map per reading with its
type name and fields; arrays are stored as dtype/shape/bytes. Replay yields the very same
readings through the source protocol, re-stamped onto this machine's clock with their
original spacing (divided by `speed`; speed=0 means as fast as they are read), so every
later stage can be tested on a real session.

CSV recordings with the calibration headers play back too (ts_us plus one of rr_ms,
hr_bpm, pupil_mm, ppg, ecg): beats, heart rates, pupil samples or waveform chunks.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import os
import stat
import threading
import time
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit

import msgpack
import numpy as np

from empathy import wire
from empathy.clock import now_us
from empathy.sensors import base
from empathy.sensors.base import Reading, SourceError, open_source

log = logging.getLogger("empathy.sensors.replay")

FORMAT = "empathy-recording"
VERSION = 1
TYPES = {cls.__name__: cls for cls in (base.Beat, base.HeartRate, base.Pupil, base.FaceCrop,
                                       base.Waveform, base.Frame, base.Health)}
CSV_CHUNK_S = 0.25  # waveform CSVs come back as chunks this long
# a named pipe that has not given a whole recording by then is said to be waited on: its
# open waits for a writer, its read for the writer to close it (none: silent for ever)
PIPE_SAY_S = 0.5


def _pack(r: Reading) -> dict:
    d = {"type": type(r).__name__}
    for f in dataclasses.fields(r):
        v = getattr(r, f.name)
        d[f.name] = ({"dtype": str(v.dtype), "shape": list(v.shape), "data": v.tobytes()}
                     if isinstance(v, np.ndarray) else v)
    return d


def _plain(o):
    if isinstance(o, np.generic):  # numpy scalars in fields (a simulator's rr_ms, ...)
        return o.item()
    raise TypeError(f"cannot record {type(o).__name__}")


def _unpack(d: dict) -> Reading:
    cls = TYPES.get(d.pop("type", None))
    if cls is None:
        raise ValueError("unknown reading type")
    for k, v in d.items():
        if isinstance(v, dict) and "dtype" in v:
            d[k] = np.frombuffer(v["data"], v["dtype"]).reshape(v["shape"])
    return cls(**d)


class Recorder:
    """Appends readings to a recording file."""

    def __init__(self, path: str | Path, source_url: str):
        self.f = open(path, "wb")
        self.f.write(msgpack.packb({"format": FORMAT, "version": VERSION, "source": source_url,
                                    "recorded_at": time.time()}))
        self.count = 0

    def add(self, r: Reading) -> None:
        if isinstance(r, base.Device):  # which strap or board: no reading of the body, and
            return  # a played file is never the viewer of before (edge/viewer_state.py)
        self.f.write(msgpack.packb(_pack(r), default=_plain))
        self.count += 1

    def close(self) -> None:
        self.f.close()


def record(url: str, out: str | Path, duration_s: float, progress: bool = True) -> int:
    """Record `url` for duration_s seconds into `out`; returns the number of readings."""
    from rich.progress import Progress

    src = open_source(url, faces=False)
    rec = Recorder(out, url)
    end = time.monotonic() + duration_s
    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"recording {url}", total=duration_s)
            while time.monotonic() < end:
                for r in src.read(0.1):
                    rec.add(r)
                bar.update(task, completed=duration_s - (end - time.monotonic()))
    finally:
        src.close()
        rec.close()
    return rec.count


def load_emrec(path: Path) -> list[Reading]:
    try:
        with open(path, "rb") as f:
            return read_emrec(f, path)
    except OSError as e:
        raise SourceError(f"{path}: cannot read recording: {e}") from None


def loads_emrec(data: bytes) -> list[Reading]:
    """A recording held in memory (what arrived over a network, or a fuzzer's input)."""
    return read_emrec(io.BytesIO(data), "<bytes>")


def read_emrec(f, path) -> list[Reading]:
    """Readings from an open binary file; anything wrong is a SourceError naming `path`."""
    try:
        items = msgpack.Unpacker(f, raw=False)
        head = next(items, None)
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise SourceError(f"{path}: not an Empathy Engine recording")
        if head.get("version") != VERSION:
            raise SourceError(f"{path}: recording version {head.get('version')}, "
                              f"this build reads {VERSION}")
        out = []
        for i, d in enumerate(items):
            try:
                out.append(_unpack(d))
            except (TypeError, ValueError, AttributeError, KeyError) as e:
                raise SourceError(f"{path}: reading {i + 1} is damaged: {e!r}") from None
        return out
    except (OSError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError,
            ValueError) as e:
        if isinstance(e, SourceError):
            raise
        raise SourceError(f"{path}: cannot read recording: {e}") from None


# What a device could have sent (a value outside is a damaged file): as a live sensor's,
# a replayed artefact (a missed beat's long RR, a strap's 0 bpm without contact) is the
# edge's to judge. RR: BLE's 1/1024-s uint16; pupil_mm <= 0: lost, as trackers write it.
CSV_RANGES = {"rr_ms": (1.0, 65535.0), "hr_bpm": (0.0, 400.0),
              "pupil_mm": (-math.inf, wire.RANGES["pupil_mm"].hi), "ppg": (-1e12, 1e12), "ecg": (-1e12, 1e12)}
_TS_MAX = float(1 << 62)


def load_csv(path: Path) -> list[Reading]:
    try:  # -sig: a spreadsheet's byte-order mark is not part of "ts_us"
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise SourceError(f"{path}: {e}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise SourceError(f"{path}: not a UTF-8 CSV ({e})") from None
    if not rows or len(rows[0]) < 2 or rows[0][0].strip() != "ts_us":
        raise SourceError(f"{path}: a CSV recording starts with ts_us,<rr_ms|hr_bpm|pupil_mm|"
                          f"ppg|ecg>")
    col = rows[0][1].strip()
    if col not in CSV_RANGES:
        raise SourceError(f"{path}: unknown column {col!r} (rr_ms, hr_bpm, pupil_mm, ppg, ecg)")
    data = np.array([_csv_row(path, line, r, col) for line, r in enumerate(rows[1:], 2) if r],
                    float).reshape(-1, 2)
    if not len(data):
        raise SourceError(f"{path}: no rows")
    ts = data[:, 0].astype(np.int64)
    if col == "rr_ms":
        return [base.Beat(int(t), v) for t, v in zip(ts, data[:, 1])]
    if col == "hr_bpm":
        return [base.HeartRate(int(t), v) for t, v in zip(ts, data[:, 1])]
    if col == "pupil_mm":
        return [base.Pupil(int(t), v, 1.0 if v > 0 else 0.0) for t, v in zip(ts, data[:, 1])]
    fs = 1e6 / float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0  # ppg, ecg
    if fs <= 0:
        raise SourceError(f"{path}: cannot tell the sample rate from ts_us")
    n = max(1, int(fs * CSV_CHUNK_S))
    return [base.Waveform(int(ts[i]), col, fs, data[i:i + n, 1].copy())
            for i in range(0, len(ts), n)]


def _csv_row(path: Path, line: int, r: list[str], col: str) -> tuple[float, float]:
    """(ts_us, value) of one row, each a finite number in its range, else file:line says."""
    if len(r) < 2:
        raise SourceError(f"{path}:{line}: {len(r)} field(s), need ts_us and {col}")
    try:
        ts, v = float(r[0]), float(r[1])
    except ValueError:
        raise SourceError(f"{path}:{line}: {r[0][:20]!r}, {r[1][:20]!r}: not numbers") from None
    lo, hi = CSV_RANGES[col]
    if not 0 <= ts <= _TS_MAX:
        raise SourceError(f"{path}:{line}: ts_us {r[0][:20]} is not a time in microseconds")
    if not (math.isfinite(v) and lo <= v <= hi):
        why = ("not finite" if not math.isfinite(v) else
               f"below {lo:g}" if v < lo else f"above {hi:g}")
        raise SourceError(f"{path}:{line}: {col} {r[1][:20]} is {why}")
    return ts, v


def _load(url: str, path: Path) -> list[Reading]:
    """The recording at `path`; from a named pipe (a recording streamed in), one line
    while its writer has not sent it whole."""
    load = load_csv if path.suffix == ".csv" else load_emrec
    try:
        pipe = stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        pipe = False  # (the loader says why it cannot read it)
    if not pipe:
        return load(path)
    said = threading.Timer(PIPE_SAY_S, log.warning, (
        "%s: a named pipe: waiting for its writer to send a whole recording (playback "
        "starts once it closes the pipe; Ctrl-C to stop)", url))
    said.daemon = True
    said.start()
    try:
        return load(path)
    finally:
        said.cancel()


class ReplaySource:
    """Plays a recording back with its original timing. See the module docstring."""

    def __init__(self, url: str, query: dict, **_):
        self.url = url
        parts = urlsplit(url)
        path = Path((parts.netloc + parts.path) if parts.netloc else parts.path)
        try:
            self.speed = float(query.get("speed", 1.0))
        except ValueError:
            raise SourceError(f"{url}: speed must be a number") from None
        if not 0 <= self.speed < float("inf"):  # also NaN
            raise SourceError(f"{url}: speed must be a number >= 0 (0 = as fast as read)")
        self.loop = query.get("loop", "0") == "1"
        self.readings = _load(url, path)
        if not self.readings:
            raise SourceError(f"{url}: the recording holds no readings")
        self.readings.sort(key=lambda r: r.ts_us)
        self._it: Optional[Iterator[Reading]] = None
        self._next: Optional[Reading] = None
        self._rewind(now_us())
        # started again at the first read: a unit opens its sources, then imports and sets
        # up (~1 CPU-s); under load a replay timed from here was a late burst past
        # AHEAD_MAX_S by its first read, and the unit dropped it (edge/source_clock.py)
        self._started = False

    def _rewind(self, start_us: int) -> None:
        self._t0_rec = self.readings[0].ts_us
        self._t0 = start_us
        self._it = iter(self.readings)
        self._next = next(self._it)

    def _due(self, r: Reading, now: int) -> Optional[int]:
        """The reading's new timestamp if it is due by `now`, else None."""
        if self.speed == 0:
            return self._t0 + (r.ts_us - self._t0_rec)
        ts = self._t0 + int((r.ts_us - self._t0_rec) / self.speed)
        return ts if ts <= now else None

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        if not self._started:
            self._rewind(now_us())
            self._started = True
        out: list[Reading] = []
        deadline = now_us() + int(timeout_s * 1e6)
        while True:
            now = now_us()
            while self._next is not None:
                ts = self._due(self._next, now)
                if ts is None:
                    break
                out.append(dataclasses.replace(self._next, ts_us=ts))
                self._next = next(self._it, None)
                if self.speed == 0 and len(out) >= 1000:
                    return out  # as fast as read, but in bites a reader can chew
            if self._next is None and self.loop:
                last = self.readings[-1].ts_us - self._t0_rec
                self._rewind(self._t0 + int(last / (self.speed or 1)) + 1)
            if out or self._next is None or now >= deadline:
                return out
            wait = (self._t0 + (self._next.ts_us - self._t0_rec) / self.speed) - now
            time.sleep(max(0.0, min(wait, deadline - now)) / 1e6)

    @property
    def finished(self) -> bool:
        return self._next is None

    def close(self) -> None:
        self._it = None
