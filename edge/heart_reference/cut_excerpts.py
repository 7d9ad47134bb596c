"""How the MIT-BIH tuning excerpts in this folder were cut (run once, by hand; nothing at run
time reads this).

`python edge/heart_reference/cut_excerpts.py TPCP_CHECKOUT` reads tpcp's copy of twelve
MIT-BIH Arrhythmia Database records (`example_data/ecg_mit_bih_arrhythmia/data/`: the first
signal as physical units, `wfdb.rdsamp`'s (adc - 1024) / 200, and every beat annotation's
sample, with the PVCs apart), and writes `mitdb-<record>.npz` for each of EXCERPTS: the
EXCERPT_S window, starting on a 30 s boundary, that holds the most PVC ('V') annotations
(the earliest of equals), chosen from the annotation alone, before any detector ran on it.
The samples go back to the database's 11-bit ADC values, exactly (gain 200/mV, zero 1024).
Record 208 (held out, the corpus's `mitdb-208`) is not in tpcp's copy, and never goes here.
With an ECG-kit checkout as a second argument, also `svdb-800.npz` (see cut_svdb); with the
two Kaggle-format copies as third and fourth, also KAGGLE's records (see cut_kaggle) and the
tpcp excerpts' beat labels, checked against them (see label_tpcp_excerpts); with a folder of
PhysioNet ATM exports as fifth and two of WFDB files as sixth and seventh (NSTDB records, and
MIT-BIH 118), also ATM's records (see cut_atm), NSTDB's (see cut_nstdb) and WFDB_RECORDS
(see cut_wfdb).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

FS_HZ, GAIN, BASELINE = 360.0, 200.0, 1024
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")  # WFDB's beat labels
EXCERPT_S, STEP_S = 180, 30
# record -> (the lead of its first signal, what it holds), from the database's notes
EXCERPTS = {
    "104": ("V5", "paced rhythm with fusion beats, muscle noise; V5, not MLII"),
    "105": ("MLII", "high-grade noise and artefact, PVCs"),
    "106": ("MLII", "frequent multiform PVCs, bigeminy, ventricular couplets"),
    "108": ("MLII", "tall P waves, wide QRS, noise, PVCs"),
    "119": ("MLII", "ventricular bigeminy and trigeminy"),
    "200": ("MLII", "frequent PVCs, couplets and runs of ventricular tachycardia"),
    # issue 19's ninth pass: tpcp's other six records, tuning or held out by record type
    # (HELD_OUT), fixed before any detector ran on them
    "100": ("MLII", "normal sinus rhythm, APCs"),
    "102": ("V5", "paced rhythm, fusion of paced and normal beats; V5, not MLII"),
    "114": ("V5", "PVCs, fusion beats, APCs; leads reversed: V5 is the first signal"),
    "116": ("MLII", "large QRS, frequent PVCs"),
    "121": ("MLII", "normal sinus rhythm, the odd APC and PVC"),
    "123": ("MLII", "slow sinus rhythm, sinus arrhythmia, the odd PVC"),
}
# held out, one of each kind the tuning set also has: paced (102; 104 tunes), PVCs with a
# reversed lead (114; 116 tunes), sinus rhythm (121; 100 and 123 tune)
HELD_OUT = frozenset({"102", "114", "121"})
# issue 19's tenth pass: the lead's split (tuning 101 107 109 118 203 207 210 233, held out
# 111 124 212 214 217 231 201 213 219 228), fixed before any detector ran on them; only these
# three have their whole signal in a public copy we could reach, all tuning. The copy holds
# the second signal (V1 for these three), not MLII.
KAGGLE = {
    "101": ("V1", "noise, the odd APC"),
    "107": ("V1", "paced rhythm, PVCs"),
    "109": ("V1", "left bundle branch block, PVCs, fusion beats"),
}
# issue 19's eleventh pass, the tenth's split: the first minute of MLII of these is all a public
# copy holds (PhysioNet ATM exports, `<rec>m.mat`); record -> (what it holds, held out)
ATM = {
    "111": ("first-degree AV block, left bundle branch block", True),
    "201": ("atrial fibrillation and sinus rhythm, aberrated APCs, junctional beats", True),
    "212": ("right bundle branch block", True),
    "213": ("fast sinus rhythm, fusion beats", True),
    "214": ("left bundle branch block, PVCs", True),
    "217": ("paced rhythm, fusion of paced and normal beats, PVCs", True),
    "219": ("atrial fibrillation, PVCs", True),
    "228": ("PVCs, couplets, artefacts", True),
    "203": ("multiform PVCs, atrial flutter and fibrillation, noise", False),
    "210": ("atrial fibrillation, PVCs, aberrated beats", False),
    # records in no list of that split, all held out (fixed before any detector ran on them;
    # 202 is 201's subject, held out like 201)
    "103": ("normal sinus rhythm", True),
    "113": ("sinus arrhythmia, aberrated APCs", True),
    "202": ("atrial flutter and fibrillation episodes, PVCs", True),
    "209": ("supraventricular tachyarrhythmia, APCs", True),
    "215": ("frequent multiform PVCs, noise", True),
    "221": ("atrial fibrillation, PVCs", True),
    "222": ("atrial flutter and fibrillation, nodal rhythm, junctional beats", True),
}
ATM_S = 60
# MIT-BIH Noise Stress Test records built by `nst` from MIT-BIH 118 (tuning in the split) and
# the electrode-motion noise record `em`: noise from 5 min on in 2 min segments, the first at
# 300-420 s; the excerpt is that segment with 30 s clean either side (fixed before any
# detector ran). The digital values are 118's ADC values less 1024 (the header keeps 1024 as
# baseline), so baseline 0 gives 118's millivolts.
NSTDB = {"118e24": "electrode motion at 24 dB SNR", "118e06": "electrode motion at 6 dB SNR",
         "118e12": "electrode motion at 12 dB SNR", "118e00": "electrode motion at 0 dB SNR"}
# whole records in WFDB files (Byrb23/UndergradThesis holds 118 beside its NSTDB records):
# record -> (what it holds, held out), tuning as the split says
WFDB_RECORDS = {"118": ("right bundle branch block, APCs, PVCs", False)}
NST_NOISE_S = (300, 420)
# issue 19's twelfth pass: more PVC-heavy tuning ECG, three excerpts of tuning records (the
# split's) chosen by their annotation's V count before any detector ran on them. ATM first
# minutes, name -> (record, seconds kept, what): 200's (its tpcp excerpt is 1080-1260 s),
# 207's first 40 s, which end before its first ventricular flutter (`[` at 40.7 s; EC57 does
# not score QRS there)
ATM_MORE = {"200-0s": ("200", 60, "frequent multiform PVCs, couplets"),
            "207": ("207", 40, "right bundle branch block, ventricular bigeminy, a couplet "
                               "and a triplet, left bundle branch block beats")}
# Sky0711's V1 of 106, the window with the most V after its MLII excerpt (720-900 s)
KAGGLE_MORE = {"106-v1": ("106", 900, "frequent multiform PVCs, bigeminy (lead V1)")}
# the tpcp excerpts' beat labels, beside them (label_tpcp_excerpts; heart_corpus.beat_labels)
LABELS_FILE = "mitdb-labels.txt"
LABELS_HEADER = ("# record, excerpt start (sample), one WFDB beat label per beat of "
                 "mitdb-<record>.npz in order (edge/heart_reference/README.md)")
RECORD_N = 650000  # every MIT-BIH Arrhythmia record is 30:05.556 at 360 Hz


def cut(tpcp: Path, rec: str, out: Path) -> dict:
    import pandas as pd

    data = tpcp / "example_data" / "ecg_mit_bih_arrhythmia" / "data"
    mv = pd.read_pickle(data / f"{rec}.pk.gz")["ecg"].to_numpy()
    adc = mv * GAIN + BASELINE
    assert np.abs(adc - np.round(adc)).max() < 1e-6, rec  # lossless back to the ADC's steps
    adc = np.round(adc).astype(np.int16)
    beats = pd.read_csv(data / f"{rec}_all.csv")["R"].to_numpy()
    pvc = pd.read_csv(data / f"{rec}_pvc.csv")["PVC"].to_numpy()
    lead, what = EXCERPTS[rec]
    got = _save(out / f"mitdb-{rec}.npz", adc, beats, pvc, pvc, FS_HZ, GAIN, BASELINE, rec, lead)
    return {**got, "held_out": rec in HELD_OUT, "what": what}


def cut_kaggle(signals: Path, annotations: Path, rec: str, out: Path) -> dict:
    """A record from two copies in Kaggle's "mitbih_database" text formats: the signal as one
    ADC value a line (Sky0711's `MIT-BIH data/<rec>.csv`: the second signal, its first 999
    samples left off, so it starts at RECORD_N less its length), every annotation as
    `<rec>annotations.txt` (Time, Sample #, Type, Sub, Chan, Num, Aux; Virja-Kawade's
    `mit-bih/`). Keeps every beat's label (`labels`)."""
    adc = np.loadtxt(signals / f"{rec}.csv", dtype=np.int64)
    assert 0 <= adc.min() and adc.max() < 2048, rec
    first = RECORD_N - len(adc)
    beats, sym = _beat_annotations(annotations, rec)
    lead, what = KAGGLE[rec]
    got = _save(out / f"mitdb-{rec}.npz", adc.astype(np.int16), beats, beats[sym == "V"],
                beats[sym == "V"], FS_HZ, GAIN, BASELINE, rec, lead, first=first, labels=sym)
    return {**got, "held_out": False, "what": what, "first": first,
            "labels": dict(zip(*np.unique(sym, return_counts=True)))}


