"""How the PPG excerpts with a simultaneous-ECG beat reference were cut (run once, by hand;
nothing at run time reads this): five wrist PPG records during exercise, and one ICU
patient's finger PPG (BIDMC record 01, `bidmc-01.npz`, held out; see `cut_bidmc`), and two
more ICU patients' finger PPG with lead II (PhysioNet/CinC Challenge 2015 records v102s and
a103l, `cinc15-*.npz`; see `cut_cinc15`), and one adult's PPG at rest with
its ECG (NeuroKit2's `bio_resting_5min_100hz.csv`, `neurokit-rest.npz`, held out; see
`cut_neurokit`).

`python edge/heart_reference/cut_pulse_excerpts.py CSV_DIR` reads the first minute of five
records of the Wrist PPG During Exercise database (Jarchi & Casson 2017, PhysioNet; CSV
exports `<record>.csv` as copied in github.com/KG-PHD/John `physio/` and `s*_walk.csv`):
chest ECG, wrist PPG and the wrist's low-noise accelerometer, all on one 256 Hz clock, and
writes `wrist-<record>.npz` for each: ECG and PPG as integer codes of the export's three
decimals (lossless), the accelerometer's magnitude (what `edge/motion.py`'s gate uses; 0.01
m/s^2 steps), its three axes (what `edge/ppg_motion_cancel.py` uses; the export's three
decimals, lossless, issue 19's eighth pass), the beat reference, and the spans where that
reference is trusted.

The reference is the chest ECG's, as the field takes it for PPG (Charlton et al. 2022):
the R peaks that at least 4 of the 7 ECG peer detectors (`beat_score.PEERS["ecg"]`) found
within +-150 ms, each at the median of its votes. It was computed here, from the ECG alone,
before any PPG detector ran on these records. Walking shakes the chest electrodes too, so
the reference is scored only where its rhythm is plausible (`beat_score.plausible_spans`:
runs of beats whose intervals on both sides are within 0.75-1.25 of the median of the 9
around them). A PPG detector's beats lag the R peaks by the pulse's travel time, so the scorer shifts each detector's
beats by the lag in 0-1000 ms that pairs most of them (`beat_score.lagged_match`), every
detector alike.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from empathy.edge.beat_score import plausible_spans

FS_HZ = 256.0
# channel -> units per integer code: the export's 3 decimals for the ECG and PPG (exact)
SCALES = {"ecg": 0.001, "ppg": 0.001, "acc": 0.01, "acc_xyz": 0.001}
BIDMC_S = 240.0
RECORDS = {  # record -> (tuning or held out, what), fixed before any PPG detector ran
    "s1_walk": ("tuning", "subject 1 walking"),
    "s1_low_resistance_bike": ("tuning", "subject 1 cycling, low resistance"),
    "s2_walk": ("tuning", "subject 2 walking"),
    "s2_high_resistance_bike": ("held out", "subject 2 cycling, high resistance"),
    "s8_walk": ("held out", "subject 8 walking (a subject in no tuning record)"),
}


def ecg_reference(ecg: np.ndarray, fs_hz: float) -> np.ndarray:
    """The R peaks (s) that at least 4 of the 7 ECG peer detectors found within +-150 ms."""
    from empathy.edge.beat_score import consensus, peer_beats

    votes = [b for b in peer_beats(ecg, fs_hz, "ecg").values() if b is not None]
    return consensus(votes, votes=4)


# BIDMC records added in issue 19's twenty-first pass (ppgcorpus), fixed before any PPG
# detector ran on them: in number order from 02, each record whose patient (its MIMIC II
# matched ID, `bidmc_NN_Fix.txt`) is in no other BIDMC record, the first eight (06-09 are
# one patient), alternately tuning and held out (01, used since the seventh pass, is held out)
BIDMC = {"02": "tuning", "03": "held out", "04": "tuning", "05": "held out",
         "10": "tuning", "11": "held out", "12": "tuning", "13": "held out"}
# issue 19's thirty-third pass (fresh): a blind set, every record held out, fixed before any
# detector ran on them: by the same rule, in number order from 14, the next twelve records
# whose patient is in no other BIDMC record (20-23 are one patient)
BIDMC_FRESH = {rec: "held out" for rec in ("14", "15", "16", "17", "18", "19",
                                           "24", "25", "26", "27", "28", "29")}
# issue 19's thirty-fourth pass (ppgruns): a second blind set, every record held out, fixed
# before any PPG detector ran on them: in number order from 30 (past every record used or
# seen), each record whose patient is in no other BIDMC record, the first twelve (38 and 39
# are one patient)
BIDMC_FRESH2 = {rec: "held out" for rec in ("30", "31", "32", "33", "34", "35", "36", "37",
                                            "40", "41", "42", "43")}
# and, after BIDMC_FRESH2 was cut, tuning excerpts with runs of premature beats, chosen by
# their ECG reference alone (no PPG detector ran on them first): of the records still unused
# (06-09, 20-23, 38, 39, 44-53) and the 4-8 min of the tuning records 02, 04, 10 and 12, each
# record's 4 min holding the most R-R intervals under 0.9 of the median of the 9 around them
# next to another such inside the reference's trusted spans, those with at least 3 (53: 19,
# 45's 4-8 min: 11, 06's 4-8 min: 4; the next, 38, holds 1): name -> (record, start s)
BIDMC_RUNS = {"53": ("53", 0.0), "45-late": ("45", 240.0), "06-late": ("06", 240.0)}
# session 35 (ppgfresh3): a third blind set, every record held out, fixed and committed before
# any PPG detector ran on them: every record with no excerpt in the corpus whose patient is in
# no other BIDMC record, its first 4 min (07-09 share 06's patient, 20-23 one patient, 38-39
# one patient; 45 and 53 are in the corpus)
BIDMC_FRESH3 = {rec: "held out" for rec in ("44", "46", "47", "48", "49", "50", "51", "52")}


def cut_bidmc(csv_path: Path, out: Path, rec: str = "01", use: str = "held out",
              start_s: float = 0.0) -> dict:
    """A BIDMC PPG and Respiration Dataset record (PhysioNet `bidmc` 1.0.0, ODC-By 1.0; its
    `bidmc_NN_Signals.csv`: 8 min at 125 Hz of RESP, PLETH, II and other leads, in an order
    its header gives), its BIDMC_S from start_s (the first by default): PLETH as the codes
    it was exported from (x 1023, exact: 10-bit, 12-bit in a few records), lead II as codes
    of its (up to six, in some records seven or eight) decimals, the reference from lead II."""
    head = [h.strip() for h in csv_path.open().readline().split(",")]
    t = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    fs = 125.0
    # its time column is printed to 2-3 decimals: 60001 rows over 480 s is the 125 Hz
    assert len(t) == 60001 and t[-1, 0] == 480.0, "not 8 min at 125 Hz"
    # 4 min: the repository's share of recordings is small
    t = t[int(start_s * fs):int((start_s + BIDMC_S) * fs)]
    ii = t[:, head.index("II")]
    # 5 significant digits: to 1e-8 where a lead's values are small (45's 4-8 min)
    scale_ecg = next(q for q in (1e-6, 1e-7, 1e-8)
                     if np.abs(ii / q - np.round(ii / q)).max() < 1e-3)
    raw = {"ppg": t[:, head.index("PLETH")] * 1023.0, "ecg": ii / scale_ecg}
    codes = {k: np.round(v).astype(np.int32) for k, v in raw.items()}
    # the CSV prints 5 significant digits: a value over 1 (12-bit PLETH codes, in 40, 42, 44-48,
    # 52, 53) is to 1e-4, 0.05 of a code; still exact
    assert np.abs(raw["ppg"] - codes["ppg"]).max() < 0.06
    ref = ecg_reference(codes["ecg"] * scale_ecg, fs)
    spans = plausible_spans(ref)
    np.savez_compressed(out / f"bidmc-{rec}.npz", **codes, scale_ecg=scale_ecg,
                        scale_ppg=1 / 1023,
                        fs_hz=fs, beats=np.round(ref * fs).astype(np.int32), spans_s=spans,
                        record=f"bidmc{rec}", use=use,
                        what="an ICU patient's finger PPG and lead II, " +
                        ("first 4 min" if start_s == 0 else f"{start_s:g}-{start_s + BIDMC_S:g} s"))
    return {"record": f"bidmc{rec}", "use": use, "beats": len(ref),
            "trusted_s": round(float(np.sum(spans[:, 1] - spans[:, 0])), 1)}


CINC15 = {  # record -> (tuning or held out, what), fixed before any PPG detector ran on them
    "v102s": ("tuning", "an ICU patient's finger PPG and lead II, first 4 min (VT alarm at 5 min)"),
    "a103l": ("held out", "an ICU patient's finger PPG and lead II, first 4 min (asystole "
              "alarm at 5 min)"),
}


def cut_cinc15(rec_dir: Path, name: str, out: Path) -> dict:
    """A PhysioNet/CinC Challenge 2015 training record (ODC-By 1.0; II, V, PLETH at 250 Hz,
    its false alarm at 5 min) as wfdb-python's `sample-data/` copies it: the first BIDMC_S,
    before the alarm, lead II and PLETH as the record's ADC codes (exact), the reference from
    lead II alone as for the other PPG excerpts."""
    import wfdb

    rec = wfdb.rdrecord(str(rec_dir / name), physical=False)
    assert rec.fs == 250 and rec.sig_len >= 75000, name
    for i, c in enumerate(rec.checksum):  # the signal file is whole and read as the header says
        assert (int(np.sum(rec.d_signal[:, i], dtype=np.int64)) - c) % 65536 == 0, (name, i)
    n = int(BIDMC_S * rec.fs)
    ii, pl = rec.sig_name.index("II"), rec.sig_name.index("PLETH")
    codes = {"ecg": rec.d_signal[:n, ii].astype(np.int16),
             "ppg": rec.d_signal[:n, pl].astype(np.int16)}
    scale_ecg = 1.0 / rec.adc_gain[ii]  # baseline 0: mV = code / gain
    ref = ecg_reference(codes["ecg"] * scale_ecg, float(rec.fs))
    spans = plausible_spans(ref)
    use, what = CINC15[name]
    np.savez_compressed(out / f"cinc15-{name}.npz", **codes, scale_ecg=scale_ecg,
                        scale_ppg=1.0 / rec.adc_gain[pl], fs_hz=float(rec.fs),
                        beats=np.round(ref * rec.fs).astype(np.int32), spans_s=spans,
                        record=name, use=use, what=what)
    return {"record": name, "use": use, "beats": len(ref),
            "trusted_s": round(float(np.sum(spans[:, 1] - spans[:, 0])), 1)}


NK_SCALE = 1e-6  # the export's floats as integer millionths (within 5e-7 of its values)


def cut_neurokit(csv_path: Path, out: Path) -> dict:
    """NeuroKit2's `data/bio_resting_5min_100hz.csv` (MIT; one adult's 5 min resting-state
    recording of ECG, PPG and respiration at 100 Hz, "with some ECG noise towards the end"):
    all 300 s, held out (fixed before any PPG detector ran on it), ECG and PPG as integer
    millionths of the file's values, the reference from the ECG alone."""
    t = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    fs = 100.0
    assert t.shape == (30000, 3), "not 5 min of ECG, PPG, RSP at 100 Hz"
    codes = {"ecg": np.round(t[:, 0] / NK_SCALE).astype(np.int32),
             "ppg": np.round(t[:, 1] / NK_SCALE).astype(np.int32)}
    ref = ecg_reference(codes["ecg"] * NK_SCALE, fs)
    spans = plausible_spans(ref)
    np.savez_compressed(out / "neurokit-rest.npz", **codes, scale_ecg=NK_SCALE,
                        scale_ppg=NK_SCALE, fs_hz=fs, beats=np.round(ref * fs).astype(np.int32), spans_s=spans,
                        record="bio_resting_5min_100hz", use="held out",
                        what="an adult's PPG and ECG at rest, 5 min")
    return {"record": "bio_resting_5min_100hz", "beats": len(ref),
            "trusted_s": round(float(np.sum(spans[:, 1] - spans[:, 0])), 1)}


