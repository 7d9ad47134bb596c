"""CSV and Parquet: the session's tables exactly as stored (host-clock microseconds), and
`faults`: each seat's sensor-fault spans (host/session/faults.py; end empty: still set when
the recording stopped)."""

from __future__ import annotations

import contextlib
import csv
import itertools
from pathlib import Path

from empathy.host.session import faults, store
from empathy.host.session.reading import reading

BATCH = 65_536  # rows per Parquet row group: ~30 MB of Python rows, whatever the show's length
FAULT_FIELDS = ("seat_id", "fault", "text", "start_us", "end_us", "ended")


def write(path: Path, out: Path, fmt: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    sid, written = store.session_id(path), []
    for table in store.TABLES:
        dest = out / f"{sid}.{table}.{fmt}"
        with _whole_or_none(dest):
            (_csv if fmt == "csv" else _parquet)(path, table, dest)
        written.append(dest)
    dest = out / f"{sid}.faults.{fmt}"
    with _whole_or_none(dest):
        _faults(path, dest, fmt)
    return written + [dest]


def _faults(path: Path, dest: Path, fmt: str) -> None:
    rows = [tuple(getattr(f, c) for c in FAULT_FIELDS) for f in faults.read(path)]
    if fmt == "csv":
        with open(dest, "w", newline="") as fh:
            csv.writer(fh).writerows([FAULT_FIELDS, *rows])
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = (pa.int64(), pa.string(), pa.string(), pa.int64(), pa.int64(), pa.string())
    schema = pa.schema(list(zip(FAULT_FIELDS, types)))
    pq.write_table(pa.table([pa.array([r[i] for r in rows], t) for i, t in enumerate(types)],
                            schema=schema), dest)


@contextlib.contextmanager
def _whole_or_none(dest: Path):
    """A table that fails midway (a damaged page, a full disk, Ctrl-C) leaves no
    half-written file that looks like an export."""
    try:
        yield
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _csv(path: Path, table: str, dest: Path) -> None:
    """The table row by row as it is read: its memory no longer grows with the show."""
    with store.rows(path, table) as (cols, rows), open(dest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        # str() of a float is its shortest exact form: CSV loses nothing
        w.writerows(rows)


def _parquet(path: Path, table: str, dest: Path) -> None:
    """The table in row groups of BATCH rows as it is read, typed as pyarrow would type the
    whole column at once (the columns read back equal to one table written whole)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with store.rows(path, table) as (cols, rows):
        schema = pa.schema([(c, t) for c, t in zip(cols, _types(path, table, cols))])
        with pq.ParquetWriter(dest, schema) as w:
            while batch := list(itertools.islice(rows, BATCH)):
                w.write_table(pa.table([pa.array([r[i] for r in batch], f.type)
                                        for i, f in enumerate(schema)], schema=schema))


def _types(path: Path, table: str, cols: list[str]) -> list:
    """Each column's arrow type from the SQLite types it holds (one scan): text is string,
    any real makes it double, integers alone int64, nothing at all null."""
    import pyarrow as pa

    with reading(path) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (table,)).fetchone():
            return [pa.null()] * len(cols)  # a session recorded before frames were kept
        seen = db.execute("SELECT " + ", ".join(
            f"max(typeof({c}) = '{k}')" for c in cols for k in ("text", "real", "integer"))
            + f" FROM {table}").fetchone()
    return [pa.string() if t else pa.float64() if r else pa.int64() if i else pa.null()
            for t, r, i in zip(seen[0::3], seen[1::3], seen[2::3])]
