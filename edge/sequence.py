"""The unit's packet sequence: one for every packet it sends (the host keeps one replay
window a unit), carried over restarts so the host never sees a number twice."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from pathlib import Path

from empathy import atomic, wire
from empathy.edge.viewer_state import LatestWriter
from empathy.errors import UserError
from empathy.paths import Held, hold_lock, runtime_dir, state_dir, state_file

log = logging.getLogger("empathy.edge")


def seq_path(cfg, home: Path | None = None) -> Path:
    """Where an edge config's unit keeps its sequence (`empathy doctor` checks it too);
    `home`: the state home (`paths.STATE_ENV`) of the process that runs it, where not this one's."""
    return Path(cfg.seq_file) if cfg.seq_file else \
        state_dir("edge", f"unit{cfg.unit_id}.seq", home=home)


class SeqReserve:
    """Sequence numbers reserved on disk a block at a time, so a unit started again (even
    after SIGKILL or a power cut) goes on past every number it sent before; from 0 the host
    would refuse it as a replay until it caught up.

    The file holds a limit: no number at or past it goes out before it is on disk. The next
    block is saved on a thread of its own from half-way through the current one, so a card
    that stalls for seconds holds that thread, never the unit's loop, unless the unit
    reaches the saved limit first (then `use` waits: the guarantee before the samples).
    A restart skips at most one and a half blocks. Where the file cannot be written (a card
    ext4 left read-only, or full) the unit still runs, and keeps its reserve in its
    runtime folder (a tmpfs) for a restart in the same boot; where that has none (after a
    reboot), it starts past twice what its packet rate (`per_s`) can have used since the
    file was last written."""

    BLOCK = 1024  # about 90 s of one seat's packets: one small write per block

    def __init__(self, path, per_s: float = 0.0):
        self.path = state_file(path, "sequence file (seq_file)")
        self.note = _note_path(self.path)
        self._lock, unheld = _hold(self.path)
        stored, written = self._read()
        self.start = stored
        self._failing = False
        try:  # the first block now: a card read-only or full from the start is known here
            self._write(str((stored + self.BLOCK) & wire.SEQ_MASK))
            self.limit = (stored + self.BLOCK) & wire.SEQ_MASK
            if unheld:
                log.warning("cannot hold %s.lock (%s): a second unit on this sequence file "
                            "goes unnoticed", self.path, unheld)
        except OSError as e:
            self._failing = True
            self.start, why = self._unsaved_start(stored, written, per_s)
            log.warning("sequence file %s cannot be written (%s): sending from %d, %s%s",
                        self.path, e.strerror or e, self.start, why,
                        "" if self._lock is not None else "; a second unit goes unnoticed")
            self.limit = self.start
        self._asked = self.limit  # the newest limit handed to the writer
        self._cv = threading.Condition()
        self._writer = LatestWriter(self._save, f"sequence {self.path.name}")
        self.use(self.start)

    def _read(self) -> tuple[int, float]:
        """The limit on disk and when it was written (0, 0.0: none)."""
        try:
            return int(self.path.read_text()) & wire.SEQ_MASK, self.path.stat().st_mtime
        except FileNotFoundError:
            return 0, 0.0
        except (OSError, ValueError) as e:
            log.warning("sequence file %s unreadable (%s): starting from 0", self.path, e)
            return 0, 0.0

    def _unsaved_start(self, stored: int, written: float, per_s: float) -> tuple[int, str]:
        """Where a unit that cannot write its card starts, and why: past the reserve kept
        in its runtime folder this boot (no clock read: NTP may have stepped it back), or
        past what its rate can have used since the card's last write (after a reboot)."""
        guess = _past_unsaved(stored, written, per_s)
        noted = self._read_note()
        if noted is not None and wire.seq_delta(noted, guess) > 0:
            return noted, f"past the reserve kept this boot in {self.note}"
        why = f"past what {per_s:g} packets/s since it was last written can have used"
        if time.time() < written:
            why += (f"; the clock reads {written - time.time():.0f} s before that write "
                    "(stepped back?): the host refuses numbers it has had")
        return guess, why + (f"; the reserve is kept in {self.note} for a restart this boot"
                             if self.note else "; no runtime folder ($XDG_RUNTIME_DIR, "
                             "systemd's RuntimeDirectory=): a restart counts on the clock")

    def _read_note(self) -> int | None:
        try:
            return int(self.note.read_text()) & wire.SEQ_MASK if self.note else None
        except (OSError, ValueError):
            return None

    def _keep(self, text: str) -> bool:
        """The reserve in the runtime folder, where the card cannot take it."""
        if self.note is None:
            return False
        try:
            self.note.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic.write_text(self.note, text)
            return True
        except OSError:
            return False

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

    def close(self, wait_s: float = 0.0) -> None:
        """Let the writer end once the limit asked for is written (waits `wait_s` for it)."""
        self._writer.close(wait_s)
        if self._lock is not None:
            os.close(self._lock)

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # two units never share a .tmp; synced: a power cut keeps what was sent covered
        atomic.write_text(self.path, text, durable=True)

    def _save(self, text: str) -> None:
        try:
            self._write(text)
            self._failing = False
        except OSError as e:  # a read-only card: the runtime folder keeps it this boot
            kept = self._keep(text)
            if not self._failing:  # one line when the card fails, not one a block
                log.warning("cannot reserve sequence numbers in %s: %s%s", self.path, e,
                            f" (kept in {self.note} for this boot)" if kept else "")
            self._failing = True
        with self._cv:
            self.limit = int(text)
            self._cv.notify_all()


