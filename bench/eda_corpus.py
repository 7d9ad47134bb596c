"""Real skin-conductance recordings, read from what Python packages ship.

Nothing is downloaded at run time. Each record lives inside a published wheel:
`scripts/install.sh` fetches those with `pip download --no-deps` into `cache/eda-corpus/`
(git-ignored; `EMPATHY_EDA_CORPUS` points elsewhere), and `record_data` reads the member
straight out of the archive. No data file is committed to this repository.

`held_out` records are never looked at while tuning the detector (docs/signal-validation.md
reports them apart).
"""

from __future__ import annotations

import bz2
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BSN = "biosignalsnotebooks/"
OSF = BSN + "notebook_files/osf_files/signal_samples/"
PYPHYSIO = "pyphysio-4.10.0-py3-none-any.whl"
BSN_WHEEL = "biosignalsnotebooks-0.6.14-py3-none-any.whl"
# distribution file -> the requirement install.sh downloads it with (pinned)
DISTS = {PYPHYSIO: "pyphysio==4.10.0 --only-binary :all:",
         BSN_WHEEL: "biosignalsnotebooks==0.6.14 --only-binary :all:"}


class CorpusMissing(RuntimeError):
    """A record's distribution is not in the cache (run scripts/install.sh)."""


@dataclass(frozen=True)
class Record:
    name: str
    dist: str
    member: str
    fmt: str  # "tsv_bz2" | "opensignals" | "rows"
    fs_hz: float  # 0 = from the file's header
    to_us: str  # how the file's numbers become µS (see _microsiemens)
    source: str
    held_out: bool = False
    column: int = -1


RECORDS = (
    Record("pyphysio-eda", PYPHYSIO, "pyphysio/test_data/medical.txt.bz2", "tsv_bz2", 1024.0,
           "us", "pyphysio's test data: 4 min of palm EDA (µS), recorded with ECG, BVP and "
           "breathing", held_out=True, column=1),
    Record("bsn-hot-surface", BSN_WHEEL, OSF + "eda_hot_surface.txt", "opensignals", 0.0,
           "bitalino", "biosignalsnotebooks: 37 s of BITalino EDA (10-bit) while the subject "
           "touches a hot surface"),
    Record("bsn-slow", BSN_WHEEL, OSF + "eda_slow_signal.txt", "opensignals", 0.0, "plux",
           "biosignalsnotebooks: 28 s of biosignalsplux EDA (16-bit)"),
    Record("nova-eda", BSN_WHEEL, BSN + "external_packages/novainstrumentation/data/eda.txt",
           "rows", 0.0, "au", "novainstrumentation (in biosignalsnotebooks): 40 s of EDA at "
           "10 Hz in the device's own units"),
)


def corpus_dir() -> Path:
    env = os.environ.get("EMPATHY_EDA_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "cache" / "eda-corpus"


def available(rec: Record) -> bool:
    return (corpus_dir() / rec.dist).exists()


def _member(rec: Record) -> bytes:
    path = corpus_dir() / rec.dist
    if not path.exists():
        raise CorpusMissing(f"{rec.name}: {path} missing (scripts/install.sh fetches it)")
    with zipfile.ZipFile(path) as z:
        return z.read(rec.member)


def record_data(rec: Record) -> tuple[np.ndarray, float]:
    """(skin conductance in µS, or the device's units for "au"; sample rate)."""
    raw = _member(rec)
    if rec.fmt == "tsv_bz2":
        x = np.loadtxt(io.BytesIO(bz2.decompress(raw)))[:, rec.column]
        return x.astype(float), rec.fs_hz
    if rec.fmt == "rows":  # two rows: time (s), value
        t, x = np.loadtxt(io.BytesIO(raw))
        return x.astype(float), float(round(1 / np.median(np.diff(t)), 6))
    text = raw.decode()
    header = json.loads(text.splitlines()[1].lstrip("# "))
    dev = next(iter(header.values()))
    data = np.loadtxt(io.StringIO(text), comments="#")
    x = data[:, -1].astype(float)
    bits = dev["resolution"][-1]
    return _microsiemens(x, rec.to_us, bits), float(dev["sampling rate"])


def _microsiemens(adc: np.ndarray, how: str, bits: int) -> np.ndarray:
    """The makers' transfer functions: BITalino EDA = ADC/2^n x VCC / 0.132 (VCC 3.3 V);
    biosignalsplux EDA = ADC/2^n x VCC / 0.12 (VCC 3 V)."""
    if how == "bitalino":
        return adc / 2**bits * 3.3 / 0.132
    if how == "plux":
        return adc / 2**bits * 3.0 / 0.12
    return adc
