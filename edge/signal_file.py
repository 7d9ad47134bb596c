"""The recorded signal files `empathy signal` reads.

A file is one column of samples (then --fs is needed) or a CSV whose header names a
time column (`time`, `t`, `time_s`, `time_ms`, `timer` (ms), `ts_us`, or ISO `datetime`),
from which the (mean) sampling rate is worked out; repeated stamps are fine (loggers stamp
in bursts), times going backwards are an error. The signal is the first other column, or
--column.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

TIME_COLUMNS = {"time": 1.0, "t": 1.0, "time_s": 1.0, "t_s": 1.0, "seconds": 1.0,
                "time_ms": 1e-3, "timer": 1e-3, "ms": 1e-3, "ts_us": 1e-6, "time_us": 1e-6,
                "datetime": None, "timestamp": None}


class SignalFileError(ValueError):
    pass


def _number(text: str, path: str, line: int, col: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise SignalFileError(f"{path}:{line}: {col} {text!r} is not a number") from None
    if not np.isfinite(v):
        raise SignalFileError(f"{path}:{line}: {col} is {text}")
    return v


def read_signal(path: str) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """(time in seconds or None, {column: values}). Raises SignalFileError with file:line."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise SignalFileError(f"{path}: {e}") from None
    rows = [(i, r) for i, r in enumerate(csv.reader(text.splitlines()), 1) if r and any(r)]
    if not rows:
        raise SignalFileError(f"{path}: no samples")
    header = [h.strip().lower() for h in rows[0][1]]
    try:
        float(header[0])
        header = [f"col{k}" for k in range(len(rows[0][1]))]  # no header: data from line 1
    except ValueError:
        rows = rows[1:]
    tcol = next((h for h in header if h in TIME_COLUMNS), None)
    cols: dict[str, list] = {h: [] for h in header}
    for line, r in rows:
        if len(r) != len(header):
            raise SignalFileError(f"{path}:{line}: {len(r)} fields, header has {len(header)}")
        for h, v in zip(header, r):
            v = v.strip()
            cols[h].append(v if h == tcol and TIME_COLUMNS[h] is None
                           else _number(v, path, line, h))
    if not rows:
        raise SignalFileError(f"{path}: header but no samples")
    t = None
    if tcol:
        raw = cols.pop(tcol)
        if TIME_COLUMNS[tcol] is None:
            try:
                stamps = np.array(raw, dtype="datetime64[us]")
            except ValueError as e:
                raise SignalFileError(f"{path}: {tcol}: {e}") from None
            t = (stamps - stamps[0]).astype(np.int64) / 1e6
        else:
            t = (np.array(raw) - raw[0]) * TIME_COLUMNS[tcol]
        if len(t) > 1 and (np.any(np.diff(t) < 0) or t[-1] <= t[0]):
            bad = rows[int(np.flatnonzero(np.diff(t) < 0)[0]) + 1][0] if t[-1] > t[0] else 1
            raise SignalFileError(f"{path}:{bad}: time goes backwards")
    return t, {h: np.array(v, dtype=float) for h, v in cols.items()}


def pick_column(cols: dict, name: str | None, path: str, prefer=()) -> np.ndarray:
    if name:
        if name.lower() not in cols:
            raise SignalFileError(f"{path}: no column {name!r} (have: {', '.join(cols)})")
        return cols[name.lower()]
    for p in prefer:
        if p in cols:
            return cols[p]
    if not cols:
        raise SignalFileError(f"{path}: no signal column")
    return next(iter(cols.values()))


def sample_rate(t, fs, path: str, flag: str = "--fs") -> float:
    if fs:
        return fs
    if t is None or len(t) < 2:
        raise SignalFileError(f"{path}: no time column, so {flag} HZ is needed")
    # the mean rate: loggers often stamp samples in bursts (repeated times)
    return (len(t) - 1) / float(t[-1] - t[0])
