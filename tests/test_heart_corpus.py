"""What issue 19 found, on real recordings and real RR series: arrhythmic ECG, labels that
say what they mean, no heartbeat said so, RR artefacts found and mended."""

import json
import subprocess
import sys

import numpy as np
import pytest

from empathy.edge.beat_score import (Match, beat_match, bpm, peer_beats, plausible_rate, reference,
                                     shown_rate)
from empathy.edge.beat_types import page_section, type_counts
from empathy.edge.ecg_stress import stress_cases
from empathy.edge.heart import waveform_peaks
from empathy.edge import heart_corpus
from empathy.edge.heart_corpus import (REFERENCE_DIR, annotated_beats, beat_labels, peer_cache_dir, record, record_data)
from empathy.edge.heart_page import detail
from empathy.edge.heart_validation import noise_stress_apart, score_record
from empathy.edge.hrv import heart_summary
from empathy.edge.rr_artefacts import RRCorrector, rr_correct
from empathy.edge.rr_validation import injection_trial
from corpus_records import need
from heart_reference_tables import MITDB_MINUTE, NSTDB, QTDB, TWELFTH
from streamed import streamed


def _ours_and_best_peer(name):
    """(reference beats, ours, the best peer's F1) on a record, as the corpus page scores:
    against the expert annotation where one is published, else the peers' consensus."""
    rec = need(name)
    x, fs = record_data(rec)
    peers = peer_beats(x, fs, rec.kind, peer_cache_dir())
    ann = annotated_beats(rec, len(x), fs)
    ref = reference(peers) if ann is None else ann
    best = max(beat_match(reference(peers, leave_out=n) if ann is None else ann, b).f1
               for n, b in peers.items() if b is not None)
    return ref, waveform_peaks(x, fs, rec.kind).idx / fs, best


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *args],
                          capture_output=True, text=True, timeout=120)


def test_ecg_raw_peaks_placed_all_at_once_are_those_placed_one_at_a_time(monkeypatch):
    """heart_refine places a call's ECG beats all at once (_refine_rows: an hour's batch is
    thousands, one at a time cost two windows' worth of numpy calls each); every beat and
    its quality must be bit for bit what one at a time (_refine) gives, on real noisy,
    arrhythmic and stressed ECG."""
    from empathy.edge.heart_refine import BeatRefiner

    x, fs = record_data(need("systole-ecg"))
    x = x[:int(60 * fs)]
    ref = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    signals = [(y, fs) for y, _ in stress_cases(x, fs, ref[ref < 59]).values()]
    signals += [record_data(need(n)) for n in ("nstdb-118e06", "mitdb-106-v1", "mitdb-107")]
    rowwise, placed = BeatRefiner._refine_rows, []

    def counted(self, peaks, h0):
        out = rowwise(self, peaks, h0)
        placed.append(0 if out is None else int(np.count_nonzero(out > -2)))
        return out

    monkeypatch.setattr(BeatRefiner, "_refine_rows", counted)
    at_once = [waveform_peaks(y, f, "ecg") for y, f in signals]
    assert sum(placed) > 0.9 * sum(len(b.idx) for b in at_once)
    monkeypatch.setattr(BeatRefiner, "_refine_rows", lambda self, peaks, h0: None)
    for (y, f), b in zip(signals, at_once):
        one = waveform_peaks(y, f, "ecg")
        assert np.array_equal(one.idx, b.idx) and np.array_equal(one.sqi, b.sqi)


def test_wide_and_inverted_complexes_on_real_ecg_are_found():
    x, fs = record_data(need("systole-ecg"))
    x = x[:int(60 * fs)]
    ref = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    cases = stress_cases(x, fs, ref[ref < 59])
    for name in ("wide PVCs", "PVC couplets", "inverted lead", "bundle-branch block", "paced",
                 "baseline wander", "muscle noise"):
        y, truth = cases[name]
        ours = waveform_peaks(y, fs, "ecg").idx / fs
        m = beat_match(truth, ours[ours < 59])  # the truth ends at 59 s
        assert m.f1 >= 0.99, (name, m)  # 78 beats: one miss at the start is 0.994


def test_mitdb_208_is_scored_against_the_cardiologists_annotation():
    """The peers' consensus misses premature beats most peers miss; record 208's published
    annotation (edge/heart_reference/208.atr) is the reference. It is the database's: its
    beat labels count what the database's table says, and it lines up with SciPy's excerpt
    at sample 422820 (the peers find its beats there, and not a quarter second either side)."""
    import collections

    import wfdb

    full = collections.Counter(wfdb.rdann(str(REFERENCE_DIR / "208"), "atr").symbol)
    assert {k: full[k] for k in "NVFSQ"} == {"N": 1586, "V": 992, "F": 373, "S": 2, "Q": 2}
    rec = need("mitdb-208")
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    assert len(ann) == 509 and 0 <= ann[0] and ann[-1] < len(x) / fs
    cons = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    assert beat_match(ann, cons).se > 0.95
    assert all(beat_match(ann + d, cons).se < 0.1 for d in (-0.25, 0.25))
    assert annotated_beats(record("systole-ecg"), 100, 1.0) is None
    ref, _, _ = _ours_and_best_peer("mitdb-208")
    assert np.array_equal(ref, ann)


# the MIT-BIH Arrhythmia Database's table of beats, whole records: (all beats, V beats)
MITDB_TABLE = {"104": (2229, 2), "105": (2572, 41), "106": (2027, 520), "108": (1763, 17),
               "119": (1987, 444), "200": (2601, 826), "100": (2273, 1), "102": (2187, 4),
               "114": (1879, 43), "116": (2412, 109), "121": (1863, 1), "123": (1518, 3),
               "101": (1865, 0), "107": (2137, 59), "109": (2532, 38), "118": (2278, 16)}
# issue 19's ninth pass: held out by record type before any detector ran on them
MITDB_HELD_OUT = {"102", "114", "121"}
# issue 19's tenth pass: lead V1 (the copy's second signal), every beat's label kept
MITDB_V1 = ("101", "107", "109")
# every excerpt's beat labels, counted: the V1 ones in the excerpt, tpcp's in
# mitdb-labels.txt (from Virja-Kawade's copy, checked against tpcp's beats and V flags),
# 208's in 208.atr
MITDB_LABELS = {"101": {"N": 212}, "107": {"/": 201, "V": 14}, "109": {"L": 242, "V": 9},
                "100": {"A": 2, "N": 218, "V": 1}, "102": {"/": 213, "V": 2, "f": 3},
                "104": {"/": 120, "N": 40, "Q": 5, "V": 1, "f": 57}, "105": {"N": 242, "V": 9},
                "106": {"N": 122, "V": 117}, "108": {"F": 1, "N": 164, "V": 4},
                "114": {"F": 1, "J": 1, "N": 148, "V": 18}, "116": {"N": 215, "V": 26},
                "119": {"N": 135, "V": 66}, "121": {"A": 1, "N": 177, "V": 1},
                "123": {"N": 149, "V": 2}, "200": {"N": 124, "V": 129},
                "208": {"F": 56, "N": 358, "Q": 2, "V": 93}, "118": {"A": 10, "R": 239, "V": 4}}