def cut_atm(mats: Path, annotations: Path, rec: str, out: Path) -> dict:
    """The first ATM_S of MLII from a PhysioNet ATM export, `<rec>m.mat` (`val`: 1 x 21 600
    11-bit ADC values from the record's sample 0; mohammadzainabbas/ECG-QRS), with every beat
    annotation in it and its label (Kaggle-format `<rec>annotations.txt`, as cut_kaggle)."""
    from scipy.io import loadmat

    adc = loadmat(mats / f"{rec}m.mat")["val"]
    assert adc.shape == (1, ATM_S * FS_HZ) and 0 <= adc.min() and adc.max() < 2048, rec
    beats, sym = _beat_annotations(annotations, rec)
    what, held_out = ATM[rec]
    got = _save(out / f"mitdb-{rec}.npz", adc[0].astype(np.int16), beats, beats, beats[sym == "V"],
                FS_HZ, GAIN, BASELINE, rec, "MLII", labels=sym, length_s=ATM_S)
    return {**got, "held_out": held_out, "what": what}


def cut_more(mats: Path, signals: Path, annotations: Path, name: str, out: Path) -> dict:
    """The twelfth pass's excerpts (ATM_MORE, KAGGLE_MORE), as cut_atm and cut_kaggle cut
    theirs: every beat annotation inside with its label, `record` the record's number."""
    if name in ATM_MORE:
        from scipy.io import loadmat

        rec, secs, what = ATM_MORE[name]
        adc = loadmat(mats / f"{rec}m.mat")["val"][0, :int(secs * FS_HZ)]
        assert 0 <= adc.min() and adc.max() < 2048, rec
        beats, sym = _beat_annotations(annotations, rec, before=len(adc))
        got = _save(out / f"mitdb-{name}.npz", adc.astype(np.int16), beats, beats,
                    beats[sym == "V"], FS_HZ, GAIN, BASELINE, rec, "MLII", labels=sym,
                    length_s=secs)
    else:
        rec, after_s, what = KAGGLE_MORE[name]
        adc = np.loadtxt(signals / f"{rec}.csv", dtype=np.int64)
        assert 0 <= adc.min() and adc.max() < 2048, rec
        beats, sym = _beat_annotations(annotations, rec)
        first = int(after_s * FS_HZ)  # the window lies after the record's other excerpt
        got = _save(out / f"mitdb-{name}.npz", adc[first - (RECORD_N - len(adc)):].astype(np.int16),
                    beats, beats[sym == "V"], beats[sym == "V"], FS_HZ, GAIN, BASELINE, rec,
                    "V1", first=first, labels=sym)
    return {**got, "held_out": False, "what": what}


