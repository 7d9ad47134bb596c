"""PPG beats graded by an accelerometer (edge/motion.py): movement at known times in the
simulated world, a still accelerometer on real recordings, broken accelerometer input."""

from argparse import Namespace
import functools
import json
import logging
import subprocess
import sys
import time

import numpy as np
import pytest

from empathy.bench.ppg_motion import motion_recording, score
from empathy.edge.features import SeatFeatures
from empathy.edge.heart import ppg_peaks
from empathy.edge.heart_corpus import available, motion_axes, record, record_data
from empathy.edge.motion import MotionGate, MotionTrack, motion_gate
from empathy.edge.signal_cli import _beats
from empathy.sensors.base import Waveform
from empathy.sim.impact import Impact
from empathy.sim.viewer import SimViewer


@pytest.mark.parametrize("seed", [11, 12])
def test_the_accelerometer_keeps_motion_artefacts_out_of_hr(seed):
    """Seed 11 failed from issue 19's fourth pass (the bare detector got better, HR p95 9.46
    -> 7.58 bpm, while ours+acc stayed at 4.20) until the PPG detector let in weak pulses
    where the rhythm puts them (tests/test_heart_ppg.py): ours+acc p95 3.76 < 0.5 x 7.58,
    MAE 1.23 -> 1.18; a narrow pass."""
    rows = score(motion_recording(seed, seconds=160.0), peers=False)
    bare, acc = rows["ours"], rows["ours+acc"]
    assert bare["false_beats_moving"] >= 10  # the movement really did fool the detector
    assert acc["false_beats_moving"] <= 0.2 * bare["false_beats_moving"]
    assert acc["hr_mae_bpm"] < 0.6 * bare["hr_mae_bpm"]
    assert acc["hr_p95_bpm"] < 0.5 * bare["hr_p95_bpm"]
    # the price: no HR while moving and for a few beats after, and nothing more
    assert acc["hr_coverage"] >= 0.5 and acc["se_still"] >= bare["se_still"] - 0.1
    assert acc["beats_rejected_motion"] > 0 and acc["beats_unjudged"] == 0


def test_streaming_in_any_chunks_grades_like_one_batch():
    rec = motion_recording(13, seconds=60.0)
    ppg = [c for c in rec["chunks"] if c.kind == "ppg"]
    x = np.concatenate([c.samples for c in ppg]).astype(float)
    b = ppg_peaks(x, ppg[0].fs_hz)
    ts_us = ppg[0].ts_us + b.idx * 1e6 / ppg[0].fs_hz
    acc = [c for c in rec["chunks"] if c.kind == "acc"]
    a = np.concatenate([c.samples for c in acc]).astype(float)
    whole = motion_gate(ts_us, b.sqi, a, acc[0].fs_hz, acc[0].ts_us)
    rng = np.random.default_rng(0)
    g, got, i, j, now_us = MotionGate(), [], 0, 0, acc[0].ts_us
    afs, latency_us = acc[0].fs_hz, 1e6  # beats come out about a second after they happen
    while i < len(a) or j < len(ts_us):  # both on one clock, in chunks of any size
        now_us += rng.uniform(0.01, 0.6) * 1e6
        n = max(int((now_us - acc[0].ts_us) * afs / 1e6) - i, 0)
        if n and i < len(a):
            g.add_acc(acc[0].ts_us + i * 1e6 / afs, afs, a[i:i + n])
        i += n
        k = int(np.searchsorted(ts_us, now_us - latency_us, "right"))
        got.append(g.pass_beats(ts_us[j:k], b.sqi[j:k]))
        j = max(j, k)
    got.append(g.pass_beats([], [], final=True))
    for w, part in zip(whole[:3], zip(*got)):
        assert np.array_equal(w, np.concatenate(part))
    assert whole[2].any() and not whole[2].all()


def _still_acc(n: int, fs: float, rng) -> np.ndarray:
    """A hand at rest: gravity, breathing sway and sensor noise and tremor (mG)."""
    t = np.arange(n) / fs
    return 1000.0 + 15.0 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 10.0, n)


STILL_PPG = ["heartpy-data", "heartpy-data2", "systole-ppg", "bsn-bvp-rest"]  # real, still


def still_record(name: str) -> tuple[np.ndarray, float]:
    """A real PPG recording of a hand at rest, or the test skipped where it is not cached."""
    rec = record(name)
    if not available(rec):
        pytest.skip(f"{name}: not installed or not in cache/heart-corpus")
    return record_data(rec)