# (the tenth pass's one failing tuning record, MIT-BIH 101's HR, passes since the twelfth:
# test_interference_ripples_in_the_high_band_are_no_premature_complexes)
MITDB_TUNING = [f"mitdb-{r}" for r in MITDB_TABLE if r not in MITDB_HELD_OUT]
# what the eleventh pass's records found, when first scored (the tuning ones: for the next
# pass to tune on; the held-out ones: scored once)
ELEVENTH_FAILS = {
    # nstdb-118e06 meets the goal since the fourteenth pass (F1 0.998, 1 extra, HR +0.3
    # bpm; it was F1 0.869-0.979, HR +3.3 to +9.4): see
    # test_an_extra_beat_that_splits_a_steady_interval_is_dropped_by_the_beats_after_it
    # nstdb-118e12 meets the goal since the thirteenth pass (F1 1.000, HR +0.0 bpm; it was
    # F1 0.983-0.988 < SWT's 0.998, HR +2.0-2.7): see
    # test_electrode_motion_takes_20_45_hz_where_the_qrs_keeps_the_rhythm_there
    # nstdb-118e00 meets the goal since the ecgrest pass (F1 0.873 > SWT's 0.830, 30 missed,
    # 30 extra, HR +0.0 bpm; it was F1 0.739-0.867, HR +2.0 to +18.1): a burst's first
    # window, in a steady rhythm, judges its close pairs on itself: see
    # test_a_bursts_first_window_in_a_steady_rhythm_is_judged_on_itself (test_ecg_pair.py)
    # mitdb-228 (held out) meets the goal since the ecgnoise pass (scored once after it:
    # F1 0.993 > NeuroKit2's 0.986, HR +1.0 bpm; it was F1 0.986, HR +2.0 with two of the
    # annotation's isolated QRS-like artefacts taken as beats): ecg_pair drops one
}


def _xfails(names, fails):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=fails[n]))
            if n in fails else n for n in names]


ELEVENTH_TUNING = _xfails([f"mitdb-{r}" for r, (_, _, h) in MITDB_MINUTE.items() if not h]
                          + [f"nstdb-{r}" for r in NSTDB], ELEVENTH_FAILS)
ELEVENTH_HELD_OUT = _xfails([f"mitdb-{r}" for r, (_, _, h) in MITDB_MINUTE.items() if h],
                            ELEVENTH_FAILS)
# the twelfth pass's PVC-heavy tuning excerpts, when first scored and after its changes:
# mitdb-106-v1 (V1 of 106 at 1620-1800 s) failed from the twelfth pass to the thirty-first
# (F1 0.946-0.974 against NeuroKit2's 0.948, HR +1.7 to +5.4 bpm: bursts of muscle noise at
# 133-165 s, sharp spikes at 73.1 and 76.8 s, tests/test_ecg_spike.py; what was tried is in
# edge/heart_passes.md); the thirty-second's slope test (heart_gates._gentle) took its two
# rounded waves in PVC pauses out: F1 0.979, HR +1.0 bpm (tests/test_heart_gentle.py)
TWELFTH_FAILS: dict[str, str] = {}
TWELFTH_TUNING = _xfails([f"mitdb-{n}" for n in TWELFTH], TWELFTH_FAILS)
# the fifteenth pass's QT Database records, when first scored (sel232's APC and sel302's
# third beat found since: the step gate let R waves that drop in one sample at 250 Hz pass)
# (e0114's first beat, missed when added: found since); the second batch's, when first scored
# (e0203's extra first beat, cut by the record's start, is not counted since the scoring's
# start follows EC57's comparator: tests/test_heart_score_start.py)
QTDB_FAILS = {
    "qtdb-sel14046": "MIT-BIH Long-Term 14046 (held out, scored once): two beats missed, the "
                     "first (0.02 s, the stream's first samples) and an N beat 0.48 s "
                     "after a PVC couplet (123.52 s; the usual interval 0.73 s): F1 0.996 < "
                     "NeuroKit2's, Christov's and two-average's 0.998, HR -0.3 bpm",
}
QTDB_TUNING = _xfails([f"qtdb-{r}" for r, q in QTDB.items() if not q[0]], QTDB_FAILS)
QTDB_HELD_OUT = _xfails([f"qtdb-{r}" for r, q in QTDB.items() if q[0]], QTDB_FAILS)


@pytest.mark.parametrize("name", [f"mitdb-{r}" for r in MITDB_TABLE])
def test_the_mitdb_excerpts_are_the_databases_and_line_up(name):
    """The committed excerpts (edge/heart_reference/): 3 min of 11-bit ADC values at 360 Hz
    from a window starting on a 30 s boundary, cut from records whose beat counts are the
    database's table's; never record 208 (held out apart). The annotation lines up with the
    signal: the peers' consensus has a beat within 50 ms of most annotated beats (record
    108's tall P waves put consensus beats 250 ms early too: no shifted-match check)."""
    rec = record(name)
    assert rec.held_out == (name[6:] in MITDB_HELD_OUT) and "208" not in rec.member
    with np.load(REFERENCE_DIR / rec.member) as z:
        adc, beats, pvc = z["adc"], z["beats"], z["pvc"]
        assert adc.dtype == np.int16 and len(adc) == 180 * 360 and float(z["fs_hz"]) == 360
        assert 0 <= adc.min() and adc.max() < 2048
        assert int(z["start"]) % (30 * 360) == 0 and str(z["record"]) == name[6:]
        assert (int(z["record_beats"]), int(z["record_pvcs"])) == MITDB_TABLE[name[6:]]
        assert len(pvc) == len(beats) and np.all(np.diff(beats) > 0)
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    assert np.array_equal(ann, beats / 360.0) and 0 <= ann[0] and ann[-1] < len(x) / fs
    cons = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    assert beat_match(ann, cons).se > 0.9
    assert np.median(np.abs(ann[:, None] - cons[None, :]).min(axis=1)) < 0.05


@pytest.mark.parametrize("rec", MITDB_V1)
def test_the_v1_excerpts_keep_every_beats_label(rec):
    """MIT-BIH 101, 107, 109 (issue 19's tenth pass, from Kaggle-format copies checked
    against wfdb's 100.dat and tpcp's twelve records): lead V1, the record's first 999
    samples absent from the copy so no window starts before 30 s, each beat's WFDB label
    kept, the PVC flags those labelled V."""
    with np.load(REFERENCE_DIR / f"mitdb-{rec}.npz", allow_pickle=False) as z:
        labels, pvc = z["labels"], z["pvc"]
        assert str(z["lead"]) == "V1" and int(z["start"]) >= 30 * 360
        assert len(labels) == len(z["beats"]) and np.array_equal(pvc, labels == "V")
    assert dict(zip(*np.unique(labels, return_counts=True))) == MITDB_LABELS[rec]
    assert beat_labels(record(f"mitdb-{rec}"), 180 * 360).tolist() == labels.tolist()
    assert beat_labels(record("svdb-800"), 180 * 128) is None  # its labels are not kept