def cut_nstdb(folder: Path, rec: str, out: Path) -> dict:
    """A Noise Stress Test record's first signal (MLII) over its first noise segment with
    30 s either side, every beat annotation of its `atr` (118's) and each beat's label."""
    d, beats, sym = _wfdb_record(folder, rec)
    first = int((NST_NOISE_S[0] - 30) * FS_HZ)
    got = _save(out / f"nstdb-{rec}.npz", d[first:first + EXCERPT_S * int(FS_HZ)].astype(np.int16),
                beats, beats, beats[sym == "V"], FS_HZ, GAIN, 0, rec, "MLII", first=first,
                labels=sym, noise_s=np.subtract(NST_NOISE_S, first / FS_HZ))
    return {**got, "held_out": False, "what": NSTDB[rec]}


def cut_wfdb(folder: Path, rec: str, out: Path) -> dict:
    """A whole MIT-BIH Arrhythmia record in WFDB files (WFDB_RECORDS): its MLII cut as the
    tpcp records are (the window with the most V), every beat's label kept."""
    d, beats, sym = _wfdb_record(folder, rec)
    what, held_out = WFDB_RECORDS[rec]
    got = _save(out / f"mitdb-{rec}.npz", d.astype(np.int16), beats, beats[sym == "V"],
                beats[sym == "V"], FS_HZ, GAIN, BASELINE, rec, "MLII", labels=sym)
    return {**got, "held_out": held_out, "what": what}


