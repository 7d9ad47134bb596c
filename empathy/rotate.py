"""Files that grow for as long as the show runs (the frame log, log files), kept in budget.

A `RotatingFile` appends (a restart under `Restart=always` never wipes what was there) and
rolls over when the file reaches `max_mb` or when a new period of `max_age_h` begins (a
file last written in an earlier period is rolled at open too), like logrotate: `NAME` is the
file being written, `NAME.1` the one before, ..., `NAME.KEEP` the oldest; older ones are
deleted. So the disk used is at most (keep + 1) x max_mb, whatever the uptime.

Writes should be whole lines (a CSV row, a log record): rollover happens between writes.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from empathy.paths import log_file


@dataclass
class Rotation:
    max_mb: float = 20.0  #: roll the file over at this size, MB
    #: ...or when a new period of this many hours begins (a new day); 0 = by size only
    max_age_h: float = 24.0
    keep: int = 7  #: rolled-over files kept (NAME.1 newest .. NAME.KEEP oldest)

    def validate(self):
        if not 0.01 <= self.max_mb <= 10_000:
            raise ValueError(f"max_mb {self.max_mb} must be within 0.01..10000")
        if not (self.max_age_h == 0 or 0.001 <= self.max_age_h <= 24 * 366):
            raise ValueError(f"max_age_h {self.max_age_h} must be 0 (size only) or within "
                             "0.001..8784 hours")
        if not 0 <= self.keep <= 1000:
            raise ValueError(f"keep {self.keep} must be within 0..1000")

    def budget_bytes(self) -> int:
        """The most these files take on disk (plus one line)."""
        return int((self.keep + 1) * self.max_mb * 1e6)


def rolled(path: Path, keep: int) -> None:
    """NAME -> NAME.1 -> NAME.2 ...; the one beyond `keep` is deleted."""
    path = Path(path)
    for k in range(keep, 0, -1):
        older = path.with_name(f"{path.name}.{k}")
        if k == keep:
            older.unlink(missing_ok=True)
        else:
            newer_name = path.with_name(f"{path.name}.{k + 1}")
            if older.exists():
                os.replace(older, newer_name)
    if keep and path.exists():
        os.replace(path, path.with_name(f"{path.name}.1"))
    else:
        path.unlink(missing_ok=True)


class RotatingFile:
    """A text file opened for append that rolls over by size and age (see module doc).

    header: written at the top of every new file (a CSV's column names); a file already
    there that begins otherwise is refused, named as `what`.
    clock: seconds since the epoch (time.time); a simulation may pass its own."""

    def __init__(self, path: Path, rotation: Optional[Rotation] = None, header: str = "",
                 clock: Callable[[], float] = time.time, what: str = "log"):
        self.path = Path(path)
        self.rotation = rotation or Rotation()
        self.header, self.clock = header, clock
        self.rollovers = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if header:  # (a log without one, e.g. --log-file, is text of any kind)
            log_file(self.path, what, header)
        if self.path.exists() and self.path.stat().st_size and (
                self._period(self.path.stat().st_mtime) != self._period(clock())):
            rolled(self.path, self.rotation.keep)  # written in an earlier period
        self._open()

    def _period(self, t: float) -> int:
        h = self.rotation.max_age_h
        return int(t // (h * 3600)) if h else 0

    def _open(self) -> None:
        self._f = open(self.path, "a", encoding="utf-8", newline="")
        self.size = self._f.tell()
        self.period = self._period(self.clock())
        if self.size == 0 and self.header:
            self._f.write(self.header)
            self.size = len(self.header.encode())

    def write(self, text: str) -> int:
        if self.size >= self.rotation.max_mb * 1e6 or (
                self.rotation.max_age_h and self._period(self.clock()) != self.period):
            self.rollover()
        n = self._f.write(text)
        self.size += len(text.encode()) if not text.isascii() else len(text)
        return n

    def rollover(self) -> None:
        self._f.close()
        rolled(self.path, self.rotation.keep)
        self.rollovers += 1
        self._open()

    def flush(self) -> None:
        self._f.flush()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def files(self) -> list[Path]:
        """This file and its rolled-over ones that exist, newest first."""
        return [p for p in [self.path] + [self.path.with_name(f"{self.path.name}.{k}")
                                          for k in range(1, self.rotation.keep + 1)]
                if p.exists()]


RETRY_S = 5.0  # how often a file the disk refused is tried again


def set_aside(f) -> float:
    """Closes a file the disk refused (the rows in its buffer go with it) and gives the
    monotonic time to try it again."""
    try:
        f.close()
    except OSError:
        pass
    return time.monotonic() + RETRY_S


def end_cut_line(f: "RotatingFile") -> None:
    """Ends a line a full disk cut short, so the next one starts on its own."""
    if f.size:
        with open(f.path, "rb") as g:
            g.seek(-1, 2)
            if g.read(1) != b"\n":
                f.write("\n")


class RotatingLogHandler(logging.StreamHandler):
    """Log records to a RotatingFile (`empathy --log-file PATH`). On a full disk logging's
    own handler printed a traceback to stderr for every record: here it is said once, the
    records are dropped (the show goes on), and every RETRY_S the file is tried again."""

    def __init__(self, path: Path, rotation: Optional[Rotation] = None):
        super().__init__(RotatingFile(path, rotation))
        self._args = (Path(path), rotation)
        self.lost = 0  # records dropped while the file could not be written
        self._retry_at: Optional[float] = None  # set while failing

    def emit(self, record: logging.LogRecord) -> None:
        if self._retry_at is not None and not self._reopened():
            self.lost += 1
            return
        try:
            self.stream.write(self.format(record) + self.terminator)
            self.stream.flush()
        except OSError as e:
            self._failed(e)
        except Exception:
            self.handleError(record)

    def _failed(self, e: OSError) -> None:
        self.lost += 1
        if self._retry_at is None:
            sys.stderr.write(f"empathy: cannot write the log file {self._args[0]} "
                             f"({e.strerror or e}): the show goes on; its records are dropped "
                             "until the disk takes them again\n")
        self._retry_at = set_aside(self.stream)

    def _reopened(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        try:
            self.stream = RotatingFile(*self._args)
            end_cut_line(self.stream)
            said = logging.LogRecord("empathy.log", logging.WARNING, __file__, 0, "the log "
                                     "file could not be written: %d record(s) lost",
                                     (self.lost,), None)
            self.stream.write(self.format(said) + self.terminator)
            self.stream.flush()
        except OSError as e:
            self._failed(e)
            return False
        self._retry_at, self.lost = None, 0
        return True

    def flush(self) -> None:
        if self._retry_at is None:  # (closed while failing)
            try:
                self.stream.flush()
            except OSError as e:
                self._failed(e)

    def close(self) -> None:
        try:
            self.flush()
            self.stream.close()
        except OSError:
            pass  # (said when it first failed)
        finally:
            super().close()
