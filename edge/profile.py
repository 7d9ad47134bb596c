"""A seat's calibration, as `empathy calibrate` stored it, in the form the edge uses.

A seat names up to three entries of the calibration store (calibration/store.py) in the
unit's config; each is optional:

    eye_camera   cameras/<id>.toml   px_per_mm: eye-camera frames -> millimetres
    heart_sensor sensors/<id>.toml   [hr] bias_pct, lag_ms: the sensor's correction;
                                     device: what it was measured on (DeviceFix)
    viewer       viewers/<id>.toml   [light] gain_mm, tau_s, base_mm: the light response
                                     (latency_s, constrict_s, dilate_s: its two phases);
                                     [baseline] hr_bpm, hr_sd_bpm, rmssd_ms, pupil_sd_mm,
                                     resting_expression: the viewer at rest

Every value is range-checked as it is read; a named entry that is missing, or a file that
is not what `calibrate` writes, stops the unit at start with one line saying which and
how to make it. Without a profile the edge runs as before: default scale, online light
fit, population priors until its own in-show baseline.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from empathy.calibration import store
from empathy.edge.fusion import Baseline
from empathy.edge.pupil import MID_GREY, LightResponse
from empathy.sensors.base import UNPLUGGED, Beat, Device, Health, HeartRate, Reading, Waveform
from empathy.wire import EXPRESSIONS

log = logging.getLogger("empathy.edge.profile")

# a heart sensor's lag undone at most (calibrate hr searches and stores no more): a watch's
# own figure, averaged over 5-10 s and sent a second or two late, lags 3.5-7 s
LAG_MAX_MS = 12000.0


@dataclass(frozen=True)
class HeartCorrection:
    """What `calibrate hr` found wrong with a heart sensor, undone on its readings: values
    `bias_pct` high (RR intervals that much short, its own heart-rate figure that much
    high) and `lag_ms` late."""

    bias_pct: float = 0.0
    lag_ms: float = 0.0
    device: str = ""  # `device_mark` of what it was measured on; "": not recorded (any)

    @property
    def lag_us(self) -> int:
        return int(round(self.lag_ms * 1000))

    def correct(self, r: Reading) -> Reading:
        if not (self.bias_pct or self.lag_ms):
            return r
        scale, lag_us = 1 + self.bias_pct / 100.0, self.lag_us
        if isinstance(r, Beat):
            return Beat(r.ts_us - lag_us, r.rr_ms * scale)
        if isinstance(r, Waveform):  # the beats' spacing in samples reads `scale` short
            return replace(r, ts_us=r.ts_us - lag_us, fs_hz=r.fs_hz / scale)
        if isinstance(r, HeartRate):  # (0, the device's "no reading", stays 0)
            return replace(r, ts_us=r.ts_us - lag_us, hr_bpm=r.hr_bpm / scale)
        return r


NO_FIX = HeartCorrection()

# A calibration names the device it measured (`Device.ident`) by `device_mark`: a board's
# id as it is (a part's number: the tester finds the board by it), anything else (a strap's
# address: a strap a viewer may own and carry) hashed, all that matching needs
BOARD_MARK = re.compile(r"board:[0-9a-f]{8}")
HASH_MARK = re.compile(r"sha256:[0-9a-f]{16}")


def device_mark(ident: str) -> str:
    if BOARD_MARK.fullmatch(ident):
        return ident
    return "sha256:" + hashlib.sha256(f"empathy device {ident}".encode()).hexdigest()[:16]


class DeviceFix:
    """A seat's heart correction, applied only while the device read is the one it was
    measured on: boards and straps are swapped during opening hours, and another device's
    bias and lag are not this one's. Until a source names its device (and for one that
    never does: a file, a simulated viewer) the correction stands, as it does for a
    calibration that names no device (one from before they were named); once its device
    has gone (unplugged), none till the next names itself. Readings go
    through `correct` in order, `Device` readings with them."""

    def __init__(self, fix: HeartCorrection, sensor_id: str, seat: str):
        self.fix, self.sensor_id, self.seat = fix, sensor_id, seat
        self.on = fix  # the correction applied now (none while another device is read)
        self.read: Optional[str] = None  # the device read last (`Device.ident`)
        self.warned: set[str] = set()  # devices said (once each) to be uncalibrated

    @property
    def lag_us(self) -> int:
        return self.on.lag_us

    @property
    def status(self) -> str:
        """What the seat's correction rests on, for the unit's stats ("" with none)."""
        if not (self.fix.bias_pct or self.fix.lag_ms):
            return ""
        if not self.fix.device:
            return "any device (the calibration names none)"
        if self.read is None:
            return "device not named yet"
        return "calibrated device" if self.on is self.fix else "uncalibrated device"

    def correct(self, r: Reading) -> Reading:
        if isinstance(r, Device) and self.fix.device and r.ident != self.read:
            self._judge(r.ident)
        elif isinstance(r, Health) and r.fault == UNPLUGGED and self.fix.device:
            # what is plugged in next is read before it names itself (a board's frames
            # before its HELLO): another board's, for all we know, so none till then
            self.read, self.on = None, NO_FIX
        return self.on.correct(r)

    def _judge(self, ident: str) -> None:
        self.read, was = ident, self.on
        self.on = self.fix if device_mark(ident) == self.fix.device else NO_FIX
        if self.on is self.fix and was is not self.fix:
            log.info("%s: heart sensor %r: the device it was calibrated on, %s: its bias "
                     "and lag applied", self.seat, self.sensor_id, ident,
                     extra={"seat": self.seat, "heart_sensor": self.sensor_id})
        elif self.on is not self.fix and ident not in self.warned:
            self.warned.add(ident)
            was_on = self.fix.device if BOARD_MARK.fullmatch(self.fix.device) else "another"
            log.warning("%s: uncalibrated device %s: heart sensor %r was calibrated on %s: "
                        "its bias and lag are not applied (`empathy calibrate hr --sensor-id` "
                        "on this one)", self.seat, ident, self.sensor_id, was_on,
                        extra={"seat": self.seat, "heart_sensor": self.sensor_id,
                               "fault": "uncalibrated device"})


@dataclass(frozen=True)
class SeatProfile:
    eye_px_per_mm: Optional[float] = None
    heart: HeartCorrection = field(default_factory=HeartCorrection)
    light: Optional[LightResponse] = None
    baseline: dict = field(default_factory=dict)  # name -> Baseline, ready from the start
    resting_expression: Optional[np.ndarray] = None  # mean class probabilities at rest
    names: dict = field(default_factory=dict)  # what was loaded, for the unit's stats

    @property
    def calibrated(self) -> bool:
        """A stored baseline: the seat is normalised from its first reading."""
        return "hr" in self.baseline

    def heart_fix(self, seat: str) -> DeviceFix:
        """The seat's own judge of its heart correction (it follows the device read)."""
        return DeviceFix(self.heart, self.names.get("heart_sensor", ""), seat)


