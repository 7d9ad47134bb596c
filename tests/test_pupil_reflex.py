"""The edge takes the light out of the pupil with the viewer's two-phase reflex (latency,
quick constriction, slow redilation) when the viewer file has it; old files, one lag."""

import json

import numpy as np
import pytest

from empathy.bench.light_residual import online_viewer, viewer
from empathy.calibration import store
from empathy.cli import main
from empathy.edge.profile import load_profile
from empathy.edge.pupil import (LightResponse, PupilStream, light_drive, light_lag,
                                pupil_residual, reflex)

PHASES = {"latency_s": 0.25, "constrict_s": 0.15, "dilate_s": 1.2}


def _profile(tmp_path, **light):
    store.update_viewer(tmp_path, "v1", "light", {"gain_mm": 1.5, "tau_s": 0.6,
                                                  "base_mm": 6.0, **light})
    return load_profile(tmp_path, viewer="v1").light


def test_a_viewer_file_with_the_phases_gives_the_edge_the_two_phase_reflex(tmp_path):
    light = _profile(tmp_path, **PHASES)
    assert light.two_phase and (light.latency_s, light.constrict_s, light.dilate_s) == (
        0.25, 0.15, 1.2)
    # the simulated viewers of bench/light_residual.py (tuning seeds): after cuts and fades
    # the light left in the residual is smaller with the phases than with one lag
    for seed in (0, 1):
        r = viewer(seed)
        assert r["trans_two"] < 0.8 * r["trans_one"], r


def test_an_old_viewer_file_keeps_its_one_lag_and_bad_phases_are_refused(tmp_path):
    light = _profile(tmp_path)
    assert light == LightResponse(1.5, 0.6) and not light.two_phase
    t = np.arange(0, 10, 1 / 30)
    lum = np.where(t % 4 < 2, 0.9, 0.1)
    mm = 5.0 - 1.5 * light_lag(t, lum, 0.6)
    assert np.array_equal(pupil_residual(t, mm, lum, light), mm + 1.5 * light_lag(t, lum, 0.6))
    with pytest.raises(ValueError, match=r"latency_s without constrict_s, dilate_s"):
        _profile(tmp_path, latency_s=0.2)
    with pytest.raises(ValueError, match=r"latency_s = 2\.5 is not a number within 0\.\.1"):
        _profile(tmp_path, **{**PHASES, "latency_s": 2.5})
    with pytest.raises(ValueError, match=r"dilate_s = 0 is not"):
        _profile(tmp_path, **{**PHASES, "dilate_s": 0})


def test_a_calibrated_gain_is_on_the_log_of_the_light(tmp_path):
    """`calibrate light` fits and stores the gain per log10 of the light (scale = "log10");
    on the code value a calibrated seat kept more of the screen in its residual than an
    uncalibrated seat (which assumes the log): bench seeds 0-11, 0.218 against 0.137 mm."""
    light = _profile(tmp_path, scale="log10", **PHASES)
    assert light.log_light and light.two_phase
    t = np.arange(0, 10, 1 / 30)
    lum = np.where(t % 4 < 2, 0.9, 0.1)
    mm = 5.0 - 1.5 * reflex(t, light_drive(lum), t, 0.25, 0.15, 1.2)
    assert np.ptp(pupil_residual(t, mm, lum, light)) < 1e-9  # the light taken out whole
    assert not _profile(tmp_path).log_light  # a file from before: the code value
    with pytest.raises(ValueError, match=r"scale 'linear' \(one of log10, code"):
        _profile(tmp_path, scale="linear")
    # the simulated viewers of bench/light_residual.py (tuning seeds): calibrated on the log,
    # less light is left than calibrated on the code value, as a rule (not for every viewer:
    # seed 1 0.166 -> 0.168 mm; held out, 36 of 40 better)
    rows = [viewer(seed) for seed in (0, 1, 2, 3)]
    assert np.median([r["rms_two"] for r in rows]) < 0.8 * np.median([r["rms_code"]
                                                                       for r in rows]), rows


def test_the_stream_takes_the_light_out_as_the_batch_does():
    model = LightResponse(1.5, 0.6, **PHASES)
    t = np.arange(0, 12, 1 / 30) + 0.003 * np.sin(np.arange(360))  # a camera's jitter
    lum = np.clip(np.where(t % 5 < 2.5, 0.85, 0.1) + 0.1 * np.sin(t), 0, 1)
    mm = 5.0 + 0.1 * np.sin(0.3 * t)
    s = PupilStream(model)
    lags = []
    for ti, li, mi in zip(t, lum, mm):
        s.add(int(round(ti * 1e6)), mi, 1.0, li)
        lags.append(s.lag)
    # the stream keeps each reading with what the pupil then saw: the batch's reflex
    want = (pupil_residual(t, mm, lum, model) - mm) / 1.5
    assert np.allclose(lags, want, atol=1e-6)
    assert np.max(np.abs(np.array(lags) - light_lag(t, lum, 0.6))) > 0.2  # not the one lag


def test_signal_pupil_takes_the_phases_and_refuses_half_of_them(tmp_path, capsys):
    t = np.arange(0, 20, 1 / 30)
    lum = np.where(t % 5 < 2.5, 0.85, 0.1)
    model = LightResponse(1.5, 0.6, **PHASES)
    mm = 6.0 - 1.5 * model.seen(t, lum)  # a viewer whose light the phases take out whole
    f, out = tmp_path / "eye.csv", tmp_path / "clean.csv"
    np.savetxt(f, np.column_stack([t, mm, lum]), delimiter=",", comments="",
               header="time_s,pupil_mm,luminance", fmt="%.6f")
    given = ["signal", "pupil", str(f), "--light-gain", "1.5", "--light-tau", "0.6"]
    assert main(given + ["--light-phases", "0.25,0.15,1.2", "--json", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["light_phases_s"] == [0.25, 0.15, 1.2]
    resid = np.loadtxt(out, delimiter=",", skiprows=1)[:, 2]
    assert np.std(resid) < 0.02  # no light left but at the cuts (the cleaner smooths 0.15 s)
    assert main(given + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["residual_sd_mm"] > 0.1  # one lag leaves some
    for bad, said in (("0.25,0.15", "as LAT,UP,DOWN"), ("0.25,0,1.2", "outside 0.01..10")):
        with pytest.raises(SystemExit) as e:
            main(given + ["--light-phases", bad])
        assert e.value.code == 2 and said in capsys.readouterr().err
    assert main(["signal", "pupil", str(f), "--light-phases", "0.2,0.1,1"]) == 1
    assert "needs --light-gain" in capsys.readouterr().err


def test_an_uncalibrated_seat_assumes_a_typical_eye_s_reflex():
    """Most seats have no calibration (a kiosk's visitor, a cinema's audience): the stream
    assumed one symmetric 0.4-s lag and fitted the gain online. It now assumes the
    literature's typical reflex (edge.pupil.UNCALIBRATED) and less light is left in the
    residual, after cuts most. Simulated viewers 40-42 (the choice was made before any
    viewer was scored; bench seeds 0-19 and 1000-1039 are the figures in its notes)."""
    for seed in (40, 41, 42):
        r = online_viewer(seed)
        print(r)
        assert r["rms_two"] < 0.9 * r["rms_one"] and r["trans_two"] < 0.8 * r["trans_one"], r
