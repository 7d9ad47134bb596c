"""Noise whose 'beats' pass every beat-time and shape test: an empty PPG sensor drifting (a
random walk as a board's counts) and random spikes in an ECG. The waveform's own evidence
(edge/heart_evidence.py) says no heartbeat; the poorest real hearts keep theirs."""

import subprocess
import sys

import numpy as np
import pytest

from empathy.bench.seat_hrv import seat_stream
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from empathy.edge.heart_evidence import waveform_evidence
from empathy.edge.hrv import heart_summary
from empathy.edge.ppg_boards import board_counts
from empathy.edge.ppg_polarity import oriented
from empathy.wire import Flag
from corpus_records import need


def _random_walk(seed: int, fs: int, clipped: bool) -> np.ndarray:
    """60 s of a random walk as a MAX3010x's counts (the noise grid of the ppgclip pass)."""
    y = board_counts(np.cumsum(np.random.default_rng(seed).normal(0, 1, 60 * fs)), False)
    return np.minimum(y, np.percentile(y, 75)) if clipped else y


def _cli(f, fs, kind):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", str(f), "--fs",
                           str(fs), "--kind", kind], capture_output=True, text=True, timeout=120)


def test_a_random_walk_as_a_ppg_board_s_counts_is_no_heartbeat():
    """40 seeds x 25, 50, 100 Hz, raw and cut at the 75th percentile: 17 of the 120 raw and
    4 of the clipped read 'heartbeat' (quality 0.15-0.22, beats of good shape at 50-80 bpm)
    without the waveform's evidence."""
    said = []
    for seed in range(40):
        for fs in (25, 50, 100):
            for clipped in (False, True):
                x = oriented(_random_walk(seed, fs, clipped), fs)[0]
                b = waveform_peaks(x, fs, "ppg")
                if heart_summary(b.idx / fs, b.sqi, 60.0,
                                 evidence=waveform_evidence(x, fs, b.idx, "ppg"))["heartbeat"]:
                    said.append((seed, fs, clipped))
    assert not said, said


def test_a_random_walk_as_a_ppg_board_s_counts_through_a_seat_gives_no_heart_rate():
    """The same walks (raw) as a seat's PPG, estimates every second: 7 of 120 reached HR_OK
    (seat quality up to 0.39) before the seat asked for the pulse to repeat (PulseTail)."""
    said = [(seed, fs) for seed in range(40) for fs in (25, 50, 100)
            if any(e["flags"] & Flag.HR_OK
                   for _, e, _ in seat_stream(_random_walk(seed, fs, False), fs, 1.0, "ppg"))]
    assert not said, said


def test_signal_hr_says_no_heartbeat_on_a_random_walk_and_on_random_spikes(tmp_path):
    """The two cases `signal hr` passed: a random walk's counts (seed 4 at 100 Hz) and
    tests/test_heart_hrv.py's random spikes, seed 18 at 100 Hz."""
    f = tmp_path / "walk.csv"
    np.savetxt(f, _random_walk(4, 100, False), fmt="%.0f")
    r = _cli(f, 100, "ppg")
    assert r.returncode == 3 and "no heartbeat found" in r.stderr, r.stderr
    rng = np.random.default_rng(18)
    n = 6000
    rng.normal(0, 1, 5 * n)
    f = tmp_path / "spikes.csv"
    np.savetxt(f, rng.normal(0, 1, n) * (rng.random(n) < 0.01) * 20 + rng.normal(0, 1, n))
    r = _cli(f, 100, "ecg")
    assert r.returncode == 3 and "no heartbeat found" in r.stderr, r.stderr


@pytest.mark.parametrize("name", ["mitdb-106-v1", "wrist-s1-low-bike"])
def test_the_poorest_real_hearts_keep_their_heartbeat(tmp_path, name):
    """The tuning records of the lowest quality that hold a heart (0.15 bigeminy on V1; 0.17
    a wrist on a bike): their waveform's evidence agrees (a QRS's extreme has a slope beside
    it; the pulse repeats at its interval, 0.33)."""
    rec = need(name)
    x, fs = record_data(rec)
    f = tmp_path / "x.csv"
    np.savetxt(f, x, fmt="%.5f")
    r = _cli(f, fs, rec.kind)
    assert r.returncode == 0, r.stderr
    assert waveform_evidence(x, fs, waveform_peaks(x, fs, rec.kind).idx, rec.kind)
