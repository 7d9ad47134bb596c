"""A session file read back (`session list | report | export`, `policy evaluate`): opened,
and every value checked as it is read. SQLite keeps any type in any column, so a session
from elsewhere (a partner lab's, a copy edited by hand, a tool's own rows) can hold text
for a stamp or a stamp no clock makes: each is refused in one line naming the session,
table, row and column, before a reader does arithmetic on it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from empathy import wire

LONG_US = 1 << 62  # a host clock in µs (monotonic): far past any show
_INT = {"ts_us": wire.TS_MASK, "unit_id": 0xFFFF, "seat_id": 0xFFFF, "seq": wire.SEQ_MASK,
        "expression": 15, "flags": 0xFF}
# per table: column -> the highest integer it may hold, "real" (a number or none), "text",
# or "text?" (text or none). Sample stamps are the wire's, 48 bits.
COLUMNS = {
    "samples": {**{c: "real" for c in ("hr_bpm", "rmssd_ms", "pupil_mm", "arousal",
                                       "valence", "expression_conf")}, **_INT},
    "events": {"ts_us": LONG_US, "kind": "text", "data": "text"},
    "frames": {"ts_us": LONG_US, "frame": LONG_US, "segment": "text?", "clip_t_s": "real",
               "luminance": "real"},
}
_SQL = {"real": "(typeof({c}) IN ('integer', 'real') AND abs({c}) <= 1e300 OR {c} IS NULL)",
        "text": "typeof({c}) = 'text'", "text?": "typeof({c}) IN ('text', 'null')"}
_WHAT = {"real": "a finite number", "text": "text", "text?": "text or nothing"}


class SessionError(RuntimeError):
    """A session is missing or its file is unreadable."""


def _rule_sql(col: str, rule) -> str:
    if isinstance(rule, int):
        return f"(typeof({col}) = 'integer' AND {col} BETWEEN 0 AND {rule})"
    return _SQL[rule].format(c=col)


def check(db: sqlite3.Connection, path: Path, table: str, cols: list[str]) -> None:
    """SessionError naming the first row of `table` whose value breaks its column's rule
    (one scan, in SQLite)."""
    rules = {c: COLUMNS[table][c] for c in cols if c in COLUMNS[table]}
    if not rules:
        return
    ok = " AND ".join(_rule_sql(c, r) for c, r in rules.items())
    row = db.execute(f"SELECT rowid, {', '.join(rules)} FROM {table} "
                     f"WHERE NOT ({ok}) LIMIT 1").fetchone()
    if row is None:
        return
    for (col, rule), value in zip(rules.items(), row[1:]):
        sql = _rule_sql("?", rule)
        if db.execute(f"SELECT NOT ({sql})", [value] * sql.count("?")).fetchone()[0]:
            what = f"an integer 0..{rule}" if isinstance(rule, int) else _WHAT[rule]
            raise SessionError(f"{path}: {table} row {row[0]}: {col} is {value!r:.40}, "
                               f"not {what}: not a session this host wrote")
    raise SessionError(f"{path}: {table} row {row[0]}: a value of no known kind")


def meta_of(db: sqlite3.Connection, path: Path) -> dict:
    out = {}
    for key, value in db.execute("SELECT key, value FROM meta"):
        try:
            out[str(key)] = json.loads(value)
        except (TypeError, ValueError, RecursionError):
            raise SessionError(f"{path}: meta {key!r:.40} is not JSON: not a session this "
                               "host wrote") from None
    return out


def event_docs(rows):
    """(ts, kind, doc) of events whose data parses, one at a time (one that does not, or
    nests past the parser, is passed over: it says nothing a reader could use)."""
    for ts, kind, data in rows:
        try:
            doc = json.loads(data)
        except (TypeError, ValueError, RecursionError):
            continue
        yield ts, kind, doc


def open_readonly(path: Path) -> sqlite3.Connection:
    try:
        # Not mode=ro: reading a WAL file left by a killed host has to recover it first.
        db = sqlite3.connect(path)
        db.execute("PRAGMA trusted_schema = OFF")  # the file's schema runs no risky function
        # A view (or virtual table) under a table's name is SQL of the file's choosing that
        # every read runs: a recursive one held `session list` for ever.
        for name, kind, sql in db.execute(
                "SELECT name, type, sql FROM sqlite_master WHERE name IN "
                f"({', '.join('?' * len(COLUMNS))}, 'meta')", [*COLUMNS]):
            if not str(sql).upper().startswith("CREATE TABLE"):
                db.close()
                what = "virtual table" if kind == "table" else kind
                raise SessionError(f"{path}: {name} is a {what}, not a table: not a session "
                                   "this host wrote")
        db.execute("SELECT count(*) FROM samples")
        return db
    except sqlite3.Error as e:
        raise SessionError(f"{path}: not a readable session: {e}") from None


@contextlib.contextmanager
def reading(path: Path):
    """The session open for reading. open_readonly's check reads one table's count: a page
    damaged elsewhere (a power cut, a failing card) shows in a later query, said the same."""
    db = open_readonly(path)
    try:
        yield db
    except sqlite3.Error as e:
        raise SessionError(f"{path}: not a readable session: {e}") from None
    finally:
        db.close()
