"""Keystore: per-unit packet keys, and the host's key for signing screen cues.

A TOML file, readable by its owner (0600) or also by the service's group (0640, root-owned
with group empathy, see the cinema guide); `read` refuses one that others can read or the
group can write. It holds a ``[units]`` table of ``"<unit id>" = "<hex>"``, while keys are
being rotated a ``[previous]`` table of the keys being replaced, and the screen-cue key:

- the host's keystore holds every unit's key and ``cue_signing_key``, the Ed25519 private
  key that signs screen cues (empathy/wire/cue.py);
- each edge unit's keystore holds only its own key and ``cue_public_key``, the public half,
  which checks cues and cannot make them: a stolen unit cannot forge cues for the others.

`load(path, role)` refuses a host keystore without the signing key, a unit keystore with
it (or without the public key), and a keystore from before signed cues (its ``show`` key,
shared by every unit, is never used again): `empathy keys cue-key` migrates.

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

from empathy import toml_text, wire
from empathy.atomic import open_beside
from empathy.paths import kind_of

KEY_BYTES = 32
MIN_KEY_BYTES = 16
UNSAFE_MODE = 0o027  # group write, or any permission for others
MAX_FILE = 16 << 20  # every unit id's key and its previous one: 10 MB
ROLES = ("host", "unit")

log = logging.getLogger("empathy.keys")


class KeyError_(ValueError):
    """The keystore is missing, unreadable or malformed."""


def fingerprint(key: bytes) -> str:
    """A name for a key that says nothing about it (safe to print and log)."""
    return hashlib.sha256(b"empathy-key-fp" + key).hexdigest()[:12]


def _hex(value, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a hex string, not {type(value).__name__}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not hex") from None


def _keys(doc: dict, table: str) -> dict[int, bytes]:
    """[units] or [previous]: unit id -> key (a hand edit wrote lists, words, numbers)."""
    keys = doc.get(table, {})
    if not isinstance(keys, dict):
        raise ValueError(f"{table} must be a table of unit = \"hex key\"")
    if (bad := next((u for u in keys if not (u.isascii() and u.isdigit())), None)) is not None:
        raise ValueError(f"{table}: {bad!r} is not a unit id")
    return {int(u): _hex(k, f"{table}.{u}") for u, k in keys.items()}


@dataclass
class Keystore:
    units: dict[int, bytes] = field(default_factory=dict)
    previous: dict[int, bytes] = field(default_factory=dict)
    cue_signing: bytes = b""  # the host's: signs screen cues
    cue_public: bytes = b""  # a unit's: checks them
    legacy: bool = False  # read from a file with only the shared show key (see `load`)

    @classmethod
    def new(cls, unit_ids) -> "Keystore":
        return cls({int(u): secrets.token_bytes(KEY_BYTES) for u in unit_ids},
                   cue_signing=secrets.token_bytes(wire.CUE_KEY_SIZE))

    def new_cue_key(self) -> None:
        """A fresh cue signing key (migration, rotation): every unit needs its new keystore."""
        self.cue_signing, self.cue_public, self.legacy = (
            secrets.token_bytes(wire.CUE_KEY_SIZE), b"", False)

    def public_cue_key(self) -> bytes:
        """The key units check cues with (a host derives it from its signing key)."""
        return wire.CueSigner(self.cue_signing).public if self.cue_signing else self.cue_public

    def for_unit(self, unit_id: int) -> "Keystore":
        return Keystore({unit_id: self.units[unit_id]}, cue_public=self.public_cue_key())

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
        doc = {"units": {str(u): k.hex() for u, k in self.units.items()}}
        if self.cue_signing:
            doc["cue_signing_key"] = self.cue_signing.hex()
        elif self.cue_public:
            doc["cue_public_key"] = self.cue_public.hex()
        if self.previous:
            doc["previous"] = {str(u): k.hex() for u, k in self.previous.items()}
        tmp = path.with_suffix(".tmp")
        fd = open_beside(path, tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
    def read(cls, path: str | Path) -> "Keystore":
        """The file as it is, well-formed and private, whoever's it is (see `load`)."""
        try:
            # O_NONBLOCK: a FIFO held open() for ever; it is refused below, unread
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if (kind := kind_of(st.st_mode)):  # /dev/zero read until memory ran out
                    raise ValueError(f"it is {kind}, not a file")
                mode = stat.S_IMODE(st.st_mode)
                data = f.read(MAX_FILE + 1)
            if len(data) > MAX_FILE:
                raise ValueError(f"over {MAX_FILE >> 20} MB, larger than any keystore")
            doc = toml_text.loads(data.decode())
            ks = cls(_keys(doc, "units"), _keys(doc, "previous"),
                     _hex(doc.get("cue_signing_key", ""), "cue_signing_key"),
                     _hex(doc.get("cue_public_key", ""), "cue_public_key"))
        except OSError as e:
            raise KeyError_(f"keystore {path}: cannot read: {e.strerror or e}") from None
        except (ValueError, tomllib.TOMLDecodeError) as e:
            raise KeyError_(f"keystore {path}: {e}") from None
        for unit, key in [*ks.units.items(), *ks.previous.items()]:
            if not 0 <= unit <= 0xFFFF or len(key) < MIN_KEY_BYTES:
                raise KeyError_(f"keystore {path}: unit {unit}: key of {len(key)} bytes "
                                f"(need {MIN_KEY_BYTES}+) or id outside 0..65535")
        ks.legacy = "show" in doc and not (ks.cue_signing or ks.cue_public)
        for name, key, make in (("cue_signing_key", ks.cue_signing, wire.CueSigner),
                                ("cue_public_key", ks.cue_public, wire.CueVerifier)):
            if key and len(key) != wire.CUE_KEY_SIZE:
                raise KeyError_(f"keystore {path}: {name} of {len(key)} bytes (need "
                                f"{wire.CUE_KEY_SIZE})")
            try:
                if key:
                    make(key)
            except (ValueError, RuntimeError) as e:  # not a key; no `cryptography`
                raise KeyError_(f"keystore {path}: {name}: {e}") from None
        if mode & UNSAFE_MODE:
            raise KeyError_(f"keystore {path}: mode {mode:o} lets others read or change it "
                            f"(chmod 600, or 640 owned root:empathy)")
        return ks

    @classmethod
    def load(cls, path: str | Path, role: str) -> "Keystore":
        """`read`, and refused unless it is a keystore for `role` ("host" or "unit")."""
        assert role in ROLES, role
        ks = cls.read(path)
        migrate = (f"keystore {path} is from before signed screen cues (its show key is "
                   "shared by every unit): run `empathy keys cue-key --keystore HOST_KEYSTORE "
                   "--edge-dir DIR` on the host and install each unit's DIR/unitN.keys.toml")
        if role == "host" and not ks.cue_signing:
            raise KeyError_(migrate if ks.legacy else
                            f"keystore {path} has no cue_signing_key: not a host's keystore "
                            "(a unit's?); `empathy keys new` makes one")
        if role == "unit" and ks.cue_signing:
            raise KeyError_(f"keystore {path} holds the host's cue signing key: a unit must "
                            "hold only cue_public_key (whoever takes the unit could forge "
                            "screen cues); install the unit's keystore from `empathy keys "
                            "new --edge-dir` and make a new cue key (`empathy keys cue-key`)")
        if role == "unit" and not ks.cue_public:
            raise KeyError_(migrate if ks.legacy else
                            f"keystore {path} has no cue_public_key to check screen cues "
                            "with: install the unit's keystore from `empathy keys new "
                            "--edge-dir` or `keys provision`")
        return ks


class KeystoreWatch:
    """Re-reads a keystore when its file changes, so keys rotate while the show runs."""

    def __init__(self, path: str | Path, role: str):
        self.path, self.role = Path(path), role
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
            return Keystore.load(self.path, self.role)
        except KeyError_ as e:  # broken: keep the keys we have, try again on the next change
            log.error("keystore change ignored: %s", e)
            return None
