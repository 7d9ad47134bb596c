"""The heart corpus's records: what each is, where it lives (which published
distribution, or `edge/heart_reference/`), how to read it, and whether it is held out.

`edge/heart_corpus.py` reads them; this is only the table (split from there to keep both
small). `held_out` records are never looked at while tuning the detectors."""

from __future__ import annotations

from dataclasses import dataclass


BSN = "biosignalsnotebooks/notebook_files/osf_files/signal_samples/"

# distribution file -> the requirement install.sh downloads it with (pinned: the members'
# paths and contents must not move under us)
SCIPY_WHEEL = "scipy-1.11.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
DISTS = {
    SCIPY_WHEEL:
        "scipy==1.11.4 --only-binary :all: --python-version 3.11 --platform manylinux2014_x86_64",
    "systole-0.3.1.tar.gz": "systole==0.3.1 --no-binary :all:",
    "pyhrv-0.5.0.tar.gz": "pyhrv==0.5.0 --no-binary :all:",
    "pyphysio-4.10.0-py3-none-any.whl": "pyphysio==4.10.0 --only-binary :all:",
    "biosignalsnotebooks-0.6.14-py3-none-any.whl": "biosignalsnotebooks==0.6.14 --only-binary :all:",
    "ecg-noise-detector-0.0.3.tar.gz": "ecg-noise-detector==0.0.3 --no-binary :all:",
}


@dataclass(frozen=True)
class Record:
    name: str
    kind: str  # "ecg", "ppg" or "rr"
    dist: str  # key of DISTS, "heartpy" for the installed package, "reference" for a file
    # in edge/heart_reference/
    member: str  # path inside the distribution
    fmt: str  # how to read it (see _parse)
    fs_hz: float  # 0 = from the file
    source: str  # what it is, for the docs
    held_out: bool = False
    column: int = -1  # which column of a table
    annotation: str = ""  # expert beat annotation in edge/heart_reference/ (WFDB, or the
    # beats inside a "mitdb_npz" excerpt)
    ann_offset: int = 0  # the annotated record's sample where this excerpt starts


def _mitdb(rec: str, what: str, held_out: bool = False, length: str = "3 min excerpt",
           part: str = "") -> Record:
    """An excerpt of an MIT-BIH Arrhythmia record, committed with its beat annotation
    (`part`: which, where the record has two)."""
    f = f"mitdb-{rec}{part and '-' + part}.npz"
    return Record(f[:-4], "ecg", "reference", f, "mitdb_npz", 360.0,
                  f"MIT-BIH Arrhythmia record {rec}, {length} with its beat annotation: "
                  f"{what} (`edge/heart_reference/{f}`)", held_out=held_out, annotation=f)


def _first_minute(rec: str, what: str, held_out: bool) -> Record:
    """The first minute of an MIT-BIH record's MLII, all a public copy holds (ATM export)."""
    return _mitdb(rec, what, held_out, "first minute (MLII)")


def _nstdb(rec: str, what: str) -> Record:
    """3 min of an MIT-BIH Noise Stress Test record around its first noise segment."""
    f = f"nstdb-{rec}.npz"
    return Record(f"nstdb-{rec}", "ecg", "reference", f, "mitdb_npz", 360.0,
                  f"MIT-BIH Noise Stress Test record {rec} (MIT-BIH 118 with real electrode "
                  f"motion noise, {what}), 270-450 s: the noise from 300 to 420 s, with 118's beat "
                  f"annotation (`edge/heart_reference/{f}`)", annotation=f)


def _qtdb(rec: str, what: str, held_out: bool) -> Record:
    """3 min of a QT Database record (250 Hz, resampled from its source database by xform)
    with its source's reference beat annotation."""
    f = f"qtdb-{rec}.npz"
    return Record(f[:-4], "ecg", "reference", f, "mitdb_npz", 250.0,
                  f"QT Database record {rec}, 3 min excerpt at 250 Hz with its beat annotation: "
                  f"{what} (`edge/heart_reference/{f}`)", held_out=held_out, annotation=f)


def _fresh_qtdb(name: str) -> Record:
    """A record of the thirty-fourth pass's fresh set: its first 3 min, named by its source."""
    n = name[8:]
    db = ("Long-Term" if n[:2] == "14" else "Normal Sinus Rhythm" if n[0] == "1" else
          "ST Change" if n[0] == "3" else "Supraventricular Arrhythmia")
    return _qtdb(f"sel{n}", f"MIT-BIH {db} {n}, its first 3 min, a fresh blind record", True)


