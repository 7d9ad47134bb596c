"""Recordings a calibration works on: read live from sources (by URL) or from CSV files.

A heart recording is reduced to a `HeartTrace`: beat times when the sensor gives beats
(RR straps, or peaks found in a PPG/ECG waveform) and a heart-rate value per beat or per
report. CSV files have a header naming what they hold:

    ts_us,rr_ms      beats as a BLE strap reports them (RR interval ending at ts_us)
    ts_us,hr_bpm     heart-rate values (pulse oximeter, watch export)
    ts_us,ppg        a waveform (ts_us of every sample; the rate is taken from them)
    ts_us,ecg
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import numpy as np

from empathy.edge.heart import waveform_peaks
from empathy.sensors.base import (SCHEMES, Beat, Frame, Health, HeartRate, Reading,
                                  Waveform, open_source)
from empathy.paths import not_a_file

RR_MIN_MS, RR_MAX_MS = 300.0, 2000.0  # 30..200 bpm: anything else is an artefact
MAX_TS_US = float(2 ** 53)  # past this a float's microseconds lose their steps (285 years)
# a source that has sent nothing but health this long is not there (a wrong port or address,
# a strap not worn): said now, not after the whole --duration. A strap is found and
# connected within seconds; a board sends from its first second.
SILENT_S = 30.0


class RecordingError(ValueError):
    """A recording cannot be read or holds nothing usable; the message says which and why."""


@dataclass
class HeartTrace:
    name: str
    t_s: np.ndarray                   # when each heart-rate value was valid (s)
    hr_bpm: np.ndarray
    beat_s: Optional[np.ndarray] = None  # beat times (s), when the sensor gives beats
    kind: str = ""  # what it measured: "rr" (a strap's R waves), "ecg", "ppg", "hr"
    # why its beats' times are not the heart's ("" where they are): a BLE strap's RR
    # intervals are stamped when their notification arrives, up to a second after the beat
    untimed: str = ""

    @property
    def span_s(self) -> tuple[float, float]:
        return float(self.t_s[0]), float(self.t_s[-1])


def trace_from_beats(name: str, ts_s: np.ndarray, rr_ms: np.ndarray,
                     kind: str = "rr") -> HeartTrace:
    ts_s, rr_ms = np.asarray(ts_s, float), np.asarray(rr_ms, float)
    ok = (rr_ms >= RR_MIN_MS) & (rr_ms <= RR_MAX_MS)
    if ok.sum() < 5:
        raise RecordingError(f"{name}: fewer than 5 plausible beats")
    return HeartTrace(name, ts_s[ok], 60000.0 / rr_ms[ok], beat_s=ts_s, kind=kind)


def trace_from_waveform(name: str, kind: str, t_s: np.ndarray, samples: np.ndarray) -> HeartTrace:
    t_s = np.asarray(t_s, float)
    if len(t_s) < 100:
        raise RecordingError(f"{name}: waveform too short ({len(t_s)} samples)")
    fs = (len(t_s) - 1) / (t_s[-1] - t_s[0])
    grid = t_s[0] + np.arange(len(t_s)) / fs  # detectors want even sampling
    x = np.interp(grid, t_s, np.asarray(samples, float))
    try:
        beats = grid[waveform_peaks(x, fs, kind).idx]
    except ValueError as e:  # unknown kind or a rate the detector cannot use
        raise RecordingError(f"{name}: {e}") from None
    return trace_from_beats(name, beats[1:], np.diff(beats) * 1000.0, kind)


def load_csv(path: str | Path) -> HeartTrace:
    path = Path(path)
    if (what := not_a_file(path)):  # a FIFO waits for a writer, a device never ends
        raise RecordingError(f"{path}: {what}, not a recording file")
    try:  # -sig: a spreadsheet's byte-order mark is not part of "ts_us"
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as e:
        raise RecordingError(f"{path}: cannot read: {e.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise RecordingError(f"{path}: not a UTF-8 CSV ({e})") from None
    if len(rows) < 2:
        raise RecordingError(f"{path}: empty")
    head = [h.strip() for h in rows[0]]
    if len(head) != 2 or head[0] != "ts_us" or head[1] not in ("rr_ms", "hr_bpm", "ppg", "ecg"):
        raise RecordingError(f"{path}:1: header must be ts_us and one of rr_ms, hr_bpm, ppg, "
                             f"ecg; got {','.join(head)}")
    data = np.empty((len(rows) - 1, 2))
    for i, row in enumerate(rows[1:]):
        try:
            data[i] = [float(row[0]), float(row[1])] if len(row) == 2 else [math.nan] * 2
            if not np.isfinite(data[i]).all():
                raise ValueError
        except ValueError:
            raise RecordingError(f"{path}:{i + 2}: not two finite numbers: "
                                 f"{','.join(row)}") from None
    far = np.abs(data[:, 0]) > MAX_TS_US
    if far.any():
        i = int(np.argmax(far))
        raise RecordingError(f"{path}:{i + 2}: ts_us {data[i, 0]:g} is out of range "
                             f"(±{MAX_TS_US:g} us: microseconds of a clock)")
    t = data[:, 0] / 1e6
    if np.any(np.diff(t) <= 0):
        bad = int(np.argmax(np.diff(t) <= 0)) + 3
        raise RecordingError(f"{path}:{bad}: ts_us does not increase")
    name = path.stem
    if head[1] == "rr_ms":
        return trace_from_beats(name, t, data[:, 1])
    if head[1] == "hr_bpm":
        return trace_from_rates(name, t, data[:, 1])
    return trace_from_waveform(name, head[1], t, data[:, 1])


def is_url(spec: str) -> bool:
    return urlsplit(spec).scheme in SCHEMES


class Perceive:
    """Camera frames -> pupil / face readings, as on the edge unit (`edge.perception`), with
    the eye camera's scale from `calibrate pupil-scale` when there is one. Frames are dropped."""

    def __init__(self, eye_px_per_mm: Optional[float] = None):
        self.eye_px_per_mm = eye_px_per_mm
        self.perception = None  # models load on the first frame only

    def __call__(self, readings) -> list[Reading]:
        out: list[Reading] = []
        for r in readings:
            if not isinstance(r, Frame):
                out.append(r)
                continue
            if self.perception is None:
                from empathy.edge.perception import EYE_PX_PER_MM, Perception

                self.perception = Perception(eye_px_per_mm=self.eye_px_per_mm or EYE_PX_PER_MM)
            out.extend(self.perception.process(r))
        return out


