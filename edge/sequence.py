"""The unit's packet sequence: one for every packet it sends (the host keeps one replay
window a unit), carried over restarts so the host never sees a number twice."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

from empathy import atomic, wire
from empathy.edge.viewer_state import LatestWriter
from empathy.errors import UserError
from empathy.paths import state_dir, state_file

log = logging.getLogger("empathy.edge")


def seq_path(cfg) -> Path:
    """Where an edge config's unit keeps its sequence (`empathy doctor` checks it too)."""
    return Path(cfg.seq_file) if cfg.seq_file else state_dir("edge", f"unit{cfg.unit_id}.seq")


class SeqReserve:
    """Sequence numbers reserved on disk a block at a time, so a unit started again (even
    after SIGKILL or a power cut) goes on past every number it sent before; from 0 the host
    would refuse it as a replay until it caught up.

    The file holds a limit: no number at or past it goes out before it is on disk. The next
    block is saved on a thread of its own from half-way through the current one, so a card
    that stalls for seconds holds that thread, never the unit's loop, unless the unit
    reaches the saved limit first (then `use` waits: the guarantee before the samples).
    A restart skips at most one and a half blocks."""

    BLOCK = 1024  # about 90 s of one seat's packets: one small write per block

    def __init__(self, path):
        self.path = state_file(path, "sequence file (seq_file)")
        self._lock = _hold(self.path)
        try:
            self.start = int(self.path.read_text()) & wire.SEQ_MASK
        except FileNotFoundError:
            self.start = 0
        except (OSError, ValueError) as e:
            log.warning("sequence file %s unreadable (%s): starting from 0", self.path, e)
            self.start = 0
        self.limit = self.start  # on disk (or known not to be: warned)
        self._asked = self.start  # the newest limit handed to the writer
        self._cv = threading.Condition()
        self._writer = LatestWriter(self._save, f"sequence {self.path.name}")
        self.use(self.start)

    def use(self, seq: int) -> None:
        """`seq` is about to be sent: from half-way through the saved block the next one
        is saved ahead; `seq` at the saved limit waits until it is on disk (serial
        arithmetic: numbers wrap at 2**32)."""
        with self._cv:
            ahead = wire.seq_delta(seq, self._asked)
            if ahead >= -(self.BLOCK // 2):
                self._asked = ((seq if ahead >= 0 else self._asked) + self.BLOCK) & wire.SEQ_MASK
                self._writer.put(str(self._asked))
            self._cv.wait_for(lambda: wire.seq_delta(seq, self.limit) < 0)

    def close(self) -> None:
        """Let the writer end once the limit asked for is written (never waits for it)."""
        self._writer.close(0)
        if self._lock is not None:
            os.close(self._lock)

    def _save(self, text: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # two units never share a .tmp; synced: a power cut keeps what was sent covered
            atomic.write_text(self.path, text, durable=True)
        except OSError as e:  # a read-only state folder costs the restart guarantee only
            log.warning("cannot reserve sequence numbers in %s: %s", self.path, e)
        with self._cv:
            self.limit = int(text)
            self._cv.notify_all()


class InUse(UserError):
    """Another unit (a process alive now) holds this sequence file."""


def _hold(path: Path) -> int | None:
    """Hold `path`.lock (flock) for the unit's life: two units on one sequence file (one
    typed by hand while the service runs) sent the same numbers, and the host refused one's
    packets as the other's replays. The kernel lets go when the unit dies, SIGKILL too."""
    lock = path.with_name(path.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:  # a read-only card: the show goes on unguarded
        log.warning("cannot hold %s (%s): a second unit on this sequence file goes unnoticed",
                    lock, e.strerror or e)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 16).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise InUse(f"sequence file {path}: another unit runs on it (pid {pid})",
                        "stop that one first (`systemctl stop empathy-edge@...`), or give this "
                        "config its own unit_id and seq_file") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
