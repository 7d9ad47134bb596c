"""HRV, ectopic intervals, strap RR vs beats, and the `empathy signal` command."""

import json
import subprocess
import sys

import numpy as np
import pytest

from empathy.edge.rr_artefacts import LOOKAHEAD
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from empathy.edge.heart_evidence import waveform_evidence
from empathy.edge.heart_window import HeartWindow
from empathy.edge.hrv import (MIN_QUALITY, Intervals, heart_summary, hrv_time,
                              intervals, rr_normal, steady)
from empathy.edge.signal_sims import pulse_train
from empathy.edge.signal_validation import heartpy_recordings
from corpus_records import need


def test_premature_beat_and_its_pause_are_not_normal_a_new_pace_is_after_a_few_beats():
    rr = np.array([800, 810, 790, 560, 1050, 800, 805, 2500, 800, 802,
                   1000, 1010, 1000, 1005, 990, 1000.0])
    normal = rr_normal(rr, np.ones(len(rr)))
    assert list(np.flatnonzero(~normal)) == [3, 4, 7, 10, 11]
    # the same answer when the intervals arrive in pieces
    pieces = np.concatenate([rr_normal(rr[:5], np.ones(5)), rr_normal(rr[5:], np.ones(11), rr[:5])])
    assert np.array_equal(pieces, normal)
    low_quality = np.ones(len(rr))
    low_quality[1] = 0.2
    assert not rr_normal(rr, low_quality)[1]


def test_hrv_matches_neurokit2_on_the_same_normal_intervals():
    import neurokit2 as nk

    rng = np.random.default_rng(1)
    rr = 850 + np.cumsum(rng.normal(0, 8, 300)) * 0.2 + rng.normal(0, 25, 300)
    beats_ms = np.concatenate(([0.0], np.cumsum(rr)))
    ours = hrv_time(np.diff(beats_ms), np.ones(len(rr), bool))
    ref = nk.hrv_time(nk.intervals_to_peaks(rr, sampling_rate=1000), sampling_rate=1000)
    assert ours["rmssd_ms"] == pytest.approx(float(ref["HRV_RMSSD"].iloc[0]), rel=1e-3)
    assert ours["sdnn_ms"] == pytest.approx(float(ref["HRV_SDNN"].iloc[0]), rel=1e-3)
    assert ours["pnn50"] == pytest.approx(float(ref["HRV_pNN50"].iloc[0]), abs=0.5)


def test_strap_rr_and_waveform_beats_give_the_same_intervals():
    t = np.cumsum(np.full(40, 0.8) + np.sin(np.arange(40)) * 0.03)
    strap, wave = HeartWindow(60), HeartWindow(60)
    for a, b in zip(t[:-1], t[1:]):
        strap.add_rr(int(b * 1e6), (b - a) * 1000)
    wave.add_beats(t[:20] * 1e6, np.ones(20))
    wave.add_beats(t[20:] * 1e6, np.ones(20))
    now = int(np.ceil(t[-1] * 1e6))  # (the wave's last beat, at fractional µs, is not after now)
    a, b = strap.window(now, 30), wave.window(now, 30)
    assert np.allclose(a.rr_ms, b.rr_ms) and np.array_equal(a.normal, b.normal)
    assert strap.hr_bpm(now, 8) == pytest.approx(wave.hr_bpm(now, 8))
    batch = intervals(t)  # the stream gives an interval out once two more have come
    assert np.allclose(batch.rr_ms[-len(a.rr_ms) - LOOKAHEAD:-LOOKAHEAD], a.rr_ms)


def test_heart_window_keeps_only_its_span():
    hw = HeartWindow(keep_s=30)
    for k in range(5000):
        hw.add_rr(int(k * 0.8e6), 800.0)
        if k % 10 == 0:  # the edge unit asks at its send rate
            assert hw.hr_bpm(int(k * 0.8e6), 8) in (0.0, 75.0)
    assert len(hw.ivs.rr_ms) <= 30 / 0.8 + 1 and len(hw.new[0]) < 10


@pytest.mark.parametrize("seed", [351, 424])
def test_noise_from_a_loaded_board_is_no_heart_rate_whatever_its_timing(seed):
    """tests/test_brainflow_source.py's synthetic board once gave a heart rate on a loaded
    machine. Not the chunking (the beats and the quality are the same for any chunks at the
    same moment): under load the board's stamps slip past WAVE_SLIP_S, the detector starts
    again each time, and each start's first few noise 'beats' were judged as a whole
    window. bench/heart_noise.py models the loaded board; these two runs of its first
    2,000 are the ones whose noise reached HR_OK before the fix (quality up to 0.41)."""
    from empathy.bench.heart_noise import seat_run
    from empathy.edge.features import MIN_HEART_QUALITY
    from empathy.wire import Flag

    restarts = 0
    for t_s, est, quality, restarted in seat_run(seed, 12.0):
        assert not (est["flags"] & Flag.HR_OK or est["hr_bpm"]), t_s
        assert quality < MIN_HEART_QUALITY, t_s
        restarts += restarted
    # the stalls did restart the detector (the loop's slow rate no longer does: the stream's
    # time base follows it, edge/timebase.py)
    assert restarts >= 1


