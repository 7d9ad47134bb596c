"""Small helpers shared by the operations tests (CLI errors, doctor, uplink)."""

import socket
from pathlib import Path

from empathy.keys import Keystore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unit_keys(folder: Path, unit: int = 301) -> Keystore:
    """The host's keystore and the unit's own, written into `folder`."""
    ks = Keystore.new([unit])
    ks.save(folder / "host.keys.toml")
    ks.for_unit(unit).save(folder / f"unit{unit}.keys.toml")
    return ks
