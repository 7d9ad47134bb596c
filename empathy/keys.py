"""Keystore: per-unit packet keys and the show key for screen cues.

A TOML file, readable by its owner (0600) or also by the service's group (0640, root-owned
with group empathy, see the cinema guide); `load` refuses one that others can read or the
group can write, and one without a show key (screen cues would be forgeable). It holds
``show = "<hex>"``, a ``[units]`` table of
``"<unit id>" = "<hex>"`` and, while keys are being rotated, a ``[previous]`` table of the
keys being replaced. The host holds every unit's key; each edge unit is given a keystore
holding only its own key and the show key.

Rotation without stopping a show: `rotate` gives a unit a new key and keeps the old one as
`previous`; the host accepts both (it re-reads the file when it changes) until the unit has
its new keystore and `revoke(..., previous_only=True)` drops the old key.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

KEY_BYTES = 32
MIN_KEY_BYTES = 16
UNSAFE_MODE = 0o027  # group write, or any permission for others

log = logging.getLogger("empathy.keys")


class KeyError_(ValueError):
    """The keystore is missing, unreadable or malformed."""


def fingerprint(key: bytes) -> str:
    """A name for a key that says nothing about it (safe to print and log)."""
    return hashlib.sha256(b"empathy-key-fp" + key).hexdigest()[:12]


@dataclass
class Keystore:
    show: bytes = b""
    units: dict[int, bytes] = field(default_factory=dict)
    previous: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def new(cls, unit_ids) -> "Keystore":
        return cls(secrets.token_bytes(KEY_BYTES),
                   {int(u): secrets.token_bytes(KEY_BYTES) for u in unit_ids})

    def for_unit(self, unit_id: int) -> "Keystore":
        return Keystore(self.show, {unit_id: self.units[unit_id]})

    def add(self, unit_id: int) -> bytes:
        """A fresh key for a unit; a unit that had one keeps it as `previous` (rotation)."""
        if not 0 <= unit_id <= 0xFFFF:
            raise KeyError_(f"unit id {unit_id} out of range 0..65535")
        if unit_id in self.units:
            self.previous[unit_id] = self.units[unit_id]
        self.units[unit_id] = key = secrets.token_bytes(KEY_BYTES)
        return key

    def revoke(self, unit_id: int, previous_only: bool = False) -> None:
        if unit_id not in self.units:
            raise KeyError_(f"unit {unit_id} has no key")
        self.previous.pop(unit_id, None)
        if not previous_only:
            del self.units[unit_id]

    def save(self, path: str | Path) -> None:
        path = Path(path)
        doc = {"show": self.show.hex(), "units": {str(u): k.hex() for u, k in self.units.items()}}
        if self.previous:
            doc["previous"] = {str(u): k.hex() for u, k in self.previous.items()}
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            tomli_w.dump(doc, f)
        os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a leftover file
        try:  # a root:empathy 0640 keystore stays readable by the service after `keys new`
            st = path.stat()
            if st.st_gid != os.stat(tmp).st_gid:
                os.chown(tmp, -1, st.st_gid)
            os.chmod(tmp, stat.S_IMODE(st.st_mode) & 0o640)
        except FileNotFoundError:
            pass
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> "Keystore":
        try:
            fd = os.open(path, os.O_RDONLY)
            with os.fdopen(fd, "rb") as f:
                mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
                text = f.read().decode()
            doc = tomllib.loads(text)
            ks = cls(bytes.fromhex(doc.get("show", "")),
                     {int(u): bytes.fromhex(k) for u, k in doc.get("units", {}).items()},
                     {int(u): bytes.fromhex(k) for u, k in doc.get("previous", {}).items()})
        except (OSError, ValueError, AttributeError, tomllib.TOMLDecodeError) as e:
            raise KeyError_(f"keystore {path}: {e}") from None
        for unit, key in [*ks.units.items(), *ks.previous.items()]:
            if not 0 <= unit <= 0xFFFF or len(key) < MIN_KEY_BYTES:
                raise KeyError_(f"keystore {path}: unit {unit}: key of {len(key)} bytes "
                                f"(need {MIN_KEY_BYTES}+) or id outside 0..65535")
        if len(ks.show) < MIN_KEY_BYTES:
            raise KeyError_(f"keystore {path}: no show key (need {MIN_KEY_BYTES}+ bytes in "
                            "show = \"<hex>\"): screen cues would be forgeable")
        if mode & UNSAFE_MODE:
            raise KeyError_(f"keystore {path}: mode {mode:o} lets others read or change it "
                            f"(chmod 600, or 640 owned root:empathy)")
        return ks


class KeystoreWatch:
    """Re-reads a keystore when its file changes, so keys rotate while the show runs."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.stamp = self._stamp()

    def _stamp(self):
        try:
            st = self.path.stat()
            return st.st_mtime_ns, st.st_size, st.st_ino
        except OSError:
            return None

    def changed(self) -> Keystore | None:
        """The new keystore if the file changed since last time (and reads cleanly)."""
        stamp = self._stamp()
        if stamp is None or stamp == self.stamp:
            return None
        self.stamp = stamp
        try:
            return Keystore.load(self.path)
        except KeyError_ as e:  # broken: keep the keys we have, try again on the next change
            log.error("keystore change ignored: %s", e)
            return None
