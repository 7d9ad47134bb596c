"""Screenplay arcs: Fountain scenes, VADER scores per scene, `empathy story arc`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from empathy.host.arc import scene_arc, screenplay_arc, screenplay_scenes

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.fountain"

SCRIPT = """Title: Test
Author: Nobody

/* A boneyard: wonderful, glorious, joyful words that must not count. */

INT. KITCHEN - DAY

Sunlight. A cake. Everyone is happy and laughing. What a lovely, wonderful day.

HAPPY
Grief.

[[A note: murder, terror, horror. Not scored.]]

CUT TO:

.THE CELLAR

Something screams in the dark. Blood. Terror. She is terrified and hurt.

EXT. STREET - NIGHT #12#

A car passes.

INT./EXT. BUS - CONTINUOUS

Nothing happens.
"""


def test_scenes_split_at_headings_and_skip_markup():
    scenes = screenplay_scenes(SCRIPT)
    assert [s.heading for s in scenes] == ["INT. KITCHEN - DAY", "THE CELLAR", "EXT. STREET - NIGHT",
                                           "INT./EXT. BUS - CONTINUOUS"]
    assert [s.line for s in scenes] == [6, 17, 21, 25]
    kitchen = scenes[0].text
    assert "Grief." in kitchen and "HAPPY" not in kitchen  # the cue is not scored, the line is
    assert "boneyard" not in kitchen and "murder" not in kitchen and "CUT TO" not in kitchen
    assert "Test" not in " ".join(s.text for s in scenes)  # title page


def test_vader_scores_tone_and_intensity_per_scene():
    arc = scene_arc(screenplay_scenes(SCRIPT))
    kitchen, cellar, street, bus = arc
    assert kitchen.valence > 0.1 and cellar.valence < -0.3  # kitchen: joy, and one "Grief."
    assert cellar.intensity > street.intensity and street.intensity == bus.intensity == 0.0
    assert all(0 <= p.intensity <= 1 and -1 <= p.valence <= 1 for p in arc)


def test_sample_screenplay_has_a_scene_per_segment_with_the_intended_shape():
    arc = screenplay_arc(SAMPLE)
    assert len(arc) == 5
    arrival, chase, hideout, rooftop, dawn = arc
    assert chase.valence < 0 and rooftop.valence < 0 < dawn.valence
    assert rooftop.intensity > chase.intensity > hideout.intensity  # the climax is the peak
    assert hideout.intensity < arrival.intensity


def test_a_script_without_scenes_is_refused(tmp_path):
    p = tmp_path / "x.fountain"
    p.write_text("Just some words.\nNo headings at all.\n")
    with pytest.raises(ValueError, match="no scene headings"):
        screenplay_arc(p)


def test_arc_cli_json_table_and_plot(tmp_path):
    png = tmp_path / "arc.png"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "arc", str(SAMPLE),
                        "--plot", str(png), "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["scene"] for x in rows] == [1, 2, 3, 4, 5]
    assert set(rows[0]) == {"scene", "heading", "valence", "intensity"}
    assert rows == [dict(scene=p.scene, heading=p.heading, valence=p.valence, intensity=p.intensity)
                    for p in screenplay_arc(SAMPLE)]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "arc", str(SAMPLE),
                        "--plot", str(tmp_path / "a.svg")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "ROOFTOP" in r.stdout and (tmp_path / "a.svg").exists()
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "arc",
                        str(tmp_path / "missing.fountain")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "missing.fountain" in r.stderr