@pytest.mark.parametrize("rec", sorted(MITDB_LABELS))
def test_every_mitdb_excerpt_has_a_label_for_each_annotated_beat(rec):
    """One label per annotated beat, in order; V exactly where the excerpt flags a PVC
    (tpcp's flags, independent of the labels' copy); the label counts as recorded."""
    r = need(f"mitdb-{rec}")
    x, fs = record_data(r)
    ann, labels = annotated_beats(r, len(x), fs), beat_labels(r, len(x))
    assert labels.dtype == "<U1" and len(labels) == len(ann)
    assert set(labels) <= heart_corpus.BEAT_SYMBOLS
    if r.fmt == "mitdb_npz":
        with np.load(REFERENCE_DIR / r.member) as z:
            assert np.array_equal(labels == "V", z["pvc"])
    assert dict(zip(*np.unique(labels, return_counts=True))) == MITDB_LABELS[rec]


def test_the_labels_file_is_the_one_the_readme_records():
    """mitdb-labels.txt's sha256 is the one its README gives with its source."""
    import hashlib
    import re

    readme = (REFERENCE_DIR / "README.md").read_text()
    said = re.search(r"sha256 of `mitdb-labels.txt`: ([0-9a-f]{64})", readme)
    assert said and hashlib.sha256(heart_corpus.LABELS_FILE.read_bytes()).hexdigest() == said[1]
    assert "commit 159c40706c1539c4ecd68f393b6ed840e595dd17" in readme


def test_a_labels_line_that_does_not_fit_its_excerpt_is_refused(tmp_path, monkeypatch):
    """A label string one beat short, or for another window, is an error, never labels
    shifted onto the wrong beats."""
    rec = record("mitdb-106")
    lines = heart_corpus.LABELS_FILE.read_text().splitlines()
    for bad in (lambda r, s, lab: f"{r} {s} {lab[:-1]}", lambda r, s, lab: f"{r} {int(s) + 1} {lab}"):
        f = tmp_path / "labels.txt"
        f.write_text("\n".join(bad(*ln.split()) if ln.startswith("106 ") else ln
                               for ln in lines) + "\n")
        monkeypatch.setattr(heart_corpus, "LABELS_FILE", f)
        with pytest.raises(ValueError, match="does not fit"):
            beat_labels(rec, 180 * 360)


def test_a_beat_is_found_once_by_type_as_by_the_overall_pairing():
    """Two annotated beats 100 ms apart and one detection between them: only the nearer
    is found, as in Se's one-to-one pairing (nearest-detection counting found both)."""
    got = type_counts(np.array([1.0, 1.1, 2.0]), np.array(["N", "V", "N"]), [1.06, 2.0])
    assert got == {"N": (1, 2), "V": (1, 1)}
    assert type_counts(np.array([1.0]), np.array(["V"]), None) == {"V": (0, 1)}


@pytest.mark.parametrize("names", [("mitdb-104", "mitdb-109"), ("mitdb-208", "mitdb-114")])
def test_the_beat_type_table_sums_back_to_the_overall_counts(names):
    """Per record and detector, the found beats over all labels are the TP of the overall
    match and the labels' beats its reference beats; the pooled rows add up the records'."""
    rs = [score_record(need(n)) for n in names]
    lines = page_section(rs)
    for r in rs:
        for det, b in r["beats"].items():
            counts = type_counts(r["annotated"], r["labels"], b)
            m = beat_match(r["annotated"], [] if b is None else b)
            assert sum(f for f, _ in counts.values()) == m.tp
            assert sum(n for _, n in counts.values()) == m.tp + m.fn == len(r["annotated"])
            row = next(ln for ln in lines if ln.startswith(f"| {r['rec'].name} | ")
                       and f"| {det} | " in ln)
            assert f"| {m.tp} / {m.tp + m.fn} |" in row
    ours = next(ln for ln in lines if ln.startswith("| ours | "))
    total = sum(r["rows"]["ours"][0].tp for r in rs), sum(len(r["annotated"]) for r in rs)
    assert f"({total[0]}/{total[1]})" in ours.split(" | ")[1]


def test_the_noise_stress_test_is_pooled_apart_beside_the_all_in_rows():
    """EC57 reports the NSTDB apart from the arrhythmia database: the ECG tuning table keeps
    its all-in pooled rows and adds one without the NSTDB records and one of them alone,
    whose counts add up to the all-in ones."""
    rs = [score_record(need(n)) for n in ("mitdb-118", "nstdb-118e12", "nstdb-118e00")]
    lines = detail(rs, noise_stress_apart(rs))

    def pooled(label):
        row = next(ln for ln in lines if ln.startswith(f"| **{label}** | ours | "))
        return float(row.split(" | ")[4])

    assert pooled("pooled without the NSTDB records") == round(rs[0]["rows"]["ours"][0].f1, 4)
    nst = sum((r["rows"]["ours"][0] for r in rs[1:]), Match(0, 0, 0))
    assert pooled("pooled, the NSTDB records alone") == round(nst.f1, 4)
    assert pooled("pooled") == round((nst + rs[0]["rows"]["ours"][0]).f1, 4)
    assert noise_stress_apart(rs[:1]) == ()  # no NSTDB record, no rows apart


def test_the_svdb_excerpt_is_the_copys_and_lines_up():
    """MIT-BIH Supraventricular Arrhythmia record 800 (ECG-kit's copy; held out from the
    start): 3 min of 10-bit values at 128 Hz, every beat label of the record's annotation
    (1883 beats, 6 V, as that copy's 800.atr holds: the database's table was not checked),
    lined up with the peers' consensus as the MIT-BIH excerpts are."""
    rec = record("svdb-800")
    assert rec.held_out and rec.fs_hz == 128.0
    with np.load(REFERENCE_DIR / rec.member) as z:
        adc, beats = z["adc"], z["beats"]
        assert adc.dtype == np.int16 and len(adc) == 180 * 128 and float(z["fs_hz"]) == 128
        assert -512 <= adc.min() and adc.max() < 512 and int(z["start"]) % (30 * 128) == 0
        assert (int(z["record_beats"]), int(z["record_pvcs"])) == (1883, 6)
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    assert fs == 128.0 and np.array_equal(ann, beats / 128.0) and len(ann) == 213
    cons = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    assert beat_match(ann, cons).se > 0.95
    assert all(beat_match(ann + d, cons).se < 0.1 for d in (-0.25, 0.25))


@pytest.mark.parametrize("name", MITDB_TUNING + ELEVENTH_TUNING + TWELFTH_TUNING + QTDB_TUNING)
def test_annotated_arrhythmic_tuning_ecg_matches_the_best_peer_and_its_rate(name):
    """Against the cardiologists' annotation: paced beats, bigeminy, runs of PVCs, noise."""
    ref, ours, best = _ours_and_best_peer(name)
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


