"""The session store: one SQLite file per show, in WAL mode, committed 4 times a second.

Why SQLite WAL: a committed transaction survives the host process being killed (it is in
the WAL file the moment COMMIT returns), readers never block the writer, and every lab can
open the file. The show thread only appends to a queue; a writer thread commits what is
queued every `COMMIT_S`, so at most that much (plus one commit's time) is at risk.

Tables: `samples` (one row per accepted seat sample, the wire fields), `events` (ts_us,
kind, JSON data: state, segment, decision, grade, control, health, and every `UNITS_S` a
`units` report: each unit's loss, battery, firmware and clock offset), `frames` (when each
frame of the picture was shown, on the same host clock as the samples, so a heartbeat can
be aligned with the frame on screen) and `meta`. Unit ids are stored as per-session
pseudonyms (`pseudonym.py`), in samples and events alike.

Sessions hold biometric data: the folder is made 0700, each database 0600 (SQLite gives
its -wal and -shm files the database's mode), and files written from a session
(`private_files()`) are 0600 too. A recorder holds an exclusive `flock` on its database
for as long as it records, so `purge` can refuse a session that is being recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Callable, Optional

from empathy.clock import now_us
from empathy.host.session.pseudonym import UnitPseudonyms
from empathy.host.session.reading import (SessionError, check, meta_of, open_readonly,
                                          reading)

log = logging.getLogger("empathy.host.session")

COMMIT_S = 0.25
UNITS_S = 5.0
RESUME_S = 300.0  # a host restarted this soon after a crash continues its session
MAX_UNWRITTEN = 600_000  # rows held while the disk is full (a minute of 1,000 seats)
SUFFIX = ".session.db"
SAMPLE_FIELDS = ("ts_us", "unit_id", "seat_id", "seq", "hr_bpm", "rmssd_ms", "pupil_mm",
                 "arousal", "valence", "expression", "expression_conf", "flags")
EVENT_FIELDS = ("ts_us", "kind", "data")
FRAME_FIELDS = ("ts_us", "frame", "segment", "clip_t_s", "luminance")
TABLES = ("samples", "events", "frames")
_UNIT = SAMPLE_FIELDS.index("unit_id")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS samples ({", ".join(SAMPLE_FIELDS)});
CREATE TABLE IF NOT EXISTS events (ts_us INTEGER, kind TEXT, data TEXT);
CREATE TABLE IF NOT EXISTS frames (ts_us INTEGER, frame INTEGER, segment TEXT, clip_t_s REAL,
                                   luminance REAL);
"""


def new_session_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


