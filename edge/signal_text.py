"""Text files of samples (CSV and its kin), read in blocks of lines, never whole: numpy
parses a block, and only a block that fails is parsed again line by line, to name the line
and the fault. So memory stays near the samples' own (8 bytes a value), and a 24-h Holter
CSV fits on a Pi. A device export's preamble (edge.signal_exports) stands for a header."""

from __future__ import annotations

import csv
import warnings
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from empathy.edge.signal_columns import (LIMIT, MAX_COLUMNS, SignalFileError, clock,
                                         time_scale)
from empathy.edge.signal_exports import Preamble, preamble
from empathy.edge.signal_dst import across_clock_change, hour_back

SEPARATORS = ("\t", ";", ",")  # in this order: a decimal comma sits beside the first two
SNIFF = 12  # lines the separator is judged on
BLOCK = 4096  # lines parsed at once: their text is all of the file held at a time
MAX_LINE = 1 << 20  # characters a line may have: a file of one endless line was read whole


def read_text(path: str, f) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    block = _Blocks(path, f)
    lines = block()  # a block as read, blank lines too: line numbers follow
    while lines and not any(s.strip() for s in lines):  # counted, not kept: 20 M blank
        lines = block()  # lines held took 1.5 GB
    lead = block.number - 1 - len(lines)  # the blank lines before this block
    pre = preamble(path, lines)
    body = lines[pre.skip:] if pre else lines
    sniffed = [s for s in body if s.strip()][:SNIFF]
    table = _Table(path, _separator(sniffed) if sniffed else ",", Path(path).stat().st_size)
    rows = table.rows(1 + lead + (pre.skip if pre else 0), body)
    if not rows:
        raise SignalFileError(f"{path}: no samples")
    line, text = rows[0]
    fields = _split(text, table.sep)
    if pre:
        table.fs = pre.fs
        start = table.header(fields, line, pre)
    else:
        start = line if table.header(fields, line) else line - 1
    table.decimal_comma([s for s in sniffed if s is not text or start < line])
    table.add(start + 1, lines[start - lead:])
    while lines := block():
        table.add(block.number - len(lines), lines)
    return table.result()


class _Blocks:
    """The file's next BLOCK lines, none longer than MAX_LINE: a file of one endless line
    was read whole (readline's limit keeps it out; the check is per block, at C speed)."""

    def __init__(self, path: str, f):
        self.path, self.lines = path, iter(partial(f.readline, MAX_LINE), "")
        self.number = 1  # the next line's

    def __call__(self) -> list[str]:
        lines = list(islice(self.lines, BLOCK))
        if lines and max(map(len, lines)) >= MAX_LINE:
            k = next(k for k, s in enumerate(lines) if len(s) >= MAX_LINE)
            raise SignalFileError(f"{self.path}:{self.number + k}: a line of {MAX_LINE:,} "
                                  "characters or more: not a table of samples")
        self.number += len(lines)
        return lines


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