@pytest.mark.parametrize("name", ELEVENTH_HELD_OUT + QTDB_HELD_OUT)
def test_held_out_first_minutes_match_the_best_peer_and_their_rate(name):
    """The eleventh pass's held-out first minutes (bundle branch blocks, paced, AF, PVCs,
    sinus rhythm) and the fifteenth's held-out QT Database records (slow VT, 2:1 AV block,
    pre-excitation, ischaemia on V4, an exercise test) and the second batch's (supraventricular
    ectopy, artefacts, ambulatory PVCs and sinus rhythm, ischaemia on V1-V2 and V2-V3), each
    scored once when it was added, before anything was tuned on it."""
    ref, ours, best = _ours_and_best_peer(name)
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_paced_beats_are_placed_on_the_spike_not_dropped():
    """MIT-BIH 104 (lead V5, paced): the wide negative wave after the pacing spike holds the
    band-passed energy's peak more than the refine window after the spike, so the raw
    peak fell on the window's edge and 4 clean paced beats were dropped, and 5 more were
    placed on the wave 160-230 ms late (F1 0.971). The raw peak may lie 150 ms before."""
    ref, ours, _ = _ours_and_best_peer("mitdb-104")
    m = beat_match(ref, ours)
    assert m.fn == 0 and m.fp == 0
    d = np.abs(ref[:, None] - ours[None, :]).min(axis=1)
    assert np.mean(d < 0.05) >= 0.85  # on the spike or the R wave (was 82 % of those found)


def test_a_premature_complex_just_after_a_paced_one_is_a_beat():
    """MIT-BIH 107 (lead V1, paced; tuning): a PVC 0.5-0.6 s after a wide paced complex, its
    pause under 1.66 beats (the pacemaker restarts its interval), opened no energy block while
    the beat-wide average (Elgendi's 0.611 s) still held the paced complex: 4 of its 14 PVCs
    were missed. Every paced and ventricular beat is found."""
    rec = need("mitdb-107")
    x, fs = record_data(rec)
    ann, labels = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
    ours = waveform_peaks(x, fs, "ecg").idx / fs
    found = np.abs(ann[:, None] - ours[None, :]).min(axis=1) <= 0.15
    assert found[labels == "V"].sum() == 14 and found[labels == "/"].all()


@pytest.mark.parametrize("name", ["mitdb-203", "mitdb-210"])
def test_a_premature_complex_before_a_pause_in_atrial_fibrillation_is_a_beat(name):
    """MIT-BIH 203 and 210 (first minutes, tuning): wide PVCs 0.33-0.47 s after a QRS, of
    modest 5-20 Hz energy, opened no block while the beat-wide average still held that
    QRS, and in atrial fibrillation the pause after them is under the 1.66 beats that
    search-back looks in: 2 of 203's 10 PVCs and 5 of 210's 7 were missed. Every PVC after
    a stream's first beats is found (210's at 1.7 s is its third beat: still missed)."""
    rec = need(name)
    x, fs = record_data(rec)
    ann, labels = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
    ours = waveform_peaks(x, fs, "ecg").idx / fs
    found = np.abs(ann[:, None] - ours[None, :]).min(axis=1) <= 0.15
    pvc = (labels == "V") & (ann > 2.0)
    assert pvc.sum() >= 6 and found[pvc].all()


def test_the_pause_after_a_premature_beat_is_no_missed_beat():
    """MIT-BIH 106, bigeminy: the compensatory pause after each PVC is ~1.8 recent
    intervals, so the search-back looked there and took T-wave tails at a tenth of the
    recent heights for beats (4 extra). A missed beat must reach a fifth of them."""
    ref, ours, _ = _ours_and_best_peer("mitdb-106")
    assert beat_match(ref, ours).fp == 0


def test_a_small_late_premature_complex_is_a_beat():
    """MIT-BIH 106 at 142.02 s: a narrow PVC a third of the recent heights, 530 ms after the
    last beat (past any T wave), fell under the 0.4 height gate."""
    ref, ours, _ = _ours_and_best_peer("mitdb-106")
    t = ref[np.argmin(np.abs(ref - 142.02))]
    assert abs(t - 142.02) < 0.01 and np.abs(ours - t).min() < 0.05


def test_an_interpolated_premature_complex_is_a_beat():
    """MIT-BIH 123 at 166.80 s (tuning): a wide PVC between two sinus beats, 544 ms after
    the last, no pause after it. The short energy average (a trailing window) crosses the
    long one only after the complex's band-passed peak, so the block's own maximum was
    its tail, 0.23 of the recent heights, under the 0.3 late gate."""
    ref, ours, _ = _ours_and_best_peer("mitdb-123")
    t = ref[np.argmin(np.abs(ref - 166.80))]
    assert abs(t - 166.80) < 0.01 and np.abs(ours - t).min() < 0.05
    assert beat_match(ref, ours).fp == 0


def test_a_lead_under_narrow_band_interference_is_detected_in_the_higher_band():
    """MIT-BIH 101 (lead V1, tuning): an ~8 Hz oscillation as tall as the 0.15 mV QRS in
    5-20 Hz made half its cycles beats (F1 0.763, HR +28.9 bpm). Its first 10 s choose
    20-45 Hz, where the QRS stands out (ecg_band); no other tuning excerpt or stress case
    does (their beats are bit-identical), muscle noise above 20 Hz least of all."""
    from empathy.edge.ecg_band import CAL_S, wants_high_band
    from empathy.edge.heart import ECG_HIGH, METHODS

    low, high = METHODS["ecg"].band_hz, ECG_HIGH.band_hz
    ref, ours, best = _ours_and_best_peer("mitdb-101")
    assert beat_match(ref, ours).f1 >= best and abs(bpm(ours) - bpm(ref)) <= 1.5
    x, fs = record_data(record("mitdb-101"))
    assert wants_high_band(x[:int(CAL_S * fs)], fs, low, high)
    for name in ("mitdb-104", "mitdb-107", "mitdb-108"):  # the lowest contrasts in 5-20 Hz
        x, fs = record_data(need(name))
        assert not wants_high_band(x[:int(CAL_S * fs)], fs, low, high), name
    x, fs = record_data(need("systole-ecg"))
    x = x[:int(60 * fs)]
    cases = stress_cases(x, fs, reference(peer_beats(x, fs, "ecg", peer_cache_dir())))
    for name in ("muscle noise", "bundle-branch block", "paced"):
        assert not wants_high_band(cases[name][0][:int(CAL_S * fs)], fs, low, high), name


def test_interference_ripples_in_the_high_band_are_no_premature_complexes():
    """MIT-BIH 101 (tuning) in 20-45 Hz: ripples of the interference mid-interval at 0.32-0.39
    of the recent heights (83.6, 84.4 and 97.9 s) were let in past 360 ms by the 0.3 gate
    meant for wide PVCs of modest 5-20 Hz energy (HR +2.0 bpm); the high band has no such
    exceptions (heart_method.ECG_HIGH), and every annotated beat found before is found."""
    ref, ours, _ = _ours_and_best_peer("mitdb-101")
    for t in (83.564, 84.361, 97.847):
        assert np.abs(ours - t).min() > 0.15 and np.abs(ref - t).min() > 0.15
    m = beat_match(ref, ours)
    assert (m.tp, m.fn) == (208, 4) and abs(bpm(ours) - bpm(ref)) <= 1.5


