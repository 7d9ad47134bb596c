"""Binary records: EDF/EDF+/BDF (pyedflib) and WFDB (wfdb), each imported only when such a
file comes; the rate is the header's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from empathy.edge.signal_columns import LIMIT, SignalFileError


def read_edf(path: str, choose=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The channels at the rate of the one `choose(labels)` names (default: the first): a
    sleep record's ECG runs at its own rate beside the EEG."""
    try:
        import pyedflib
    except ImportError:
        raise SignalFileError(f"{path}: an EDF file, which is read with pyedflib (not "
                              "installed here): pip install pyedflib, or export the channel "
                              "as CSV (time,ppg)") from None
    try:
        with pyedflib.EdfReader(path) as f:
            rates = f.getSampleFrequencies()
            labels = _labels([(label.strip().lower() or f"col{k}")
                              for k, label in enumerate(f.getSignalLabels())])
            anchor = labels.index(choose(labels)) if choose and choose(labels) else 0
            cols = {label: f.readSignal(k) for k, label in enumerate(labels)
                    if rates[k] == rates[anchor]}
    except OSError as e:
        raise SignalFileError(f"{path}: not a readable EDF/BDF file ({e})") from None
    return _record(path, float(rates[anchor]) if len(rates) else 0.0, cols)


def _labels(labels: list[str]) -> list[str]:
    """Channels of one label told apart by their number ('ecg#1', 'ecg#2'): as one name,
    the later channel was read for the earlier one."""
    return [f"{h}#{k + 1}" if labels.count(h) > 1 else h for k, h in enumerate(labels)]


def twins(names, name: str) -> list[str]:
    """`name` and the channels among `names` that share its label (_labels); [] where it
    shares it with none."""
    label = name.rpartition("#")[0]
    return [h for h in names if h.rpartition("#")[0] == label] if label else []


def read_wfdb(path: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
    # wfdb's HeaderSyntaxError is a ValueError; a header claiming more signal lines than
    # it has is an IndexError in its parser
    except (OSError, ValueError, IndexError, KeyError, TypeError) as e:
        raise SignalFileError(f"{path}: not a readable WFDB record "
                              f"({type(e).__name__}: {str(e)[:80]})") from None
    names = _labels([(n.strip().lower() or f"col{k}") for k, n in enumerate(rec.sig_name or [])])
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