@contextlib.contextmanager
def private_files():
    """Files and folders made inside are for the owner only (umask 077)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _create_private(path: Path) -> None:
    """The database file, made 0600 before SQLite opens it (and fixed if it was not)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _lock(path: Path, blocking: bool = False) -> int:
    """An exclusive flock on the session file; raises BlockingIOError if someone holds it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        raise
    return fd


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit is durable against a killed process (not against power loss).
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class GradeChanges:
    """Frames in, a grade event out only when the picture's look changes (segment, LUT or
    strength): the session and the LSL marker stream mark the same changes."""

    def __init__(self):
        self.last: Optional[tuple] = None

    def change(self, frame) -> Optional[dict]:
        grade = (frame.clip_id, frame.lut, frame.strength)
        if grade == self.last:
            return None
        self.last = grade
        return {"segment": frame.clip_id, "lut": frame.lut, "strength": frame.strength}


class Recorder:
    """A Show observer (`show.subscribe(recorder)`) writing the session to `folder`."""

    def __init__(self, folder: Path, meta: Optional[dict] = None,
                 session_id: Optional[str] = None,
                 unit_report: Optional[Callable[[], list]] = None,
                 on_fault: Optional[Callable[[dict], None]] = None,
                 clock: Callable[[], int] = now_us):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.clock = clock  # event timestamps: the show's clock, as its samples'
        self.id = session_id or new_session_id()
        self.path = folder / f"{self.id}{SUFFIX}"
        _create_private(self.path)
        try:
            self._held = _lock(self.path)  # `session purge` refuses it while we record
        except BlockingIOError:
            raise SessionError(f"session {self.id} is being recorded by another process") \
                from None
        self.db = connect(self.path)
        self.db.executescript(_SCHEMA)
        meta = {"session": self.id, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()), **(meta or {})}
        # Resuming a session (same id): its own start time and metadata stay.
        self.resumed = session_id is not None and bool(
            self.db.execute("SELECT count(*) FROM meta").fetchone()[0])
        self.db.executemany(f"INSERT OR {'IGNORE' if self.resumed else 'REPLACE'} INTO meta "
                            "VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        self.units = UnitPseudonyms()  # unit id -> this session's stand-in, memory only
        self.rows: queue.SimpleQueue = queue.SimpleQueue()
        self.samples = self.events = 0
        self._grades = GradeChanges()
        self.unit_report, self._units_due = unit_report, 0
        # Rows a failed commit could not write (disk full) wait for the next one; `on_fault`
        # tells the show when writing stops and starts again.
        self.on_fault, self.failing = on_fault, False
        self._unwritten: tuple[list, list, list] = ([], [], [])
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="session-writer",
                                        daemon=True)
        self._thread.start()

    # -- observer ----------------------------------------------------------------------
    def __call__(self, kind: str, data) -> None:
        if kind == "samples":
            for s in data:
                row = [getattr(s, f) for f in SAMPLE_FIELDS]
                row[_UNIT] = self.units(row[_UNIT])
                self.rows.put(("s", tuple(row)))
        elif kind == "frame":
            # wall_s is the player's monotonic clock at display: the host clock of samples.
            self.rows.put(("f", (round(data.wall_s * 1e6), data.index, data.clip_id,
                                 round(data.clip_t_s, 4), round(data.luminance, 4))))
            grade = self._grades.change(data)
            if grade:  # stamped when that frame was shown
                self.event("grade", grade, round(data.wall_s * 1e6))
        else:
            ts = getattr(data, "ts_us", None) or self.clock()
            self.event(kind, data, ts)
            if kind == "state" and self.unit_report and ts >= self._units_due:
                units = self.unit_report()
                if units:  # none heard from yet: ask again at the next state
                    self._units_due = ts + int(UNITS_S * 1e6)
                    self.event("units", units, ts)

    def event(self, kind: str, data, ts_us: Optional[int] = None) -> None:
        """Any other event (health reports, notes) goes in the same store."""
        doc = self.units.scrub(asdict(data) if is_dataclass(data) else data)
        self.rows.put(("e", (ts_us or self.clock(), kind, json.dumps(doc, default=str))))

    # -- writer thread -----------------------------------------------------------------
    def _write_loop(self) -> None:
        while not self._stop.wait(COMMIT_S):
            self._commit()
        self._commit()

    def _commit(self) -> None:
        samples, events, frames = self._unwritten
        while True:
            try:
                table, row = self.rows.get_nowait()
            except queue.Empty:
                break
            (samples if table == "s" else events if table == "e" else frames).append(row)
        if not samples and not events and not frames:
            return
        try:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany(f"INSERT INTO samples VALUES ({','.join('?' * 12)})",
                                    samples)
                self.db.executemany("INSERT INTO events VALUES (?, ?, ?)", events)
                self.db.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?)", frames)
        except sqlite3.Error as e:
            # Disk full or similar: keep the rows for the next commit (up to MAX_UNWRITTEN,
            # oldest dropped and counted), say so loudly, keep the show running.
            # Frames go first (the picture's log is also in the frame log), then samples.
            over = max(0, len(samples) + len(events) + len(frames) - MAX_UNWRITTEN)
            self.dropped += over
            lost_frames = min(over, len(frames))
            over -= lost_frames
            self._unwritten = (samples[min(over, len(samples)):],
                               events[max(0, over - len(samples)):], frames[lost_frames:])
            if not self.failing:
                self.failing = True
                log.error("session %s: cannot write (%s); keeping rows until it can", self.id, e)
                self._fault({"event": "session_write_failed", "session": self.id, "why": str(e)})
            return
        self.samples += len(samples)
        self.events += len(events)
        self._unwritten = ([], [], [])
        if self.failing:
            self.failing = False
            log.warning("session %s: writing again (%d rows dropped)", self.id, self.dropped)
            self._fault({"event": "session_write_ok", "session": self.id,
                         "dropped": self.dropped})

    def _fault(self, event: dict) -> None:
        if self.on_fault:
            self.on_fault(event)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ended_utc', ?)",
                            (json.dumps(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),))
        except sqlite3.Error as e:  # still full: the session reads as unclosed, nothing worse
            log.error("session %s: cannot mark it ended: %s", self.id, e)
        self.db.close()
        os.close(self._held)


# -- reading sessions back --------------------------------------------------------------
def sessions(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob(f"*{SUFFIX}"))


def unfinished(folder: Path, meta: dict, within_s: float = RESUME_S) -> Optional[str]:
    """The session a host killed mid-show left open: never ended, written to in the last
    `within_s`, recorded with this `meta` (same config). A restarted host resumes it."""
    now = time.time()
    for path in reversed(sessions(folder)):
        try:
            if now - last_written(path) > within_s:
                continue
            db = open_readonly(path)
            try:
                got = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
            finally:
                db.close()
        except (OSError, SessionError, sqlite3.Error, ValueError):
            continue
        if "ended_utc" not in got and all(got.get(k) == v for k, v in meta.items()):
            return session_id(path)
    return None


def session_id(path: Path) -> str:
    return path.name[: -len(SUFFIX)]


def last_written(path: Path) -> float:
    """When the session was last written (Unix time): its WAL is newer than the file."""
    return max(p.stat().st_mtime for p in path.parent.glob(path.name + "*"))


def older_than(folder: Path, days: float, now: Optional[float] = None) -> list[Path]:
    """Sessions last written more than `days` ago."""
    cutoff = (time.time() if now is None else now) - days * 86400
    out = []
    for p in sessions(folder):
        try:
            if last_written(p) < cutoff:
                out.append(p)
        except (OSError, ValueError):  # deleted meanwhile
            continue
    return out


def purge_all(paths) -> tuple[list[str], list[str]]:
    """`purge` each session: (ids removed, one line per session refused and why)."""
    removed, refused = [], []
    for p in dict.fromkeys(paths):
        try:
            purge(p)
            removed.append(session_id(p))
        except (SessionError, OSError) as e:
            refused.append(str(e))
    return removed, refused


def find(folder: Path, sid: str) -> Path:
    """The session's file in `folder`; a name that could reach outside it is refused."""
    if not _SESSION_ID.fullmatch(sid) or ".." in sid:
        raise SessionError(f"{sid!r} is not a session id (as `session list` shows them)")
    path = Path(folder) / f"{sid}{SUFFIX}"
    if path.resolve().parent != Path(folder).resolve():
        raise SessionError(f"{sid!r} is not a session in {folder}")
    if not path.exists():
        known = ", ".join(session_id(p) for p in sessions(folder)) or "none"
        raise SessionError(f"no session {sid!r} in {folder} (known: {known})")
    return path


