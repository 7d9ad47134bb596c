"""The accelerometer-aware heart-rate tracker (edge/ppg_track.py) and the beats it guides
while the hand moves (edge/ppg_guide.py): on a pulse of known rate under a step-rate
artefact, on a real wrist tuning record, batch against streaming, a still hand unchanged."""

import subprocess
import sys

import numpy as np
import pytest

from empathy.edge.beat_score import lagged_match, span_rate
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (annotated_beats, motion_axes, record_data, trusted_spans)
from empathy.edge.ppg_guide import GuidedPpg, guided_beats
from empathy.edge.ppg_motion_validation import track_error
from empathy.edge.ppg_track import HrTracker, track_hr
from corpus_records import need

FS = 100.0


def _pulse(t, beats):
    """A pulse train of our own (not sim/'s): a systolic wave and a smaller late one."""
    x = np.zeros(len(t))
    for b in beats:
        x += np.exp(-0.5 * ((t - b - 0.12) / 0.07) ** 2)
        x += 0.35 * np.exp(-0.5 * ((t - b - 0.38) / 0.09) ** 2)
    return x


def _walk(seconds=60.0, hr=(72.0, 90.0), step_hz=1.9, seed=0):
    """A heart whose rate rises along hr under an arm swing at step_hz (and its half and
    second harmonic) as tall as the pulse; the accelerometer's three axes (mG) swing
    with the arm. Returns ppg, axes, the true beats and the true rate per sample."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    rate = np.interp(t, [0, seconds], hr)
    beats = np.flatnonzero(np.diff(np.floor(np.cumsum(rate / 60.0 / FS)))) / FS
    swing = (np.sin(2 * np.pi * step_hz * t) + 0.5 * np.sin(np.pi * step_hz * t + 1.0)
             + 0.3 * np.sin(4 * np.pi * step_hz * t + 0.4))
    ppg = _pulse(t, beats) + 0.6 * swing + 0.05 * rng.standard_normal(len(t))
    axes = np.column_stack([1000.0 + 300.0 * swing, -150.0 * swing, 80.0 * swing])
    axes += 5.0 * rng.standard_normal(axes.shape)
    return ppg, axes, beats, rate


def test_the_tracker_follows_the_heart_not_the_steps():
    ppg, axes, _, rate = _walk()
    end, hr, moving, _ = track_hr(ppg, FS, axes)
    truth = rate[(end * FS).astype(int) - 1]
    assert moving.all() and len(end) == 27
    assert np.mean(np.abs(hr - truth)) < 3.0 and np.max(np.abs(hr - truth)) < 6.0
    # without the accelerometer the same spectrum's tallest peak is the arm's: the
    # accelerometer, not the test's pulse, is what keeps it on the heart
    _, bare, _, _ = track_hr(ppg, FS)
    assert np.mean(np.abs(bare - 60 * 1.9)) < 3.0


def test_a_sway_under_the_band_does_not_lock_the_tracker_at_its_edge():
    """The lock-on seen on the held-out bike ride (issue 19's twelfth pass): a first
    estimate on the band's edge (42 bpm, where a slow sway's skirt is tallest) that the
    continuity prior then never left. The first estimate is a true peak now."""
    ppg, axes, _, rate = _walk(hr=(80.0, 84.0))
    t = np.arange(len(ppg)) / FS
    ppg = ppg + 3.0 * np.sin(2 * np.pi * 0.6 * t)  # 36 bpm: under the band
    end, hr, _, sure = track_hr(ppg, FS, axes)
    truth = rate[(end * FS).astype(int) - 1]
    assert np.mean(np.abs(hr - truth)) < 3.0 and sure.mean() > 0.8


def test_the_tuning_ride_with_a_sway_under_the_band_keeps_its_error():
    """The same lock-on on a real tuning record: s1-low-bike with a 36-bpm sway as tall as
    its PPG added. The previous tracker started and stayed at 42 bpm (32 bpm off per
    window); this one starts on the heart's peak and keeps the bare record's error."""
    rec = need("wrist-s1-low-bike")
    x, fs = record_data(rec)
    ref, spans = annotated_beats(rec, len(x), fs), trusted_spans(rec)
    sway = np.std(x) * np.sin(2 * np.pi * 0.6 * np.arange(len(x)) / fs)
    assert track_error(x + sway, fs, motion_axes(rec), ref, spans)["mae_bpm"] < 3.0
    assert track_hr(x + sway, fs, motion_axes(rec))[1][0] > 60.0


def test_the_tracker_is_not_confident_on_the_arm_swing():
    """s1-walk (tuning): after its first windows the tracked rate sits on the arm swing's
    peak (the ECG there says 56-59 bpm where it is readable); it must not be reported as
    a confident rate (the seat's motion_report gives none then)."""
    rec = need("wrist-s1-walk")
    x, fs = record_data(rec)
    end, hr, _, sure = track_hr(x, fs, motion_axes(rec))
    assert not sure[end >= 14].any() and sure[end < 14].all()


def test_guided_beats_follow_the_pulse_under_the_steps():
    ppg, axes, beats, _ = _walk(seed=1)
    got = guided_beats(ppg, FS, axes)[0] / FS
    spans = np.array([[10.0, 58.0]])
    ours, _ = lagged_match(beats, got, spans)
    det, _ = lagged_match(beats, waveform_peaks(ppg, FS, "ppg").idx / FS, spans)
    assert ours.f1 >= 0.8 and ours.f1 > det.f1 + 0.05  # when written: 0.84 and 0.75
    assert abs(span_rate(got, spans) - span_rate(beats, spans)) < 3.0


def test_streaming_in_any_chunks_gives_the_batch_beats():
    ppg, axes, _, _ = _walk(seconds=40.0, seed=2)
    whole = guided_beats(ppg, FS, axes)
    rng = np.random.default_rng(3)
    g, parts, i = GuidedPpg(FS), [], 0
    while i < len(ppg):
        n = int(rng.integers(1, 700))
        g.add_acc(axes[i:i + n], FS)  # the accelerometer's chunk with the PPG's
        parts.append(g.push(ppg[i:i + n]))
        i += n
    parts.append(g.finish())
    idx = np.concatenate([p[0] for p in parts])
    assert np.array_equal(idx, whole[0])
    assert np.array_equal(np.concatenate([p[1] for p in parts]), whole[1])


def test_a_still_hand_keeps_the_detectors_beats_bit_for_bit():
    rng = np.random.default_rng(4)
    t = np.arange(int(60 * FS)) / FS
    beats = np.cumsum(0.8 + 0.03 * rng.standard_normal(80))
    ppg = _pulse(t, beats[beats < 59]) + 0.03 * rng.standard_normal(len(t))
    still = 1000.0 + 3.0 * rng.standard_normal((len(t), 3))  # gravity and sensor noise
    idx, moving = guided_beats(ppg, FS, still)
    assert not moving.any()
    assert np.array_equal(idx, waveform_peaks(ppg, FS, "ppg").idx)


def test_bad_input_is_refused_in_one_line():
    with pytest.raises(ValueError, match="need 10..5000 Hz"):
        HrTracker(2.0)
    with pytest.raises(ValueError, match="NaN"):
        GuidedPpg(FS).push(np.array([0.0, np.nan]))



def test_on_the_tuning_ride_the_tracker_and_its_beats_beat_the_bare_detector():
    """wrist-s1-low-bike (tuning): the pedals at ~56/min, the heart at ~75. Figures when
    written: tracked HR 2.3 bpm off the ECG's per window; beats F1 0.634 (detector 0.436,
    NeuroKit2 0.500), HR -2.1 bpm (detector -11.4); docs/signal-validation.md."""
    rec = need("wrist-s1-low-bike")
    x, fs = record_data(rec)
    ref, spans, axes = annotated_beats(rec, len(x), fs), trusted_spans(rec), motion_axes(rec)
    assert track_error(x, fs, axes, ref, spans)["mae_bpm"] < 4.0
    got = guided_beats(x, fs, axes)[0] / fs
    m, lag = lagged_match(ref, got, spans)
    det, _ = lagged_match(ref, waveform_peaks(x, fs, "ppg").idx / fs, spans)
    assert m.f1 >= 0.6 and m.f1 > det.f1 + 0.1
    assert abs(span_rate(got - lag, spans) - span_rate(ref, spans)) < 4.0


def test_signal_hr_reports_the_tracked_rate_beside_the_detectors_headline(tmp_path):
    """The tracker did not generalise to the held-out wrist records, so `signal hr --acc`'s
    headline (beats, HR, HRV, quality) stays the gated detector's, with three axes or the
    magnitude alone; the tracked rate and the guided beats sit beside it, marked
    experimental in --json and in the text."""
    from argparse import Namespace

    from empathy.edge.ppg_motion_cancel import cancel_motion
    from empathy.edge.signal_cli import _beats

    rec = need("wrist-s1-low-bike")
    x, fs = record_data(rec)
    axes = motion_axes(rec)
    t = np.arange(len(x)) / fs
    np.savetxt(tmp_path / "ppg.csv", np.c_[t, x], delimiter=",", header="time,ppg",
               comments="", fmt="%.5f")
    np.savetxt(tmp_path / "acc.csv", np.c_[t, axes], delimiter=",",
               header="time,x,y,z", comments="", fmt="%.5f")
    np.savetxt(tmp_path / "mag.csv", np.c_[t, np.linalg.norm(axes, axis=1)],
               delimiter=",", header="time,acc_mg", comments="", fmt="%.5f")
    cmd = [sys.executable, "-m", "empathy.cli", "signal", "hr", str(tmp_path / "ppg.csv"),
           "--acc", str(tmp_path / "acc.csv")]
    s = _beats(Namespace(file=str(tmp_path / "ppg.csv"), column=None, fs=fs, kind="ppg",
                         acc=str(tmp_path / "acc.csv"), acc_fs=fs))[0]
    tr = s["motion"]["tracked"]
    assert tr["experimental"] is True
    ref = span_rate(annotated_beats(rec, len(x), fs), trusted_spans(rec))
    assert abs(tr["moving_hr_bpm"] - ref) < 4.0 and len(tr["windows"]) == 27
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if s["heartbeat"]:
        line = [v for v in text.stdout.splitlines() if v.startswith("tracked")]
        assert text.returncode == 0 and line == [
            f"tracked while moving (experimental, not validated on blind records): "
            f"{tr['moving_hr_bpm']:.1f} bpm ({tr['guided']} beats placed by its rate)"]
    else:  # cycling: quality 0.13 since the RR corrector's paper rule, under MIN_QUALITY
        assert text.returncode == 3 and text.stdout == "", text.stdout[:200]
        assert "motion or poor contact" in text.stderr and "beats under motion" in text.stderr
    # (the rates given: the CSV's 5-decimal times give 256.000016 Hz)
    for acc, a in (("acc.csv", axes), ("mag.csv", np.linalg.norm(axes, axis=1))):
        s = _beats(Namespace(file=str(tmp_path / "ppg.csv"), column=None, fs=fs, kind="ppg",
                             acc=str(tmp_path / acc), acc_fs=fs))[0]
        # the headline: the detector's beats (on the PPG less what three axes predict)
        det = waveform_peaks(cancel_motion(x, axes, fs) if a.ndim == 2 else x, fs, "ppg")
        assert np.allclose(s["beats_s"], det.idx / fs, atol=1e-4)
        g = guided_beats(x, fs, a)[0] / fs
        assert len(g) != len(det.idx)  # (so the check above tells them apart)
        assert np.allclose(s["motion"]["tracked"]["beats_s"], g, atol=1e-3)
        assert s["motion"]["tracked"]["experimental"] is True


def test_a_seat_with_an_accelerometer_reports_the_tracked_rate():
    """The seat (edge/features.py) feeds its PPG and its accelerometer's magnitude (50 Hz,
    as the boards send it) to the tracker; `motion_report` carries the newest estimate."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform
    from empathy.wire import Flag

    ppg, axes, _, rate = _walk(seed=5)
    mag = np.linalg.norm(axes, axis=1)[::2]  # 50 Hz
    f = SeatFeatures()
    for k in range(60):  # one-second chunks, the accelerometer's first
        ts = int(k * 1e6)
        f.add(Waveform(ts, "acc", 50.0, mag[k * 50:(k + 1) * 50]))
        f.add(Waveform(ts, "ppg", FS, ppg[k * 100:(k + 1) * 100]))
    tr = f.motion_report()["tracked"]
    assert tr["experimental"] is True and tr["moving"] and abs(tr["hr_bpm"] - rate[-1]) < 5.0
    assert abs(tr["ts_us"] - 60e6) <= 2e6
    # experimental: it never feeds the seat's HR, which the gate leaves empty here (every
    # beat moved) while the tracked rate is a number
    est = f.estimate(int(60e6))
    assert f.motion_report()["beats_rejected_motion"] == f.motion_report()["beats_judged"]
    assert est["hr_bpm"] == 0.0 and not est["flags"] & Flag.HR_OK
    assert "tracked" not in SeatFeatures().motion_report()


def test_the_corpus_scores_the_detector_as_ours_and_the_guided_beats_beside():
    """heart_validation: ours on a wrist record is the detector's beats (what the product
    reports); the guided beats are an extra, experimental row that is never 'best peer'."""
    from empathy.edge.heart_page import TRACKED, summary
    from empathy.edge.heart_validation import score_record

    rec = need("wrist-s1-low-bike")
    x, fs = record_data(rec)
    r = score_record(rec)
    assert np.array_equal(r["beats"]["ours"], waveform_peaks(x, fs, "ppg").idx / fs)
    ref, spans = annotated_beats(rec, len(x), fs), trusted_spans(rec)
    g = guided_beats(x, fs, motion_axes(rec))[0] / fs
    assert r["rows"][TRACKED][0] == lagged_match(ref, g, spans)[0]
    # the guided beats beat every peer here (F1 0.634 against NeuroKit2's 0.500 when
    # written), yet the summary's best peer is a real peer
    assert r["rows"][TRACKED][0].f1 > max(m.f1 for n, (m, _, _) in r["rows"].items()
                                          if n != TRACKED)
    assert TRACKED not in summary([r])[2] and "neurokit" in summary([r])[2].lower()