@pytest.mark.parametrize("name", STILL_PPG)
def test_a_still_accelerometer_changes_nothing_on_real_ppg(name):
    x, fs = still_record(name)
    rng = np.random.default_rng(1)
    bare, worn = SeatFeatures(baseline_s=10.0), SeatFeatures(baseline_s=10.0)
    step, hr_bare, hr_worn = int(fs / 4), [], []
    for i in range(0, len(x), step):
        t_us = int(i * 1e6 / fs)
        w = Waveform(t_us, "ppg", fs, x[i:i + step])
        bare.add(w)
        end_us = int((i + len(w.samples)) * 1e6 / fs)
        a0, a1 = int(t_us * 50 / 1e6), int(end_us * 50 / 1e6)  # the same clock, at 50 Hz
        worn.add(Waveform(int(a0 * 1e6 / 50), "acc", 50.0, _still_acc(a1 - a0, 50.0, rng)))
        worn.add(w)
        hr_bare.append(bare.estimate(end_us)["hr_bpm"])
        hr_worn.append(worn.estimate(end_us)["hr_bpm"])
    # the same beats, intervals and HR at every chunk: a still hand rejects nothing, and
    # the gate, which holds a beat until the accelerometer's block with it is complete,
    # holds none when both arrive together
    assert hr_worn == hr_bare and any(hr_bare)
    end = len(x) * 1e6 / fs - 3e6
    ivs = [f.waves["ppg"].heart.window(end, 1e6) for f in (bare, worn)]
    for u, v in zip(*ivs):
        assert np.array_equal(u[ivs[0].t_s < end / 1e6], v[ivs[1].t_s < end / 1e6])
    m = worn.motion_report()
    assert m["beats_judged"] > 0 and m["beats_rejected_motion"] == 0 and m["moving_s"] == 0


def test_broken_accelerometer_input_is_skipped_with_a_warning(caplog):
    with pytest.raises(ValueError, match="accelerometer at 1 Hz"):
        MotionTrack(1.0, 0)
    f = SeatFeatures(baseline_s=1.0)
    with caplog.at_level(logging.WARNING):
        f.add(Waveform(0, "acc", 50.0, np.array([1000.0, np.nan])))
        f.add(Waveform(0, "acc", 50.0, np.full(10, 1e9)))
        f.add(Waveform(0, "acc", 0.5, np.full(10, 1000.0)))
    assert len([r for r in caplog.records if "accelerometer" in r.getMessage()]) == 3
    f.add(Waveform(0, "acc", 50.0, np.full(50, 1000.0)))  # a good chunk still counts
    assert f.motion.track is not None and "acc" not in f.ignored


def test_the_simulated_accelerometer_is_asked_for_and_changes_nothing_else():
    def run(acc: bool) -> list:
        v, out = SimViewer(5, 0, 0, ppg=True, acc=acc, nuisance=2.0), []
        for i in range(1, 500):
            v.step(i * 20_000, 0.02, ("scene", i * 0.02, 0.3), Impact(), 0.0, out)
        return [r for r in out if isinstance(r, Waveform)]

    without, with_acc = run(False), run(True)
    assert not [r for r in without if r.kind == "acc"]
    acc = [r for r in with_acc if r.kind == "acc"]
    assert acc and all(r.fs_hz == 50.0 for r in acc)
    ppg = [r for r in with_acc if r.kind == "ppg"]
    assert len(ppg) == len(without) and all(np.array_equal(a.samples, b.samples)
                                            for a, b in zip(ppg, without))


def test_acc_frames_round_trip_and_become_the_magnitude_in_mg():
    from empathy.sensors.base import open_source
    from empathy.sensors.firmware import protocol

    xyz = [(3, -4, 1000), (-32768, 0, 32767)]
    assert protocol.Decoder().feed(protocol.acc(3, 9, 50, xyz)) == [
        (protocol.ACC, 3, 9, {"fs_hz": 50, "samples": [tuple(s) for s in xyz]})]
    bad = protocol.Decoder()  # a body that is not whole samples, a rate of 0
    cut = protocol.frame(protocol.ACC, 1, 0, protocol.struct.pack("<Hhh", 50, 1, 2))
    assert bad.feed(cut + protocol.acc(2, 0, 0, xyz)) == [] and bad.errors["bad_frame"] == 2
    src = open_source("serial://loop://?sensor=acc")
    try:
        src.port.write(protocol.acc(1, 1_000, 50, [(0, 600, 800)] * 12))
        end, got = time.monotonic() + 5, []
        while time.monotonic() < end and not got:
            got += src.read(0.05)
    finally:
        src.close()
    assert got[0].kind == "acc" and got[0].fs_hz == 50 and np.allclose(got[0].samples, 1000)