def files_of(path: Path) -> list[Path]:
    """Every file that belongs to the session stored at `path`: its database, SQLite's WAL
    and shared-memory files, and (a kiosk visit's) HTML report."""
    path = Path(path)
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm"),
            path.with_name(f"{session_id(path)}.html")]


def purge(path: Path) -> None:
    """Delete a session (all its `files_of`) for good; refused while a recorder holds it."""
    try:
        held = _lock(path)
    except BlockingIOError:
        raise SessionError(f"session {session_id(path)} is being recorded: stop the show "
                           "first") from None
    except FileNotFoundError:
        return
    try:
        for f in files_of(path):
            f.unlink(missing_ok=True)
    finally:
        os.close(held)


def info(path: Path) -> dict:
    with reading(path) as db:
        fields = meta_of(db, path)
        check(db, path, "samples", ["ts_us"])
        check(db, path, "events", ["kind"])
        n, t0, t1, seats = db.execute(
            "SELECT count(*), min(ts_us), max(ts_us), count(DISTINCT seat_id) FROM samples"
        ).fetchone()
        kinds = dict(db.execute("SELECT kind, count(*) FROM events GROUP BY kind"))
    return {"session": session_id(path), "path": str(path), "samples": n, "seats": seats,
            "span_s": round((t1 - t0) / 1e6, 1) if n else 0.0, "events": kinds,
            "bytes": path.stat().st_size, **fields}


def read(path: Path, table: str) -> tuple[list[str], list[tuple]]:
    """All rows of `samples`, `events` or `frames`, in recording order (a session recorded
    before frames were kept has none), each value checked (reading.py)."""
    with rows(path, table) as (cols, found):
        return cols, list(found)


@contextlib.contextmanager
def rows(path: Path, table: str):
    """(columns, the rows as read): `read`'s, one at a time, for a writer that needs no
    more (a 1,000-seat show's three hours are 108 million samples)."""
    if table not in TABLES:
        raise ValueError(table)
    with reading(path) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (table,)).fetchone():
            yield list(FRAME_FIELDS), iter(())  # a session recorded before frames were kept
            return
        cur = db.execute(f"SELECT * FROM {table} ORDER BY rowid")
        cols = [c[0] for c in cur.description]
        check(db, path, table, cols)
        yield cols, cur
