"""What issue 19 found on real arrhythmic ECG: annotated tuning and held-out excerpts match
the best peer and the rate; paced, premature and interpolated complexes, interference,
electrode motion, streaming equal to batch."""


import numpy as np
import pytest

from empathy.edge.beat_score import beat_match, bpm, peer_beats, reference
from empathy.edge.ecg_stress import stress_cases
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (annotated_beats, beat_labels, peer_cache_dir, record,
                                       record_data)
from corpus_records import need
from streamed import streamed
from heart_corpus_common import (ours_and_best_peer, MITDB_TUNING, ELEVENTH_TUNING,
                                 ELEVENTH_HELD_OUT, TWELFTH_TUNING, QTDB_TUNING, QTDB_HELD_OUT)


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


@pytest.mark.parametrize("name", MITDB_TUNING + ELEVENTH_TUNING + TWELFTH_TUNING + QTDB_TUNING)
def test_annotated_arrhythmic_tuning_ecg_matches_the_best_peer_and_its_rate(name):
    """Against the cardiologists' annotation: paced beats, bigeminy, runs of PVCs, noise."""
    ref, ours, best = ours_and_best_peer(name)
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


@pytest.mark.parametrize("name", ELEVENTH_HELD_OUT + QTDB_HELD_OUT)
def test_held_out_first_minutes_match_the_best_peer_and_their_rate(name):
    """The eleventh pass's held-out first minutes (bundle branch blocks, paced, AF, PVCs,
    sinus rhythm) and the fifteenth's held-out QT Database records (slow VT, 2:1 AV block,
    pre-excitation, ischaemia on V4, an exercise test) and the second batch's (supraventricular
    ectopy, artefacts, ambulatory PVCs and sinus rhythm, ischaemia on V1-V2 and V2-V3), each
    scored once when it was added, before anything was tuned on it."""
    ref, ours, best = ours_and_best_peer(name)
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_paced_beats_are_placed_on_the_spike_not_dropped():
    """MIT-BIH 104 (lead V5, paced): the wide negative wave after the pacing spike holds the
    band-passed energy's peak more than the refine window after the spike, so the raw
    peak fell on the window's edge and 4 clean paced beats were dropped, and 5 more were
    placed on the wave 160-230 ms late (F1 0.971). The raw peak may lie 150 ms before."""
    ref, ours, _ = ours_and_best_peer("mitdb-104")
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
    ref, ours, _ = ours_and_best_peer("mitdb-106")
    assert beat_match(ref, ours).fp == 0


def test_a_small_late_premature_complex_is_a_beat():
    """MIT-BIH 106 at 142.02 s: a narrow PVC a third of the recent heights, 530 ms after the
    last beat (past any T wave), fell under the 0.4 height gate."""
    ref, ours, _ = ours_and_best_peer("mitdb-106")
    t = ref[np.argmin(np.abs(ref - 142.02))]
    assert abs(t - 142.02) < 0.01 and np.abs(ours - t).min() < 0.05


def test_an_interpolated_premature_complex_is_a_beat():
    """MIT-BIH 123 at 166.80 s (tuning): a wide PVC between two sinus beats, 544 ms after
    the last, no pause after it. The short energy average (a trailing window) crosses the
    long one only after the complex's band-passed peak, so the block's own maximum was
    its tail, 0.23 of the recent heights, under the 0.3 late gate."""
    ref, ours, _ = ours_and_best_peer("mitdb-123")
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
    ref, ours, best = ours_and_best_peer("mitdb-101")
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
    ref, ours, _ = ours_and_best_peer("mitdb-101")
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
    ref, ours, _ = ours_and_best_peer("mitdb-106-v1")
    m = beat_match(ref[ref < 60], ours[ours < 60])
    assert (m.fp, m.fn) == (0, 0) and m.tp == np.count_nonzero(ref < 60) > 60
    # (in 5-20 Hz: since the thirteenth pass the stream takes 20-45 Hz there, ecg_band)
    ref, _, _ = ours_and_best_peer("nstdb-118e00")
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
    ref, _, _ = ours_and_best_peer("nstdb-118e06")
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
    ref, ours, best = ours_and_best_peer("nstdb-118e06")
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
    ref, ours, best = ours_and_best_peer("nstdb-118e12")
    m = beat_match(ref, ours)
    assert (m.fp, m.fn) == (0, 0) and abs(bpm(ours) - bpm(ref)) < 0.1
    for name in ("nstdb-118e06", "nstdb-118e00"):
        ref, ours, best = ours_and_best_peer(name)
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
    ref, ours, _ = ours_and_best_peer("mitdb-208")
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
    ref, ours, best = ours_and_best_peer("mitdb-208")
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5
