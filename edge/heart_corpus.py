"""Real heart recordings for validation, read from what Python packages ship.

Nothing is downloaded at run time. Each record lives inside a published distribution
(wheel or sdist): `scripts/install.sh` fetches those distributions with `pip download
--no-deps` into `cache/heart-corpus/` (git-ignored; `EMPATHY_HEART_CORPUS` points
elsewhere), and `record_data` reads the member straight out of the archive. HeartPy's
recordings come from the installed package. Where a record's published expert beat
annotation ships in no distribution, the annotation file is kept in `edge/heart_reference/`
(its README says where it comes from and how it was checked) and `annotated_beats` reads it
with wfdb. The one kind of recording committed there: short excerpts of MIT-BIH Arrhythmia
records (ODC-By 1.0) with their beat annotation, `mitdb-<record>.npz` (dist "reference";
every beat's label: `beat_labels`),
annotated arrhythmic ECG (sixteen 3 min records, thirteen tuning, three held out; seventeen
first minutes, two tuning, fifteen held out; four Noise Stress Test records, `nstdb-<record>.npz`,
MIT-BIH 118 with recorded electrode-motion noise, tuning) and one MIT-BIH
Supraventricular Arrhythmia record at 128 Hz, `svdb-800.npz` (held out; see their README);
46 3 min QT Database records at 250 Hz, `qtdb-<record>.npz` (MIT-BIH Arrhythmia,
Supraventricular Arrhythmia, Long-Term and Normal Sinus Rhythm, European ST-T and MIT-BIH ST
Change records as the QT Database resampled them; eleven tuning, 35 held out, 24 of those a
fresh blind set);
and PPG with a simultaneous
ECG whose beats are its reference: one minute of five wrist PPG recordings during exercise
(Jarchi & Casson 2017, `wrist-<record>.npz`) and 4 min of 36 ICU patients' finger PPG
(BIDMC 01-05, 10-19, 24-37 and 40-43, `bidmc-<record>.npz`; 14-29 a fresh blind set, 30-43 a
second; and 53, 45's and 06's last 4 min, tuning with runs of premature beats) and of two more (PhysioNet/CinC Challenge 2015 v102s and a103l,
`cinc15-<record>.npz`), all ODC-By 1.0, and 5 min of an adult's PPG at rest
(NeuroKit2's `bio_resting_5min_100hz`, MIT, `neurokit-rest.npz`) (`trusted_spans`: where
that reference is scored; the scorer shifts PPG beats by their pulse travel time).

`held_out` records are never looked at while tuning the detectors (docs/signal-validation.md
reports them apart).
"""

from __future__ import annotations

import bz2
import functools
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from empathy.cached_dist import cache_folder
from empathy.edge.heart_records import DISTS, RECORDS, Record  # noqa: F401 (the table)


class CorpusMissing(RuntimeError):
    """A record's distribution is not in the cache (run scripts/install.sh)."""


# WFDB's beat labels (EC57 scores every beat, whatever its type); the rest are rhythm,
# noise and comment annotations
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
REFERENCE_DIR = Path(__file__).resolve().parent / "heart_reference"
# the beat labels of the excerpts cut from tpcp's copy (its README: source, checks, sha256)
LABELS_FILE = REFERENCE_DIR / "mitdb-labels.txt"


def annotated_beats(rec: Record, n_samples: int, fs_hz: float) -> np.ndarray | None:
    """The expert's beats (s from the excerpt's start) in an excerpt of n_samples, or None
    where the record has no published annotation (the peers' consensus is its reference)."""
    if not rec.annotation:
        return None
    if rec.fmt in ("mitdb_npz", "pulse_npz"):  # the excerpt's own beats, from its start
        return _excerpt(rec)["beats"] / fs_hz
    return _wfdb_beats(rec, n_samples)[0] / fs_hz


