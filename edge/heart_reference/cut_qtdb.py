"""How the QT Database excerpts in this folder were cut (run once, by hand; nothing at run
time reads this).

`python edge/heart_reference/cut_qtdb.py QTDB_DIR VIRJA_MIT_BIH [REC ...]` reads the QT Database's
15 min records (PhysioNet `qtdb` 1.0.0: `sel<rec>.{hea,dat,atr}`, every one resampled by
`xform` to 250 Hz from its source database, 12-bit values at 200/mV, zero 0) and writes
`qtdb-<rec>.npz` for each of QTDB: the EXCERPT_S window on a STEP_S boundary holding the most
beats of the record's named kind (QTDB's third field; none: the first window), chosen from the
annotation alone before any detector ran, with every beat annotation in it and its label.
Each file read must have the sha256 the database's own SHA256SUMS gives it. The QT Database
keeps no `atr` for sel233 (MIT-BIH 233 from its sample 0): its beats are MIT-BIH 233's
reference annotation (Kaggle-format `233annotations.txt`, VIRJA_MIT_BIH) at floor(sample *
250 / 360), the mapping that gives the QT Database's own `atr` annotation for annotation on
sel223, sel230, sel231 and sel232 (checked here).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from cut_excerpts import BEAT_SYMBOLS, STEP_S, _beat_annotations, _save

FS_HZ, GAIN, EXCERPT_S = 250.0, 200.0, 180
# record -> (what it holds, held out, which beats choose the window: a label, a rhythm
# annotation's aux ("(BII": in that rhythm), "pause" (ending an RR over 2 s) or None),
# fixed by record type before any detector ran on them: one of each pair tunes, one is held
# out; 233 tunes and 231 is held out as issue 19's tenth pass split them
QTDB = {
    "sel233": ("MIT-BIH 233: multiform PVCs, couplets, runs of ventricular tachycardia", False, "V"),
    "sel223": ("MIT-BIH 223: multiform PVCs, slow bidirectional ventricular tachycardia, APCs",
               True, "V"),
    "sel232": ("MIT-BIH 232: sick sinus: sinus bradycardia, first-degree AV block, right bundle "
               "branch block, ectopic atrial runs, pauses up to 6 s", False, "pause"),
    "sel231": ("MIT-BIH 231: 2:1 AV block, Mobitz II, rate-related right bundle branch block",
               True, "(BII"),
    "sel117": ("MIT-BIH 117: sinus rhythm", False, None),
    "sel230": ("MIT-BIH 230: sinus rhythm with intermittent pre-excitation (WPW)", True, "(PREX"),
    "sele0114": ("European ST-T e0114 (lead D3): ischaemic ST-T changes, supraventricular "
                 "ectopic beats", False, "S"),
    "sele0121": ("European ST-T e0121 (lead V4): ischaemic ST-T changes, PVCs, a run of "
                 "ventricular tachycardia", True, "V"),
    "sel310": ("MIT-BIH ST Change 310 (exercise test): sinus tachycardia", False, None),
    "sel302": ("MIT-BIH ST Change 302 (exercise test): sinus rhythm", True, None),
    # issue 19's fifteenth pass, its second batch, split the same way before any detector ran
    # on them; "|": the window holding the most isolated QRS-like artefact annotations (noise)
    "sel821": ("MIT-BIH Supraventricular Arrhythmia 821: supraventricular ectopic beats and "
               "runs, PVCs", False, "S"),
    "sel820": ("MIT-BIH Supraventricular Arrhythmia 820: supraventricular ectopic beats",
               True, "S"),
    "sel853": ("MIT-BIH Supraventricular Arrhythmia 853: PVCs, supraventricular ectopic beats, "
               "QRS-like artefacts", False, "|"),
    "sel891": ("MIT-BIH Supraventricular Arrhythmia 891: supraventricular and ventricular "
               "ectopic beats, QRS-like artefacts", True, "|"),
    "sel15814": ("MIT-BIH Long-Term 15814 (ambulatory): PVCs, fusion beats", False, "V"),
    "sel14046": ("MIT-BIH Long-Term 14046 (ambulatory): PVCs", True, "V"),
    "sel16273": ("MIT-BIH Normal Sinus Rhythm 16273 (ambulatory): sinus rhythm", False, None),
    "sel16795": ("MIT-BIH Normal Sinus Rhythm 16795 (ambulatory): sinus rhythm, QRS-like "
                 "artefacts", True, "|"),
    "sele0411": ("European ST-T e0411 (lead CM5): ischaemic ST-T changes, PVCs", False, "V"),
    "sele0509": ("European ST-T e0509 (lead V1-V2): ischaemic ST-T changes, PVCs", True, "V"),
    "sele0203": ("European ST-T e0203 (lead CM5): ischaemic ST-T changes, sinoatrial block, "
                 "supraventricular ectopic beats", False, "(SAB"),
    "sele0303": ("European ST-T e0303 (lead V2-V3): ischaemic ST-T changes", True, None),
}
# issue 19's thirty-fourth pass: a fresh blind set, all held out, fixed before any detector
# ran on them: every record here with a beat annotation whose patient is in no other corpus
# record, less the European ST-T's (its headers do not say which of its 79 subjects gave
# which of its 90 records), each from its start (no window chosen)
_SOURCES = {"14": "MIT-BIH Long-Term", "16": "MIT-BIH Normal Sinus Rhythm",
            "17": "MIT-BIH Normal Sinus Rhythm", "3": "MIT-BIH ST Change",
            "8": "MIT-BIH Supraventricular Arrhythmia"}
QTDB_FRESH = {f"sel{n}": (next(f"{db} {n}" for k, db in _SOURCES.items() if n.startswith(k)),
                          True, None)
              for n in ("14157", "14172", "16265", "16272", "16420", "16483", "16539", "16773",
                        "16786", "17152", "17453", "301", "306", "307", "308", "803", "808",
                        "811", "840", "847", "871", "872", "873", "883")}
FROM_MITDB = ("sel223", "sel230", "sel231", "sel232")  # the floor mapping is checked on these
PAUSE_S = 2.0


def _sha256_listed(folder: Path, name: str, path: Path | None = None) -> str:
    digest = hashlib.sha256((path or folder / name).read_bytes()).hexdigest()
    listed = (folder / "SHA256SUMS").read_text().split()
    assert digest in listed and listed[listed.index(digest) + 1] == name, name
    return digest


def _header(folder: Path, rec: str) -> tuple[str, str]:
    """(the header as the database has it, its sha256). Where the copy renamed the signals
    (its `.hea`; the database's `.hea` kept as `.hea-`), the two may differ in the signals'
    descriptions only."""
    hea = folder / f"{rec}.hea"
    try:
        return hea.read_text(), _sha256_listed(folder, hea.name)
    except AssertionError:
        orig = folder / f"{rec}.hea-"
        strip = [ln.split()[:8] for ln in hea.read_text().splitlines()]
        assert strip == [ln.split()[:8] for ln in orig.read_text().splitlines()], rec
        return orig.read_text(), _sha256_listed(folder, hea.name, orig)


def _mitdb_beats(annotations: Path, rec: str, first_s: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """MIT-BIH rec's beat annotations (360 Hz) inside a QT Database record that starts at
    first_s of it and is n samples at 250 Hz long, at the QT Database's samples."""
    sample, sym = _beat_annotations(annotations, rec)
    at = np.floor((sample - first_s * 360) * FS_HZ / 360).astype(np.int64)
    keep = (sample >= first_s * 360) & (at < n)
    return at[keep], sym[keep]


def _first_s(header: str) -> float:
    """Where xform began in the source record ("beginning at 15:00.000", or "at 0")."""
    at = header.rsplit("beginning at ", 1)[1].split()[0]
    return sum(float(p) * 60 ** i for i, p in enumerate(reversed(at.split(":"))))


def cut_qtdb(folder: Path, annotations: Path, rec: str, out: Path) -> dict:
    import wfdb

    what, held_out, kind = {**QTDB, **QTDB_FRESH}[rec]
    header, hea_sha = _header(folder, rec)
    files = {"hea": hea_sha, "dat": _sha256_listed(folder, f"{rec}.dat")}
    r = wfdb.rdrecord(str(folder / rec), physical=False)
    d = r.d_signal.astype(np.int64)
    assert [int((c + 2**15) % 2**16 - 2**15) for c in d.sum(axis=0)] == r.checksum, rec
    assert r.fs == FS_HZ and r.adc_gain[0] == GAIN and r.baseline[0] == 0, rec
    if rec == "sel233":
        beats, sym = _mitdb_beats(annotations, "233", _first_s(header), len(d))
        rhythm = np.array([""] * len(beats))
    else:
        files["atr"] = _sha256_listed(folder, f"{rec}.atr")
        ann = wfdb.rdann(str(folder / rec), "atr")
        sym_all, aux = np.asarray(ann.symbol), [a.rstrip("\x00") for a in ann.aux_note]
        assert not np.isin(sym_all, ["[", "]", "!"]).any(), rec
        now, rhythm_all = "", []
        for s, a in zip(sym_all, aux):
            now = a if s == "+" else now
            rhythm_all.append(now)
        keep = np.isin(sym_all, list(BEAT_SYMBOLS))
        beats, sym = np.asarray(ann.sample)[keep], sym_all[keep]
        rhythm = np.asarray(rhythm_all)[keep]
        if rec in FROM_MITDB:  # the QT Database's atr is MIT-BIH's at floor(sample * 250/360)
            mb, ms = _mitdb_beats(annotations, rec[3:], _first_s(header), len(d))
            assert np.array_equal(mb, beats) and np.array_equal(ms, sym), rec
    if kind == "|":  # not beats: the artefact annotations themselves
        chosen = np.asarray(ann.sample)[sym_all == "|"]
    elif kind == "pause":
        chosen = beats[1:][np.diff(beats) > PAUSE_S * FS_HZ]
    elif kind and kind.startswith("("):
        chosen = beats[rhythm == kind]
    else:
        chosen = beats[sym == kind] if kind else beats[:0]
    lead = header.splitlines()[1].split(maxsplit=8)[8]  # the database's words
    lead = lead if " " not in lead else "ECG (the database names no lead)"
    got = _save(out / f"qtdb-{rec}.npz", d[:, 0].astype(np.int16), beats, chosen,
                beats[sym == "V"], FS_HZ, GAIN, 0, rec, lead, labels=sym,
                length_s=EXCERPT_S, source=header.rsplit("#", 1)[1].strip())
    assert got["start_s"] % STEP_S == 0
    return {**got, "held_out": held_out, "what": what, "sha256": files}


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for name in sys.argv[3:] or QTDB:  # records named after the folders: those only
        print(cut_qtdb(Path(sys.argv[1]), Path(sys.argv[2]), name, here))
