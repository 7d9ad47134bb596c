"""Keystore: per-unit packet keys and the show key for screen cues.

A TOML file, readable by its owner only (0600): ``show = "<hex>"`` and a ``[units]`` table
of ``"<unit id>" = "<hex>"``. The host holds every unit's key; each edge unit is given a
keystore holding only its own key and the show key.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

KEY_BYTES = 32


class KeyError_(ValueError):
    """The keystore is missing, unreadable or malformed."""


@dataclass
class Keystore:
    show: bytes = b""
    units: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def new(cls, unit_ids) -> "Keystore":
        return cls(secrets.token_bytes(KEY_BYTES),
                   {int(u): secrets.token_bytes(KEY_BYTES) for u in unit_ids})

    def for_unit(self, unit_id: int) -> "Keystore":
        return Keystore(self.show, {unit_id: self.units[unit_id]})

    def save(self, path: str | Path) -> None:
        path = Path(path)
        doc = {"show": self.show.hex(), "units": {str(u): k.hex() for u, k in self.units.items()}}
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            tomli_w.dump(doc, f)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> "Keystore":
        try:
            doc = tomllib.loads(Path(path).read_text())
            return cls(bytes.fromhex(doc.get("show", "")),
                       {int(u): bytes.fromhex(k) for u, k in doc.get("units", {}).items()})
        except (OSError, ValueError, tomllib.TOMLDecodeError) as e:
            raise KeyError_(f"keystore {path}: {e}") from None