def beat_labels(rec: Record, n_samples: int) -> np.ndarray | None:
    """Each annotated beat's WFDB label, in the order of `annotated_beats`, or None where
    the labels are not kept (svdb-800, the PPG records' ECG beats). The excerpts cut from
    the Kaggle-format copies keep them; tpcp's keep only the V flags, so theirs are in
    LABELS_FILE; mitdb-208's are its WFDB annotation's (n_samples: the excerpt's length)."""
    if rec.fmt == "scipy_ecg" and rec.annotation:
        return _wfdb_beats(rec, n_samples)[1]
    if rec.fmt != "mitdb_npz":
        return None
    z = _excerpt(rec)
    if "labels" in z:
        return z["labels"]
    got = _tpcp_labels().get(str(z["record"]))
    if got is None:
        return None
    start, labels = got
    if start != int(z["start"]) or len(labels) != len(z["beats"]):
        raise ValueError(f"{rec.name}: {LABELS_FILE.name} does not fit the excerpt")
    return np.array(list(labels), "<U1")


def _tpcp_labels() -> dict[str, tuple[int, str]]:
    """record -> (excerpt start, one label character per beat), from LABELS_FILE."""
    rows = [ln.split() for ln in LABELS_FILE.read_text().splitlines() if not ln.startswith("#")]
    return {rec: (int(start), labels) for rec, start, labels in rows}