def packet_rate(cfg) -> float:
    """The most packets a second an edge config's unit sends: every seat's samples, its
    heartbeats, and clock sync at its first quick rate (10/s); one more for MQTT epochs."""
    return len(cfg.seats) * cfg.rate_hz + cfg.heartbeat_hz + max(cfg.sync_hz, 10.0) + 1.0


def _past_unsaved(stored: int, written: float, per_s: float) -> int:
    """Where a unit that cannot reserve starts: past every number it can have sent since
    the limit on disk was written (`per_s` at most, a number below the limit at that time),
    so a restart on a card that stays read-only never repeats one (the host would refuse
    them as replays). Twice that: each restart then jumps past twice what the unit can
    send in the silence of its restart, which the host tells from lost packets
    (host/unit_health.py; at once that, the jump was about what the unit sends in its
    silence, and the host counted it as loss). With no file, the time counts from 1970:
    the number follows the clock, wrapping at 2**32 (serially ahead for 2**31 / (2 per_s)
    seconds: a year for one seat, months for several)."""
    since = max(0.0, time.time() - written)
    return (stored + math.ceil(2 * per_s * since)) & wire.SEQ_MASK


def _note_path(path: Path) -> Path | None:
    """The runtime folder's copy of a sequence file's reserve (None without the folder)."""
    folder = runtime_dir()
    if folder is None:
        return None
    key = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:12]
    return folder / f"{path.name}.{key}.limit"


class InUse(UserError):
    """Another unit (a process alive now) holds this sequence file."""


def _hold(path: Path) -> tuple[int | None, str]:
    """Hold `path`.lock (flock) for the unit's life: two units on one sequence file (one
    typed by hand while the service runs) sent the same numbers, and the host refused one's
    packets as the other's replays. The kernel lets go when the unit dies, SIGKILL too.
    (None, why) where the lock cannot be made (a read-only card: the show goes on
    unguarded; the caller says so, in one line with the sequence's own trouble)."""
    try:
        return hold_lock(path.with_name(path.name + ".lock")), ""
    except OSError as e:
        return None, str(e.strerror or e)
    except Held as e:
        raise InUse(f"sequence file {path}: another unit runs on it (pid {e.pid})",
                    "stop that one first (`systemctl stop empathy-edge@...`), or give this "
                    "config its own unit_id and seq_file") from None
