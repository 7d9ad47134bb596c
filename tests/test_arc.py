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


def test_valence_and_arousal_are_read_separately_per_scene():
    arc = scene_arc(screenplay_scenes(SCRIPT))
    kitchen, cellar, street, bus = arc
    assert kitchen.valence > 0.1 and cellar.valence < -0.3  # kitchen: joy, and one "Grief."
    assert cellar.arousal > kitchen.arousal and cellar.arousal > street.arousal
    assert {"scream", "blood", "terror"} <= set(cellar.stirring)
    assert all(0 <= p.arousal <= 1 and -1 <= p.valence <= 1 for p in arc)


BEACH_AND_CELLAR = """Title: Two Scenes

EXT. BEACH - DAY

The sun shines on the golden sand. Children laugh and splash in the waves. What a
wonderful, glorious, beautiful day! Everyone is so happy. Love and joy everywhere.

INT. CELLAR - NIGHT

Terror. Screams. Blood.
"""


def test_a_happy_beach_is_calmer_than_terror_screams_blood():
    """The issue's case: VADER strength gave the beach 0.70 and the cellar 0.36."""
    from empathy.host.arc import _analyzer

    beach, cellar = scene_arc(screenplay_scenes(BEACH_AND_CELLAR))
    strength = [abs(_analyzer().polarity_scores(s.text.replace("\n", " "))["compound"])
                for s in screenplay_scenes(BEACH_AND_CELLAR)]
    assert strength[0] > strength[1]  # sentiment strength still reads it backwards...
    assert cellar.arousal > beach.arousal + 0.2  # ...arousal does not
    assert beach.valence > 0.5 and cellar.valence < 0  # and valence keeps its sign


def test_staging_cues_move_arousal():
    from empathy.host.arousal import scene_arousal, sentence_arousal

    plain = sentence_arousal("She walks to the door and opens it slowly")[0]
    assert sentence_arousal("She walks to the door and opens it!")[0] > plain  # exclamation
    assert sentence_arousal("He SCREAMS at the wall")[0] > sentence_arousal("He screams at the wall")[0]
    assert sentence_arousal("Gunfire.")[0] > sentence_arousal("We hear gunfire in the distance far away")[0]
    assert sentence_arousal("Dim light.")[0] < sentence_arousal("The light in the room is dim today")[0]
    assert scene_arousal("").arousal == 0.0


def test_sample_screenplay_has_a_scene_per_segment_with_the_intended_shape():
    arc = screenplay_arc(SAMPLE)
    assert len(arc) == 5
    arrival, chase, hideout, rooftop, dawn = arc
    assert chase.valence < 0 and rooftop.valence < 0 < dawn.valence
    assert rooftop.arousal > chase.arousal > max(arrival.arousal, hideout.arousal, dawn.arousal)


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
    assert set(rows[0]) == {"scene", "heading", "valence", "arousal", "stirring"}
    assert rows == [dict(scene=p.scene, heading=p.heading, valence=p.valence, arousal=p.arousal,
                         stirring=list(p.stirring)) for p in screenplay_arc(SAMPLE)]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "a.svg"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "arc", str(SAMPLE),
                        "--plot", str(svg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "ROOFTOP" in r.stdout and "Neon Rain" in r.stdout
    assert "Neon Rain: intended arc" in svg.read_text()  # the screenplay's title heads it
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "arc",
                        str(tmp_path / "missing.fountain")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "missing.fountain" in r.stderr


def test_arc_writes_no_plot_unless_asked(tmp_path):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "arc", str(SAMPLE)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert list(tmp_path.iterdir()) == [] and "plot:" not in r.stdout


def test_screenplay_title():
    from empathy.host.arc import screenplay_title

    assert screenplay_title(SAMPLE.read_text()) == "Neon Rain"
    assert screenplay_title("Title:\n    _**BRICK & STEEL**_\nAuthor: Stu\n\nINT. X\n") == "BRICK & STEEL"
    assert screenplay_title("INT. HOUSE - DAY\n\nTitle: not a title page\n") is None