def test_simulated_board_with_an_accelerometer_streams_the_hand(tmp_path):
    from empathy.sensors.base import open_source
    from empathy.sim.board import SimBoard

    board = SimBoard(tmp_path / "ttyACM-acc", seed=5, acc=True)
    src = open_source(f"serial://{tmp_path / 'ttyACM-acc'}")
    try:
        end, got = time.monotonic() + 30, []
        while time.monotonic() < end and sum(isinstance(r, Waveform) and r.kind == "acc"
                                             for r in got) < 8:
            board.step()
            got += src.read(0.02)
    finally:
        src.close()
        board.close()
    acc = [r for r in got if isinstance(r, Waveform) and r.kind == "acc"]
    assert len(acc) >= 8 and all(w.fs_hz == 50 and len(w.samples) == 12 for w in acc)
    assert all(700 < x < 3000 for w in acc for x in w.samples)  # gravity and a hand, in mG
    assert np.allclose(np.diff([w.ts_us for w in acc]), 240_000, atol=30_000)
    assert any(isinstance(r, Waveform) and r.kind == "ppg" for r in got)


def _signal_hr(ppg_csv, *extra) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", str(ppg_csv),
                        *extra], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def _write_csv(path, fs_hz: float, cols: np.ndarray, names: str) -> None:
    t = np.arange(len(cols)) / fs_hz
    np.savetxt(path, np.c_[t, cols], delimiter=",", header=f"time,{names}", comments="",
               fmt="%.5f")


def test_signal_hr_with_an_accelerometer_file_leaves_out_the_moving_beats(tmp_path):
    rec = motion_recording(21, seconds=60.0)
    for kind, col in (("ppg", "ppg"), ("acc", "acc_mg")):
        ch = [c for c in rec["chunks"] if c.kind == kind]
        _write_csv(tmp_path / f"{kind}.csv", ch[0].fs_hz,
                   np.concatenate([c.samples for c in ch]), col)
    hr = functools.partial(_signal_hr, tmp_path / "ppg.csv")
    rc, out, _ = hr("--acc", str(tmp_path / "acc.csv"), "--json")
    m = json.loads(out)["motion"]
    assert rc == 0 and m["beats_rejected_motion"] > 5 and m["moving_s"] > 8
    rc, _, err = hr("--acc", str(tmp_path / "nope.csv"))
    assert rc == 1 and "nope.csv" in err and "Traceback" not in err
    (tmp_path / "far.csv").write_text("acc_mg\n1000\n90000\n")
    rc, _, err = hr("--acc", str(tmp_path / "far.csv"), "--acc-fs", "50")
    assert rc == 1 and "mG" in err and "Traceback" not in err


def test_signal_hr_with_three_axes_takes_the_movement_off_first(tmp_path):
    """A PPG with x, y, z (wrist-s1-low-bike, a tuning record) goes through the canceller
    (edge/ppg_motion_cancel.py) before the detector and the gate."""
    rec = record("wrist-s1-low-bike")
    x, fs = record_data(rec)
    axes = motion_axes(rec)
    _write_csv(tmp_path / "ppg.csv", fs, x, "ppg")
    _write_csv(tmp_path / "acc.csv", fs, axes, "x,y,z")
    _write_csv(tmp_path / "short.csv", fs, axes[:1000], "x,y,z")
    hr = functools.partial(_signal_hr, tmp_path / "ppg.csv")
    s = _beats(Namespace(file=str(tmp_path / "ppg.csv"), column=None, fs=fs, kind="ppg",
                         acc=str(tmp_path / "acc.csv"), acc_fs=fs))[0]
    m = s["motion"]
    assert m["cancelled_s"] > 50 and m["beats_judged"] > 60
    # cycling: whether a heartbeat holds is borderline (quality 0.13-0.16 against 0.15 as
    # the RR corrector changed); either way the command says so in one line
    rc, out, err = hr("--acc", str(tmp_path / "acc.csv"), "--json")
    assert (rc, bool(out)) == (0, True) or (rc == 3 and "motion or poor contact" in err), err
    rc, _, err = hr("--acc", str(tmp_path / "short.csv"))
    assert rc == 1 and "start together" in err and "Traceback" not in err
    # two axes, or a file with no time column nor --acc-fs: one line that says which
    (tmp_path / "xy.csv").write_text("x,y\n" + "1,2\n" * 3000)
    rc, _, err = hr("--acc", str(tmp_path / "xy.csv"), "--acc-fs", str(fs))
    assert rc == 1 and "not all of x, y, z" in err and "Traceback" not in err
    (tmp_path / "mag.csv").write_text("acc_mg\n" + "1000\n" * 3000)
    rc, _, err = hr("--acc", str(tmp_path / "mag.csv"))
    assert rc == 1 and "--acc-fs HZ is needed" in err and "Traceback" not in err


def test_edge_unit_stats_count_the_beats_left_out_for_motion(tmp_path):
    from sim_unit import two_seat_unit

    unit = two_seat_unit(tmp_path)
    for r in motion_recording(14, seconds=40.0)["chunks"]:  # what seat 1's board would send
        unit.features[0].add(r)
    stats = unit.close()
    m = stats["motion"]
    assert set(m) == {"1"} and m["1"]["beats_rejected_motion"] > 0
    assert 0 < m["1"]["beats_rejected_motion"] < m["1"]["beats_judged"]