def read_csv(path: Path) -> np.ndarray:
    """The export's table: elapsed time, chest_ecg, wrist_ppg, gyro xyz, low-noise acc xyz,
    ...; two header lines."""
    rows = list(csv.reader(path.open()))
    return np.array([[float(v) for v in r[1:]] for r in rows[2:]])


def cut(csv_dir: Path, name: str, out: Path) -> dict:
    t = read_csv(csv_dir / f"{name}.csv")
    raw = {"ecg": t[:, 0] / SCALES["ecg"], "ppg": t[:, 1] / SCALES["ppg"]}
    codes = {k: np.round(v).astype(np.int32) for k, v in raw.items()}
    for k in raw:  # the export's values, exactly
        assert np.abs(raw[k] - codes[k]).max() < 1e-6, (name, k)
    mag = np.sqrt(np.sum(t[:, 5:8] ** 2, axis=1))
    codes["acc_mag"] = np.round(mag / SCALES["acc"]).astype(np.int16)
    xyz = t[:, 5:8] / SCALES["acc_xyz"]  # +-2 g part: +-19.6 m/s^2 fits int16 in mm/s^2
    codes["acc_xyz"] = np.round(xyz).astype(np.int16)
    assert np.abs(xyz - codes["acc_xyz"]).max() < 1e-6, (name, "acc_xyz")
    ref = ecg_reference(codes["ecg"] * SCALES["ecg"], FS_HZ)
    spans = plausible_spans(ref)
    use, what = RECORDS[name]
    np.savez_compressed(out / f"wrist-{name}.npz", **codes,
                        scale_ecg=SCALES["ecg"], scale_ppg=SCALES["ppg"],
                        scale_acc=SCALES["acc"], scale_acc_xyz=SCALES["acc_xyz"], fs_hz=FS_HZ,
                        beats=np.round(ref * FS_HZ).astype(np.int32), spans_s=spans,
                        record=name, use=use, what=what)
    kept = float(np.sum(spans[:, 1] - spans[:, 0])) if len(spans) else 0.0
    return {"record": name, "use": use, "beats": len(ref),
            "trusted_s": round(kept, 1),
            "beats_trusted": int(sum(np.sum((ref >= a) & (ref <= b)) for a, b in spans))}


