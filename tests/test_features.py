"""SeatFeatures: waveforms, strap beats, pupil and the fused estimate, as the runtime feeds it."""

import numpy as np
import pytest

from empathy import wire
from empathy.edge.features import SeatFeatures
from empathy.edge.latency import ESTIMATE_LATENCY_S
from empathy.edge.signal_sims import pulse_train
from empathy.sim.eye_film import eye_film
from empathy.sensors.base import Beat, Health, Pupil, Waveform
from empathy.wire import Flag

T0 = 5_000_000_000


def _feed_waveform(f, x, fs, t0=T0, chunk=25, kind="ppg", every_s=1.0):
    """Chunks like a serial board's; estimates at the end of every `every_s`."""
    out = []
    for i in range(0, len(x), chunk):
        f.add(Waveform(t0 + int(i * 1e6 / fs), kind, fs, x[i:i + chunk]))
        end = t0 + int((i + chunk) * 1e6 / fs)
        if (i + chunk) % int(every_s * fs) == 0:
            out.append((end, f.estimate(end)))
    return out


def test_raw_ppg_chunks_give_heart_rate_and_hrv_on_the_wire():
    x, truth = pulse_train(90, 100.0, hr=72, seed=2)
    f = SeatFeatures(baseline_s=20)
    est = _feed_waveform(f, x, 100.0)
    now, e = est[-1]
    true_hr = 60 / np.mean(np.diff(truth[truth > 80]))
    assert abs(e["hr_bpm"] - true_hr) < 2.0
    assert e["flags"] & Flag.HR_OK and e["flags"] & Flag.HRV_OK and e["flags"] & Flag.CALIBRATED
    assert 5 < e["rmssd_ms"] < 80
    wire.encode(wire.SeatSample(1, 1, 0, now, **e), bytes(32))  # it fits the packet


def test_ecg_and_strap_beats_work_the_same_way():
    x, truth = pulse_train(60, 250.0, hr=65, kind="ecg", seed=3)
    f = SeatFeatures(baseline_s=10)
    _, e = _feed_waveform(f, x, 250.0, kind="ecg", chunk=50)[-1]
    strap = SeatFeatures(baseline_s=10)
    for a, b in zip(truth[:-1], truth[1:]):
        strap.add(Beat(T0 + int(b * 1e6), (b - a) * 1000))
    s = strap.estimate(T0 + int(60e6))
    assert abs(e["hr_bpm"] - s["hr_bpm"]) < 1.5 and s["flags"] & Flag.HR_OK


def test_a_gap_in_the_waveform_restarts_detection_without_wild_values():
    x, truth = pulse_train(60, 100.0, hr=70, seed=4)
    f = SeatFeatures(baseline_s=10)
    _feed_waveform(f, x[:3000], 100.0)
    est = _feed_waveform(f, x[3000:], 100.0, t0=T0 + int(40e6))  # 10 s of nothing
    hrs = [e["hr_bpm"] for _, e in est if e["hr_bpm"]]
    assert hrs and all(55 < h < 85 for h in hrs)
    assert len(f.waves) == 1  # replaced, not piled up


def test_motion_garbage_turns_heart_flags_off_and_lowers_confidence():
    rng = np.random.default_rng(0)
    x, _ = pulse_train(60, 100.0, seed=5)
    good = SeatFeatures(baseline_s=10)
    _, g = _feed_waveform(good, x, 100.0)[-1]
    bad = SeatFeatures(baseline_s=10)
    noise = np.cumsum(rng.normal(0, 1, len(x))) + 3 * rng.normal(0, 1, len(x))
    _, b = _feed_waveform(bad, noise, 100.0)[-1]
    assert g["flags"] & Flag.HR_OK and not b["flags"] & Flag.HR_OK and b["hr_bpm"] == 0.0
    assert bad.affect.confidence < good.affect.confidence


