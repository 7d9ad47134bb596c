"""Resting baseline on a simulated viewer, read live through the Source protocol."""

from __future__ import annotations

import io
import json
import tomllib
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from empathy.calibration import store
from empathy.calibration.baseline import baseline
from empathy.cli import main
from empathy.sensors.base import Beat, Pupil
from empathy.sim.seat import Viewer


def test_cli_baseline_of_a_simulated_viewer(tmp_path):
    seed = 11
    truth = Viewer.draw(np.random.default_rng(seed))
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["calibrate", "baseline", "--source", f"sim://seat?seed={seed}",
                   "--seat", "42", "--viewer", "v-42", "--duration", "10",
                   "--store", str(tmp_path / "store"), "--out", str(tmp_path / "out"), "--json"])
    doc = json.loads(buf.getvalue())
    assert rc == 0, doc["reasons"]
    f = doc["figures"]
    assert f["hr_bpm"] == pytest.approx(truth.hr0, rel=0.12)  # at rest: arousal near 0
    # The sim's screen is at luminance 0.3 with no show running.
    assert f["pupil_mm"] == pytest.approx(truth.body.steady_pupil_mm(0.3), abs=0.3)
    assert f["face_frames"] >= 50
    assert sum(f["resting_expression"].values()) == pytest.approx(1, abs=0.01)
    assert store.calibrated_seats(tmp_path / "store") == {42: "v-42"}
    prof = tomllib.loads((tmp_path / "store" / "viewers" / "v-42.toml").read_text())
    assert prof["baseline"]["hr_bpm"] == f["hr_bpm"] and prof["baseline"]["seat"] == 42
    page = Path(doc["report"]).read_text()
    assert "resting face" in page and "data:image/png" in page


def test_no_heartbeats_fails_and_says_why():
    pupils = [Pupil(int(i * 33_333), 4.0 + 0.01 * np.sin(i / 10), 0.95) for i in range(300)]
    res = baseline(pupils, 10.0, "v-1", 3)
    assert not res.passed and "no usable heartbeats" in res.reasons[0]
    assert res.figures["pupil_valid_pct"] > 90


def test_a_restless_heart_fails_the_usability_checks():
    rng = np.random.default_rng(0)
    t, beats = 0.0, []
    while t < 30.0:  # every third beat early (ectopic)
        rr = 800.0 * (0.65 if len(beats) % 3 == 0 else 1.0) + rng.normal(0, 5)
        t += rr / 1000
        beats.append(Beat(int(t * 1e6), rr))
    res = baseline(beats, 30.0, "v-2", 4)
    bad = {c.name for c in res.checks if not c.ok}
    assert "normal beats" in bad
    assert not res.passed


def test_viewer_ids_are_pseudonyms(tmp_path, capsys):
    assert store.new_viewer_id().startswith("v-")
    with pytest.raises(ValueError, match="viewer id"):
        store.update_viewer(tmp_path, "Jane Doe", "baseline", {})
    assert main(["calibrate", "baseline", "--source", "sim://seat", "--seat", "1", "--viewer",
                 "../x", "--out", str(tmp_path)]) == 1
    assert "viewer id" in capsys.readouterr().err