def test_search_back_takes_no_t_wave_in_the_pause_after_a_pvc():
    """V1 of MIT-BIH 106 (tuning), bigeminy: in the compensatory pause after a PVC the
    search-back found the PVC's smooth T wave or a noise wave (6.2, 10.0, 44.3, 48.1 s: 0.19-
    0.41 of the last beat's steepness); a search-back beat must be 0.38 as steep as the last
    beat (Pan-Tompkins' slope test). The first minute, with no muscle noise: every beat, no
    other. The steep beats search-back exists for are still found (MIT-BIH 118e00, 0 dB)."""
    ref, ours, _ = _ours_and_best_peer("mitdb-106-v1")
    m = beat_match(ref[ref < 60], ours[ours < 60])
    assert (m.fp, m.fn) == (0, 0) and m.tp == np.count_nonzero(ref < 60) > 60
    # (in 5-20 Hz: since the thirteenth pass the stream takes 20-45 Hz there, ecg_band)
    ref, _, _ = _ours_and_best_peer("nstdb-118e00")
    ours = _in_band(*record_data(record("nstdb-118e00")))
    assert np.abs(ours - 68.078).min() < 0.05 and np.abs(ref - 68.078).min() < 0.15


def test_a_noise_wave_that_splits_a_regular_interval_gives_way_to_the_rhythm(monkeypatch):
    """NSTDB 118e06 (tuning), electrode motion at 6 dB: noise waves 0.36-0.65 intervals
    after a beat in the rhythm (60.7, 65.0, 78.1, 97.0, 100.1 s) passed the height gate
    and the true beat came too; in noise (over the height gate >= 15 % of the last 2 s) such
    an early beat is held and gives way to the candidate where the rhythm puts the beat
    (heart_gates._doubt, _rhythm_wins). Without that rule they come back, and nothing
    else that is annotated is lost."""
    import dataclasses

    from empathy.edge.heart import METHODS

    # in 5-20 Hz, where these waves are (since the thirteenth pass the stream takes 20-45 Hz
    # there from 40 s on: test_electrode_motion_takes_20_45_hz_where_the_qrs_keeps_the_rhythm_there)
    ref, _, _ = _ours_and_best_peer("nstdb-118e06")
    x, fs = record_data(record("nstdb-118e06"))
    ours = _in_band(x, fs)
    extra = (60.742, 65.033, 78.075, 97.019, 100.128)
    for t in extra:
        assert np.abs(ours - t).min() > 0.15 and np.abs(ref - t).min() > 0.15
    without = _in_band(x, fs, dataclasses.replace(METHODS["ecg"], noise_rhythm=False))
    assert all(np.abs(without - t).min() < 0.01 for t in extra)
    assert beat_match(ref, without).tp <= beat_match(ref, ours).tp


def _before_the_rhythm_pick(x, fs):
    """An ECG stream's beats as its band detectors give them, before ecg_rhythm judges them."""
    from empathy.edge.heart import BeatStream

    st = BeatStream(fs, "ecg")
    return np.concatenate([st.bands.push(x).idx, st.bands.finish().idx]) / fs


def test_an_extra_beat_that_splits_a_steady_interval_is_dropped_by_the_beats_after_it(
        monkeypatch):
    """NSTDB 118e06 (tuning), electrode motion at 6 dB: noise waves early in a steady rhythm
    passed every gate and the true beat came just after (10 extra beats, F1 0.979, HR +3.3
    bpm before the fourteenth pass). Judged by the two beats after it (ecg_rhythm), such a
    beat goes where without it those two keep the rhythm. MIT-BIH 123's interpolated PVCs
    (the normal beat after them comes late) and the bigeminy, PVC runs and atrial
    fibrillation of 106, 119, 200, 203, 210 and 106's V1 (no steady rhythm) lose nothing.
    (ecg_rhythm alone: the close-pair stage after it, off here, drops 118e06's last extra
    beat, and 106 V1's in noise: tests/test_ecg_pair.py)"""
    from empathy.edge import ecg_pair

    monkeypatch.setattr(ecg_pair, "CLOSE", 0.0)
    ref, ours, best = _ours_and_best_peer("nstdb-118e06")
    before = _before_the_rhythm_pick(*record_data(record("nstdb-118e06")))
    gone = before[~np.isin(before, ours)]
    assert len(gone) == 9 and beat_match(ref, gone).tp == 0
    m = beat_match(ref, ours)
    assert m.fn == 0 and m.fp <= 1 and m.f1 >= best and abs(bpm(ours) - bpm(ref)) <= 0.5
    for name in ("mitdb-123", "mitdb-106", "mitdb-119", "mitdb-200", "mitdb-203",
                 "mitdb-210", "mitdb-106-v1"):
        x, fs = record_data(record(name))
        assert np.array_equal(_before_the_rhythm_pick(x, fs), waveform_peaks(x, fs, "ecg").idx / fs), name


def _in_band(x, fs, method=None):
    """Our beats with the band fixed (the usual 5-20 Hz by default: no ecg_band choice)."""
    from empathy.edge.heart import METHODS, BeatStream

    st = BeatStream(fs, "ecg", method or METHODS["ecg"])
    return np.concatenate([st.push(x).idx, st.finish().idx]) / fs


def _switches(x, fs):
    """Where an ECG stream's band changed (s)."""
    from empathy.edge.heart import BeatStream

    st = BeatStream(fs, "ecg")
    st.push(x)
    st.finish()
    return [round(s / fs) for s in st.bands.switches]


def test_electrode_motion_takes_20_45_hz_where_the_qrs_keeps_the_rhythm_there():
    """NSTDB 118 with electrode motion (tuning): the motion, mostly under 20 Hz, makes
    QRS-like waves in 5-20 Hz and leaves 20-45 Hz to the QRS (py-ecg-detectors' SWT, a
    22-45 Hz wavelet band, found 1 extra beat on 118e12, we 6). A noisy window where fresh
    detectors' 20-45 Hz beats are fewer, with no gap, and the 5-20 Hz ones break the rhythm
    takes 20-45 Hz (ecg_band.high_keeps_rhythm). Before, 118e12 stayed in 5-20 Hz (F1 0.988,
    HR +2.0 bpm) and 118e06 and e00 went to 20-45 Hz at 110 s (F1 0.951 and 0.808, HR +6.0
    and +17.0). Paced complexes and PVCs (MIT-BIH 104, 106, 107, 203, the stress cases), that
    20-45 Hz loses, and muscle noise, that fills it, keep 5-20 Hz."""
    for name, at in (("nstdb-118e12", 50), ("nstdb-118e06", 40), ("nstdb-118e00", 50)):
        assert _switches(*record_data(need(name))) == [at, 160], name
    ref, ours, best = _ours_and_best_peer("nstdb-118e12")
    m = beat_match(ref, ours)
    assert (m.fp, m.fn) == (0, 0) and abs(bpm(ours) - bpm(ref)) < 0.1
    for name in ("nstdb-118e06", "nstdb-118e00"):
        ref, ours, best = _ours_and_best_peer(name)
        assert beat_match(ref, ours).f1 >= best, name
    for name in ("mitdb-104", "mitdb-106", "mitdb-107", "mitdb-203", "mitdb-106-v1",
                 "mitdb-118", "nstdb-118e24"):
        assert _switches(*record_data(need(name))) == [], name
    x, fs = record_data(need("systole-ecg"))
    x = x[:int(60 * fs)]
    ref = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    for name, (y, _) in stress_cases(x, fs, ref[ref < 59]).items():
        assert _switches(y, fs) == [], name


