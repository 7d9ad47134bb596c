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
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

FS_HZ, GAIN, BASELINE = 360.0, 200.0, 1024
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


def cut(tpcp: Path, rec: str, out: Path) -> dict:
    import pandas as pd

    data = tpcp / "example_data" / "ecg_mit_bih_arrhythmia" / "data"
    mv = pd.read_pickle(data / f"{rec}.pk.gz")["ecg"].to_numpy()
    adc = mv * GAIN + BASELINE
    assert np.abs(adc - np.round(adc)).max() < 1e-6, rec  # lossless back to the ADC's steps
    adc = np.round(adc).astype(np.int16)
    beats = pd.read_csv(data / f"{rec}_all.csv")["R"].to_numpy()
    pvc = pd.read_csv(data / f"{rec}_pvc.csv")["PVC"].to_numpy()
    n, step = int(EXCERPT_S * FS_HZ), int(STEP_S * FS_HZ)
    start = max(range(0, len(adc) - n + 1, step),
                key=lambda s: (np.count_nonzero((pvc >= s) & (pvc < s + n)), -s))
    keep = (beats >= start) & (beats < start + n)
    lead, what = EXCERPTS[rec]
    np.savez_compressed(out / f"mitdb-{rec}.npz", adc=adc[start:start + n],
                        beats=(beats[keep] - start).astype(np.int32),
                        pvc=np.isin(beats[keep], pvc), fs_hz=FS_HZ, gain=GAIN,
                        baseline=BASELINE, start=start, record=rec, lead=lead,
                        record_beats=len(beats), record_pvcs=len(pvc))
    return {"record": rec, "start_s": start / FS_HZ, "beats": int(keep.sum()),
            "pvcs": int(np.isin(beats[keep], pvc).sum()), "record_beats": len(beats),
            "record_pvcs": len(pvc), "held_out": rec in HELD_OUT, "what": what}


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for r in EXCERPTS:
        print(cut(Path(sys.argv[1]), r, here))