class Recorded(list):
    """Each source's readings, in order; `stopped_s`: how long it ran where Ctrl-C ended it
    before its duration (what was recorded is kept and judged)."""

    stopped_s: Optional[float] = None


def record(urls: list[str], duration_s: float, quiet: bool = False,
           perceive: Optional[Perceive] = None, **context) -> Recorded:
    """Read every source at the same time for duration_s; the readings of each, in order.
    A source heard from (anything but health) by SILENT_S is needed, or RecordingError."""
    from rich.progress import Progress

    sources = [open_source(u, **context) for u in urls]
    out = Recorded([] for _ in urls)
    heard = [False] * len(urls)
    start = time.monotonic()
    end = start + duration_s
    if not quiet:
        print(f"recording {duration_s:g} s from {', '.join(urls)}: Ctrl-C stops it and "
              "judges what was recorded", flush=True)
    try:
        with Progress(disable=quiet, transient=True) as bar:
            task = bar.add_task("recording", total=duration_s)
            while (left := end - time.monotonic()) > 0:
                for i, (src, got) in enumerate(zip(sources, out)):
                    batch = src.read(timeout_s=0.02)
                    heard[i] = heard[i] or any(not isinstance(r, Health) for r in batch)
                    got.extend(perceive(batch) if perceive else batch)
                if time.monotonic() - start > SILENT_S and not all(heard):
                    raise RecordingError(
                        f"{urls[heard.index(False)]}: nothing heard in {SILENT_S:g} s (is it "
                        "on, worn, in range; the right port or address? `empathy sensors "
                        "scan` lists them)")
                bar.update(task, completed=duration_s - left)
    except KeyboardInterrupt:
        out.stopped_s = time.monotonic() - start
    finally:
        for s in sources:
            s.close()
    return out


def trace_from_rates(name: str, t_s: np.ndarray, hr_bpm: np.ndarray) -> HeartTrace:
    """A device's own heart-rate figures (no beats): those a heart makes."""
    t_s, hr_bpm = np.asarray(t_s, float), np.asarray(hr_bpm, float)
    ok = (hr_bpm >= 60000.0 / RR_MAX_MS) & (hr_bpm <= 60000.0 / RR_MIN_MS)
    if ok.sum() < 5:
        raise RecordingError(f"{name}: fewer than 5 plausible heart-rate values")
    return HeartTrace(name, t_s[ok], hr_bpm[ok], kind="hr")


def trace_from_readings(name: str, readings: list[Reading]) -> HeartTrace:
    """Beats if the source gave beats, else the waveform it streamed, else its own
    heart-rate figures (a watch, an armband in HR mode: no RR intervals) while on the skin."""
    beats = [r for r in readings if isinstance(r, Beat)]
    if beats:
        return trace_from_beats(name, np.array([b.ts_us for b in beats]) / 1e6,
                                np.array([b.rr_ms for b in beats]))
    waves = [r for r in readings if isinstance(r, Waveform)]
    rates = [r for r in readings if isinstance(r, HeartRate) and r.contact is not False]
    if not waves and rates:
        return trace_from_rates(name, np.array([r.ts_us for r in rates]) / 1e6,
                                np.array([r.hr_bpm for r in rates]))
    if not waves:
        raise RecordingError(f"{name}: the source gave no beats, no waveform and no heart "
                             "rate")
    t = np.concatenate([w.ts_us / 1e6 + np.arange(len(w.samples)) / w.fs_hz for w in waves])
    return trace_from_waveform(name, waves[0].kind, t, np.concatenate([w.samples for w in waves]))


def load_heart(spec: str, recorded: Optional[list[Reading]] = None) -> HeartTrace:
    """A CSV path, or a source URL whose readings were recorded."""
    if recorded is None:
        return load_csv(spec)
    trace = trace_from_readings(spec, recorded)
    if trace.kind == "rr" and urlsplit(spec).scheme == "ble":  # (sensors/ble/strap.py)
        trace.untimed = (f"{spec} stamps its RR intervals when its notification arrives (once "
                         "a second), not when the heart beat: its beats' times and lag are "
                         "not judged; a Polar H10's ECG (`?ecg=1`) gives them")
    return trace
