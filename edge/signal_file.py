"""The recorded signal files `empathy signal` reads (FORMATS below says it to users).

A text file is read in blocks of lines, never whole: numpy parses a block, and only a
block that fails is parsed again line by line, to name the line and the fault. So memory
stays near the samples' own (8 bytes a value), and a 24-h Holter CSV fits on a Pi.
"""

from __future__ import annotations

import csv
import re
import warnings
from itertools import islice
from pathlib import Path

import numpy as np

FORMATS = """\
files read:
  text (UTF-8, with or without a byte-order mark): one column of samples (then --fs is
    needed), or a table whose header names a time column: time, t, time_s, t_s, seconds;
    time_ms, timer, ms (milliseconds); ts_us, time_us (microseconds); or datetime,
    timestamp (ISO 8601, e.g. 2024-05-01T12:00:00.250). The rate is the time column's mean
    (repeated stamps are fine; times going backwards are an error). The signal is the
    first other column, or --column.
  fields separated by commas, semicolons, tabs or spaces: the separator is the one found
    equally often on each of the first lines; with semicolons, tabs or spaces a decimal
    comma (0,5) reads as 0.5, unless the first lines' numbers have decimal points.
  every value a finite number within +-1e20 (a NaN or an empty field is refused: cut the
    file there or fill the gap).
  EDF/EDF+/BDF (.edf, .bdf; needs pyedflib) and WFDB records (.hea; needs wfdb): the
    channels at the first channel's rate, by their labels; the rate from the header.
  --fs, when given, is taken over the rate a file gives.
  RR intervals (signal hrv --kind rr): one a line, in ms (200..10000) or seconds
    (0.2..10, told by their median); a header's rr_ms, rr, ibi_ms, ibi or nni column."""

TIME_COLUMNS = {"time": 1.0, "t": 1.0, "time_s": 1.0, "t_s": 1.0, "seconds": 1.0,
                "time_ms": 1e-3, "timer": 1e-3, "ms": 1e-3, "ts_us": 1e-6, "time_us": 1e-6,
                "datetime": None, "timestamp": None}
SEPARATORS = ("\t", ";", ",")  # in this order: a decimal comma sits beside the first two
SNIFF = 12  # lines the separator is judged on
BLOCK = 4096  # lines parsed at once: their text is all of the file held at a time
RR_MS = (200.0, 10_000.0)  # 300 bpm to a 10-s sinus pause (QT Database sel232's: 5.6 s)
RR_COLUMNS = ("rr_ms", "rr", "ibi_ms", "ibi", "nni")
# beyond any sensor's count or any clock (nanoseconds since 1970 are 1.8e18): a unit or
# export fault, which would overflow the detectors' squares (e.g. 1e300)
LIMIT = 1e20


class SignalFileError(ValueError):
    pass


def read_signal(path: str) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """(time in seconds or None, {column: values}). Raises SignalFileError with file:line."""
    suffix = Path(path).suffix.lower()
    if suffix in (".edf", ".bdf") or _head(path) in (b"0       ", b"\xffBIOSEMI"):
        return _read_edf(path)
    if suffix == ".hea" or (suffix == ".dat" and Path(path).with_suffix(".hea").exists()):
        return _read_wfdb(path)
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: a spreadsheet's BOM is no name
            return _read_text(path, f)
    except UnicodeDecodeError as e:
        raise SignalFileError(f"{path}: not UTF-8 text ({e}): save it as UTF-8 CSV") from None
    except OSError as e:
        raise SignalFileError(f"{path}: cannot read: {e.strerror or e}") from None


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except OSError:
        return b""  # the text reader says why


def _read_text(path: str, f) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    lines = list(islice(f, BLOCK))  # blocks as read, blank lines too: line numbers follow
    while lines and not any(s.strip() for s in lines[-BLOCK:]):
        if not (more := list(islice(f, BLOCK))):
            break
        lines += more
    sniffed = [s for s in lines if s.strip()][:SNIFF]
    table = _Table(path, _separator(sniffed) if sniffed else ",", Path(path).stat().st_size)
    rows = table.rows(1, lines)
    if not rows:
        raise SignalFileError(f"{path}: no samples")
    line, text = rows[0]
    start = line if table.header(_split(text, table.sep), line) else line - 1
    table.decimal_comma([s for s in sniffed if s is not text])
    table.add(start + 1, lines[start:])
    number = len(lines) + 1
    while lines := list(islice(f, BLOCK)):
        table.add(number, lines)
        number += len(lines)
    return table.result()


def _separator(lines: list[str]) -> str | None:
    """The separator found equally often on every line; else the header's; else spaces
    where every line splits alike into several fields (None); else a comma (one column)."""
    for sep in SEPARATORS:
        counts = {s.count(sep) for s in lines}
        if len(counts) == 1 and 0 not in counts:
            return sep
    for sep in SEPARATORS:
        if sep in lines[0]:
            return sep
    widths = {len(s.split()) for s in lines}
    return None if len(widths) == 1 and widths.pop() > 1 else ","


