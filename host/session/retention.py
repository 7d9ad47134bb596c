"""Keeping recorded sessions within what the privacy notice and the disk allow.

A session is its store file (with SQLite's -wal/-shm beside it) and, for a kiosk visit, its
HTML report. `retain` deletes the oldest sessions until those left are younger than
`keep_days`, no more than `keep_sessions` and no larger than `max_mb` together (0: that
limit is off). A kiosk calls it after every visit, so a card never fills however long the
installation runs; `empathy session purge` deletes on request.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Optional

from empathy.host.session import store

log = logging.getLogger("empathy.host.session")


def files_of(path: Path) -> list[Path]:
    """Every file that belongs to the session stored at `path`."""
    path = Path(path)
    sid = store.session_id(path)
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm"), path.with_name(f"{sid}.html")]


def remove(path: Path) -> int:
    """Delete a session for good; returns the bytes freed."""
    freed = 0
    for f in files_of(path):
        try:
            freed += f.stat().st_size
            f.unlink()
        except FileNotFoundError:
            pass
    return freed


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in files_of(path) if f.exists())


def retain(folder: Path, cfg, keep: Optional[Path] = None,
           now_s: Optional[float] = None) -> list[str]:
    """Delete the oldest sessions beyond cfg.keep_days / keep_sessions / max_mb; `keep` (the
    session just closed) is never deleted. Returns the ids deleted, oldest first."""
    now_s = time.time() if now_s is None else now_s
    paths = [p for p in store.sessions(folder) if keep is None or p != Path(keep)]
    paths.sort(key=lambda p: p.stat().st_mtime)  # oldest first
    doomed = []
    if cfg.keep_days:
        doomed = [p for p in paths if now_s - p.stat().st_mtime > cfg.keep_days * 86400]
    left = [p for p in paths if p not in doomed]
    room = cfg.keep_sessions - (keep is not None) if cfg.keep_sessions else None
    while room is not None and len(left) > max(room, 0):
        doomed.append(left.pop(0))
    if cfg.max_mb:
        total = sum(size_of(p) for p in left) + (size_of(Path(keep)) if keep else 0)
        while left and total > cfg.max_mb * 1e6:
            total -= size_of(left[0])
            doomed.append(left.pop(0))
    for p in doomed:
        remove(p)
    if doomed:
        log.info("retention: %d session(s) deleted", len(doomed),
                 extra={"deleted": [store.session_id(p) for p in doomed]})
    return [store.session_id(p) for p in doomed]
