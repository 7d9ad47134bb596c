"""Heart beats: streaming = batch, real recordings vs HeartPy, premature beats, artefacts."""

import warnings
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from empathy.edge.heart import FIRST_JUDGED, BeatStream, ecg_peaks, ppg_peaks, waveform_peaks
from empathy.edge.hrv import heart_summary
from empathy.edge.beat_score import heartpy_beats, neurokit_beats
from empathy.edge.signal_sims import pulse_train
from empathy.edge.signal_validation import beat_f1, heartpy_recordings

warnings.filterwarnings("ignore", module="heartpy")


@cache
def _recordings() -> dict:
    return {n: (x, fs) for n, x, fs in heartpy_recordings()}


def rec(name: str):
    """A HeartPy recording, all three read once a test first needs one: read at import, each
    process collecting this file paid ~1.3 CPU-s, whether it ran the file or not."""
    return _recordings()[name]


def _streamed(x, fs, kind, sizes):
    s, parts, i, k = BeatStream(fs, kind), [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        parts.append(s.push(x[i:i + n]))
        i, k = i + n, k + 1
    parts.append(s.finish())
    return (np.concatenate([p.idx for p in parts]), np.concatenate([p.sqi for p in parts]))


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=6))
def test_streaming_gives_the_same_beats_as_batch_whatever_the_chunks(sizes):
    x, fs = rec("data.csv")
    batch = ppg_peaks(x, fs)
    idx, sqi = _streamed(x, fs, "ppg", sizes)
    assert np.array_equal(idx, batch.idx) and np.array_equal(sqi, batch.sqi)


def test_streaming_equals_batch_on_a_long_real_recording_and_on_ecg():
    x, fs = rec("data3.csv")
    batch = ppg_peaks(x, fs)
    assert len(batch.idx) > 1000
    for sizes in ([1, 7, 250], [4096], [70000]):
        idx, sqi = _streamed(x, fs, "ppg", sizes)
        assert np.array_equal(idx, batch.idx) and np.array_equal(sqi, batch.sqi)
    ecg, truth = pulse_train(60, 250.0, kind="ecg", premature_every=5, seed=2)
    b = ecg_peaks(ecg, 250.0)
    assert np.array_equal(_streamed(ecg, 250.0, "ecg", [33, 400])[0], b.idx)
    short = ecg[:int(6 * 250)]  # shorter than the ECG band's calibration (ecg_band.CAL_S)
    assert np.array_equal(_streamed(short, 250.0, "ecg", [33, 400])[0], ecg_peaks(short, 250.0).idx)
    assert len(ecg_peaks(short, 250.0).idx) >= 5


def test_beats_come_out_within_the_documented_latency():
    x, truth = pulse_train(40, 100.0, seed=1)
    s = BeatStream(100.0, "ppg")
    late = []
    for i in range(len(x)):
        for b in s.push(x[i:i + 1]).idx:
            late.append((i + 1 - b) / 100.0)
    # the stream's first beats wait for the FIRST_JUDGED-th; after that, latency_s holds
    assert len(late) > 40 and max(late[FIRST_JUDGED:]) <= s.latency_s
    assert max(late[:FIRST_JUDGED]) <= FIRST_JUDGED * 60 / 40 + s.latency_s
    assert len(s.x) <= s.hist and len(s.y) <= s.hist  # bounded history, whatever came before


def test_a_small_wave_just_before_a_pulse_does_not_shut_the_pulse_out():
    # data3.csv has pulses with a smaller wave 0.28-0.30 s before them (within the refractory
    # time); HeartPy and NeuroKit2 agree on the pulse, and so must we.
    x, fs = rec("data3.csv")
    ours = ppg_peaks(x, fs).idx / fs
    hp, nk = heartpy_beats(x, fs), neurokit_beats(x, fs, "ppg")
    for t in (302.02, 429.53, 640.72):
        assert np.abs(hp - t).min() < 0.02 and np.abs(nk - t).min() < 0.02
        assert np.abs(ours - t).min() <= 0.05, t
        assert not np.any((ours > t - 0.35) & (ours < t - 0.1)), t  # not the small wave


def test_a_missed_small_pulse_is_found_by_searching_the_gap_again():
    # data3.csv: a small pulse on a falling baseline at 536.14 s makes no energy block, and
    # one at 170.39 s, just after a dropout, is under the height gate; the tools agree on
    # both, and the gap they leave (about two beats) is searched again.
    x, fs = rec("data3.csv")
    ours = ppg_peaks(x, fs).idx / fs
    for t in (170.39, 536.14):
        assert np.abs(ours - t).min() <= 0.02, t
    s = BeatStream(fs, "ppg")
    s.push(x)
    assert 1 <= s.searched <= 30  # a rescue, not the way most beats are found (~1100)


def test_clean_real_recording_matches_heartpy_and_neurokit():
    x, fs = rec("data.csv")
    ours = ppg_peaks(x, fs).idx / fs
    hp, nk = heartpy_beats(x, fs), neurokit_beats(x, fs, "ppg")
    assert beat_f1(ours, hp) == 1.0 and beat_f1(ours, nk) == 1.0
    s = heart_summary(ours, np.ones(len(ours)), len(x) / fs)
    assert abs(s["bpm"] - 60 / np.mean(np.diff(hp))) < 1.0


