"""Pupil camera scale from rendered views of a printed circle grid at known distances."""

from __future__ import annotations

import io
import json
import tomllib
from contextlib import redirect_stdout
from pathlib import Path

import cv2
import numpy as np
import pytest

from empathy.calibration.pupil_scale import SIM_FOCAL_PX, Target, pupil_scale, render_view
from empathy.cli import main


@pytest.mark.parametrize("distance_mm,tilt", [(30, (0, 0)), (45, (6, -4)), (70, (-3, 8))])
def test_scale_recovered_within_2_percent(distance_mm, tilt):
    target = Target()
    img = render_view(target, distance_mm, tilt_deg=tilt, seed=distance_mm)
    res = pupil_scale(img, target)
    assert res.passed, res.reasons
    truth = SIM_FOCAL_PX / distance_mm  # pinhole: pixels per mm at the card's distance
    # A tilted card is foreshortened by sqrt(cos a cos b) at most ~0.6 % here: within 2 %.
    assert res.figures["px_per_mm"] == pytest.approx(truth, rel=0.02)
    assert res.figures["mm_per_px"] == pytest.approx(1 / truth, rel=0.02)


def test_other_grid_and_spacing():
    target = Target(cols=9, rows=6, spacing_mm=3.0, circle_mm=1.5)
    res = pupil_scale(render_view(target, 35), target)
    assert res.figures["px_per_mm"] == pytest.approx(SIM_FOCAL_PX / 35, rel=0.02)


@pytest.mark.parametrize("kw,failing", [
    ({"blur_px": 3.0}, "edge width"),
    ({"gain": 1.5}, "saturated pixels"),
    ({"gain": 0.4}, "paper level"),
])
def test_focus_and_exposure_faults_fail_with_a_hint(kw, failing):
    target = Target()
    res = pupil_scale(render_view(target, 40, **kw), target)
    assert not res.passed
    bad = [c.name for c in res.checks if not c.ok]
    assert bad == [failing]
    # The scale itself is still measured, so the tester sees what the card gave.
    assert res.figures["px_per_mm"] == pytest.approx(SIM_FOCAL_PX / 40, rel=0.02)


def test_no_card_in_view_is_a_clear_failure():
    noise = np.random.default_rng(0).integers(90, 160, (480, 640)).astype(np.uint8)
    res = pupil_scale(noise, Target())
    assert not res.passed and "circle grid was not found" in res.reasons[0]


def run(args):
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["calibrate", "pupil-scale", *args, "--json"])
    return rc, (json.loads(buf.getvalue()) if buf.getvalue() else None)


def test_cli_stores_the_camera_scale(tmp_path):
    target = Target()
    png = tmp_path / "card.png"
    cv2.imwrite(str(png), render_view(target, 50))
    rc, doc = run(["--image", str(png), "--camera-id", "seat12-eye", "--store",
                   str(tmp_path / "store"), "--out", str(tmp_path / "out")])
    assert rc == 0 and doc["passed"]
    stored = tomllib.loads((tmp_path / "store" / "cameras" / "seat12-eye.toml").read_text())
    assert stored["px_per_mm"] == pytest.approx(SIM_FOCAL_PX / 50, rel=0.02)
    page = Path(doc["report"]).read_text()
    assert page.count("data:image/png") == 1 and "PASS" in page

    rc, doc = run(["--simulate", "40", "--store", str(tmp_path / "store"), "--out",
                   str(tmp_path / "out")])
    assert rc == 0 and abs(doc["figures"]["scale_error_pct"]) < 2


def test_cli_refuses_bad_input_without_storing(tmp_path, capsys):
    (tmp_path / "junk.png").write_bytes(b"not a png")
    rc, _ = run(["--image", str(tmp_path / "junk.png"), "--store", str(tmp_path / "store"),
                 "--out", str(tmp_path)])
    assert rc == 1 and "not a readable image" in capsys.readouterr().err
    blurred = tmp_path / "blurred.png"
    cv2.imwrite(str(blurred), render_view(Target(), 40, blur_px=3.0))
    rc, doc = run(["--image", str(blurred), "--store", str(tmp_path / "store"), "--out",
                   str(tmp_path)])
    assert rc == 1 and "refocus the lens" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()  # a failed calibration is never stored
    rc, _ = run(["--simulate", "40", "--camera-id", "../etc", "--out", str(tmp_path)])
    assert rc == 1 and "camera id" in capsys.readouterr().err


def test_a_missing_image_is_one_line(tmp_path, capfd):
    """No OpenCV warning line ("[ WARN:0@0.011] global loadsave.cpp ... can't open/read
    file") before ours: the one line says the file is not there."""
    rc = main(["calibrate", "pupil-scale", "--image", str(tmp_path / "nope.png"), "--out",
               str(tmp_path)])
    err = capfd.readouterr().err
    assert rc == 1 and err.count("\n") == 1, err
    assert err.startswith("empathy calibrate pupil-scale: ") and "no such file" in err.lower(), err


def test_stored_scale_turns_eye_frames_into_millimetres(tmp_path, capsys):
    """pupil-scale -> store -> the edge's pupil measurement through calibration's Perceive."""
    from empathy.calibration.recording import Perceive
    from empathy.sensors.base import Frame, Pupil

    rc, _ = run(["--simulate", "40", "--camera-id", "seat3-eye", "--store",
                 str(tmp_path / "store"), "--out", str(tmp_path)])
    assert rc == 0
    true_px_mm = SIM_FOCAL_PX / 40
    eye = np.full((480, 640), 150, np.uint8)  # an IR eye at the card's distance:
    cv2.circle(eye, (320, 240), int(6 * true_px_mm), 90, -1, cv2.LINE_AA)  # 12 mm iris
    cv2.circle(eye, (320, 240), int(round(2 * true_px_mm)), 25, -1, cv2.LINE_AA)  # 4 mm pupil
    eye = cv2.GaussianBlur(eye, (0, 0), 1.0)
    stored = tomllib.loads((tmp_path / "store" / "cameras" / "seat3-eye.toml").read_text())
    out = Perceive(stored["px_per_mm"])([Frame(1000, "eye", eye)])
    assert isinstance(out[0], Pupil) and out[0].diameter_mm == pytest.approx(4.0, rel=0.05)
    uncalibrated = Perceive()([Frame(1000, "eye", eye)])[0]  # the edge's default scale
    assert abs(uncalibrated.diameter_mm - 4.0) > 0.3
    # A viewer calibration naming a camera without a stored scale is refused up front.
    assert main(["calibrate", "baseline", "--source", "sim://seat", "--seat", "1",
                 "--camera-id", "nope", "--store", str(tmp_path / "store"),
                 "--out", str(tmp_path)]) == 1
    assert "run `empathy calibrate pupil-scale` first" in capsys.readouterr().err