LIGHT_TAU_S = (0.05, 3.0)  # a lag of the light model a viewer file may give
LIGHT_LATENCY_S = (0.0, 1.0)  # light to the pupil's first answer (~0.2-0.3 s in adults)
PHASES = ("latency_s", "constrict_s", "dilate_s")  # the two-phase reflex: all or none
# What a viewer's light gain multiplies: log10 of the light (edge.pupil.light_drive, what
# `calibrate light` measures) or, in files from before it, the frame's code value.
LIGHT_SCALES = ("log10", "code")

def _num(doc: dict, key: str, lo: float, hi: float, where: str) -> float:
    v = doc.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not lo <= v <= hi:
        raise ValueError(f"{where}: {key} = {v!r} is not a number within {lo:g}..{hi:g} "
                         "(re-run `empathy calibrate`)")
    return float(v)


def _entry(load, root: Path, ident: str, path: Path, what: str, hint: str) -> dict:
    doc = load(root, ident)
    if not doc:
        raise ValueError(f"no {what} calibration {path} ({hint})")
    return doc


def load_profile(store_dir: str | Path, viewer: str = "", eye_camera: str = "",
                 heart_sensor: str = "") -> SeatProfile:
    root = Path(store_dir)
    out: dict = {"names": {}}
    if eye_camera:
        path = store.camera_path(root, eye_camera)
        doc = _entry(store.load_camera, root, eye_camera, path, "eye camera",
                     "run `empathy calibrate pupil-scale`")
        out["eye_px_per_mm"] = _num(doc, "px_per_mm", 1.0, 500.0, str(path))
        out["names"]["eye_camera"] = eye_camera
    if heart_sensor:
        path = store.sensor_path(root, heart_sensor)
        doc = _entry(store.load_sensor, root, heart_sensor, path, "heart sensor",
                     "run `empathy calibrate hr --sensor-id`")
        hr = doc.get("hr") if isinstance(doc.get("hr"), dict) else {}
        out["heart"] = HeartCorrection(_num(hr, "bias_pct", -20.0, 20.0, f"{path} [hr]"),
                                       _num(hr, "lag_ms", -LAG_MAX_MS, LAG_MAX_MS, f"{path} [hr]"),
                                       _device(hr, f"{path} [hr]"))
        out["names"]["heart_sensor"] = heart_sensor
    if viewer:
        path = store.viewer_path(root, viewer)
        doc = _entry(store.load_viewer, root, viewer, path, "viewer",
                     "run `empathy calibrate light` and `baseline`")
        out.update(_viewer(doc, str(path)))
        out["names"]["viewer"] = viewer
    return SeatProfile(**out)


