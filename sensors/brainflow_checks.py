"""What `brainflow://` checks before BrainFlow sees it: the URL's query and a playback file.

BrainFlow's C++ side does not say no to bad input: its playback board blocks for ever
opening a FIFO, reads /dev/zero until memory runs out, skips short lines and reads text as
0 without a word, and sleeps through a timestamp that jumps ahead (years, for a damaged
file), after which stop_stream waits on that sleep and the unit cannot stop. So the file
is read through here first, and refused in one line naming the first bad line.
"""

from __future__ import annotations

import math
import os
import stat

import numpy as np

from empathy.sensors.base import SourceError
from empathy.whole import whole

PARAMS = ("serial_port", "mac_address", "ip_address", "ip_port", "ip_protocol",
          "serial_number", "file", "master_board", "other_info", "timeout")
KINDS = ("ppg", "ecg", "eda")
OWN_KEYS = ("kinds", "retry_s", "silence_s") + tuple(f"{k}_channel" for k in KINDS)
SECONDS = {"retry_s": (2.0, 0.1, 3600.0), "silence_s": (3.0, 0.5, 3600.0)}  # default, range
MAX_STEP_S = 10.0  # the longest pause between two recorded samples the playback may sleep
BLOCK_BYTES = 4 << 20  # ~0.1 s to check
FIELD_BYTES = 400  # past the longest number write_file writes ("%f" of -1e308: 317 chars)


def check_keys(query: dict) -> None:
    """Every key is one of BrainFlow's parameters (or its _aux/_anc variant) or ours: a
    misspelt `serial_prot=` would otherwise leave the port empty, and say so only as
    BrainFlow's 'unable to prepare streaming session'."""
    for key in query:
        if key.removesuffix("_aux").removesuffix("_anc") not in PARAMS and key not in OWN_KEYS:
            raise SourceError(f"unknown parameter {key!r} (BrainFlow's: {', '.join(PARAMS)};"
                              f" ours: {', '.join(OWN_KEYS)})")


def seconds(query: dict, key: str) -> float:
    default, lo, hi = SECONDS[key]
    try:
        v = float(query.get(key, default))
    except ValueError:
        v = math.nan
    if not lo <= v <= hi:  # (NaN fails this too)
        raise SourceError(f"{key} is seconds, {lo:g}..{hi:g}, got {query[key]!r}")
    return v


def channel_index(query: dict, kind: str, n: int) -> int:
    text = query.get(f"{kind}_channel", "0").strip()
    index = whole(text)
    if index is None or index >= n:  # (a negative index would count from the end)
        raise SourceError(f"{kind}_channel must be 0..{n - 1}, got {text!r}")
    return index


def check_playback_file(path: str, rows: int, ts_row: int, stop=None) -> int:
    """The lines of a BrainFlow recording (DataFilter.write_file: one sample a line, `rows`
    tab-separated numbers), read as the playback board would; their count, or a one-line
    SourceError naming the first bad line. A 1 GB file takes ~20 s: `stop` (an Event, the
    unit's stop) set ends the reading within a block (~0.1 s)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise SourceError(f"file {path!r}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(f"file {path!r} is not a regular file (a FIFO or device never ends)")
    if st.st_size == 0:
        raise SourceError(f"file {path!r} is empty")
    n, last, carry, longest = 0, None, b"", rows * FIELD_BYTES
    with open(path, "rb") as f:
        while block := f.read(BLOCK_BYTES):
            if stop is not None and stop.is_set():
                raise SourceError(f"file {path!r}: stopped while reading it")
            lines = (carry + block).split(b"\n")
            carry = lines.pop()  # (a line cut by the block: completed by the next one)
            if len(carry) > longest:  # not line by line (1 GB of text, no newline)
                raise SourceError(f"file {path!r} line {n + len(lines) + 1}: over "
                                  f"{longest} bytes with no end")
            if lines:
                last = _check_block(path, lines, n, rows, ts_row, last)
                n += len(lines)
    if carry.strip():  # the last line, with no newline
        _check_block(path, [carry], n, rows, ts_row, last)
        n += 1
    return n


def _check_block(path, lines, first, rows, ts_row, last):
    def bad(i, why):
        raise SourceError(f"file {path!r} line {first + i + 1}: {why} "
                          "(a BrainFlow recording from DataFilter.write_file)")

    for i, line in enumerate(lines):
        cols = line.count(b"\t") + 1
        if cols != rows:
            bad(i, f"{cols} columns, the master board has {rows}")
    try:
        data = np.loadtxt(lines, delimiter="\t", dtype=np.float64, ndmin=2)  # (C: ~5x faster)
    except ValueError:
        for i, line in enumerate(lines):
            try:
                np.array(line.split(), dtype=np.float64)
            except ValueError:
                bad(i, "a value that is not a number")
        raise
    ts = data[:, ts_row]
    if not np.isfinite(ts).all():
        bad(int(np.argmin(np.isfinite(ts))), "a timestamp that is not a number")
    step = np.diff(ts if last is None else np.concatenate(([last], ts)))
    off = (step < 0) | (step > MAX_STEP_S)
    if off.any():
        j = int(np.argmax(off))
        bad(j + (last is None), f"the timestamp steps by {step[j]:.6g} s "
            f"(0..{MAX_STEP_S:g} s between samples)")
    return ts[-1]