@pytest.mark.parametrize("name", ["mitdb-104", "mitdb-106", "mitdb-123", "mitdb-107",
                                  "mitdb-101", "mitdb-203", "mitdb-210", "mitdb-106-v1",
                                  "nstdb-118e00", "nstdb-118e06"])
def test_streaming_the_arrhythmic_excerpts_gives_the_batch_beats(name):
    """The refine window reaching 150 ms back is in the stream's history whatever the
    chunking (BeatStream.reach, hist); the band chosen on the first 10 s (MIT-BIH 101: the
    higher one) is chosen whatever chunks bring them."""

    x, fs = record_data(record(name))
    batch = waveform_peaks(x, fs, "ecg")
    assert np.array_equal(streamed(x, fs, "ecg", 7, 400).idx, batch.idx)


def test_held_out_pvc_record_finds_what_the_cardiologists_annotated():
    """MIT-BIH 208: the issue's F1 0.934 and 88.2 bpm; now against the annotation."""
    ref, ours, _ = _ours_and_best_peer("mitdb-208")
    assert beat_match(ref, ours).f1 >= 0.98
    assert abs(bpm(ours) - bpm(ref)) < 2.0


@pytest.mark.xfail(strict=True, reason="MIT-BIH 208 (held out, never tuned on) against its "
                   "annotation, scored once after issue 19's seventh pass (the early-reach "
                   "ratio, tuned on the simulated motion ECG and the MIT-BIH excerpts): ours "
                   "F1 0.985 (12 missed, 3 extra) < NeuroKit2's 0.990, HR -1.8 bpm (sixth "
                   "pass: 0.987, 11 missed, 2 extra, -1.8); the ninth pass (the lead-in height "
                   "past the T-wave window, tuned on the nine MIT-BIH tuning excerpts) left it "
                   "F1 0.985, HR -1.8 (scored once); the tenth pass (the 0.5 s beat-wide "
                   "window, tuned on MIT-BIH 107) 0.986 (11 missed, 3 extra), HR -1.6 "
                   "(scored once); the eleventh (the band per window; a premature complex "
                   "before a short pause, tuned on 203 and 210) left its beats as they were "
                   "(scored once), and so did the twelfth (no 0.3 gate in 20-45 Hz, tuned on "
                   "101; a slope test on search-back beats, tuned on 106's V1; scored once); "
                   "open")
def test_held_out_pvc_record_matches_the_best_peer_and_its_rate():
    ref, ours, best = _ours_and_best_peer("mitdb-208")
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_a_first_pulse_inside_the_detectors_warm_up_is_found_streaming_or_not():
    """pyphysio's BVP: its first pulse (0.28 s) comes before the energy averages are full;
    the look-back finds it, and chunks don't change that. At its true rate (2048 Hz) only
    HeartPy finds that pulse (NeuroKit2's finders begin at 1.2 s; at 1024 Hz both of them
    had found it, at 0.56 s), so HeartPy's is the reference here."""

    x, fs = record_data(need("pyphysio-bvp"))
    x = x[:int(20 * fs)]
    first = peer_beats(x, fs, "ppg", peer_cache_dir())["HeartPy"][0]
    assert first < 1.0
    batch = waveform_peaks(x, fs, "ppg")
    assert abs(batch.idx[0] / fs - first) < 0.15
    assert np.array_equal(streamed(x, fs, "ppg", 0, int(fs)).idx, batch.idx)


def test_a_last_pulse_whose_block_is_still_open_at_the_end_is_found():
    """Systole's PPG ends 0.1 s after its last pulse's peak, before the energy falls back
    under the threshold: the block still open at the end is closed by finish()."""
    x, fs = record_data(need("systole-ppg"))
    x = x[-int(30 * fs):]
    last = reference(peer_beats(x, fs, "ppg", peer_cache_dir()))[-1]
    assert len(x) / fs - last < 0.3
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    assert abs(ours[-1] - last) < 0.15


def test_ppg_ripples_on_troughs_are_not_beats():
    """pyphysio's BVP, moving in its second half: 31 of our beats sat on ripples in the
    troughs (F1 0.853 against NeuroKit2's 0.922, HR +4.5 bpm; then read at 1024 Hz). A
    pulse rises to its peak."""
    ref, ours, best = _ours_and_best_peer("pyphysio-bvp")
    assert beat_match(ref, ours).f1 >= best


def test_ppg_heart_rate_on_the_moving_bvp_is_within_1_5_bpm():
    """pyphysio's BVP at its true rate (2048 Hz): 6 pulses weakened in the moving stretch
    62-71 s and at 115 s were missed (under the height gate against motion-tall heights, or
    their raw peak past the refine window): HR -2.1 bpm."""
    ref, ours, _ = _ours_and_best_peer("pyphysio-bvp")
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_small_pulses_in_a_steady_rhythm_on_systoles_ppg_are_found():
    """Systole's PPG: 12 pulses a third of the recent height, in their place in the rhythm
    (115.9, 118.7, 119.6, 153-155 s...), fell under the height gate: F1 0.981 < NeuroKit2's
    0.984, HR -1.8 bpm."""
    ref, ours, best = _ours_and_best_peer("systole-ppg")
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_a_loose_sensors_flickering_flat_line_gives_no_pulses():
    """HeartPy's data2.csv: the loose sensor's flat line (7.5-14 s, 510-518 ADC units) once
    gave a 'pulse' a second on 3-6 unit flickers (the energy detector is blind to scale):
    F1 0.831 against NeuroKit2's 0.851, HR +8.5 bpm."""
    x, fs = record_data(need("heartpy-data2"))
    flat = x[int(7.5 * fs):int(14 * fs)]
    assert flat.max() - flat.min() < 10  # (the stretch really is flat)
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    assert not np.any((ours > 7.5) & (ours < 14))
    ref, ours, best = _ours_and_best_peer("heartpy-data2")
    assert beat_match(ref, ours).f1 >= best