def _device(hr: dict, where: str) -> str:
    """The device a correction was measured on; "" for a file from before devices were
    named (applied to any device, as then)."""
    v = hr.get("device", "")
    if v != "" and not (isinstance(v, str) and (BOARD_MARK.fullmatch(v) or HASH_MARK.fullmatch(v))):
        raise ValueError(f"{where}: device = {v!r} is not a board's id or a device's hash "
                         "(re-run `empathy calibrate hr --sensor-id`)")
    return v


def _viewer(doc: dict, where: str) -> dict:
    out: dict = {}
    light, rest = (doc.get(k) if isinstance(doc.get(k), dict) else None
                   for k in ("light", "baseline"))
    if not light and not rest:
        raise ValueError(f"{where}: neither [light] nor [baseline] (run `empathy calibrate "
                         "light` and `baseline`)")
    base: dict = {}
    if light:
        w = f"{where} [light]"
        phases = [k for k in PHASES if k in light]
        if phases and len(phases) < len(PHASES):
            raise ValueError(f"{w}: {', '.join(phases)} without "
                             f"{', '.join(k for k in PHASES if k not in light)} (re-run "
                             "`empathy calibrate light`)")
        lags = {k: _num(light, k, *(LIGHT_TAU_S if k != "latency_s" else LIGHT_LATENCY_S), w)
                for k in phases}
        scale = light.get("scale", "code")  # files from before the log: the code value
        if scale not in LIGHT_SCALES:
            raise ValueError(f"{w}: scale {scale!r} (one of {', '.join(LIGHT_SCALES)}; re-run "
                             "`empathy calibrate light`)")
        out["light"] = LightResponse(_num(light, "gain_mm", 0.0, 5.0, w),
                                     _num(light, "tau_s", *LIGHT_TAU_S, w), **lags,
                                     log_light=scale == "log10")
        # The pupil at rest under mid-grey: the centre of the calibrated residual.
        centre = _num(light, "base_mm", 1.0, 10.0, w) - \
            out["light"].gain_mm * float(out["light"].drive(MID_GREY))
        sd = _num(rest, "pupil_sd_mm", 0.01, 3.0, f"{where} [baseline]") \
            if rest and "pupil_sd_mm" in rest else 0.6
        base["pupil"] = _ready(centre, sd)
    if rest:
        w = f"{where} [baseline]"
        hr = _num(rest, "hr_bpm", 30.0, 200.0, w)
        # hr_sd_bpm is beat to beat; the edge's 5-s heart rate varies less, so z-scores
        # against it are on the cautious side.
        base["hr"] = _ready(hr, _num(rest, "hr_sd_bpm", 0.1, 50.0, w)
                            if "hr_sd_bpm" in rest else 10.0)
        if "rmssd_ms" in rest:
            base["rmssd"] = _ready(_num(rest, "rmssd_ms", 1.0, 300.0, w), 15.0)
        face = rest.get("resting_expression")
        if face is not None:
            if not isinstance(face, dict) or set(face) != set(EXPRESSIONS):
                raise ValueError(f"{w}: resting_expression must give every class "
                                 f"({', '.join(EXPRESSIONS)})")
            out["resting_expression"] = np.array(
                [_num(face, k, 0.0, 1.0, f"{w} resting_expression") for k in EXPRESSIONS])
    out["baseline"] = base
    return out


def _ready(mean: float, sd: float) -> Baseline:
    """A Baseline that reads as complete: the stored mean and spread."""
    n = 1000
    return Baseline(mean, sd, n=n, mean=mean, m2=sd * sd * (n - 1))