def test_premature_beats_are_found_and_kept_out_of_hrv():
    for kind, fs in (("ppg", 100.0), ("ecg", 250.0)):
        x, truth = pulse_train(120, fs, kind=kind, premature_every=6, seed=4)
        b = waveform_peaks(x, fs, kind)
        assert beat_f1(b.idx / fs, truth) >= 0.98
        s = heart_summary(b.idx / fs, b.sqi, len(x) / fs)
        rr = np.diff(truth) * 1000
        # one in six is bigeminy-like: the corrector's thresholds take it in, the NN rule not
        assert s["ectopic"] + s["artefacts_corrected"] <= len(truth) // 6
        # every beat counts for HR; SDNN over NN stays near the normal rhythm's, far below all RR's
        assert abs(s["bpm"] - 60 / np.mean(np.diff(truth))) < 2.5  # a few premature beats missed
        assert s["sdnn_ms"] < 0.5 * np.std(rr, ddof=1)


def test_motion_artefacts_are_flagged_by_quality_not_turned_into_wild_heart_rate():
    x, truth = pulse_train(120, 100.0, motion=((40, 60),), seed=3)
    b = ppg_peaks(x, 100.0)
    s = heart_summary(b.idx / 100.0, b.sqi, 120.0)
    q = {w["t0_s"]: w["quality"] for w in s["windows"]}
    assert q[40.0] < 0.3 and q[50.0] < 0.3
    assert all(q[t] > 0.6 for t in (10.0, 20.0, 80.0, 90.0, 100.0))
    clean = (b.idx / 100.0 < 39) | (b.idx / 100.0 > 62)
    assert beat_f1(b.idx[clean] / 100.0, truth[(truth < 39) | (truth > 62)]) >= 0.99


def test_flat_and_clipped_stretches():
    x, truth = pulse_train(60, 100.0, seed=6)
    flat = x.copy()
    flat[2000:4000] = flat[2000]  # the sensor lost contact: a flat line
    b = ppg_peaks(flat, 100.0)
    t = b.idx / 100.0
    assert not np.any((t > 21) & (t < 39))
    s = heart_summary(t, b.sqi, 60.0)
    assert [w["quality"] for w in s["windows"]][2] == 0.0
    top = np.percentile(x, 93)
    cut = ppg_peaks(np.minimum(x, top), 100.0)  # tops clipped by the ADC's range
    assert beat_f1(cut.idx / 100.0, truth) >= 0.97
    # a clipped top still marks the beat (its shape is not all seen), but a pulse that
    # matches the ones before it keeps hrv.SQI_MIN: its timing holds (CLIP_PPG)
    from empathy.edge.heart_method import CLIP_PPG
    from empathy.edge.hrv import SQI_MIN

    q = np.median(cut.sqi)
    assert SQI_MIN <= q <= CLIP_PPG < 0.9 < np.median(ppg_peaks(x, 100.0).sqi)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="NaN"):
        ppg_peaks(np.array([1.0, np.nan, 2.0]), 100.0)
    with pytest.raises(ValueError, match="need 60..5000 Hz"):
        BeatStream(30.0, "ecg")
    with pytest.raises(ValueError, match="unknown waveform kind"):
        BeatStream(100.0, "eeg")
    assert len(ppg_peaks(np.zeros(0), 100.0).idx) == 0
    # an ECG stream finished with no samples (a seat unplugged at once) has no beats; the
    # band switch choosing on what came indexed the first of none
    for fs in (128.0, 360.0):
        assert len(ecg_peaks(np.zeros(0), fs).idx) == 0


def test_ecg_beats_are_not_moved_onto_motion_spikes_before_the_r_wave():
    """The raw R peak may lie up to 150 ms before the filtered one (a pacing spike; issue
    19's sixth pass), but on the simulated ECG with motion that reach put beats on motion
    spikes just before the R wave: F1 at 50 ms fell from 0.898 to 0.874 (seed 5, the case
    in docs/signal-validation.md), 0.892 over seeds 1-8. A peak found only that far back
    must stand 1.5 times the usual window's."""
    f1 = []
    for seed in (1, 5, 8):
        x, truth = pulse_train(fs=250.0, kind="ecg", seed=seed, motion=((40, 55), (80, 90)))
        f1.append(beat_f1(ecg_peaks(x, 250.0).idx / 250.0, truth))
    assert f1[1] >= 0.898
    assert np.mean(f1) >= 0.9


def test_a_tall_spike_before_the_qrs_is_the_beat_a_small_one_is_not():
    """A pacing spike twice the QRS's height 120 ms before it is where the beat is; a
    spike at 1.2 times the R wave's height, as tall as a motion transient, is not."""
    fs, rr = 360.0, 0.8
    t = np.arange(int(30 * fs)) / fs
    beats = np.arange(1.0, 29.0, rr)
    for spike, on_spike in ((2.0, True), (1.2, False)):
        x = np.zeros_like(t)
        for b in beats:
            x += np.exp(-0.5 * ((t - b) / 0.03) ** 2)  # a wide complex
            x[int(round((b - 0.12) * fs))] += spike  # one sample: a spike
        got = ecg_peaks(x, fs).idx / fs
        want = beats - 0.12 if on_spike else beats
        assert beat_f1(got, want, 0.02) >= 0.95, spike