def test_after_the_loose_start_of_heartpy_data2_ours_meets_the_goal():
    """data2.csv: HR -4.4 bpm against the whole record's consensus, which votes beats in the
    loose sensor's first 45 s (two where the signal sits flat at 0, 18-25 s). From 45 s on
    (every detector and the consensus cut alike, a peer against the others'), ours has the
    best F1 and its count-based HR is within 1.5 bpm (its shown HR is not: test below); the
    page (LOOSE_S) says so with these figures."""
    from empathy.edge.heart_page import LOOSE_S, plausible_section

    rec = need("heartpy-data2")
    x, fs = record_data(rec)
    t0 = LOOSE_S[rec.name]
    peers = peer_beats(x, fs, rec.kind, peer_cache_dir())
    k = int(0.15 * fs)  # (no change within ±150 ms: no pulse there)
    flat = [t for t in reference(peers) if t < t0 and np.ptp(x[int(t * fs) - k:int(t * fs) + k + 1]) == 0]
    assert len(flat) >= 2
    cut = {n: b[b >= t0] for n, b in peers.items() if b is not None}
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    ours = ours[ours >= t0]
    ref = reference(cut)
    assert abs(bpm(ours) - bpm(ref)) <= 1.5
    for n, b in cut.items():
        assert beat_match(ref, ours).f1 >= beat_match(reference(cut, leave_out=n), b).f1, n
    page = "\n".join(plausible_section([score_record(rec)]))
    assert f"HR err {bpm(ours) - bpm(ref):+.1f} counted" in page


def test_after_the_loose_start_of_heartpy_data2_the_page_gives_the_shown_hr_too():
    """The goal is read on the HR `signal hr` shows (issue 19's twenty-fourth pass), but the
    loose-start paragraph gave only the count-based error (ours -1.5 bpm: 'within 1.5').
    By the shown HR ours reads -2.9 there: the consensus's intervals as found hold waves
    that are no pulse (62.28 s, a bump 0.48 s after a pulse; 78.54, 78.78 and 79.70 s, motion
    between pulses 0.97 s apart), and the page must say so, for every detector alike."""
    from empathy.edge.heart_page import LOOSE_S, plausible_section

    rec = need("heartpy-data2")
    t0 = LOOSE_S[rec.name]
    r = score_record(rec)
    cut = {n: b[b >= t0] for n, b in r["beats"].items() if b is not None}
    peers = {n: b for n, b in cut.items() if n != "ours"}
    page = "\n".join(plausible_section([r]))
    for n, b in cut.items():
        ref = reference(peers, leave_out="" if n == "ours" else n)
        err = shown_rate(b, None, False) - shown_rate(ref, None, False, truth=True)
        said = page.split(f"{n} F1 {beat_match(ref, b).f1:.3f}", 1)[1].split(";")[0]
        assert f"HR err {bpm(b) - bpm(ref):+.1f} counted, {err:+.1f} shown" in said, n
    ours_err = shown_rate(cut["ours"], None, False) - shown_rate(reference(peers), None, False, truth=True)
    assert ours_err < -1.5  # (the figure the paragraph must not hide)


@pytest.mark.xfail(strict=True, reason="data3.csv: HR -2.0 bpm against the consensus (-2.0 "
                   "before issue 19's twelfth pass found 2 pulses after drop-outs, -1.9 "
                   "after; the fourteenth pass's filter restart after a drop-out lost 2 "
                   "again, 155.24 and 155.85 s); 23 of "
                   "our 25 'misses' are consensus beats 0.18-0.31 s from a neighbour that "
                   "only NK2 MSPTDfast (F1 0.71, 172 bpm here) and HeartPy found: a second "
                   "wave, not a pulse, at ~98 bpm (test below); open as the goal is written")
def test_ppg_heart_rate_on_the_clipped_logger_is_within_1_5_bpm():
    ref, ours, _ = _ours_and_best_peer("heartpy-data3")
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_plausible_rate_counts_only_the_references_plausible_stretches():
    ref = np.arange(0, 60, 0.8)
    assert plausible_rate(ref, ref + 0.05)[:2] == pytest.approx((75.0, 75.0))
    doubled = np.sort(np.append(ref, ref[10] + 0.2))  # a second wave 200 ms after a pulse
    gap = np.delete(ref, [30, 31])  # two pulses the reference missed
    for r in (doubled, gap):
        hr_ref, hr_ours, kept = plausible_rate(r, ref)
        assert abs(hr_ours - hr_ref) < 0.2 and abs(bpm(r) - bpm(ref)) > 0.9 and kept < 1
    assert plausible_rate(ref, ref[::2])[1] == pytest.approx(37.5)  # half the beats missed


def test_the_clipped_loggers_consensus_holds_second_waves_and_ours_is_right_between():
    """data3.csv: the consensus has 28 intervals under 300 ms at a median of 607 ms; in each
    pair, the beat fewer peers found was found by NK2 MSPTDfast and HeartPy only. Over the
    consensus's plausible stretches our HR is within 1.5 bpm."""
    rec = need("heartpy-data3")
    x, fs = record_data(rec)
    peers = peer_beats(x, fs, rec.kind, peer_cache_dir())
    ref = reference(peers)
    short = np.flatnonzero(np.diff(ref) < 0.3)
    assert len(short) >= 20 and np.median(np.diff(ref)) > 0.55
    for i in short:
        found = [{n for n, b in peers.items() if b is not None
                  and np.min(np.abs(b - t)) <= 0.15} for t in ref[i:i + 2]]
        assert "NeuroKit2" not in min(found, key=len)
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    hr_ref, hr_ours, _ = plausible_rate(ref, ours)
    assert abs(hr_ours - hr_ref) <= 1.5
    # by the shown HR too (the goal's): the consensus less each pair's fewer-voted beat
    # (24 of them) reads 96.7 bpm, ours 96.9; with them 98.8
    votes = [sum(np.min(np.abs(b - t)) <= 0.15 for b in peers.values() if b is not None)
             for t in ref]
    waves = {i + int(votes[i + 1] < votes[i]) for i in short}
    mended = np.delete(ref, sorted(waves))
    assert abs(shown_rate(ours, None, False) - shown_rate(mended, None, False, truth=True)) <= 1.5
    assert shown_rate(ref, None, False, truth=True) - shown_rate(ours, None, False) > 1.5


def test_a_pulse_back_after_the_loggers_drop_out_is_found():
    """data3.csv drops to 0 now and then (226.5-226.9 s, 594.6-594.8 s, 169.0-169.6 s);
    the first pulse back (227.1 s, 595.1 s, 169.8 s; all three peers found them) rides the
    steep return, where the band-passed peak comes early and the raw peak lay past the
    refine window: refused as a slope (HR -2.3 bpm, 28 'misses'). After a flat run at the
    floor it is looked for as far as a search-back beat's."""

    x, fs = record_data(need("heartpy-data3"))
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    for t in (227.12, 595.10, 169.82):
        assert np.min(np.abs(ours - t)) <= 0.05, t
    x = x[int(215 * fs):int(240 * fs)]  # and in chunks of any size, the same
    assert np.array_equal(streamed(x, fs, "ppg", 2, int(fs)).idx,
                          waveform_peaks(x, fs, "ppg").idx)