def _cinc15(rec: str, alarm: str, held_out: bool = False) -> Record:
    """4 min of an ICU patient's finger PPG, its reference lead II's R peaks."""
    f = f"cinc15-{rec}.npz"
    return Record(f"cinc15-{rec}", "ppg", "reference", f, "pulse_npz", 250.0,
                  f"PhysioNet/CinC Challenge 2015 record {rec}, first 4 min ({alarm}): an ICU "
                  f"patient's finger PPG; reference: the simultaneous lead II's R peaks "
                  f"(`edge/heart_reference/{f}`)", held_out=held_out, annotation=f)


def _bidmc(rec: str, held_out: bool, window: str = "first 4 min") -> Record:
    """4 min of a BIDMC record: an ICU patient's finger PPG, its reference lead II's R peaks."""
    f = f"bidmc-{rec}.npz"
    return Record(f[:-4], "ppg", "reference", f, "pulse_npz", 125.0,
                  f"BIDMC PPG and Respiration Dataset record {rec[:2]}, {window}: an ICU "
                  f"patient's finger PPG; reference: the simultaneous lead II's R peaks "
                  f"(`edge/heart_reference/{f}`)", held_out=held_out, annotation=f)


def _wrist(rec: str, what: str, held_out: bool = False) -> Record:
    """One minute of wrist PPG during exercise, its reference the chest ECG's R peaks."""
    f = f"wrist-{rec}.npz"
    return Record(f"wrist-{rec.replace('_resistance', '').replace('_', '-')}", "ppg",
                  "reference", f, "pulse_npz", 256.0,
                  f"Wrist PPG During Exercise (Jarchi & Casson 2017), record {rec}, first "
                  f"minute: {what}; reference: the chest ECG's R peaks (`edge/heart_reference/"
                  f"{f}`)", held_out=held_out, annotation=f)


# the thirty-third pass's fresh blind set (all held out): first scored in that pass, once,
# with no detector changed; the page pools it apart
FRESH = frozenset(f"bidmc-{n}" for n in (14, 15, 16, 17, 18, 19, 24, 25, 26, 27, 28, 29))
# the thirty-fourth pass's fresh blind ECG set (all held out), the same: QT Database records
# whose patient is in no other record (edge/heart_reference/cut_qtdb.QTDB_FRESH)
FRESH_ECG = frozenset(f"qtdb-sel{n}" for n in (
    14157, 14172, 16265, 16272, 16420, 16483, 16539, 16773, 16786, 17152, 17453, 301, 306, 307,
    308, 803, 808, 811, 840, 847, 871, 872, 873, 883))
# the thirty-fourth pass's second blind set (all held out): first scored at that pass's end,
# once, after its PPG change was tuned on tuning records alone
FRESH2 = frozenset(f"bidmc-{n}" for n in (30, 31, 32, 33, 34, 35, 36, 37, 40, 41, 42, 43))
# session 35's third blind set (all held out): every BIDMC record with no excerpt in the
# corpus whose patient is in no other record, fixed before any PPG detector ran on them; first
# scored once, after that session's PPG changes were merged (cut_pulse_excerpts.BIDMC_FRESH3)
FRESH3 = frozenset(f"bidmc-{n}" for n in (44, 46, 47, 48, 49, 50, 51, 52))

