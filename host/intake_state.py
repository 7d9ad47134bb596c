"""What the host's intake must not forget over a restart: each unit's highest sequence
number (anti-replay), its MQTT connection epoch (so a will captured earlier stays refused)
and the seats locked to units on first sight.

One JSON file in the host's state folder, written by atomic rename (mode 0600) about once
a second and when the show ends. Each unit's highest number is stored with the
fingerprints of the keys it could have been earned under: a unit whose keys have all
changed since (re-keyed after a re-flash, `keys new` then `keys revoke --previous`) starts
afresh, since nothing signed with its old keys can pass any more.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

from empathy.atomic import write_text
from empathy.errors import UserError
from empathy.keys import fingerprint
from empathy.paths import Held, hold_lock, state_dir

log = logging.getLogger("empathy.host.intake")
FILE, LOCK = "intake.json", "host.lock"
_VERSION = 1


def default_dir() -> Path:
    """The state folder's host/ (empathy.paths; systemd units put it in /var/lib/empathy)."""
    return state_dir("host")


def hold(folder: Path) -> Optional[int]:
    """Hold the state folder for this host's life (flock on its host.lock; the kernel lets
    go at any death): two hosts on one folder (host workers of a screen, a config copied
    for the second; one typed by hand beside the service) each rewrote intake.json with
    its own tables, and a restarted one took up the other's. UserError where another
    host holds it; None where the folder cannot be written (the show goes on, unsaved,
    as save() then says)."""
    try:
        return hold_lock(folder / LOCK, folder_mode=0o700)
    except OSError:
        return None
    except Held as e:
        raise UserError(f"host state folder {folder}: another host runs on it (pid {e.pid})",
                        hint="stop that one first (`systemctl stop empathy-host`); a second "
                             "host worker needs its own: state_dir = \"...\" in its config") \
            from None


def _fps(unit: int, keys: dict, previous: dict) -> list[str]:
    return [fingerprint(k) for k in (keys.get(unit), previous.get(unit)) if k]


def save(folder: Path, tops: dict[int, int], locks: dict[int, tuple[int, float]],
         keys: dict, previous: dict, epochs: Optional[dict[int, int]] = None) -> None:
    epochs = epochs or {}  # kept for units heard from (a file an older host still reads)
    doc = {"version": _VERSION,
           "units": {str(u): {"top": t, "keys": _fps(u, keys, previous),
                              **({"status": epochs[u]} if u in epochs else {})}
                     for u, t in tops.items()},
           "seats": {str(s): [u, round(t, 1)] for s, (u, t) in locks.items()}}
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_text(folder / FILE, json.dumps(doc), 0o600)


def load(folder: Path, keys: dict, previous: dict) -> Optional[tuple[dict, dict, dict]]:
    """(tops, locks, epochs) saved before, or None when there is no state yet. A damaged
    file is logged and gives empty tables (refusing to start would stop the show); the
    caller still treats it as a restart."""
    path = folder / FILE
    try:
        doc = json.loads(path.read_text())
        current = {u: set(_fps(u, keys, previous)) for u in keys}
        tops, epochs = {}, {}
        for u, rec in doc["units"].items():
            unit, top, epoch = int(u), int(rec["top"]), int(rec.get("status", 0))
            if not (0 <= unit <= 0xFFFF and 0 <= top < 1 << 62 and 0 <= epoch < 1 << 32):
                raise ValueError(f"unit {u}: out of range")
            if current.get(unit, set()) & set(rec["keys"]):
                tops[unit] = top
                if "status" in rec:
                    epochs[unit] = epoch
        locks = {}
        for s, (u, t) in doc["seats"].items():
            seat, unit = int(s), int(u)
            if not (0 <= seat <= 0xFFFF and 0 <= unit <= 0xFFFF):
                raise ValueError(f"seat {s}: out of range")
            locks[seat] = (unit, float(t))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        log.error("host state %s unreadable (%s): starting without it", path, e)
        return {}, {}, {}
    return tops, locks, epochs