def test_pupil_readings_with_screen_luminance():
    """A seat's arousal from its pupil alone, uncalibrated, the screen's light taken out on
    the way: a physiological eye (sim/eye_film.py), 4 min each. Seeds 1-6, looked at while
    building: r 0.25 (0.09-0.44) with one 0.4-s lag on the code value, 0.49 (0.34-0.67) now;
    these were not. (It was judged on signal_sims.pupil_viewer, an eye linear in the code
    value with the stream's own lag, over 55 s: r 0.6 there.)"""
    rs = []
    for seed in (14, 15, 16):
        t, lum, mm, conf, arousal = eye_film(240, seed)
        f = SeatFeatures(baseline_s=30)
        f.add(Health(T0, "eye", contact=True))
        blinks, vals = 0, []
        for k, (ti, li, mi, ci) in enumerate(zip(t, lum, mm, conf)):
            f.luminance = li  # what the runtime does from the host's screen cues
            f.add(Pupil(T0 + int(ti * 1e6), mi, ci))
            if k % 3 == 0:
                e = f.estimate(T0 + int(ti * 1e6))
                blinks += bool(e["flags"] & Flag.BLINK)
                if ti > 35:  # the estimate refers to the body ESTIMATE_LATENCY_S ago
                    vals.append((e["arousal"], np.interp(ti - ESTIMATE_LATENCY_S, t, arousal)))
        assert e["flags"] & Flag.PUPIL_OK and 2 < e["pupil_mm"] < 8 and blinks > 0
        a, truth = np.array(vals).T
        rs.append(np.corrcoef(a, truth)[0, 1])
    print(rs)
    assert np.mean(rs) > 0.35


def test_bad_waveform_chunks_are_skipped_not_fatal(caplog):
    x, truth = pulse_train(40, 100.0, hr=70, seed=7)
    f = SeatFeatures(baseline_s=5)
    f.add(Waveform(T0, "ecg", 20.0, x[:100]))  # ECG at 20 Hz can't be read
    broken = x[:100].copy()
    broken[5] = np.nan
    _feed_waveform(f, x[:2000], 100.0)
    f.add(Waveform(T0 + int(20e6), "ppg", 100.0, broken))
    _, e = _feed_waveform(f, x[2000:], 100.0, t0=T0 + int(21e6))[-1]
    reasons = [r.reason for r in caplog.records if r.getMessage() == "waveform chunk skipped"]
    assert len(reasons) == 2 and "need 60..5000 Hz" in reasons[0] and "NaN" in reasons[1]
    assert 60 < e["hr_bpm"] < 80


def test_a_strap_that_just_connected_gives_heart_rate_at_once():
    f = SeatFeatures(baseline_s=1)
    t = T0
    for _ in range(6):  # five seconds of beats
        t += 800_000
        f.add(Beat(t, 800.0))
    e = f.estimate(t)
    assert e["hr_bpm"] == 75.0 and e["flags"] & Flag.HR_OK


def test_a_simulated_serial_board_on_a_pty_gives_the_viewers_heart_rate(tmp_path):
    """Real parts: the firmware loop on a pty, the serial:// driver, streaming detection."""
    import threading
    import time

    from empathy.clock import now_us
    from empathy.sensors.base import open_source
    from empathy.sim.board import SimBoard

    board = SimBoard(tmp_path / "ttyACM-sim", seed=5)
    truth, stop = [], threading.Event()

    def firmware():
        while not stop.is_set():
            board.step()
            truth.append((now_us(), board.sensor.rr_ms))
            time.sleep(0.005)

    t = threading.Thread(target=firmware, daemon=True)
    t.start()
    src = open_source(f"serial://{board.link}")
    f, checks, late = SeatFeatures(baseline_s=5), [], 0
    # 12 s checked, from 2 s after the seat's first HR (5.3-6.0 s in, session 32) and at
    # the latest from 18 s, where a fixed 30-s run checked its last 12 s
    t0 = time.monotonic()
    start, end = None, t0 + 30
    try:
        while time.monotonic() < end:
            for r in src.read(0.1):
                f.add(r)
            now = now_us()
            e = f.estimate(now)
            recent = [rr for ts, rr in truth if ts >= now - 5e6]
            if start is None and (e["hr_bpm"] or time.monotonic() > t0 + 16):
                start = min(time.monotonic() + 2, t0 + 18)
                end = start + 12
            if start is not None and time.monotonic() > start:
                late += 1
                if e["hr_bpm"]:
                    checks.append((e["hr_bpm"], 60000 / np.mean(recent)))
    finally:
        src.close()
        stop.set()
        t.join(2)
        board.close()
    # HR all along (the board's STATUS once said 'no contact' between samples: 0.3 had HR)
    assert len(checks) >= 0.9 * late, (len(checks), late)
    err = [abs(a - b) for a, b in checks]
    assert np.median(err) < 3.0, checks[-5:]


def test_a_waveform_without_a_pulse_clears_contact_and_it_comes_back():
    """A finger clip taken off: the board keeps sending samples, but no pulse. That is lost
    contact on the wire's CONTACT bit (issue 19), not just a poor quality."""
    x, _ = pulse_train(40, 100.0, hr=70, seed=4)
    off = np.full(1000, x[-1]) + np.random.default_rng(0).normal(0, 0.002, 1000)  # 10 s
    y, _ = pulse_train(30, 100.0, hr=70, seed=5)
    f = SeatFeatures(baseline_s=10)
    est = _feed_waveform(f, np.concatenate((x, off, y)), 100.0)
    flags = {round((now - T0) / 1e6): e["flags"] for now, e in est}
    assert all(flags[s] & Flag.CONTACT for s in range(5, 40))
    assert not flags[48] & Flag.CONTACT and not flags[48] & Flag.HR_OK
    assert flags[75] & Flag.CONTACT and flags[75] & Flag.HR_OK


