"""Device exports whose first lines say what a header row would: the sampling rate and the
channels. Each gives a Preamble, after which the rows are a plain table (edge.signal_text).

- OpenSignals text (biosignalsplux, BITalino): '# OpenSignals Text File Format', then
  '# {json}' with "sampling rate", "column", "label", "sensor", then '# EndOfHeader'.
- Polar Sensor Logger's PPI.txt: a header naming 'contact' twice (_polar_ppi).
- Empatica E4 (BVP, EDA, TEMP, HR, ACC .csv): row 1 the start as unix time, row 2 the rate
  in Hz (repeated per column in ACC.csv), then the samples; IBI.csv: 'start, IBI', then
  rows of beat time (s from the start) and interval (s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from empathy.edge.signal_columns import MAX_COLUMNS, SignalFileError

UNIX = (1e9, 4e9)  # an E4's start: 2001..2096 in unix seconds; no sample count is this
RATE = (0.1, 100_000.0)
POLAR_PPI = ("phone timestamp;pp-interval", "phone data rx timestamp;pp-interval")
E4_RATES = {"bvp": 64.0, "eda": 4.0, "temp": 4.0, "hr": 1.0, "acc": 32.0}  # E4 archive README


@dataclass
class Preamble:
    names: list[str]  # every field of a row, in order
    skip: int  # lines before the first row
    fs: float | None = None  # the rate the file states (None: a time column, or --fs)
    drop: set[int] = field(default_factory=set)  # fields that are no signal (counters, IO)


def preamble(path: str, lines: list[str]) -> Preamble | None:
    if lines and lines[0].startswith("# OpenSignals"):
        return _opensignals(path, lines)
    if lines and lines[0].lower().lstrip("\ufeff").startswith(POLAR_PPI):
        return _polar_ppi(lines[0])
    return _e4(path, [s for s in lines[:3] if s.strip()])


def _polar_ppi(header: str) -> Preamble:
    """Polar Sensor Logger's PPI.txt (Verity Sense, OH1: a pulse's intervals): the phone's
    stamp, 'PP-interval [ms]', its error estimate, 'blocker' (1: the sensor says motion
    spoilt it), 'contact' twice (skin contact, and whether the sensor can tell) and the
    rate. The second 'contact' is named for what it is (a name twice is refused); both stay
    (edge.signal_file: an interval off the skin is no beat's)."""
    names = [h.strip().lower() for h in header.strip().rstrip(";").split(";")]
    names[0] = "phone timestamp"  # ('Phone Data RX timestamp' in some versions)
    if names.count("contact") == 2:
        names[len(names) - 1 - names[::-1].index("contact")] = "contact supported"
    return Preamble(names, 1, drop={k for k, h in enumerate(names) if h.startswith("hr ")})


def _opensignals(path: str, lines: list[str]) -> Preamble:
    end = next((k for k, s in enumerate(lines) if s.startswith("# EndOfHeader")), None)
    try:
        head = json.loads(lines[1].lstrip("# "))
        if end is None or len(head) != 1:
            raise ValueError(f"{len(head)} devices" if end else "no '# EndOfHeader' line")
        dev = next(iter(head.values()))
        rate, columns = dev["sampling rate"], list(dev["column"])[:MAX_COLUMNS + 1]
        sensors = dict(zip(dev["label"], dev["sensor"]))
    # (a header nested thousands deep is past the parser's recursion)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
        raise SignalFileError(f"{path}:2: an OpenSignals header we cannot read "
                              f"({str(e)[:80]}): export one device per file, as text") from None
    names, drop, seen = [], set(), set()
    for k, c in enumerate(columns):
        if not isinstance(c, str):  # a label is text: a list or dict is no key
            raise SignalFileError(f"{path}:2: an OpenSignals header's column {str(c)[:40]!r} "
                                  "is no name")
        if c not in sensors:  # nSeq, digital I/O: no signal
            drop.add(k)
        name = str(sensors.get(c, c)).lower()
        names.append(name if name not in seen else f"{name}{k}")
        seen.add(names[-1])
    return Preamble(names, end + 1, _rate(path, 2, "an OpenSignals header's sampling rate",
                                          rate), drop)


def _e4(path: str, first: list[str]) -> Preamble | None:
    """An E4 file by its start (a unix time), or, where the start was zeroed or made
    relative, by its name and the rate E4 writes for it: else its two rows are samples."""
    rows = [[f.strip() for f in s.split(",")] for s in first]
    if not rows or not _numbers(rows[0][:1]):
        return None
    if len(rows[0]) == 2 and rows[0][1].lower() == "ibi":
        return Preamble(["time", "ibi"], 1)
    if not (len(rows) > 1 and _numbers(rows[0]) and _numbers(rows[1]) and len(set(rows[1])) == 1
            and len(rows[0]) == len(rows[1])):
        return None
    stem = Path(path).stem.lower().split("_")[-1]  # BVP.csv, or e4_BVP.csv
    if not (UNIX[0] <= float(rows[0][0]) <= UNIX[1] or E4_RATES.get(stem) == float(rows[1][0])):
        return None
    fs = _rate(path, 2, "an Empatica E4 file's rate", rows[1][0])
    names = (["x [1/64 g]", "y [1/64 g]", "z [1/64 g]"] if len(rows[1]) == 3
             else [stem or "value"] * len(rows[1]))
    return Preamble(names if len(set(names)) == len(names) else
                    [f"col{k}" for k in range(len(names))], 2, fs)


def _rate(path: str, line: int, what: str, value) -> float:
    """The rate a file states, in RATE (a JSON true is no rate; NaN, inf, 0 are none)."""
    try:
        fs = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        fs = None
    if fs is None or not RATE[0] <= fs <= RATE[1]:
        raise SignalFileError(f"{path}:{line}: {what} {str(value)[:40]!r} is not "
                              f"{RATE[0]:g}..{RATE[1]:g} Hz")
    return fs


def _numbers(fields: list[str]) -> bool:
    try:
        return bool(fields) and all(float(f) == float(f) for f in fields)
    except ValueError:
        return False
