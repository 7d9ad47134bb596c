"""Files written whole or not at all: a reader (a browser, mosquitto, the next start) sees
the old file or the new one, never half of one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional


def open_beside(path: Path, tmp: Path, flags: int, mode: int) -> int:
    """os.open(tmp) for a write that ends as `path`: an error names `path`, the file the
    user asked for (a missing folder's message said `x.tmp`)."""
    try:
        return os.open(tmp, flags, mode)
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(path)) from None


def write_text(path: str | Path, text: str, mode: Optional[int] = None,
               durable: bool = False) -> None:
    """Write `text` beside `path` under a fresh name, then rename it over `path`.

    `mode` None: the file gets what `open()` would give it (0666 less the umask, so a
    service's `UMask=0077` keeps it private). A mode: the file is 0600 on the way, never
    readable by others, and gets `mode` just before the rename. `durable`: the text and the
    rename are on the disk (fsync) before this returns, even across a power cut."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = open_beside(path, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o666 if mode is None else 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