def test_hrv_is_not_sent_when_it_would_rest_on_mended_intervals():
    """Every third beat premature: HR still counts, but RMSSD would rest on mended
    intervals, so HRV_OK stays off; a regular rhythm has it on."""
    for every, hrv_ok in ((3, False), (0, True)):
        x, _ = pulse_train(90, 100.0, hr=70, premature_every=every, seed=6)
        f = SeatFeatures(baseline_s=10)
        now, e = _feed_waveform(f, x, 100.0)[-1]
        assert e["flags"] & Flag.HR_OK and e["flags"] & Flag.CONTACT
        assert bool(e["flags"] & Flag.HRV_OK) == hrv_ok, (every, e)


def _visitor(f, t0, seconds, bpm, every_s=0.1):
    """A viewer with a steady heart at `bpm` from t0: beats in, an estimate every 0.1 s."""
    out, t, next_beat, rr = [], t0, t0, 60000.0 / bpm
    f.add(Health(t0, "strap", contact=True))
    while t < t0 + int(seconds * 1e6):
        t += int(every_s * 1e6)
        while next_beat <= t:
            f.add(Beat(next_beat, rr))
            next_beat += int(rr * 1000)
        out.append((t, f.estimate(t)))
    f.add(Health(t, "strap", contact=False))
    return out


def _calibrated_from(est):
    """Seconds from the first estimate to the first CALIBRATED one (None: never)."""
    t0 = est[0][0]
    return next(((t - t0) / 1e6 for t, e in est if e["flags"] & Flag.CALIBRATED), None)


def test_each_visitor_gets_a_baseline_of_their_own(caplog):
    caplog.set_level("INFO", "empathy.edge.features")
    f = SeatFeatures(baseline_s=5, rebaseline_after_s=10, name="seat 7")
    first = _visitor(f, T0, 30, bpm=62)
    assert 4.5 <= _calibrated_from(first) <= 5.5
    assert abs(f.base["hr"].mean - 62) < 1.5
    # the strap is off for 15 s: whoever puts it on next is someone else
    second = _visitor(f, T0 + int(45e6), 30, bpm=96)
    assert 4.5 <= _calibrated_from(second) <= 5.5  # CALIBRATED went off and came back
    assert abs(f.base["hr"].mean - 96) < 1.5  # nothing of the first visitor in it
    assert f.baselines_taken == 2
    said = [r for r in caplog.records if "new baseline" in r.getMessage()]
    assert len(said) == 1 and said[0].seat == "seat 7" and said[0].gap_s >= 15
    # while calibrated, the second visitor at rest reads calm against their own baseline
    assert abs(np.mean([e["arousal"] for _, e in second[-50:]])) < 0.3


def test_a_short_gap_keeps_the_baseline_and_zero_never_rebaselines():
    for rebase, gap_s, expect in ((10, 4, 1), (0, 60, 1), (10, 60, 2)):
        f = SeatFeatures(baseline_s=5, rebaseline_after_s=rebase)
        _visitor(f, T0, 20, bpm=62)
        later = _visitor(f, T0 + int((20 + gap_s) * 1e6), 20, bpm=90)
        assert f.baselines_taken == expect, (rebase, gap_s)
        assert _calibrated_from(later) == (0.0 if expect == 1 else pytest.approx(5, abs=0.5))


def test_a_seat_empty_at_start_takes_its_baseline_from_the_first_visitor():
    f = SeatFeatures(baseline_s=5, rebaseline_after_s=10)
    f.add(Health(T0, "strap", contact=False))  # nobody there when the unit starts
    assert f.estimate(T0 + int(20e6))["flags"] & Flag.CALIBRATED  # priors only, long over
    est = _visitor(f, T0 + int(40e6), 20, bpm=88)
    assert 4.5 <= _calibrated_from(est) <= 5.5 and abs(f.base["hr"].mean - 88) < 1.5
    # within the first period the baseline counts from the first signal, not the first reading
    g = SeatFeatures(baseline_s=5)
    g.add(Health(T0, "strap", contact=True))
    est = _visitor(g, T0 + int(3e6), 12, bpm=70)
    assert 4.5 <= _calibrated_from(est) <= 5.5 and g.baselines_taken == 1