def _wfdb_record(folder: Path, rec: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first signal's digital values, beat samples, beat labels) of a 360 Hz WFDB record
    whose first signal is MLII at 200/mV; its `.dat` must sum to the header's checksums (it
    is whole and read as the header says), and no beat lies in ventricular flutter."""
    import wfdb

    r = wfdb.rdrecord(str(folder / rec), physical=False)
    d = r.d_signal.astype(np.int64)
    assert [int((c + 2**15) % 2**16 - 2**15) for c in d.sum(axis=0)] == r.checksum, rec
    assert r.fs == FS_HZ and r.sig_name[0] == "MLII" and r.adc_gain[0] == GAIN, rec
    ann = wfdb.rdann(str(folder / rec), "atr")
    sym = np.asarray(ann.symbol)
    assert not np.isin(sym, ["[", "]", "!"]).any(), rec
    keep = np.isin(sym, list(BEAT_SYMBOLS))
    return d[:, 0], np.asarray(ann.sample)[keep], sym[keep]


def _beat_annotations(annotations: Path, rec: str,
                      before: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sample, WFDB label) of every beat annotation in a Kaggle-format
    `<rec>annotations.txt` (Time, Sample #, Type, Sub, Chan, Num, Aux)."""
    rows = [ln.partition("\t")[0].split() for ln in
            (annotations / f"{rec}annotations.txt").read_text().splitlines()[1:]]
    sample = np.array([int(r[1]) for r in rows])
    sym = np.array([r[2] for r in rows])
    # EC57 scores no QRS inside ventricular flutter or fibrillation ([ ... ], ! waves): none
    # of these records has any (before sample `before`, where the excerpt ends, if given)
    assert not np.isin(sym[sample < (before or sample.max() + 1)], ["[", "]", "!"]).any(), rec
    keep = np.isin(sym, list(BEAT_SYMBOLS))
    return sample[keep], sym[keep]


def label_tpcp_excerpts(annotations: Path, here: Path) -> dict:
    """Each tpcp excerpt's beat labels (tpcp keeps only which beats are V), from the
    Kaggle-format annotations (Virja-Kawade's `mit-bih/`): the beat annotations inside the
    committed excerpt's window must be its `beats`, one for one, and its `V` labels its
    `pvc` flags, or nothing is written. Writes LABELS_FILE: one line per excerpt, its record,
    its start and one label character per beat, in order. Returns the label counts."""
    lines, counts = [LABELS_HEADER], {}
    for rec in sorted(EXCERPTS):
        with np.load(here / f"mitdb-{rec}.npz") as z:
            start, n = int(z["start"]), len(z["adc"])
            beats, pvc = z["beats"].astype(np.int64), z["pvc"]
        sample, sym = _beat_annotations(annotations, rec)
        inside = (sample >= start) & (sample < start + n)
        if not (np.array_equal(sample[inside] - start, beats)
                and np.array_equal(sym[inside] == "V", pvc)):
            raise SystemExit(f"{rec}: the annotations in the window are not the excerpt's "
                             "beats and PVC flags; nothing written")
        lines.append(f"{rec} {start} {''.join(sym[inside])}")
        counts[rec] = dict(zip(*np.unique(sym[inside], return_counts=True)))
    (here / LABELS_FILE).write_text("\n".join(lines) + "\n")
    return counts


