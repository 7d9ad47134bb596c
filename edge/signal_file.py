"""The recorded signal files `empathy signal` reads (signal_args.FORMATS says it to users), behind
one read function: text tables and device exports (edge.signal_text, edge.signal_exports),
EDF and WFDB records (edge.signal_record); column names are read by edge.signal_columns.
Watches' and apps' beats and rates (Garmin FIT, Polar Sensor Logger's HR file) are no
samples: edge.signal_apps reads them."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import numpy as np

from empathy.edge.signal_apps import app_file, not_samples
from empathy.edge.signal_fit_beats import LOST_S
from empathy.edge.signal_columns import (SignalFileError, base, heart_like, not_heart,
                                         waveform_kind)
from empathy.paths import not_a_file

__all__ = ["SignalFileError", "pick_column", "read_heart", "read_rr", "read_signal", "sample_rate"]


RR_MS = (200.0, 10_000.0)  # 300 bpm to a 10-s sinus pause (QT Database sel232's: 5.6 s)
RR_COLUMNS = ("rr_ms", "rr", "ibi_ms", "ibi", "nni", "rr-interval", "rr interval",
              "pp-interval", "ppi")
# a column the header leaves unnamed, as pandas' index (then 'Unnamed: 0' once re-saved)
UNNAMED = re.compile(r"col\d+|unnamed: \d+")
AGREE = 0.01  # --fs against a file's own rate: 1 % is 0.8 bpm at 80 bpm
GAP_STEPS = 3.0  # a time step this many usual ones is samples lost
GAP_SAMPLE = 1 << 20  # time steps judged at once
BEAT_CLOCK_MS = 10.0  # a time column within this of the intervals stamps each beat


def read_signal(path: str, choose=None) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """(time in seconds or None, {column: values}). Raises SignalFileError with file:line.
    choose(names) names the channel whose rate a multi-rate record is read at."""
    suffix = Path(path).suffix.lower()
    head = _head(path)
    if (app := app_file(path)):  # a watch's or app's beats or rate: no samples
        raise SignalFileError(not_samples(path, app))
    if suffix in (".edf", ".bdf") or head in (b"0       ", b"\xffBIOSEMI"):
        from empathy.edge.signal_record import read_edf

        return read_edf(path, choose)
    if suffix == ".hea" or (suffix == ".dat" and Path(path).with_suffix(".hea").exists()):
        from empathy.edge.signal_record import read_wfdb

        return read_wfdb(path)
    if (packed := next((what for magic, what in PACKED.items() if head.startswith(magic)),
                       None)):
        raise SignalFileError(f"{path}: {packed}")
    from empathy.edge.signal_text import read_text

    try:
        with open(path, encoding=_encoding(head)) as f:
            return read_text(path, f)
    except UnicodeDecodeError as e:
        raise SignalFileError(f"{path}: not UTF-8 text ({e}): save it as UTF-8 CSV") from None
    except OSError as e:
        raise SignalFileError(f"{path}: cannot read: {e.strerror or e}") from None


def _encoding(head: bytes) -> str:
    """UTF-8 (-sig: a spreadsheet's BOM is no name), or UTF-16, Excel's 'Unicode text', by
    its BOM or, without one, by the zero byte beside each ASCII character."""
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    if len(head) >= 4 and head[0] and head[2] and not head[1] and not head[3]:
        return "utf-16-le"
    if len(head) >= 4 and head[1] and head[3] and not head[0] and not head[2]:
        return "utf-16-be"
    return "utf-8-sig"


# what a file's first bytes say it is, where it is no text to read
PACKED = {b"\x1f\x8b": "gzip-compressed, not text: gunzip it first",
          b"PK\x03\x04": "a zip archive (an Excel .xlsx?), not text: save the sheet as CSV",
          b"\xd0\xcf\x11\xe0": "an Office file (an Excel .xls?), not text: save the sheet "
                                 "as CSV",
          b"BZh": "bzip2-compressed, not text: bunzip2 it first",
          b"\xfd7zXZ": "xz-compressed, not text: unxz it first"}


def regular(path: str) -> None:
    """Refuse a path that is no file to read, before any option is judged against it; a pipe
    or device before it is opened: a FIFO with no writer blocks open() for ever, /dev/zero
    is one endless line."""
    what = not_a_file(path)
    if what == "a folder":
        raise SignalFileError(f"{path}: a folder, not a recording file: name the file in it")
    if what:
        raise SignalFileError(f"{path}: not a regular file (a pipe or a device): save the "
                              "recording to a file first")
    try:
        open(path, "rb").close()
    except OSError as e:
        raise SignalFileError(f"{path}: cannot read: {e.strerror or e}") from None


def _head(path: str) -> bytes:
    """The file's first bytes (a path that is no file is refused: regular)."""
    regular(path)
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except OSError:
        return b""  # the text reader says why


def _named(cols, name: str) -> str | None:
    """The column called `name`, or whose name is `name` and a unit ('ecg' for 'ecg [uV]')."""
    name = name.lower()
    return next((h for h in cols if h == name), None) or \
        next((h for h in cols if base(h)[0] == name), None)


def pick_column(cols: dict, name: str | None, path: str, prefer=()) -> np.ndarray:
    if name:
        if (h := _named(cols, name)) is None:
            raise SignalFileError(f"{path}: no column {name!r} (have: {', '.join(cols)})")
        return cols[h]
    for p in prefer:
        if (h := _named(cols, p)) is not None:
            return cols[h]
    if not cols:
        raise SignalFileError(f"{path}: no signal column")
    return cols[_first(cols)]


def _first(cols) -> str | None:
    """The first column the header names, else the first."""
    return next((h for h in cols if not UNNAMED.fullmatch(h)), next(iter(cols), None))


def read_heart(path: str, column: str | None, kind: str, fs: float | None):
    """(samples, rate) of a heart waveform: the column --column names, else the one named for
    this kind; one named for something else (pupil, EDA...) is refused, not read as a heart."""
    from empathy.edge.heart_method import MAX_FS, METHODS

    t, cols = read_signal(path, lambda names: (column and _named(names, column))
                          or heart_like(names, kind))
    name = _named(cols, column) if column else heart_like(cols, kind) or _first(cols)
    from empathy.edge.signal_record import twins

    x = pick_column(cols, column or name, path)  # (a --column not there is refused)
    if not column and len(twins(cols, name)) > 1:  # which is the heart, the label can't say
        raise SignalFileError(f"{path}: channels {', '.join(twins(cols, name))} carry one "
                              "label (numbered here by channel): give --column with the one "
                              "to read")
    if not column and (why := not_heart(name)):
        raise SignalFileError(f"{path}: column {name!r} is {why}"
                              + (" (--column names the heart column)" if len(cols) > 1 else ""))
    if not column and waveform_kind(name) not in (None, kind):  # a PPG's pulses are no QRS
        raise SignalFileError(f"{path}: column {name!r} is a {waveform_kind(name).upper()}: "
                              f"give --kind {waveform_kind(name)}")
    rate = sample_rate(t, fs, path)
    low = METHODS[kind].min_fs if kind in METHODS else 0
    if rate < low:
        ms = (" (a time column in milliseconds? name it 'time [ms]')"
              if t is not None and not fs and rate * 1000 >= low else "")
        raise SignalFileError(f"{path}: {rate:g} Hz is too slow for a {kind.upper()} waveform "
                              f"(at least {low:g} Hz): is it a heart recording, and its rate "
                              f"right?{ms}")
    if rate > MAX_FS:
        given = f"--fs {fs:g}" if fs else f"its time column gives {rate:g} Hz"
        raise SignalFileError(f"{path}: {given}: a {kind.upper()} waveform is read at "
                              f"{MAX_FS:g} Hz at most")
    return x, rate


def sample_rate(t, fs, path: str, flag: str = "--fs") -> float:
    """The given rate, which must agree with the file's own (its time column's mean:
    loggers often stamp samples in bursts, repeated times); else the file's own."""
    own = (len(t) - 1) / float(t[-1] - t[0]) if t is not None and len(t) > 1 else None
    if own:
        _gaps(t, path)
    if fs and own and abs(fs / own - 1) > AGREE:
        raise SignalFileError(f"{path}: {flag} {fs:g} Hz, but the file's own clock gives "
                              f"{own:.6g} Hz: leave {flag} out, or take the time column out "
                              "if its clock is wrong")
    if fs or own:
        return fs or own
    raise SignalFileError(f"{path}: no time column, so {flag} HZ is needed")


def _gaps(t: np.ndarray, path: str) -> None:
    """A clock that stamps each sample (its usual step over 0) and jumps: samples lost (a
    BLE frame dropped), so no one rate fits them; over 1 % of the time lost is refused. A
    clock that stamps frames (step 0) cannot tell; a jittery one (7 or 8 ms) is no gap.
    Either way no stamp may stray from the line through the ends by more than 1 % of the
    time and its longest step (a frame, a gap): a clock that stood still for half the file,
    then ran, gave twice the rate."""
    step = float(np.median(np.diff(t[:GAP_SAMPLE + 1])))
    n, span = len(t), float(t[-1] - t[0])
    lost, worst, stray, longest = 0.0, (0.0, 0), (0.0, 0), 0.0
    for k in range(0, n - 1, GAP_SAMPLE):  # in parts: a day's diff is GBs
        part = t[k:k + GAP_SAMPLE + 1]
        off = np.abs(part - t[0] - np.arange(k, k + len(part)) * (span / (n - 1)))
        if off.max() > stray[0]:
            stray = (float(off.max()), k + int(np.argmax(off)))
        d = np.diff(part)
        longest = max(longest, float(d.max()))
        if step <= 0:
            continue
        big = np.flatnonzero(d > GAP_STEPS * step)
        lost += float(np.sum(d[big] - step))
        if len(big) and d[big].max() > worst[0]:
            worst = (float(d[big].max()), k + int(big[np.argmax(d[big])]))
    if lost > AGREE * span:
        raise SignalFileError(f"{path}: the time column jumps {worst[0]:.3g} s after sample "
                              f"{worst[1] + 1} (at {t[worst[1]]:.3f} s; a sample every "
                              f"{step * 1e3:.3g} ms elsewhere): {lost:.3g} s of samples are "
                              "missing, so no one rate fits; cut the file at the gaps")
    if stray[0] > AGREE * span + longest:
        raise SignalFileError(f"{path}: the time column does not run at one rate: sample "
                              f"{stray[1] + 1} is {stray[0]:.3g} s off the rate its ends give "
                              f"({(n - 1) / span:.4g} Hz; a clock that stood still or "
                              "restarted?): cut the file where it runs steadily, or take the "
                              "column out and give --fs")


def read_rr(path: str, column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RR intervals in ms, beat times in s) from a file of intervals, in ms or seconds (by
    their median: no interval in ms is under RR_MS[0]); SignalFileError for whatever is not
    such a series. The beats are the intervals laid end to end, unless a time column stamps
    each beat (its steps are the intervals: Empatica's IBI.csv, HRV Logger's RR.csv): then a
    gap where the device dropped beats stays a gap, which the artefact corrector labels, not
    two far intervals made neighbours. (A phone's arrival stamps, one per BLE packet, are no
    beat times.)"""
    t, cols = read_signal(path)
    if column is None and len(cols) > 1 and all(h == f"col{k}" for k, h in enumerate(cols)):
        if len(cols["col0"]) == 1:
            raise SignalFileError(f"{path}: one row of {len(cols)} values: write one interval "
                                  "a line")
        raise SignalFileError(f"{path}: {len(cols)} columns and no header: give --column colN "
                              "(N from 0) for the intervals, or write the decimal comma as a "
                              "point (802.5)")
    rr = pick_column(cols, column, path, RR_COLUMNS)
    name = next(h for h in cols if cols[h] is rr)
    if not column and waveform_kind(name):
        raise SignalFileError(f"{path}: column {name!r} is a waveform, not RR intervals: "
                              f"give --kind {waveform_kind(name)}")
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
    rr = rr * 1000.0 if seconds else rr
    return rr, _beat_times(t, rr, _no_beat(cols, len(rr), path))


def _no_beat(cols: dict, n: int, path: str) -> np.ndarray:
    """Polar's PPI: an interval the sensor says motion spoilt (blocker), or measured off the
    skin (contact 0, where it can tell: an optical sensor's noise), ends in no beat, so it
    and the next make one long interval, which the artefact corrector labels."""
    blocked, contact, can = (cols.get(h) for h in ("blocker", "contact", "contact supported"))
    out = blocked != 0 if blocked is not None and len(blocked) == n else np.zeros(n, bool)
    if contact is not None and can is not None and len(contact) == len(can) == n:
        off = (contact == 0) & (can != 0)
        if off.all():
            raise SignalFileError(f"{path}: the sensor says it touched no skin in any row "
                                  "(contact 0): no pulse in it")
        out |= off
    return out


def _beat_times(t, rr: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """A clock may stamp each interval's end (E4's IBI.csv) or its start (HRV Logger's
    'since start'); one that does neither is no clock of beats (a phone's arrivals), but
    it still says where beats went missing (_placed). A blocked interval ends in no beat."""
    laid = np.concatenate(([0.0], np.cumsum(rr) / 1000.0))
    if t is None or len(t) != len(rr):
        return np.delete(laid, 1 + np.flatnonzero(blocked))
    for beat, step in ((rr[1:], np.concatenate(([0.0], t - t[0] + rr[0] / 1000.0))),
                       (rr[:-1], np.append(t - t[0], t[-1] - t[0] + rr[-1] / 1000.0))):
        gap = np.diff(t) * 1000.0 - beat  # ms the clock moved beyond each interval
        if np.median(np.abs(gap)) <= BEAT_CLOCK_MS and gap.min() >= -BEAT_CLOCK_MS:
            return np.delete(step, 1 + np.flatnonzero(blocked))
    return _placed(laid, t, blocked)


def _placed(laid: np.ndarray, t: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """The intervals end to end, but where a phone's arrival stamps run LOST_S ahead of
    them, beats went missing (a strap off the skin, a phone out of range): from that row
    on they are moved so that its notification's last interval ends at its stamp, the
    time before a gap the corrector labels, not the beats either side made neighbours.
    (Arrivals trail their beats by a second or so; each gap found sets the two clocks level
    again.) Rows of one stamp came in one notification (a Verity Sense sends frames of
    several beats): their stamp is read against the last one's end."""
    last = np.flatnonzero(np.append(np.diff(t) != 0, True))  # each notification's last row
    end = laid[1:][last[np.searchsorted(last, np.arange(len(t)))]]  # ... for every row
    ahead = (t - t[0]) - (end - end[0])  # s a row's stamp is past its notification's end
    rows, shifts = [0], [0.0]
    while len(over := np.flatnonzero(ahead[rows[-1]:] - shifts[-1] > LOST_S)):
        rows.append(rows[-1] + int(over[0]))
        shifts.append(float(ahead[rows[-1]]))
    rows.append(len(blocked))
    # each run of rows: its first interval's start, then each interval's end (no beat ends
    # a blocked one); a run after a gap starts with a beat of its own
    return np.concatenate([(laid[a:b + 1] + shift)[np.append(True, ~blocked[a:b])]
                           for a, b, shift in zip(rows, rows[1:], shifts)])