def test_regular_clipped_ppg_is_not_called_ectopic_or_lost_contact(tmp_path):
    """HeartPy's data3.csv: RR 527-666 ms with no step over 20 %; it once said 54 ectopic
    and 'lost contact' in 4 windows of 5."""
    x, fs = record_data(need("heartpy-data3"))
    b = waveform_peaks(x, fs, "ppg")
    s = heart_summary(b.idx / fs, b.sqi, len(x) / fs)
    assert s["heartbeat"] and s["lost_contact_s"] == 0.0
    assert sum(w["issue"] == "lost contact" for w in s["windows"]) == 0
    assert sum(w["issue"] != "" for w in s["windows"]) <= 0.1 * len(s["windows"])
    assert s["ectopic"] < 0.02 * len(b.idx)


@pytest.mark.parametrize("name", ["systole-ecg", "bsn-ecg-supine", "noise-detector-clean",
                                  "pyphysio-ecg", "bsn-ecg-200hz"])
def test_a_record_cut_just_after_an_r_peak_keeps_that_beat(name):
    """Tuning records cut 30-150 ms after an R peak: the QRS is complete but the energy block
    around it is still open and shorter than a beat's (it once was refused as too short up
    to ~60 ms after the R peak). The held-out record with that miss is not used here."""
    x, fs = record_data(need(name))
    x = x[:int(30 * fs)]
    full = waveform_peaks(x, fs, "ecg").idx
    tol = int(0.05 * fs)
    for r in full[3:-1][::max(1, len(full) // 4)]:
        for off_ms in (30, 45, 60, 80, 100, 150):
            got = waveform_peaks(x[:r + int(off_ms * fs / 1000)], fs, "ecg").idx
            assert len(got) and abs(got[-1] - r) <= tol, (r / fs, off_ms)
            assert np.abs(full[:, None] - got[-3:]).min(axis=0).max() <= tol, (r / fs, off_ms)


@pytest.mark.parametrize("name", ["systole-ecg", "pyphysio-ecg", "noise-detector-clean",
                                  "mitdb-104", "mitdb-119", "systole-ppg", "pyphysio-bvp",
                                  "heartpy-data3"])
def test_a_record_cut_anywhere_gets_no_beat_the_whole_record_has_not(name):
    """Cut at 25 random places (T waves, muscle noise, a pulse's upstroke): what finish()
    makes of the cut-off end is a beat of the whole record or nothing."""
    rec = need(name)
    x, fs = record_data(rec)
    x = x[:int(45 * fs)]
    full = waveform_peaks(x, fs, rec.kind).idx
    for cut in np.random.default_rng(1).integers(int(5 * fs), len(x), 25):
        got = waveform_peaks(x[:cut], fs, rec.kind).idx
        tail = got[got > cut - 3 * fs]
        assert not len(tail) or np.abs(full[:, None] - tail).min(axis=0).max() <= 0.05 * fs, \
            (cut / fs, tail / fs)
        before = full[(full > cut - 3 * fs) & (full < cut - 0.2 * fs)]  # all settled
        assert not len(before) or np.abs(got[:, None] - before).min(axis=0).max() <= 0.05 * fs


@pytest.mark.parametrize("what", ["flat", "noise", "pupil"])
def test_no_heartbeat_is_said_and_exits_non_zero(tmp_path, what):
    f = tmp_path / "x.csv"
    if what == "flat":
        np.savetxt(f, np.full(3000, 512.0))
    elif what == "noise":
        np.savetxt(f, np.random.default_rng(0).normal(0, 1, 3000))
    else:
        t = np.arange(0, 60, 1 / 30)
        np.savetxt(f, np.column_stack([t, 4 + 0.3 * np.sin(t / 5)]), delimiter=",",
                   header="time_s,pupil_mm", comments="")
    for kind in ("ppg", "ecg"):
        r = _cli("hr", str(f), "--fs", "100" if kind == "ppg" else "250", "--kind", kind)
        if what == "pupil":  # its column is named: refused before any beat is sought
            assert r.returncode == 1 and "pupil diameter" in r.stderr, (kind, r.stderr)
        else:
            assert r.returncode == 3 and "no heartbeat found" in r.stderr, (kind, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""


def test_injected_artefacts_in_a_real_rr_series_are_found_and_mended():
    rr, _ = record_data(need("pyhrv-nni-long"))
    out = injection_trial(rr, seed=1)
    ours = out["ours"]
    assert ours["tp"] / ours["pos"] >= 0.96
    assert ours["rmssd_err"] < 0.05 < out["raw_rmssd_err"]


def test_corrector_is_causal_streaming_equals_batch_and_never_revises():
    rng = np.random.default_rng(3)
    rr = 800 + 30 * np.sin(np.arange(400) / 4) + rng.normal(0, 10, 400)
    rr[100], rr[101] = 500, 1100  # an ectopic beat
    rr[200] = 1600  # a missed beat
    c = RRCorrector()
    streamed = []
    for k, v in enumerate(rr):
        got = c.push(v)
        # decided two intervals later, not before (an ectopic pair's second goes out with
        # its first: both become their mean)
        assert all(o.index <= k - 2 or (o.index == k - 1 and o.label == "ectopic") for o in got)
        streamed += got
    streamed += c.finish()
    batch = rr_correct(rr)
    assert np.allclose([o.rr_ms for o in streamed], batch.rr_ms)
    assert {i for i, _ in batch.artefacts} & {100, 101} and (200, "missed") in batch.artefacts
    assert len(batch.rr_ms) == len(rr) + 1


def test_signal_hrv_json_from_rr_and_from_a_waveform(tmp_path):
    rr = np.array([800, 810, 790, 805, 795, 800, 790, 805, 815, 800, 795, 805, 790, 800,
                   520, 1080, 800, 805, 795, 810, 800, 790, 805, 1610, 800, 790,
                   805, 800, 810, 795, 800, 805.0])
    f = tmp_path / "rr.csv"
    np.savetxt(f, rr, header="rr_ms", comments="", fmt="%.0f")
    r = _cli("hrv", str(f), "--kind", "rr", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"rr_ms", "artefacts", "rmssd_ms", "sdnn_ms", "pnn50", "ectopic"} <= set(out)
    assert {a["index"] for a in out["artefacts"]} & {14, 15}  # the premature beat
    assert {"index": 23, "type": "missed"} in out["artefacts"]
    assert len(out["rr_ms"]) == len(rr) + 1 and max(out["rr_ms"]) < 1000
    text = _cli("hrv", str(f), "--kind", "rr")
    assert text.returncode == 0 and "RMSSD" in text.stdout and "missed" in text.stdout
    g = tmp_path / "bad.csv"
    g.write_text("rr_ms\n800\n-5\n810\n")
    bad = _cli("hrv", str(g), "--kind", "rr")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "200..10000" in bad.stderr