def cut_svdb(ecgkit: Path, out: Path) -> dict:
    """MIT-BIH Supraventricular Arrhythmia record 800 (128 Hz, 10-bit, zero 0) from
    ECG-kit's `recordings/` (read with wfdb, digital values): held out, cut before any
    detector ran on it, on the window with the most non-N beat labels (its ectopic beats)."""
    import wfdb

    path = str(ecgkit / "recordings" / "800")
    r = wfdb.rdrecord(path, physical=False)
    ann = wfdb.rdann(path, "atr")
    keep = [s in BEAT_SYMBOLS for s in ann.symbol]
    beats = np.asarray(ann.sample)[keep]
    sym = np.asarray(ann.symbol)[keep]
    got = _save(out / "svdb-800.npz", r.d_signal[:, 0].astype(np.int16), beats,
                beats[sym != "N"], beats[sym == "V"], float(r.fs), float(r.adc_gain[0]),
                int(r.baseline[0]), "800", "ECG (the database names no lead)")
    return {**got, "held_out": True, "labels": dict(zip(*np.unique(sym, return_counts=True)))}


def _save(path: Path, adc, beats, chosen_by, pvc, fs: float, gain: float, baseline: int,
          rec: str, lead: str, first: int = 0, labels=None, length_s: int = EXCERPT_S,
          **more) -> dict:
    """The length_s window on a STEP_S boundary holding the most `chosen_by` beats (the
    earliest of equals), with every beat in it and which are PVCs (and their labels, where
    given; `more`: further arrays to keep). `adc` starts at the record's sample `first`: a
    window must lie inside it."""
    n, step = int(length_s * fs), int(STEP_S * fs)
    start = max(range(-(-first // step) * step, first + len(adc) - n + 1, step),
                key=lambda s: (np.count_nonzero((chosen_by >= s) & (chosen_by < s + n)), -s))
    keep = (beats >= start) & (beats < start + n)
    extra = {} if labels is None else {"labels": np.asarray(labels)[keep].astype("<U1")}
    np.savez_compressed(path, adc=adc[start - first:start - first + n],
                        beats=(beats[keep] - start).astype(np.int32),
                        pvc=np.isin(beats[keep], pvc), fs_hz=fs, gain=gain,
                        baseline=baseline, start=start, record=rec, lead=lead,
                        record_beats=len(beats), record_pvcs=len(pvc), **extra, **more)
    got = {} if labels is None else {"inside": dict(zip(*np.unique(extra["labels"],
                                                                   return_counts=True)))}
    return {**got, "record": rec, "start_s": start / fs, "beats": int(keep.sum()),
            "pvcs": int(np.isin(beats[keep], pvc).sum()), "record_beats": len(beats),
            "record_pvcs": len(pvc)}


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for r in EXCERPTS:
        print(cut(Path(sys.argv[1]), r, here))
    if len(sys.argv) > 2:  # an ECG-kit checkout: SVDB record 800
        print(cut_svdb(Path(sys.argv[2]), here))
    if len(sys.argv) > 4:  # Sky0711's `MIT-BIH data/`, Virja-Kawade's `mit-bih/`
        for r in KAGGLE:
            print(cut_kaggle(Path(sys.argv[3]), Path(sys.argv[4]), r, here))
        print(label_tpcp_excerpts(Path(sys.argv[4]), here))
    if len(sys.argv) > 7:  # mohammadzainabbas's ATM exports; enzlaur's, Byrb23's WFDB files
        for r in ATM:
            print(cut_atm(Path(sys.argv[5]), Path(sys.argv[4]), r, here))
        folders = [Path(a) for a in sys.argv[6:8]]
        for r in NSTDB:
            print(cut_nstdb(next(f for f in folders if (f / f"{r}.dat").is_file()), r, here))
        for r in WFDB_RECORDS:
            print(cut_wfdb(folders[1], r, here))
        for r in {**ATM_MORE, **KAGGLE_MORE}:
            print(cut_more(Path(sys.argv[5]), Path(sys.argv[3]), Path(sys.argv[4]), r, here))
