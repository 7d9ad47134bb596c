"""Where calibrations are kept: one TOML file per camera, per heart sensor, per viewer, and
the seat register. The edge reads the first three (`edge/profile.py`) for the seats that
name them in its config.

    STORE/cameras/<camera id>.toml   pixels -> millimetres of each eye camera
    STORE/sensors/<sensor id>.toml   [hr] bias and lag of each heart sensor, to undo, and
                                     the device measured (edge/profile.py: device_mark)
    STORE/viewers/<viewer id>.toml   [light] response and [baseline] of each viewer
    STORE/seats.toml                 which seat holds which calibrated viewer, since when

Viewer ids are pseudonyms (`v-` and hex by default): no names are ever stored here.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import tomli_w

from empathy import toml_text

_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def new_viewer_id() -> str:
    return "v-" + secrets.token_hex(4)


def check_id(kind: str, ident: str) -> str:
    if not _ID.match(ident or ""):
        raise ValueError(f"{kind} id {ident!r}: use 1-32 letters, digits, '-' or '_'")
    return ident


def _read(path: Path) -> dict:
    try:
        return toml_text.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read: {e.strerror}") from None


def camera_path(store: Path, camera_id: str) -> Path:
    return Path(store) / "cameras" / f"{check_id('camera', camera_id)}.toml"


def sensor_path(store: Path, sensor_id: str) -> Path:
    return Path(store) / "sensors" / f"{check_id('sensor', sensor_id)}.toml"


def viewer_path(store: Path, viewer_id: str) -> Path:
    return Path(store) / "viewers" / f"{check_id('viewer', viewer_id)}.toml"


def _write(path: Path, doc: dict) -> Path:
    """Write then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(tomli_w.dumps(doc).encode())
    tmp.replace(path)
    return path


def _stamp(doc: dict) -> dict:
    return {**doc, "written_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def save_camera(store: Path, camera_id: str, doc: dict) -> Path:
    return _write(camera_path(store, camera_id), _stamp(doc))


def load_camera(store: Path, camera_id: str) -> dict:
    return _read(camera_path(store, camera_id))


def _update(path: Path, section: str, doc: dict) -> Path:
    """Replace one section of an entry's file, keeping the rest."""
    entry = _read(path)
    entry[section] = _stamp(doc)
    return _write(path, entry)


def save_sensor(store: Path, sensor_id: str, section: str, doc: dict) -> Path:
    """A heart sensor's [hr] correction (`calibrate hr --sensor-id`)."""
    return _update(sensor_path(store, sensor_id), section, doc)


def load_sensor(store: Path, sensor_id: str) -> dict:
    return _read(sensor_path(store, sensor_id))


def update_viewer(store: Path, viewer_id: str, section: str, doc: dict) -> Path:
    """Replace one section ([light], [baseline]) of a viewer's profile, keeping the rest."""
    return _update(viewer_path(store, viewer_id), section, doc)


def load_viewer(store: Path, viewer_id: str) -> dict:
    return _read(viewer_path(store, viewer_id))


def mark_seat(store: Path, seat_id: int, viewer_id: str) -> Path:
    path = Path(store) / "seats.toml"
    seats = _read(path)
    seats[str(int(seat_id))] = _stamp({"viewer": check_id("viewer", viewer_id)})
    return _write(path, seats)


def calibrated_seats(store: Path) -> dict[int, str]:
    """seat id -> viewer id, for every seat with a stored baseline (what the host asks)."""
    return {int(k): v["viewer"] for k, v in _read(Path(store) / "seats.toml").items()}
