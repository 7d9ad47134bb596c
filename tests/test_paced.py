"""A paced rhythm (edge/paced.py): its intervals are a pacemaker's, so no NN HRV from it,
neither from `signal hr`/`signal hrv` nor on the wire (HRV_OK). MIT-BIH 107 (tuning, V1)
is paced throughout: its annotation holds no normal-to-normal interval, yet a seat sent
HRV_OK in 122 of 151 estimates and `signal hr` reported its HRV as a sinus rhythm's."""

import json
import subprocess

import numpy as np
import pytest

from empathy.bench.paced_labels import batch_label, seat_label, synthetic_paced
from empathy.bench.seat_hrv import score_record
from empathy.edge.beat_score import resampled
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from empathy.edge.paced import PacedBeats, spikes
from corpus_records import need
from signal_run import signal


def _cli(capsys, *args) -> subprocess.CompletedProcess:
    """`empathy signal ...` through the CLI's main in this process (its own run spent
    ~1 s of CPU importing); checked as a run in its own process would be."""
    return subprocess.CompletedProcess(args, *signal(capsys, *args))


def test_a_seat_on_a_paced_ecg_sends_no_hrv_ok():
    s = score_record(need("mitdb-107").name, 1.0)
    assert s["hr_ok"] > 0.9 and s["ok_ref_undefined"] == 0, s


def test_signal_hr_and_hrv_say_the_rhythm_is_paced_and_withhold_hrv(tmp_path, capsys):
    x, fs = record_data(need("mitdb-107"))
    f = tmp_path / "ecg.csv"
    np.savetxt(f, x, fmt="%.4f")
    hr = json.loads(_cli(capsys, "hr", str(f), "--fs", str(fs), "--kind", "ecg", "--json").stdout)
    assert hr["paced"] and hr["paced_beats"] > 150 and 65 < hr["bpm"] < 80
    assert hr["rmssd_ms"] is None and hr["sdnn_ms"] is None and hr["pnn50"] is None
    text = _cli(capsys, "hr", str(f), "--fs", str(fs), "--kind", "ecg").stdout
    assert "paced" in text and "RMSSD" not in text and "heart rate" in text
    hrv = json.loads(_cli(capsys, "hrv", str(f), "--fs", str(fs), "--kind", "ecg", "--json").stdout)
    assert hrv["paced"] and not any(hrv["normal"]) and hrv["rmssd_ms"] is None
    text = _cli(capsys, "hrv", str(f), "--fs", str(fs), "--kind", "ecg")
    assert text.returncode == 0 and "paced" in text.stdout and "RMSSD" not in text.stdout


@pytest.mark.parametrize("name", ["mitdb-118", "mitdb-109", "qtdb-sel310", "mitdb-101"])
def test_no_paced_label_where_nothing_is_paced(name):
    """A right bundle-branch rsR' (118: a narrow r 40 ms ahead of R'), a left bundle-branch
    block's wide complexes (109), an exercise test's steady sinus tachycardia (sel310), a
    noisy lead (101): at their own rate and at 130 Hz, neither `signal hr` nor a seat."""
    x, fs = record_data(need(name))
    for f2 in (fs, 130.0):
        y = x if f2 == fs else resampled(x, fs, f2)
        assert not batch_label(y, f2)[0]
        n, paced, _ = seat_label(y, f2)
        assert n > 100 and paced == 0, (f2, n, paced)


def test_synthetic_pacing_is_labelled_and_its_complexes_alone_are_not():
    """Pacing made apart from the detector (bench/paced_labels.synthetic_paced), at 360 Hz
    through a 100 Hz recorder, fixed-rate and tracking a sinus rhythm: 9 of 10 seeds (seed
    0's stimulus, 0.4 of its QRS for 0.4 ms, reaches 0.08 of the complex through that
    band). The same complexes without the stimulus (a wide-complex rhythm, no pacemaker):
    none."""
    got = [batch_label(synthetic_paced(seed, 360.0, tracking=seed % 2 == 1), 360.0)[0]
           for seed in range(10)]
    assert sum(got) >= 9, got
    assert not any(batch_label(synthetic_paced(seed, 360.0, spike=False), 360.0)[0]
                   for seed in range(10))


def test_a_stream_judges_each_beat_as_the_batch_does():
    x, fs = record_data(need("mitdb-107"))
    x = x[:int(40 * fs)]
    idx = waveform_peaks(x, fs, "ecg").idx
    ratio, lag = spikes(x, fs, idx)
    p, rng, i = PacedBeats(fs), np.random.default_rng(0), 0
    while i < len(x):
        n = int(rng.integers(1, int(2 * fs)))
        done = idx[idx < i + n]
        p.push(x[i:i + n], done[done >= i], done[done >= i] * 1e6 / fs)
        i += n
    ok = ~np.isnan(ratio)
    assert np.allclose(p.judged[:, 1], ratio[ok][:len(p.judged)])
    assert len(p.judged) >= ok.sum() - 1


def test_a_step_of_the_clock_moves_the_judged_beats_with_it():
    """A host clock set back 3 s (edge/timebase: the seat keeps detecting): the beats
    judged and pending move onto the new clock, so the window's paced share is read over
    the same beats, not over beats stamped 3 s in its future."""
    x, fs = record_data(need("mitdb-107"))
    x = x[:int(40 * fs)]
    idx = waveform_peaks(x, fs, "ecg").idx
    p = PacedBeats(fs)
    half = int(20 * fs)
    p.push(x[:half], idx[idx < half], idx[idx < half] * 1e6 / fs)
    before = p.judged[:, 0].copy()
    pending = [t for _, t in p.pending]
    p.shift(-3e6)
    assert np.allclose(p.judged[:, 0], before - 3e6)
    assert np.allclose([t for _, t in p.pending], np.array(pending) - 3e6)
    assert p.paced(20e6 - 3e6, 30.0)
