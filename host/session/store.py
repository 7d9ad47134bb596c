"""The session store: one SQLite file per show, in WAL mode, committed 4 times a second.

Why SQLite WAL: a committed transaction survives the host process being killed (it is in
the WAL file the moment COMMIT returns), readers never block the writer, and every lab can
open the file. The show thread only appends to a queue; a writer thread commits what is
queued every `COMMIT_S`, so at most that much (plus one commit's time) is at risk.

Tables: `samples` (one row per accepted seat sample, the wire fields), `events` (ts_us,
kind, JSON data: state, segment, decision, grade, control, health, and every `UNITS_S` a
`units` report: each unit's loss, battery, firmware and clock offset) and `meta`.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Callable, Optional

from empathy.clock import now_us

log = logging.getLogger("empathy.host.session")

COMMIT_S = 0.25
UNITS_S = 5.0
RESUME_S = 300.0  # a host restarted this soon after a crash continues its session
MAX_UNWRITTEN = 600_000  # rows held while the disk is full (a minute of 1,000 seats)
SUFFIX = ".session.db"
SAMPLE_FIELDS = ("ts_us", "unit_id", "seat_id", "seq", "hr_bpm", "rmssd_ms", "pupil_mm",
                 "arousal", "valence", "expression", "expression_conf", "flags")
EVENT_FIELDS = ("ts_us", "kind", "data")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS samples ({", ".join(SAMPLE_FIELDS)});
CREATE TABLE IF NOT EXISTS events (ts_us INTEGER, kind TEXT, data TEXT);
"""


class SessionError(RuntimeError):
    """A session is missing or its file is unreadable."""


def new_session_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit is durable against a killed process (not against power loss).
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class Recorder:
    """A Show observer (`show.subscribe(recorder)`) writing the session to `folder`."""

    def __init__(self, folder: Path, meta: Optional[dict] = None,
                 session_id: Optional[str] = None,
                 unit_report: Optional[Callable[[], list]] = None,
                 on_fault: Optional[Callable[[dict], None]] = None,
                 clock: Callable[[], int] = now_us):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.clock = clock  # event timestamps: the show's clock, as its samples'
        self.id = session_id or new_session_id()
        self.path = folder / f"{self.id}{SUFFIX}"
        self.db = connect(self.path)
        self.db.executescript(_SCHEMA)
        meta = {"session": self.id, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()), **(meta or {})}
        # Resuming a session (same id): its own start time and metadata stay.
        self.resumed = session_id is not None and bool(
            self.db.execute("SELECT count(*) FROM meta").fetchone()[0])
        self.db.executemany(f"INSERT OR {'IGNORE' if self.resumed else 'REPLACE'} INTO meta "
                            "VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        self.rows: queue.SimpleQueue = queue.SimpleQueue()
        self.samples = self.events = 0
        self._grade: Optional[tuple] = None
        self.unit_report, self._units_due = unit_report, 0
        # Rows a failed commit could not write (disk full) wait for the next one; `on_fault`
        # tells the show when writing stops and starts again.
        self.on_fault, self.failing = on_fault, False
        self._unwritten: tuple[list, list] = ([], [])
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="session-writer",
                                        daemon=True)
        self._thread.start()

    # -- observer ----------------------------------------------------------------------
    def __call__(self, kind: str, data) -> None:
        if kind == "samples":
            for s in data:
                self.rows.put(("s", tuple(getattr(s, f) for f in SAMPLE_FIELDS)))
        elif kind == "frame":
            # 25 frames a second would drown the store: keep only grade changes.
            grade = (data.clip_id, data.lut, data.strength)
            if grade != self._grade:
                self._grade = grade
                self.event("grade", {"segment": data.clip_id, "lut": data.lut,
                                     "strength": data.strength})
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
        doc = asdict(data) if is_dataclass(data) else data
        self.rows.put(("e", (ts_us or self.clock(), kind, json.dumps(doc, default=str))))

    # -- writer thread -----------------------------------------------------------------
    def _write_loop(self) -> None:
        while not self._stop.wait(COMMIT_S):
            self._commit()
        self._commit()

    def _commit(self) -> None:
        samples, events = self._unwritten
        while True:
            try:
                table, row = self.rows.get_nowait()
            except queue.Empty:
                break
            (samples if table == "s" else events).append(row)
        if not samples and not events:
            return
        try:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany(f"INSERT INTO samples VALUES ({','.join('?' * 12)})",
                                    samples)
                self.db.executemany("INSERT INTO events VALUES (?, ?, ?)", events)
        except sqlite3.Error as e:
            # Disk full or similar: keep the rows for the next commit (up to MAX_UNWRITTEN,
            # oldest dropped and counted), say so loudly, keep the show running.
            over = max(0, len(samples) + len(events) - MAX_UNWRITTEN)
            self.dropped += over
            self._unwritten = (samples[min(over, len(samples)):],
                               events[max(0, over - len(samples)):])
            if not self.failing:
                self.failing = True
                log.error("session %s: cannot write (%s); keeping rows until it can", self.id, e)
                self._fault({"event": "session_write_failed", "session": self.id, "why": str(e)})
            return
        self.samples += len(samples)
        self.events += len(events)
        self._unwritten = ([], [])
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


# -- reading sessions back --------------------------------------------------------------
def sessions(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob(f"*{SUFFIX}"))


def unfinished(folder: Path, meta: dict, within_s: float = RESUME_S) -> Optional[str]:
    """The session a host killed mid-show left open: never ended, written to in the last
    `within_s`, recorded with this `meta` (same config). A restarted host resumes it."""
    now = time.time()
    for path in reversed(sessions(folder)):
        try:
            if now - max(p.stat().st_mtime for p in path.parent.glob(path.name + "*")) > within_s:
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


def find(folder: Path, sid: str) -> Path:
    path = Path(folder) / f"{sid}{SUFFIX}"
    if not path.exists():
        known = ", ".join(session_id(p) for p in sessions(folder)) or "none"
        raise SessionError(f"no session {sid!r} in {folder} (known: {known})")
    return path


def open_readonly(path: Path) -> sqlite3.Connection:
    try:
        # Not mode=ro: reading a WAL file left by a killed host has to recover it first.
        db = sqlite3.connect(path)
        db.execute("SELECT count(*) FROM samples")
        return db
    except sqlite3.Error as e:
        raise SessionError(f"{path}: not a readable session: {e}") from None


def info(path: Path) -> dict:
    db = open_readonly(path)
    try:
        meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        n, t0, t1, seats = db.execute(
            "SELECT count(*), min(ts_us), max(ts_us), count(DISTINCT seat_id) FROM samples"
        ).fetchone()
        kinds = dict(db.execute("SELECT kind, count(*) FROM events GROUP BY kind"))
    finally:
        db.close()
    return {"session": session_id(path), "path": str(path), "samples": n, "seats": seats,
            "span_s": round((t1 - t0) / 1e6, 1) if n else 0.0, "events": kinds,
            "bytes": path.stat().st_size, **meta}


def read(path: Path, table: str) -> tuple[list[str], list[tuple]]:
    """All rows of `samples` or `events`, in recording order."""
    if table not in ("samples", "events"):
        raise ValueError(table)
    db = open_readonly(path)
    try:
        cur = db.execute(f"SELECT * FROM {table} ORDER BY rowid")
        return [c[0] for c in cur.description], cur.fetchall()
    finally:
        db.close()