def test_a_young_window_of_detected_beats_is_judged_over_the_batch_window():
    """Beats from a waveform: three intervals are no heart rate yet, a few more are. A
    strap's intervals (its own detector) count from its first."""
    beats, strap = HeartWindow(60, min_span_s=10), HeartWindow(60)
    t = np.arange(1, 9) * 0.8e6
    beats.add_beats(t[:4], np.ones(4))
    for a, b in zip(t[:3], t[1:4]):
        strap.add_rr(int(b), (b - a) / 1000)
    assert beats.quality(int(t[3]), 30) < 0.3 <= strap.quality(int(t[3]), 30)
    beats.add_beats(t[4:], np.ones(4))
    assert beats.quality(int(t[-1]), 30) >= 0.3 and beats.hr_bpm(int(t[-1]), 8) == 75.0


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *args],
                          capture_output=True, text=True, timeout=120)


def test_signal_hr_on_a_real_recording_json_and_text(tmp_path):
    name, x, fs = heartpy_recordings()[0]
    f = tmp_path / "ppg.txt"
    np.savetxt(f, x, fmt="%.0f")
    r = _cli("hr", str(f), "--fs", "100", "--kind", "ppg", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"bpm", "beats_s", "rmssd_ms", "sdnn_ms", "quality"} <= set(out)
    assert len(out["beats_s"]) == 24 and 58 < out["bpm"] < 60 and out["quality"] > 0.7
    text = _cli("hr", str(f), "--fs", "100")
    assert text.returncode == 0 and "heart rate" in text.stdout and "RMSSD" in text.stdout