RECORDS = (
    Record("mitdb-208", "ecg", SCIPY_WHEEL, "scipy/misc/ecg.dat", "scipy_ecg",
           360.0, "MIT-BIH Arrhythmia record 208 (MLII), 5 min excerpt with frequent PVCs "
           "and couplets (SciPy 1.11's `electrocardiogram`)", held_out=True,
           annotation="208.atr", ann_offset=422820),
    Record("systole-ecg", "ecg", "systole-0.3.1.tar.gz", "systole-0.3.1/src/systole/datasets/"
           "Task1_ECG.npy", "npy", 1000.0, "Systole's dataset 1: 25 min of lab ECG during an "
           "emotional-picture task"),
    Record("pyhrv-bitalino-ecg", "ecg", "pyhrv-0.5.0.tar.gz", "pyhrv-0.5.0/pyhrv/files/"
           "SampleECG.txt", "opensignals", 0.0, "pyHRV's sample: chest ECG from a BITalino "
           "board (10-bit)", held_out=True),
    Record("pyphysio-ecg", "ecg", "pyphysio-4.10.0-py3-none-any.whl", "pyphysio/test_data/"
           "medical.txt.bz2", "tsv_bz2", 2048.0, "pyphysio's test data: 2 min of ECG "
           "(recorded with the BVP below; 2048 Hz, pyphysio's TestData)", column=0),
    Record("bsn-ecg-supine", "ecg", "biosignalsnotebooks-0.6.14-py3-none-any.whl",
           BSN + "supine_1min.txt", "opensignals", 0.0, "biosignalsnotebooks: 1 min of "
           "supine ECG from a biosignalsplux hub"),
    Record("bsn-ecg-200hz", "ecg", "biosignalsnotebooks-0.6.14-py3-none-any.whl",
           BSN + "ecg_sample.txt", "opensignals", 0.0, "biosignalsnotebooks: 12 s of ECG at "
           "200 Hz (biosignalsplux)"),
    Record("noise-detector-clean", "ecg", "ecg-noise-detector-0.0.3.tar.gz",
           "ecg-noise-detector-0.0.3/src/ecg_noise_detector/data/clean_ecg.csv", "csv", 500.0,
           "ecg-noise-detector's clean example: 30 s at 500 Hz"),
    _mitdb("104", "paced rhythm, fusion beats, muscle noise (lead V5)"),
    _mitdb("105", "high-grade noise and artefact, PVCs"),
    _mitdb("106", "frequent multiform PVCs, bigeminy, couplets"),
    _mitdb("108", "tall P waves, wide QRS, noise, PVCs"),
    _mitdb("119", "ventricular bigeminy and trigeminy"),
    _mitdb("200", "frequent PVCs, couplets, runs of ventricular tachycardia"),
    # issue 19's ninth pass: tuning or held out by record type, fixed before any detector ran
    # on them (edge/heart_reference/cut_excerpts.HELD_OUT)
    _mitdb("100", "normal sinus rhythm, APCs"),
    _mitdb("116", "large QRS, frequent PVCs"),
    _mitdb("123", "slow sinus rhythm, sinus arrhythmia, the odd PVC"),
    # issue 19's tenth pass: the lead's split, fixed before any detector ran on them; the copy
    # holds their second signal, V1 (edge/heart_reference/cut_excerpts.KAGGLE)
    _mitdb("101", "noise, the odd APC (lead V1)"),
    _mitdb("107", "paced rhythm, PVCs (lead V1)"),
    _mitdb("109", "left bundle branch block, PVCs, fusion beats (lead V1)"),
    _mitdb("102", "paced rhythm, fusion of paced and normal beats (lead V5)", held_out=True),
    _mitdb("114", "PVCs, fusion beats; leads reversed (V5)", held_out=True),
    _mitdb("121", "normal sinus rhythm, the odd APC and PVC", held_out=True),
    # issue 19's eleventh pass, the tenth's split: of these a public copy holds the first
    # minute only (edge/heart_reference/cut_excerpts.ATM)
    _first_minute("203", "atrial fibrillation, multiform PVCs, a run of VT", False),
    _first_minute("210", "atrial fibrillation, PVCs", False),
    _first_minute("111", "first-degree AV block, left bundle branch block", True),
    _first_minute("201", "atrial fibrillation, an aberrated beat", True),
    _first_minute("212", "right bundle branch block", True),
    _first_minute("213", "fast sinus rhythm", True),
    _first_minute("214", "left bundle branch block, PVCs", True),
    _first_minute("217", "paced rhythm, a fusion beat, a PVC", True),
    _first_minute("219", "atrial fibrillation, a PVC", True),
    _first_minute("228", "ventricular bigeminy, PVCs, artefacts", True),
    # records in no list of that split: held out, fixed before any detector ran on them
    _first_minute("103", "normal sinus rhythm", True),
    _first_minute("113", "sinus rhythm, an aberrated APC", True),
    _first_minute("202", "sinus rhythm, a PVC (201's subject)", True),
    _first_minute("209", "sinus rhythm, an APC", True),
    _first_minute("215", "sinus rhythm, PVCs", True),
    _first_minute("221", "atrial fibrillation, PVCs", True),
    _first_minute("222", "sinus rhythm", True),
    # MIT-BIH 118 (whole in a Noise Stress Test copy) and the NSTDB records made from it
    _mitdb("118", "right bundle branch block, APCs, PVCs"),
    _nstdb("118e24", "24 dB SNR"),
    _nstdb("118e12", "12 dB SNR"),
    _nstdb("118e06", "6 dB SNR"),
    _nstdb("118e00", "0 dB SNR"),
    # issue 19's twelfth pass: PVC-heavy excerpts of tuning records, chosen by the
    # annotation's V count before any detector ran on them (cut_excerpts.ATM_MORE, KAGGLE_MORE)
    _mitdb("200", "frequent multiform PVCs, couplets", length="first minute (MLII)",
           part="0s"),
    _mitdb("207", "right bundle branch block, ventricular bigeminy, a couplet and a triplet, "
           "left bundle branch block beats", length="first 40 s (MLII), before its "
           "ventricular flutter,"),
    _mitdb("106", "frequent multiform PVCs, bigeminy (lead V1)", length="3 min excerpt "
           "(1620-1800 s)", part="v1"),
    # issue 19's fifteenth pass: split by record type before any detector ran on them, one of
    # each pair tuning (edge/heart_reference/cut_qtdb.QTDB)
    _qtdb("sel233", "MIT-BIH 233, multiform PVCs, couplets, ventricular runs", False),
    _qtdb("sel223", "MIT-BIH 223, multiform PVCs, slow ventricular tachycardia", True),
    _qtdb("sel232", "MIT-BIH 232, sinus bradycardia, ectopic atrial runs, pauses up to 6 s, "
          "right bundle branch block", False),
    _qtdb("sel231", "MIT-BIH 231, 2:1 AV block, right bundle branch block", True),
    _qtdb("sel117", "MIT-BIH 117, sinus rhythm", False),
    _qtdb("sel230", "MIT-BIH 230, intermittent pre-excitation (WPW)", True),
    _qtdb("sele0114", "European ST-T e0114, lead D3, ischaemic ST-T changes, APCs", False),
    _qtdb("sele0121", "European ST-T e0121, lead V4, ischaemic ST-T changes, PVCs", True),
    _qtdb("sel310", "MIT-BIH ST Change 310, exercise test, sinus tachycardia", False),
    _qtdb("sel302", "MIT-BIH ST Change 302, exercise test", True),
    # issue 19's fifteenth pass, its second batch: split the same way before any detector ran
    _qtdb("sel821", "MIT-BIH Supraventricular Arrhythmia 821, supraventricular ectopic beats "
          "and runs", False),
    _qtdb("sel820", "MIT-BIH Supraventricular Arrhythmia 820, supraventricular ectopic beats",
          True),
    _qtdb("sel853", "MIT-BIH Supraventricular Arrhythmia 853, PVCs, QRS-like artefacts", False),
    _qtdb("sel891", "MIT-BIH Supraventricular Arrhythmia 891, supraventricular and ventricular "
          "ectopic beats, QRS-like artefacts", True),
    _qtdb("sel15814", "MIT-BIH Long-Term 15814, ambulatory, PVCs", False),
    _qtdb("sel14046", "MIT-BIH Long-Term 14046, ambulatory, PVCs", True),
    _qtdb("sel16273", "MIT-BIH Normal Sinus Rhythm 16273, ambulatory, sinus rhythm", False),
    _qtdb("sel16795", "MIT-BIH Normal Sinus Rhythm 16795, ambulatory, sinus bradycardia, "
          "QRS-like artefacts", True),
    _qtdb("sele0411", "European ST-T e0411, lead CM5, ischaemic ST-T changes, PVCs", False),
    _qtdb("sele0509", "European ST-T e0509, lead V1-V2, ischaemic ST-T changes, PVCs", True),
    _qtdb("sele0203", "European ST-T e0203, lead CM5, ischaemic ST-T changes, sinoatrial block",
          False),
    _qtdb("sele0303", "European ST-T e0303, lead V2-V3, ischaemic ST-T changes", True),
    # issue 19's thirty-fourth pass (ecgfresh): a blind set, all held out, fixed before any
    # detector ran on them
    *(_fresh_qtdb(name) for name in sorted(FRESH_ECG, key=lambda n: int(n[8:]))),
    Record("svdb-800", "ecg", "reference", "svdb-800.npz", "mitdb_npz", 128.0,
           "MIT-BIH Supraventricular Arrhythmia record 800, 3 min excerpt at 128 Hz with its "
           "beat annotation: supraventricular ectopy, noise (`edge/heart_reference/"
           "svdb-800.npz`)", held_out=True, annotation="svdb-800.npz"),
    Record("heartpy-data", "ppg", "heartpy", "data.csv", "heartpy", 100.0,
           "HeartPy's data.csv: 25 s of finger PPG"),
    Record("heartpy-data2", "ppg", "heartpy", "data2.csv", "heartpy", 0.0,
           "HeartPy's data2.csv: 2 min of PPG, loose sensor for the first 45 s"),
    Record("heartpy-data3", "ppg", "heartpy", "data3.csv", "heartpy", 0.0,
           "HeartPy's data3.csv: 11 min of clipped PPG (a wrist/finger logger)"),
    Record("systole-ppg", "ppg", "systole-0.3.1.tar.gz", "systole-0.3.1/src/systole/datasets/"
           "ppg.npy", "npy", 75.0, "Systole's PPG: 5 min from a Nonin pulse oximeter at 75 Hz"),
    Record("pyphysio-bvp", "ppg", "pyphysio-4.10.0-py3-none-any.whl", "pyphysio/test_data/"
           "medical.txt.bz2", "tsv_bz2", 2048.0, "pyphysio's test data: 2 min of finger BVP "
           "recorded with the ECG above", column=2),
    Record("bsn-bvp-rest", "ppg", "biosignalsnotebooks-0.6.14-py3-none-any.whl",
           BSN + "bvp_sample.txt", "opensignals", 0.0, "biosignalsnotebooks: 27 s of BVP at "
           "rest (biosignalsplux)"),
    Record("bsn-bvp-motion", "ppg", "biosignalsnotebooks-0.6.14-py3-none-any.whl",
           BSN + "bvp_motion_artifact.txt", "opensignals", 0.0, "biosignalsnotebooks: 30 s of "
           "BITalino BVP with motion artefacts", held_out=True),
    _wrist("s1_walk", "walking"),
    _wrist("s1_low_resistance_bike", "cycling, low resistance"),
    _wrist("s2_walk", "walking"),
    _wrist("s2_high_resistance_bike", "cycling, high resistance", held_out=True),
    _wrist("s8_walk", "walking, a subject in no tuning record", held_out=True),
    _bidmc("01", held_out=True),
    # issue 19's twelfth pass (ppgdata): split fixed before any PPG detector ran on them
    _cinc15("v102s", "VT false alarm at 5 min"),
    _cinc15("a103l", "asystole false alarm at 5 min", held_out=True),
    # issue 19's twenty-first pass (ppgcorpus): split fixed before any PPG detector ran on them
    # (one patient a record; cut_pulse_excerpts.BIDMC)
    *(_bidmc(rec, held_out=rec in ("03", "05", "11", "13"))
      for rec in ("02", "03", "04", "05", "10", "11", "12", "13")),
    # issue 19's thirty-third pass (fresh): a blind set, all held out, fixed before any
    # detector ran on them (the same rule, the next twelve; cut_pulse_excerpts.BIDMC_FRESH)
    *(_bidmc(name[6:], held_out=True) for name in sorted(FRESH)),
    # issue 19's thirty-fourth pass (ppgruns): a second blind set, all held out, fixed
    # before any PPG detector ran on them (cut_pulse_excerpts.BIDMC_FRESH2)
    *(_bidmc(name[6:], held_out=True) for name in sorted(FRESH2)),
    # session 35 (ppgfresh3): a third blind set, all held out, fixed before any PPG detector
    # ran on them (cut_pulse_excerpts.BIDMC_FRESH3)
    *(_bidmc(name[6:], held_out=True) for name in sorted(FRESH3)),
    # and tuning excerpts chosen by their ECG's runs of premature beats, no PPG detector run
    # first (cut_pulse_excerpts.BIDMC_RUNS)
    _bidmc("53", held_out=False),
    _bidmc("45-late", held_out=False, window="4-8 min"),
    _bidmc("06-late", held_out=False, window="4-8 min"),
    Record("neurokit-rest", "ppg", "reference", "neurokit-rest.npz", "pulse_npz", 100.0,
           "NeuroKit2's `bio_resting_5min_100hz`: 5 min of one adult's PPG at rest; "
           "reference: the simultaneous ECG's R peaks (`edge/heart_reference/"
           "neurokit-rest.npz`)", held_out=True, annotation="neurokit-rest.npz"),
    Record("systole-rr", "rr", "systole-0.3.1.tar.gz", "systole-0.3.1/src/systole/datasets/"
           "rr.txt", "rr_txt", 0.0, "Systole's RR series (ms)"),
    Record("pyhrv-nni-long", "rr", "pyhrv-0.5.0.tar.gz", "pyhrv-0.5.0/pyhrv/files/"
           "SampleNNISeriesLong.npy", "npy", 0.0, "pyHRV's long sample NN series (ms)"),
)