def _twice(names: list[str]) -> str | None:
    """The first name given twice."""
    seen: set[str] = set()
    return next((h for h in names if h in seen or seen.add(h)), None)


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
        self.fs = None  # the rate a preamble states

    def header(self, fields: list[str], line: int, pre: Preamble | None = None):
        """Names the columns from the first row (False where it is data: no header), or
        from a device's preamble (then the line before the first row)."""
        if (wide := max(len(fields), len(pre.names) if pre else 0)) > MAX_COLUMNS:
            raise SignalFileError(f"{self.path}:{line}: {wide:,} columns: more than "
                                  f"{MAX_COLUMNS} is no recording's table; cut out the "
                                  "columns wanted")
        if pre:
            names, drop, named = list(pre.names), set(pre.drop), line - 1
        else:
            names = [h.strip().lower() or f"col{k}" for k, h in enumerate(fields)]
            named, drop = _float(names[0], self.sep != ",") is None, set()
            if not named:
                names = [f"col{k}" for k in range(len(names))]
            elif (twice := _twice(names)):
                # else one column would be read as the other
                raise SignalFileError(f"{self.path}:{line}: column {_shown(twice)} is named "
                                      "twice")
        if pre and len(fields) == len(names) + 1 and not fields[-1].strip():
            drop.add(len(names))  # each row ends with a separator (OpenSignals)
            names.append("")
        tcol = clock([h if k not in drop else "" for k, h in enumerate(names)])
        # the other clocks are no signal: a phone's stamps beside a sensor's
        drop |= {k for k, h in enumerate(names) if k != tcol and time_scale(h) is not False}
        self.names = names
        self.keep = [k for k in range(len(names)) if k not in drop]
        if not self.keep:
            raise SignalFileError(f"{self.path}:{line}: no column but the clock's")
        self.tcol = names[tcol] if tcol is not None else None
        self.scale = time_scale(self.tcol) if self.tcol else None
        self.stamps = self.tcol is not None and self.scale is None  # ISO
        return named

    @property
    def kept(self) -> list[str]:
        return [self.names[k] for k in self.keep]

    def decimal_comma(self, rows: list[str]) -> None:
        """Beside semicolons, tabs or spaces a comma is the decimal point, unless a point
        is one in these rows: then '1,024' is a thousands separator, refused, not 1.024."""
        stamps = self.names.index(self.tcol) if self.stamps else None
        self.comma = self.sep != "," and not any(
            "." in v for s in rows for k, v in enumerate(_split(s, self.sep))
            if k != stamps and k in self.keep)

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
            self._forward(first, lines, values[self.kept.index(self.tcol)])
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
            if any("." in s for s in texts):  # '1.024' beside '0,5': a thousands point
                return None
            texts = [s.replace(",", ".") for s in texts]
        try:
            with warnings.catch_warnings():  # a block of blank lines: 'no data'
                warnings.simplefilter("ignore", UserWarning)
                # (usecols: fields that are no signal may be text, e.g. a phone's stamps)
                a = np.loadtxt(texts, delimiter=self.sep, quotechar='"', comments=None,
                               ndmin=2, usecols=self.keep if len(self.keep) < len(self.names)
                               else None)
        except ValueError:
            return None
        if a.shape[1] != len(self.keep) or not np.all(np.abs(a) <= LIMIT):  # NaN: False
            return None
        return [a[:, k] for k in range(a.shape[1])]

    def _exact(self, block: list[tuple[int, str]]) -> list[np.ndarray]:
        """The block parsed line by line: the first fault raises, naming its line."""
        cols: list[list] = [[] for _ in self.keep]
        for line, text in block:
            fields = _split(text, self.sep)
            if len(fields) != len(self.names):
                by = "" if self.sep == "," else f" (separated by {self.sep or 'spaces'!r})"
                raise SignalFileError(f"{self.path}:{line}: {len(fields)} fields, header has "
                                      f"{len(self.names)}{by}")
            for col, h, k in zip(cols, self.kept, self.keep):
                v = fields[k].strip()
                col.append(v if h == self.tcol and self.stamps else self._number(v, line, h))
        return [self._datetimes(block, c) if h == self.tcol and self.stamps
                else np.array(c, dtype=float) for h, c in zip(self.kept, cols)]

    def _number(self, text: str, line: int, col: str) -> float:
        if self.comma and "." in text:  # German Excel's 1.024 is 1024, not 1.024
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} {_shown(text)} has a point "
                                  "where the file's decimal point is a comma: a thousands "
                                  "separator? save the numbers without one")
        v = _float(text, self.comma)
        if v is None:
            mixed = ("" if self.comma or self.sep == "," or "," not in text else
                     " (commas are decimal points only where the first lines have no points)")
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} {_shown(text)} is not a number"
                                  f"{mixed}")
        if not np.isfinite(v):
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} is {_shown(text, str)}: a "
                                  "gap in the recording? cut the file there or fill it")
        if abs(v) > LIMIT:
            raise SignalFileError(f"{self.path}:{line}: {col[:40]} {_shown(text, str)} is beyond "
                                  f"+-{LIMIT:.0e}, "
                                  "more than any sensor gives: check the export's units")
        return v

    def _datetimes(self, block, texts: list[str]) -> np.ndarray:
        with warnings.catch_warnings():  # a zone ('Z', '+02:00') is read as UTC, quietly
            warnings.simplefilter("ignore", UserWarning)
            return self._dated(block, texts)

    def _dated(self, block, texts: list[str]) -> np.ndarray:
        # numpy reads a bare number as a year: epoch milliseconds would be year 1e12
        dated = all("-" in s[1:] for s in texts)
        try:
            t = np.array(texts, dtype="datetime64[us]")
            if dated and not np.isnat(t).any():
                return t
        except ValueError:
            pass
        for (line, _), text in zip(block, texts):  # which one
            try:
                if "-" in text[1:] and not np.isnat(np.datetime64(text, "us")):
                    continue
            except ValueError:
                pass
            unit = (f": a number; name its unit in the header, e.g. '{self.tcol} [ms]'"
                    if _float(text, False) is not None else "")
            raise SignalFileError(f"{self.path}:{line}: {self.tcol} {_shown(text)} is not a date "
                                  f"and time (ISO 8601, e.g. 2024-05-01T12:00:00.250){unit}")

    def _forward(self, first: int, lines: list[str], t: np.ndarray) -> None:
        """Times may repeat (loggers stamp in bursts), never go back."""
        step = np.diff(t if self.last is None else np.concatenate((self.last, t)))
        back = step < t[0] - t[0]  # 0 s, or 0 us for date and time stamps
        if self.stamps:  # a phone's wall clock back an hour: undone in result()
            back &= ~hour_back(step / np.timedelta64(1, "s"))
        back = np.flatnonzero(back)
        if len(back):
            line = self.rows(first, lines)[back[0] + (self.last is None)][0]
            raise SignalFileError(f"{self.path}:{line}: time goes backwards")
        self.last = t[-1:]

    def result(self) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        if not self.n:
            raise SignalFileError(f"{self.path}: header but no samples")
        cols = {h: c[:self.n] for h, c in zip(self.kept, self.cols)}
        if not self.tcol:
            return (np.arange(self.n) / self.fs if self.fs else None), cols
        raw = cols.pop(self.tcol)
        start = raw[0]
        if self.stamps:
            t = across_clock_change((raw - start).astype(np.int64) / 1e6, self.path,
                                    start.astype("datetime64[us]").astype(np.int64) / 1e6)
        else:  # in place: a day's time column is hundreds of MB
            t = raw
            t -= start
            t *= self.scale
        if len(t) > 1 and t[-1] == t[0]:
            last = self.rows(*self.tail)[-1][0]
            raise SignalFileError(f"{self.path}:{self.first_row}: {self.tcol} is {start} on "
                                  f"every line to line {last}: the logger's clock did not run; "
                                  "give --fs HZ and take the column out")
        return t, cols


