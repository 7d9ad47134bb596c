"""Red team, session 25: a writer's or a tester's own words in the plots the tools draw.

matplotlib reads text between two "$" as TeX. A story title, a screenplay's title or scene
heading, or a recording's file name holding a pair with no TeX between them ("$\\x$") made
savefig raise: `story graph`, `story arc --plot` and `policy simulate --plot` ended in
"unexpected error: ValueError" (exit 70) and a crash file, `calibrate hr` in a pyparsing
traceback; a LUT so named ended the demo, its film played, in the same ValueError and no
report. A pair that is TeX ("From $5 to $10") lost its dollars and turned italic. Now each
"$" is drawn as itself. Real files, the real commands in their own processes."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import numpy as np
import pytest
import tomli_w

from redteam_rig import sample_story

pytestmark = pytest.mark.timeout(240)

WORDS = r"From $5 to $10 $\x$"


def _run(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "empathy.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=120)


def _story(tmp_path):
    path = sample_story(tmp_path)
    story = tomllib.loads(path.read_text())
    story["title"] = WORDS
    path.write_text(tomli_w.dumps(story))
    return path


@pytest.mark.parametrize("verb", ["story graph png", "story graph svg", "policy simulate"])
def test_a_story_title_with_dollars_is_drawn_as_written(tmp_path, verb):
    story = _story(tmp_path)
    out = tmp_path / ("plot.svg" if verb.endswith("svg") else "plot.png")
    argv = (["story", "graph", story, "--out", out] if verb.startswith("story") else
            ["policy", "simulate", "--story", story, "--screenings", "2", "--plot", out])
    r = _run(*argv)
    assert r.returncode == 0 and out.stat().st_size > 1000, (r.returncode, r.stderr[-1500:])
    if out.suffix == ".svg":  # names stay text there: the title is its words
        assert f"{WORDS}: thick arrows" in out.read_text()


def test_a_screenplay_title_and_heading_with_dollars_are_drawn(tmp_path):
    script = tmp_path / "heist.fountain"
    script.write_text(f"Title: {WORDS}\n\nINT. BANK {WORDS} - DAY\n\nJohn walks in, angry.\n\n"
                      "JOHN\nWhat a day!\n\nEXT. STREET - NIGHT\n\nRain on a quiet street.\n")
    r = _run("story", "arc", script, "--plot", tmp_path / "arc.png")
    assert r.returncode == 0 and (tmp_path / "arc.png").stat().st_size > 1000, r.stderr[-1500:]


def test_a_recording_named_with_dollars_is_plotted_in_the_rig_report(tmp_path):
    t = np.arange(0, 120, 1.0)
    rows = "ts_us,hr_bpm\n" + "".join(f"{int(a * 1e6)},{70 + 5 * np.sin(a / 7):.2f}\n" for a in t)
    ref, dev = tmp_path / "reference.csv", tmp_path / "strap $\\x$.csv"
    ref.write_text(rows)
    dev.write_text(rows)
    r = _run("calibrate", "hr", "--device", dev, "--reference", ref, "--out", tmp_path / "cal")
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr[-1500:]
    assert (tmp_path / "cal" / "hr.html").stat().st_size > 1000, (r.returncode, r.stdout)


def test_a_lut_named_with_dollars_is_named_in_the_demo_s_report(tmp_path):
    """The report's graded-frame panel is titled with the LUT's file name: the demo ran
    its film, then ended in "unexpected error: ValueError" (exit 70) with no report."""
    import shutil

    from empathy.host.sample.render import ensure

    root = tmp_path / "media"
    shutil.copytree(ensure(), root)
    shutil.copy(root / "luts" / "orange_haze.cube", root / "luts" / f"{WORDS}.cube")
    story = sample_story(tmp_path)
    story.write_text(story.read_text().replace("luts/orange_haze.cube",
                                               f"luts/{WORDS}.cube".replace("\\", "\\\\")))
    # The panel's frame is 5 s into the film (report._frames_side_by_side): 6 s of film
    # hold it. No resting baseline: the film starts once the seat is heard.
    r = _run("demo", "--story", story, "--media-root", root, "--duration", "6", "--baseline",
             "0", "--seats", "1", "--no-faces", "--out", tmp_path / "demo")
    assert r.returncode == 0, r.stderr[-1500:]
    assert "<h2>Grade</h2><img" in (tmp_path / "demo" / "report.html").read_text()
