"""Pupil: blinks, outliers, light compensation (batch and streaming), `signal pupil`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from empathy.edge.pupil import LightResponse, PupilStream, pupil_clean, pupil_residual
from empathy.edge.signal_sims import pupil_viewer
from empathy.sim.eye_film import eye_film
from empathy.edge.signal_validation import pupil_demo


def test_blinks_are_found_bridged_and_long_losses_stay_gaps():
    t = np.arange(0, 20, 1 / 30)
    mm = 4.0 + 0.2 * np.sin(t)
    conf = np.ones_like(t)
    for a in (3.0, 8.0, 12.5):  # three blinks
        m = (t >= a) & (t < a + 0.15)
        mm[m], conf[m] = 0.0, 0.0
    lost = (t >= 15) & (t < 17)  # looked away for 2 s
    conf[lost] = 0.1
    mm[200] = 9.0  # a tracker glitch (at 6.7 s: one inside a blink's lid margin is that blink)
    c = pupil_clean(t, mm, conf)
    assert c.blinks == 5  # three blinks, the look-away, the glitch
    ok = np.isfinite(c.mm)
    assert np.all(np.isnan(c.mm[lost])) and ok[(t > 2) & (t < 14)].all()
    assert np.max(np.abs(c.mm[ok] - (4.0 + 0.2 * np.sin(t[ok])))) < 0.05
    with pytest.raises(ValueError, match="increasing"):
        pupil_clean([0, 1, 1], [4, 4, 4])
    with pytest.raises(ValueError, match="no usable"):
        pupil_clean(t, np.zeros_like(t))


def test_light_compensation_recovers_the_hidden_arousal():
    d = pupil_demo(seed=2)
    assert d["residual_r"] > 0.9 and d["raw_r"] < 0.6
    assert d["gain_mm"] == pytest.approx(2.0, abs=0.15)
    assert d["tau_s"] == pytest.approx(0.4, abs=0.1)


def test_a_calibrated_light_model_works_without_fitting_and_flat_light_refuses_a_fit():
    t, lum, mm, conf, arousal = pupil_viewer(120, seed=4)
    c = pupil_clean(t, mm, conf)
    ok = np.isfinite(c.mm)
    resid = pupil_residual(t, c.mm, lum, LightResponse(2.0, 0.4))
    assert np.corrcoef(resid[ok], arousal[ok])[0, 1] > 0.9
    with pytest.raises(ValueError, match="luminance barely changed"):
        LightResponse.fit(t, np.full_like(t, 0.4), c.mm)


def test_streaming_pupil_separates_light_from_arousal():
    """An uncalibrated seat's stream (the online fit) on a physiological eye: its residual
    follows the hidden arousal better than the raw pupil, by 0.15 in r over three viewers
    (seeds 5-10, looked at while building: one symmetric 0.4-s lag on the code value 0.09,
    now 0.28; these seeds were not: before 0.16, barely over). It was judged on
    signal_sims.pupil_viewer, an eye linear in the code value with the stream's own lag."""
    lift = []
    for seed in (11, 12, 13):
        t, lum, mm, conf, arousal = eye_film(240, seed)
        s = PupilStream()  # no calibration: fits the light response online
        raw, resid, truth = [], [], []
        for k, (ti, li, mi, ci) in enumerate(zip(t, lum, mm, conf)):
            s.add(int(ti * 1e6), mi, ci, li)
            if k % 3 == 0 and ti > 40:
                now = int(ti * 1e6)
                if s.pupil_mm(now):
                    raw.append(s.pupil_mm(now))
                    resid.append(s.residual_mm(now))
                    truth.append(arousal[k])
        assert len(raw) > 1500
        lift.append(np.corrcoef(resid, truth)[0, 1] - np.corrcoef(raw, truth)[0, 1])
        assert s.blinked(int(t[-1] * 1e6)) in (True, False)
        assert len(s.history) <= 30 * 30 + 1  # bounded: 30 s at 30 Hz
    print(lift)
    assert np.mean(lift) > 0.15


def test_signal_pupil_cli(tmp_path):
    t, lum, mm, conf, arousal = pupil_viewer(120, seed=6)
    f = tmp_path / "eye.csv"
    np.savetxt(f, np.column_stack([t, mm, conf, lum]), delimiter=",", comments="",
               header="time_s,pupil_mm,confidence,luminance", fmt="%.4f")
    out = tmp_path / "clean.csv"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "pupil", str(f), "--json",
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["blinks"] > 10 and d["light_fitted"] and abs(d["light_gain_mm"] - 2.0) < 0.2
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    ok = np.isfinite(rows[:, 2])
    assert np.corrcoef(rows[ok, 2], arousal[ok])[0, 1] > 0.9
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,pupil_mm\n0,4\n")
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "pupil", str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "3+ samples" in r.stderr


@pytest.mark.parametrize("column, base, swing, said", [
    ("rr_ms", 800.0, 20.0, "reads 80"), ("ppg", 0.0, 0.2, "reads 0"),
    ("diameter", 40.0, 1.0, "reads 40")], ids=["rr-intervals", "ppg", "pixels"])
def test_a_column_that_holds_no_pupil_diameter_is_refused(tmp_path, capsys, column, base,
                                                          swing, said):
    """Before: `signal pupil` read any column as millimetres: an RR file gave 'pupil
    800.00 mm' and a PPG 0.69 mm, exit 0. A diameter is range-checked where it enters
    (wire.RANGES' 0.5-12 mm: an eye tracker's pixels are said to be no millimetres)."""
    from signal_run import refused

    f = tmp_path / "rec.csv"
    f.write_text(f"time_s,{column}\n" + "".join(
        f"{k / 30:.4f},{base + swing * np.sin(k / 30):.4f}\n" for k in range(900)))
    err = refused(capsys, "pupil", f)
    assert f"column {column!r}" in err and said in err and "0.5..12 mm" in err, err


def test_a_pupil_sample_out_of_range_is_lost_not_read(tmp_path, capsys):
    from signal_run import ok

    f = tmp_path / "eye.csv"
    f.write_text("time_s,pupil_mm\n" + "".join(
        f"{k / 30:.4f},{4.0 if k % 100 else 250.0}\n" for k in range(900)))
    out = ok(capsys, "pupil", f)
    assert out["pupil_mm"] == pytest.approx(4.0, abs=0.01) and out["lost_pct"] < 5


def test_pupil_out_to_a_fifo_is_refused_not_waited_on(tmp_path, capsys):
    from signal_run import refused

    t, lum, mm, conf, _ = pupil_viewer(20, seed=6)
    f = tmp_path / "eye.csv"
    np.savetxt(f, np.column_stack([t, mm]), delimiter=",", comments="",
               header="time_s,pupil_mm", fmt="%.4f")
    os.mkfifo(tmp_path / "out.csv")
    assert "FIFO" in refused(capsys, "pupil", f, "--out", tmp_path / "out.csv")