if __name__ == "__main__":  # CSV_DIR: the wrist records' CSVs and bidmc_01_Signals.csv;
    src, dst = Path(sys.argv[1]), Path(__file__).resolve().parent  # or --cinc15 WFDB_DIR,
    # or --neurokit CSV, or --bidmc DIR
    if sys.argv[1] == "--bidmc":  # bidmc_NN_Signals.csv: 01, BIDMC, the three BIDMC_FRESH sets
        for rec, use in {"01": "held out", **BIDMC, **BIDMC_FRESH, **BIDMC_FRESH2,
                         **BIDMC_FRESH3}.items():
            print(cut_bidmc(Path(sys.argv[2]) / f"bidmc_{rec}_Signals.csv", dst, rec, use))
        for name, (rec, start) in BIDMC_RUNS.items():
            print(cut_bidmc(Path(sys.argv[2]) / f"bidmc_{rec}_Signals.csv", dst, name, "tuning",
                            start))
        sys.exit()
    if sys.argv[1] == "--neurokit":  # NeuroKit2's data/bio_resting_5min_100hz.csv
        print(cut_neurokit(Path(sys.argv[2]), dst))
        sys.exit()
    if sys.argv[1] == "--cinc15":
        for rec in CINC15:
            print(cut_cinc15(Path(sys.argv[2]), rec, dst))
        sys.exit()
    for rec in RECORDS:
        print(cut(src, rec, dst))
    print(cut_bidmc(src / "bidmc_01_Signals.csv", dst))