def _split(text: str, sep: str | None) -> list[str]:
    if sep is None:
        return text.split()
    return next(csv.reader([text], delimiter=sep)) if '"' in text else text.split(sep)


def _shown(text: str, quote=repr) -> str:
    """A field as an error quotes it: a 1-MB field is no one-line message."""
    return quote(text) if len(text) <= 40 else f"{text[:40]!r}... ({len(text):,} characters)"


def _float(text: str, comma: bool) -> float | None:
    try:  # comma: the decimal point is a comma
        return float(text.replace(",", ".") if comma else text)
    except ValueError:
        return None


class _Table:
    """The columns of a text file, parsed a block of lines at a time."""

    def __init__(self, path: str, sep: str | None, size: int):
        self.path, self.sep = path, sep
        self.blank = " \t\r\n" + (sep or "")  # ",,": no row
        self.size = size  # the file's bytes: the columns are sized by it at once
        self.cols: list[np.ndarray] = []  # filled to n: blocks joined at the end took 2.4x
        self.n = 0
        self.first_row = 0  # the line of the first data row
        self.tail: tuple[int, list[str]] = (0, [])  # the last block with rows
        self.last = None  # the last time read, to check the next block's against

    def header(self, fields: list[str], line: int) -> bool:
        """Names the columns from the first row; False where it is data (no header)."""
        names = [h.strip().lower() or f"col{k}" for k, h in enumerate(fields)]
        named = _float(names[0], self.sep != ",") is None
        twice = next((h for k, h in enumerate(names) if h in names[:k]), None)
        if named and twice is not None:  # else one column would be read as the other
            raise SignalFileError(f"{self.path}:{line}: column {_shown(twice)} is named twice")
        self.names = names if named else [f"col{k}" for k in range(len(names))]
        self.tcol = next((h for h in self.names if h in TIME_COLUMNS), None)
        self.stamps = self.tcol is not None and TIME_COLUMNS[self.tcol] is None  # ISO
        return named

    def decimal_comma(self, rows: list[str]) -> None:
        """Beside semicolons, tabs or spaces a comma is the decimal point, unless a point
        is one in these rows: then '1,024' is a thousands separator, refused, not 1.024."""
        stamps = self.names.index(self.tcol) if self.stamps else None
        self.comma = self.sep != "," and not any(
            "." in v for s in rows for k, v in enumerate(_split(s, self.sep)) if k != stamps)

    def rows(self, first: int, lines: list[str]) -> list[tuple[int, str]]:
        """(line number, text) of the block's lines that hold a row; it starts at `first`."""
        return [(first + k, s) for k, s in enumerate(lines) if s.strip(self.blank)]

    def add(self, first: int, lines: list[str]) -> None:
        values = None if self.stamps else self._fast(lines)
        if values is None:
            values = self._exact(self.rows(first, lines))
        if not len(values[0]):  # blank lines only
            return
        if self.tcol:
            self._forward(first, lines, values[self.names.index(self.tcol)])
        self._store(values, lines)
        self.first_row = self.first_row or self.rows(first, lines)[0][0]
        self.tail = (first, lines)

    def _store(self, values: list[np.ndarray], lines: list[str]) -> None:
        k, cap = len(values[0]), len(self.cols[0]) if self.cols else 0
        if self.n + k > cap:  # the first block, or lines shorter than it said
            per_row = sum(map(len, lines)) / k
            cap = max(int(self.size / per_row * 1.05), int(cap * 1.25)) + k
            grown = [np.empty(cap, v.dtype) for v in values]
            for g, c in zip(grown, self.cols):
                g[:self.n] = c[:self.n]
            self.cols = grown
        for c, v in zip(self.cols, values):
            c[self.n:self.n + k] = v
        self.n += k

    def _fast(self, texts: list[str]) -> list[np.ndarray] | None:
        """The block's columns as numpy parses them, or None where anything is amiss."""
        if self.comma:
            texts = [s.replace(",", ".") for s in texts]
        try:
            with warnings.catch_warnings():  # a block of blank lines: 'no data'
                warnings.simplefilter("ignore", UserWarning)
                a = np.loadtxt(texts, delimiter=self.sep, quotechar='"', comments=None,
                               ndmin=2)
        except ValueError:
            return None
        if a.shape[1] != len(self.names) or not np.all(np.abs(a) <= LIMIT):  # NaN: False
            return None
        return [a[:, k] for k in range(a.shape[1])]

    def _exact(self, block: list[tuple[int, str]]) -> list[np.ndarray]:
        """The block parsed line by line: the first fault raises, naming its line."""
        cols: list[list] = [[] for _ in self.names]
        for line, text in block:
            fields = _split(text, self.sep)
            if len(fields) != len(self.names):
                by = "" if self.sep == "," else f" (separated by {self.sep or 'spaces'!r})"
                raise SignalFileError(f"{self.path}:{line}: {len(fields)} fields, header has "
                                      f"{len(self.names)}{by}")
            for col, h, v in zip(cols, self.names, fields):
                col.append(v.strip() if h == self.tcol and self.stamps
                           else self._number(v.strip(), line, h))
        return [self._datetimes(block, c) if h == self.tcol and self.stamps
                else np.array(c, dtype=float) for h, c in zip(self.names, cols)]

    def _number(self, text: str, line: int, col: str) -> float:
        v = _float(text, self.comma)
        if v is None:
            mixed = ("" if self.comma or self.sep == "," or "," not in text else
                     " (commas are decimal points only where the first lines have no points)")
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} {_shown(text)} is not a number"
                                  f"{mixed}")
        if not np.isfinite(v):
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} is {_shown(text, str)}: a gap in the "
                                  "recording? cut the file there or fill it")
        if abs(v) > LIMIT:
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} {_shown(text, str)} is beyond "
                                  f"+-{LIMIT:.0e}, "
                                  "more than any sensor gives: check the export's units")
        return v

    def _datetimes(self, block, texts: list[str]) -> np.ndarray:
        try:
            t = np.array(texts, dtype="datetime64[us]")
            if not np.isnat(t).any():
                return t
        except ValueError:
            pass
        for (line, _), text in zip(block, texts):  # which one
            try:
                if not np.isnat(np.datetime64(text, "us")):
                    continue
            except ValueError:
                pass
            raise SignalFileError(f"{self.path}:{line}: {self.tcol} {_shown(text)} is not a date "
                                  "and time (ISO 8601, e.g. 2024-05-01T12:00:00.250)")

    def _forward(self, first: int, lines: list[str], t: np.ndarray) -> None:
        """Times may repeat (loggers stamp in bursts), never go back."""
        back = np.flatnonzero(np.diff(t if self.last is None else np.concatenate((self.last, t)))
                              < t[0] - t[0])  # 0 s, or 0 us for date and time stamps
        if len(back):
            line = self.rows(first, lines)[back[0] + (self.last is None)][0]
            raise SignalFileError(f"{self.path}:{line}: time goes backwards")
        self.last = t[-1:]

    def result(self) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        if not self.n:
            raise SignalFileError(f"{self.path}: header but no samples")
        cols = {h: c[:self.n] for h, c in zip(self.names, self.cols)}
        if not self.tcol:
            return None, cols
        raw = cols.pop(self.tcol)
        start = raw[0]
        if self.stamps:
            t = (raw - start).astype(np.int64) / 1e6
        else:  # in place: a day's time column is hundreds of MB
            t = raw
            t -= start
            t *= TIME_COLUMNS[self.tcol]
        if len(t) > 1 and t[-1] == t[0]:
            last = self.rows(*self.tail)[-1][0]
            raise SignalFileError(f"{self.path}:{self.first_row}: {self.tcol} is {start} on "
                                  f"every line to line {last}: the logger's clock did not run; "
                                  "give --fs HZ and take the column out")
        return t, cols