def _wfdb_beats(rec: Record, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(sample from the excerpt's start, WFDB label) of every beat annotation in the
    excerpt, from the record's WFDB annotation file."""
    import wfdb

    path = REFERENCE_DIR / rec.annotation
    ann = wfdb.rdann(str(path.with_suffix("")), path.suffix[1:], sampfrom=rec.ann_offset,
                     sampto=rec.ann_offset + n_samples - 1)
    sym = np.asarray(ann.symbol, "<U1")
    keep = np.isin(sym, list(BEAT_SYMBOLS))
    return np.asarray(ann.sample)[keep] - rec.ann_offset, sym[keep]


def trusted_spans(rec: Record) -> np.ndarray | None:
    """(start, end) s where a record's ECG-derived reference is scored, or None where the
    whole record is (beat_score.plausible_spans of the ECG's beats, when it was cut)."""
    return _excerpt(rec)["spans_s"] if rec.fmt == "pulse_npz" else None


def reference_lead(rec: Record) -> np.ndarray | None:
    """The ECG (mV, at the record's rate) whose R peaks are a PPG record's reference, where
    the excerpt keeps it (the records with `trusted_spans`), else None."""
    if rec.fmt != "pulse_npz":
        return None
    z = _excerpt(rec)
    return z["ecg"] * float(z["scale_ecg"])


def motion_mag(rec: Record) -> np.ndarray | None:
    """The accelerometer's magnitude (m/s^2, at the record's rate) where one was worn."""
    z = _excerpt(rec) if rec.fmt == "pulse_npz" else {}
    return z["acc_mag"] * float(z["scale_acc"]) if "acc_mag" in z else None


def motion_axes(rec: Record) -> np.ndarray | None:
    """The accelerometer's three axes (n, 3) in mG where the excerpt keeps them (the wrist
    records, issue 19's eighth pass), else None."""
    z = _excerpt(rec) if rec.fmt == "pulse_npz" else {}
    if "acc_xyz" not in z:
        return None
    return z["acc_xyz"] * (float(z["scale_acc_xyz"]) / 9.80665 * 1000.0)


def corpus_dir() -> Path:
    return cache_folder("heart-corpus", "EMPATHY_HEART_CORPUS")


def peer_cache_dir() -> Path:
    """Where the peer detectors' beats on these records are kept (beat_score.peer_beats)."""
    return corpus_dir() / "peers"


def record(name: str) -> Record:
    for r in RECORDS:
        if r.name == name:
            return r
    raise KeyError(f"no record {name!r} (known: {', '.join(r.name for r in RECORDS)})")


def available(rec: Record) -> bool:
    return rec.dist in ("heartpy", "reference") or (corpus_dir() / rec.dist).is_file()


def bench_record(name: str, seconds: float) -> tuple[Record, np.ndarray, float]:
    """A bench's record and its first `seconds` of samples; one that is not fetched ends the
    bench in one line."""
    rec = record(name)
    if not available(rec):
        raise SystemExit(f"{name}: not in cache/heart-corpus (scripts/install.sh)")
    x, fs = record_data(rec)
    return rec, x[:int(seconds * fs)], fs


def _excerpt(rec: Record) -> dict:
    """A committed MIT-BIH excerpt: ADC samples, beat samples, PVC flags, where it was cut."""
    with np.load(REFERENCE_DIR / rec.member) as z:
        return {k: z[k] for k in z.files}


def _member(rec: Record) -> bytes:
    path = corpus_dir() / rec.dist
    if not path.is_file():
        raise CorpusMissing(f"{rec.name}: {path} is missing (scripts/install.sh fetches it: "
                            f"pip download --no-deps {DISTS[rec.dist]})")
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            return z.read(rec.member)
    with tarfile.open(path) as t:
        f = t.extractfile(rec.member)
        if f is None:
            raise CorpusMissing(f"{rec.name}: {rec.member} is not a file in {path}")
        return f.read()


def _opensignals(raw: bytes) -> tuple[np.ndarray, float]:
    """OpenSignals text: '# {json}' header (sampling rate), then tab-separated rows whose
    last column is the first analogue channel."""
    lines = raw.decode().splitlines()
    head = json.loads(lines[1].lstrip("# "))
    fs = float(next(iter(head.values()))["sampling rate"])
    body = "\n".join(ln for ln in lines if ln and not ln.startswith("#"))
    return np.loadtxt(io.StringIO(body), ndmin=2)[:, -1].astype(float), fs


def _heartpy(rec: Record) -> tuple[np.ndarray, float]:
    import heartpy as hp

    i = ("data.csv", "data2.csv", "data3.csv").index(rec.member)
    x, t = hp.load_exampledata(i)
    if i == 0:
        return np.asarray(x, float), 100.0
    if i == 1:  # a "timer" column in ms
        return np.asarray(x, float), (len(t) - 1) / ((t[-1] - t[0]) / 1000.0)
    ts = np.array(t, dtype="datetime64[us]").astype(np.int64) / 1e6
    return np.asarray(x, float), (len(ts) - 1) / (ts[-1] - ts[0])


def record_data(rec: Record) -> tuple[np.ndarray, float]:
    """(samples, fs in Hz); for an "rr" record, (RR intervals in ms, 0). A copy of the
    samples, which the caller may change."""
    x, fs = _read(rec, corpus_dir())
    return x.copy(), fs


# Parsing is most of a record's cost (systole-ppg's tar.gz: 0.3 CPU-s; HeartPy's data3 0.7 s)
# and one process reads a record many times (test_heart_ppg: 36 reads of 8 records).
@functools.lru_cache(maxsize=16)
def _read(rec: Record, _corpus: Path) -> tuple[np.ndarray, float]:
    if rec.dist == "heartpy":
        return _heartpy(rec)
    if rec.fmt == "mitdb_npz":  # in mV, as wfdb.rdsamp gives it
        z = _excerpt(rec)
        return (z["adc"].astype(float) - float(z["baseline"])) / float(z["gain"]), float(z["fs_hz"])
    if rec.fmt == "pulse_npz":  # the export's units (wrist: mV; BIDMC: 0..1)
        z = _excerpt(rec)
        return z["ppg"] * float(z["scale_ppg"]), float(z["fs_hz"])
    raw = _member(rec)
    if rec.fmt == "scipy_ecg":  # as scipy.misc.electrocardiogram decoded it (mV)
        return (np.load(io.BytesIO(raw))["ecg"].astype(float) - 1024) / 200.0, rec.fs_hz
    if rec.fmt == "npy":
        return np.load(io.BytesIO(raw)).astype(float).ravel(), rec.fs_hz
    if rec.fmt == "opensignals":
        return _opensignals(raw)
    if rec.fmt == "tsv_bz2":
        table = np.loadtxt(io.BytesIO(bz2.decompress(raw)), ndmin=2)
        return table[:, rec.column].astype(float), rec.fs_hz
    if rec.fmt == "csv":
        return np.loadtxt(io.BytesIO(raw), delimiter=",").astype(float).ravel(), rec.fs_hz
    if rec.fmt == "rr_txt":  # a header line, then "index,rr" per line
        return np.loadtxt(io.BytesIO(raw), skiprows=1, delimiter=",", ndmin=2)[:, -1].astype(float), 0.0
    raise ValueError(f"{rec.name}: unknown format {rec.fmt}")
