"""Keeping recorded sessions within what the privacy notice and the disk allow.

`[session]` retention_days / keep_sessions / max_mb (0: that limit is off). `retain` deletes
the oldest sessions until those left are younger than retention_days, no more than
keep_sessions and no larger than max_mb together; never `keep` (the one being recorded),
never one a recorder holds (`store.purge` refuses it), and by age never one written in the
last RESUME_S (a crashed host's, about to be resumed). A host runs it when it starts and
once a day (`Retention`), a kiosk after every visit, so a card never fills however long the
installation runs; `empathy session purge` deletes on request.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from empathy.host.session import store

log = logging.getLogger("empathy.host.session")


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in store.files_of(path) if f.exists())


def retain(folder: Path, limits, keep: Optional[Path] = None,
           now_s: Optional[float] = None) -> list[str]:
    """Delete the oldest sessions beyond limits.retention_days / keep_sessions / max_mb.
    Returns the ids deleted, oldest first; sessions refused (being recorded) are logged."""
    now_s = time.time() if now_s is None else now_s
    keep = Path(keep).resolve() if keep else None
    paths = []
    for p in store.sessions(folder):
        try:
            if p.resolve() != keep:
                paths.append((store.last_written(p), p))
        except (OSError, ValueError):  # deleted meanwhile
            continue
    paths = [p for _, p in sorted(paths, key=lambda x: x[0])]  # oldest first
    doomed = []
    if limits.retention_days:
        days = max(limits.retention_days, store.RESUME_S / 86400)
        doomed = store.older_than(folder, days, now_s)
        doomed = [p for p in paths if p in doomed]
    left = [p for p in paths if p not in doomed]
    room = limits.keep_sessions - (keep is not None) if limits.keep_sessions else None
    while room is not None and len(left) > max(room, 0):
        doomed.append(left.pop(0))
    if limits.max_mb:
        total = sum(size_of(p) for p in left) + (size_of(keep) if keep else 0)
        while left and total > limits.max_mb * 1e6:
            total -= size_of(left[0])
            doomed.append(left.pop(0))
    removed, refused = store.purge_all(doomed)
    for why in refused:  # a session another recorder holds: next time
        log.warning("retention: %s", why)
    if removed:
        why = " or ".join(w for w, on in (
            (f"older than {limits.retention_days:g} days", limits.retention_days),
            (f"beyond the newest {limits.keep_sessions}", limits.keep_sessions),
            (f"over {limits.max_mb:g} MB together", limits.max_mb)) if on)
        log.info("retention: purged %d session(s) %s: %s", len(removed), why, ", ".join(removed),
                 extra={"purged": removed, "retention_days": limits.retention_days,
                        "keep_sessions": limits.keep_sessions, "max_mb": limits.max_mb})
    return removed


class Retention:
    """`retain` when the host starts and every `every_s` after. Each purge is logged and,
    through `on_purge(kind, data)`, noted in the running session."""

    def __init__(self, folder: Path, limits, keep: Optional[Path] = None,
                 every_s: float = 86400.0, on_purge: Optional[Callable] = None):
        self.folder, self.limits, self.every_s = Path(folder), limits, every_s
        self.keep, self.on_purge = keep, on_purge
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="session-retention",
                                        daemon=True)

    def start(self) -> "Retention":
        self.run_once()
        self._thread.start()
        return self

    def run_once(self) -> list[str]:
        try:
            removed = retain(self.folder, self.limits, self.keep)
        except OSError as e:  # never the show's end: say so and try again tomorrow
            log.error("retention: cannot purge old sessions in %s: %s", self.folder, e)
            return []
        if removed and self.on_purge:
            self.on_purge("retention", {"purged": removed,
                                        "retention_days": self.limits.retention_days})
        return removed

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.run_once()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