def test_signal_hr_csv_with_time_column_needs_no_rate(tmp_path):
    x, truth = pulse_train(60, 250.0, kind="ecg", seed=1)
    f = tmp_path / "ecg.csv"
    np.savetxt(f, np.column_stack([np.arange(len(x)) * 4.0, x]), delimiter=",",
               header="time_ms,ecg", comments="", fmt="%.5f")
    r = _cli("hr", str(f), "--kind", "ecg", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["fs_hz"] == pytest.approx(250.0)
    assert abs(len(out["beats_s"]) - len(truth)) <= 1


def test_signal_hr_bad_input_is_one_clear_line(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("time,ppg\n0.00,1\n0.01,2\n0.02,oops\n")
    r = _cli("hr", str(f))
    assert r.returncode == 1
    assert r.stderr.strip() == f"empathy signal hr: {f}:4: ppg 'oops' is not a number"
    g = tmp_path / "one.txt"
    g.write_text("1\n2\n3\n")
    r = _cli("hr", str(g))
    assert r.returncode == 1 and "--fs HZ is needed" in r.stderr
    f.write_text("time,ppg\n0.00,1\n0.02,2\n0.01,3\n")
    r = _cli("hr", str(f))
    assert r.returncode == 1 and ":4: time goes backwards" in r.stderr


@pytest.mark.parametrize("kind", ["ecg", "ppg"])
def test_signal_hr_json_on_brainflow_like_noise_says_no_heartbeat(tmp_path, kind):
    """What a board's unconnected input gives: Gaussian noise, 50 Hz mains, a slow swing
    and a random-walk drift at 250 Hz. --json or not, no heart rate comes out of it."""
    fs, rng = 250, np.random.default_rng(7)
    t = np.arange(0, 60, 1 / fs)
    x = (rng.normal(0, 20, len(t)) + 30 * np.sin(2 * np.pi * 50 * t)
         + 200 * np.sin(2 * np.pi * 0.05 * t) + np.cumsum(rng.normal(0, 2, len(t))))
    f = tmp_path / "brainflow_noise.csv"
    np.savetxt(f, x)
    r = _cli("hr", str(f), "--fs", "250", "--kind", kind, "--json")
    assert r.returncode == 3 and r.stdout == "", (r.returncode, r.stdout[:200])
    assert "no heartbeat found" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_heart_summary_of_no_beats_is_zeros_not_a_crash():
    s = heart_summary(np.zeros(0), np.zeros(0), 30.0)
    assert s["bpm"] == 0.0 and s["quality"] == 0.0 and s["rmssd_ms"] == 0.0


def test_bigeminy_is_a_heartbeat_not_a_poor_signal():
    """A heart in bigeminy has few normal intervals: the coupling interval and the pause
    after each PVC are both far from their median. MIT-BIH 106's V1 (tuning; bigeminy,
    multiform PVCs, a muscle-noise burst) read quality 0.12 by normal intervals alone, under
    MIN_QUALITY, and `signal hr` said 'no heartbeat found' (exit 3); MIT-BIH 119 (tuning;
    bigeminy and trigeminy) read 0.26, under the seats' heart gate (0.3). A steady two-beat
    cycle now counts as covered in an ECG: 0.15 and 0.59."""
    for name, least in (("mitdb-106-v1", MIN_QUALITY), ("mitdb-119", 0.3)):
        x, fs = record_data(need(name))
        b = waveform_peaks(x, fs, "ecg")
        s = heart_summary(b.idx / fs, b.sqi, len(x) / fs, cycles=True)
        assert s["heartbeat"] and s["quality"] >= least, (name, s["quality"])


def test_a_steady_two_beat_cycle_is_steady_and_a_random_one_mostly_not():
    rr = np.array([500.0, 1100.0] * 10)
    iv = Intervals(np.cumsum(rr) / 1000, rr, np.zeros(len(rr), bool), np.ones(len(rr)))
    assert steady(iv)[2:-1].all()
    rr = np.random.default_rng(3).uniform(400, 1400, 200)  # by chance: a few
    iv = Intervals(np.cumsum(rr) / 1000, rr, np.zeros(len(rr), bool), np.ones(len(rr)))
    assert steady(iv).mean() < 0.2


def test_no_interval_at_an_ectopic_beat_is_nn():
    """An interval that begins or ends at a labelled ectopic beat is no NN interval, even
    where the 20 % rule would let it through (bigeminy's median sits between the coupling
    interval and the pause: MIT-BIH 106's V1 kept some of both)."""
    from empathy.edge.hrv import _touching  # (nn = normal less these)
    beat_s = np.cumsum([0.8] * 6)  # beats at 0.8 ... 4.8 s
    iv = intervals(beat_s)
    hit = _touching(iv, beat_s, [(2, "ectopic")])  # the beat at 3.2 s (interval 2 ends there)
    assert hit.tolist() == [False, False, True, True, False]
    assert not _touching(iv, beat_s, [(2, "missed")]).any()


# Seeds 9, 16 and 18: 5 of the 23 cases that read 'heartbeat' with neither the short-interval
# rule (hrv.spiky) nor the evidence (measured in session 24), at each rate, and seed 18 at
# 100 Hz (the evidence's); the whole grid is slow (35 ms a case: 4 CPU-s)
@pytest.mark.parametrize("seeds", [pytest.param([9, 16, 18], id="sample"),
                                   pytest.param(range(40), id="all", marks=pytest.mark.slow)])
def test_random_spikes_in_an_ecg_are_no_heartbeat(seeds):
    """Random spikes (1 % of samples, 20x the noise) band-pass into beats of one shape (the
    filter's impulse response): shape quality is high and Poisson intervals now and then
    look regular. They said 'heartbeat' in 18 of these 120 cases; a real heart (every
    tuning record, ECG and PPG) has at most one interval under 300 ms. Seed 18 at 100 Hz
    passed that too (quality 0.176, as MIT-BIH 106's V1): its raw extremes are lone
    samples (heart_evidence, as `signal hr` passes it)."""
    said = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for fs in (100, 250, 360):
            n = 60 * fs
            rng.normal(0, 1, 5 * n)  # the grid drew white, mains and pink noise first
            x = rng.normal(0, 1, n) * (rng.random(n) < 0.01) * 20 + rng.normal(0, 1, n)
            b = waveform_peaks(x, fs, "ecg")
            if heart_summary(b.idx / fs, b.sqi, 60.0, cycles=True,
                             evidence=waveform_evidence(x, fs, b.idx, "ecg"))["heartbeat"]:
                said.append((seed, fs))
    assert not said, said


def test_signal_hrv_counts_no_interval_at_an_ectopic_beat_as_nn(tmp_path):
    """`signal hrv` reports the NN intervals `signal hr`'s HRV uses: on MIT-BIH 106's V1
    (tuning; bigeminy) no interval beside a beat labelled ectopic is 'normal' (it once
    reported the corrected series' 20 % rule as is: SDNN 204 ms)."""
    x, fs = record_data(need("mitdb-106-v1"))
    f = tmp_path / "ecg.csv"
    np.savetxt(f, x, fmt="%.4f")
    r = _cli("hrv", str(f), "--fs", str(fs), "--kind", "ecg", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    ect = [a["index"] for a in out["artefacts"] if a["type"] == "ectopic"]
    assert len(ect) > 50
    assert not any(out["normal"][i] for j in ect for i in (j, j + 1)
                   if i < len(out["normal"]))
