"""The source protocol: every sensor, simulated or real, yields timestamped readings.

A `Source` is opened from a URL (`sim://`, later `ble://`, `serial://`, `camera://`,
`replay://`) and read with `read(timeout_s)`, which returns the readings that arrived since
the last call. Readings are small frozen dataclasses stamped with `ts_us` on the unit's
monotonic clock; the edge maps them to the host's clock.
"""

from __future__ import annotations

import importlib
import os
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol, Sequence, Union
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # (annotations only: `config check` reads SCHEMES without numpy)
    import numpy as np


@dataclass(frozen=True)
class Beat:
    """One heartbeat: the RR interval that ended at ts_us (as BLE straps report them)."""

    ts_us: int
    rr_ms: float


@dataclass(frozen=True)
class HeartRate:
    """A strap's own heart-rate figure (0x2A37): bpm, skin contact (None = the strap cannot
    tell) and cumulative energy expended in kJ (None = not sent)."""

    ts_us: int
    hr_bpm: float
    contact: Optional[bool] = None
    energy_kj: Optional[int] = None


@dataclass(frozen=True)
class Pupil:
    """One eye-camera reading. diameter_mm = 0 with confidence 0 means lost (blink, glance)."""

    ts_us: int
    diameter_mm: float
    confidence: float


@dataclass(frozen=True)
class FaceCrop:
    """An aligned grey face crop. Stays on the edge unit: only model outputs leave it."""

    ts_us: int
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Waveform:
    """A chunk of a raw waveform (PPG from a serial board, ECG from a reference rig, skin
    conductance in microsiemens). samples[i] was taken at ts_us + i * 1e6 / fs_hz. Stays on
    the edge unit."""

    ts_us: int
    kind: str  # "ppg" | "ecg" | "eda"
    fs_hz: float
    samples: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Frame:
    """A raw camera frame (BGR or grey). role: "face" or "eye". Stays on the edge unit:
    the perception stage turns it into FaceCrop/Pupil readings and drops it."""

    ts_us: int
    role: str
    image: np.ndarray = field(repr=False)


UNPLUGGED = "unplugged"  # Health.fault: the device went away; the next one names itself again
# Health.fault words the edge turns into the operator's fault codes (edge/seat_faults.py)
LEAD_OFF = "lead off"
LEAD_LOOSE = "dropping: check the electrode snap"  # "LO+ keeps dropping: check ..."
LEAD_STUCK = "lead-off pin reads off but the ECG shows a heart: check the LO wiring"
STRAP_GONE = "disconnected"  # a BLE strap out of reach
NO_SKIN = "no skin contact"  # a strap's own contact bit


@dataclass(frozen=True)
class Health:
    """Sensor status: contact, battery, or a fault the operator should see."""

    ts_us: int
    sensor: str
    contact: bool = True
    battery_pct: float = -1.0
    fault: str = ""
    # the source reads another body from here on (a strap found by name swapped for the
    # next one handed out): the seat takes a new viewer, however short the gap
    new_wearer: bool = False


@dataclass(frozen=True)
class Device:
    """Which device the source reads from here on (`ident`: "ble:" and a strap's address,
    "board:" and a board's id), said before its first reading and again on each reconnect.
    A unit restarted takes a seat's viewer back only from the device they wore
    (edge/viewer_state.py, which keeps a keyed hash of it, never `ident` itself)."""

    ts_us: int
    sensor: str
    ident: str


Reading = Union[Beat, HeartRate, Pupil, FaceCrop, Waveform, Frame, Health, Device]


def drain(q: "queue.Queue", timeout_s: float) -> list:
    """Everything a driver thread queued: wait up to timeout_s for the first item, then take
    the rest without waiting (the `read` of every thread-backed source)."""
    out = []
    try:
        out.append(q.get(timeout=timeout_s))
        while True:
            out.append(q.get_nowait())
    except queue.Empty:
        return out


class SourceError(RuntimeError):
    """A source could not be opened or has failed for good."""


class Source(Protocol):
    url: str

    def read(self, timeout_s: float = 0.1) -> Sequence[Reading]:
        """Readings since the last call (may be empty). Never blocks longer than timeout_s."""
        ...

    def close(self) -> None: ...


# scheme -> "module:Class"; each class takes (url, query dict, **context)
SCHEMES = {
    "sim": "empathy.sim.seat:SimSource",
    "video": "empathy.sensors.video:VideoSource",
    "serial": "empathy.sensors.serial.board:SerialSource",
    "ble": "empathy.sensors.ble.strap:BleSource",
    "replay": "empathy.sensors.replay:ReplaySource",
    "camera": "empathy.sensors.camera:CameraSource",
    "lsl": "empathy.sensors.lsl:LslSource",
    "brainflow": "empathy.sensors.brainflow:BrainflowSource",
}


def source_file(url: str) -> Optional[tuple[str, str]]:
    """(what, path) of the file a source plays (replay://, video://, camera://file/PATH);
    None for a live source. `doctor --config` and `config check` both check it."""
    u = urlsplit(url)
    if u.scheme in ("video", "replay"):
        return f"{u.scheme} file", u.netloc + u.path
    where, _, rest = f"{u.netloc}{u.path}".partition("/")
    if u.scheme == "camera" and where == "file":
        return "camera file", "/" + rest.lstrip("/")
    return None


def file_problem(path: str) -> str:
    """Why a source's file cannot be played ("" if it can be opened for reading)."""
    p = Path(path)
    if not p.exists():
        return "is missing"
    if not p.is_file():
        return "is not a file"
    return "" if os.access(p, os.R_OK) else "is not readable by this user"


def open_source(url: str, **context) -> Source:
    parts = urlsplit(url)
    target = SCHEMES.get(parts.scheme)
    if target is None:
        raise SourceError(f"{url}: unknown source scheme {parts.scheme!r} "
                          f"(known: {', '.join(sorted(SCHEMES))})")
    module, cls = target.split(":")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return getattr(importlib.import_module(module), cls)(url, query, **context)