def _read_edf(path: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    try:
        import pyedflib
    except ImportError:
        raise SignalFileError(f"{path}: an EDF file, which is read with pyedflib (not "
                              "installed here): pip install pyedflib, or export the channel "
                              "as CSV (time,ppg)") from None
    try:
        with pyedflib.EdfReader(path) as f:
            rates, labels = f.getSampleFrequencies(), f.getSignalLabels()
            cols = {(label.strip().lower() or f"col{k}"): f.readSignal(k)
                    for k, label in enumerate(labels) if rates[k] == rates[0]}
    except OSError as e:
        raise SignalFileError(f"{path}: not a readable EDF/BDF file ({e})") from None
    return _record(path, float(rates[0]) if len(rates) else 0.0, cols)


def _read_wfdb(path: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    try:
        import wfdb
    except ImportError:
        raise SignalFileError(f"{path}: a WFDB record, which is read with wfdb (not installed "
                              "here): pip install wfdb, or export it as CSV (rdsamp -c -p)"
                              ) from None
    name = str(Path(path).with_suffix(""))
    try:
        _check_wfdb_header(path, wfdb.rdheader(name))
        rec = wfdb.rdrecord(name)
    except SignalFileError:
        raise
    except (OSError, ValueError) as e:  # wfdb's HeaderSyntaxError is a ValueError
        raise SignalFileError(f"{path}: not a readable WFDB record ({e})") from None
    names = [(n.strip().lower() or f"col{k}") for k, n in enumerate(rec.sig_name or [])]
    sig = rec.p_signal if rec.p_signal is not None else np.empty((0, 0))
    return _record(path, float(rec.fs or 0), {h: sig[:, k] for k, h in enumerate(names)})


# bytes a sample takes in the WFDB formats stored plainly (FLAC's 5xx are compressed)
_WFDB_BYTES = {"8": 1, "16": 2, "61": 2, "80": 1, "160": 2, "24": 3, "32": 4, "212": 1.5,
               "310": 4 / 3, "311": 4 / 3}
_RATE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _check_wfdb_header(path: str, rec) -> None:
    """What wfdb lets through: a rate it cannot read becomes 250 Hz or a part of it (1e400:
    1 Hz), and a sample count beyond the data file is allocated before it is read (1e12:
    a 1.8 TiB array)."""
    hea = Path(path).with_suffix(".hea")
    with open(hea, encoding="latin-1") as f:
        line, fields = next(((k, s.split()) for k, s in enumerate(f, 1)
                             if s.strip() and not s.lstrip().startswith("#")), (1, []))
    if len(fields) > 2:
        rate = re.split(r"[/(]", fields[2])[0]
        if not _RATE.fullmatch(rate) or not 0 < float(rate) <= LIMIT \
                or float(rate) != rec.fs:
            raise SignalFileError(f"{hea}:{line}: sampling rate {fields[2][:40]!r} is not a "
                                  "positive number of Hz that wfdb reads as written")
    need: dict[str, float] = {}
    for fmt, name, offset in zip(rec.fmt or [], rec.file_name or [], rec.byte_offset or []):
        if fmt not in _WFDB_BYTES:
            return  # compressed: its size says nothing of its samples
        need[name] = need.get(name, offset or 0) + _WFDB_BYTES[fmt] * (rec.sig_len or 0)
    for name, size in need.items():
        data = hea.with_name(name)
        if not data.is_file():
            raise SignalFileError(f"{hea}: its data file {name} is missing")
        if data.stat().st_size < size:
            raise SignalFileError(f"{hea}:{line}: {rec.sig_len} samples a signal, but {name} "
                                  f"holds {data.stat().st_size} bytes ({size:.0f} needed): a "
                                  "copy cut short, or a wrong header")


def _record(path: str, fs: float, cols: dict[str, np.ndarray]):
    """A binary record's channels, on the clock its header gives."""
    n = len(next(iter(cols.values()), ()))
    if not n or fs <= 0:
        raise SignalFileError(f"{path}: no samples")
    for h, v in cols.items():
        bad = np.flatnonzero(~(np.abs(v) <= LIMIT))
        if len(bad):
            raise SignalFileError(f"{path}: {h}: sample {bad[0]} is {v[bad[0]]} (a gap in the "
                                  "record? cut it there)")
    return np.arange(n) / fs, cols


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


def read_rr(path: str, column: str | None = None) -> np.ndarray:
    """RR intervals in ms from a file of them, in ms or seconds (by their median: no
    interval in ms is under RR_MS[0]); SignalFileError for whatever is not such a series."""
    _, cols = read_signal(path)
    if column is None and len(cols) > 1 and all(h == f"col{k}" for k, h in enumerate(cols)):
        if len(cols["col0"]) == 1:
            raise SignalFileError(f"{path}: one row of {len(cols)} values: write one interval "
                                  "a line")
        raise SignalFileError(f"{path}: {len(cols)} columns and no header: give --column colN "
                              "(N from 0) for the intervals, or write the decimal comma as a "
                              "point (802.5)")
    rr = pick_column(cols, column, path, RR_COLUMNS)
    if len(rr) < 3:
        raise SignalFileError(f"{path}: {len(rr)} interval{'s' * (len(rr) != 1)}: need at "
                              "least 3")
    seconds = np.median(rr) < RR_MS[0]
    lo, hi = (v / 1000 if seconds else v for v in RR_MS)
    bad = np.flatnonzero((rr < lo) | (rr > hi))
    if len(bad):
        v = float(rr[bad[0]])
        other = ("ms among seconds?" if seconds and RR_MS[0] <= v <= RR_MS[1] else
                 "seconds among ms?" if not seconds and RR_MS[0] / 1e3 <= v <= RR_MS[1] / 1e3
                 else "microseconds?" if not seconds and RR_MS[0] * 1e3 <= v <= RR_MS[1] * 1e3
                 else "not an RR interval")
        raise SignalFileError(f"{path}: interval {bad[0] + 1} is {v:g} ({other}): RR intervals "
                              f"are ms ({RR_MS[0]:g}..{RR_MS[1]:g}) or seconds "
                              f"({RR_MS[0] / 1e3:g}..{RR_MS[1] / 1e3:g})")
    return rr * 1000.0 if seconds else rr
