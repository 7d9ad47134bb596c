"""CSV and Parquet: the session's tables exactly as stored (host-clock microseconds)."""

from __future__ import annotations

import csv
from pathlib import Path

from empathy.host.session import store


def write(path: Path, out: Path, fmt: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    sid, written = store.session_id(path), []
    for table in store.TABLES:
        dest = out / f"{sid}.{table}.{fmt}"
        if fmt == "csv":
            _csv(path, table, dest)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            cols, rows = store.read(path, table)
            pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}),
                           dest)
        written.append(dest)
    return written


def _csv(path: Path, table: str, dest: Path) -> None:
    """The table row by row as it is read: its memory no longer grows with the show. A row
    unreadable midway leaves no half-written file."""
    try:
        with store.rows(path, table) as (cols, rows), open(dest, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            # str() of a float is its shortest exact form: CSV loses nothing
            w.writerows(rows)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
