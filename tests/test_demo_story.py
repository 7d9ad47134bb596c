"""`empathy demo --story FILE`: an artist's own film rehearsed on simulated seats, with the
same outputs as the sample demo and the artist's names throughout."""

import csv
import json
import re
import subprocess
import sys

import pytest

from artist_film import CLIPS, make_film


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    return make_film(tmp_path_factory.mktemp("artist") / "my-film")


def _demo(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "demo", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_demo_runs_the_artists_story_with_their_names_throughout(film, tmp_path):
    out = tmp_path / "rehearsal"
    r = _demo("--story", film / "story.toml", "--seats", "2", "--baseline", "3",
              "--out", out, "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    brief = json.loads(r.stdout)
    assert brief["story"] == "Tidewater" and brief["baselines_before_film"] is True
    s = json.loads((out / "summary.json").read_text())
    # One pass of the longest path by default: 4 s + 3 s of film.
    assert s["duration_s"] == 7.0 and abs(s["frames_rendered"] - 7 * 25) <= 3
    assert [d["decision"] for d in s["decisions"]] == ["the_turn"]
    chosen = s["decisions"][0]["chosen"]
    assert chosen in ("still_water", "undertow")
    assert [g["segment"] for g in s["segments"]] == ["first_light", chosen]
    assert s["branches"] == {"the_turn": {"still_water": int(chosen == "still_water"),
                                          "undertow": int(chosen == "undertow")}}
    with open(out / "frames.csv") as f:
        clips = {row["clip_id"] for row in csv.DictReader(f)}
    assert clips == {"first_light", chosen}
    page = re.sub(r"data:image/png;base64,[\w+/=]+", "", (out / "report.html").read_text())
    assert "Tidewater — show report" in page and "<h2>Timeline</h2>" in page
    for name in ("first_light", chosen, "the_turn", "still_water", "undertow"):
        assert name in page
    assert "neon" not in page.lower() and "arrival" not in page  # nothing of the sample
    assert (out / "screen.mp4").stat().st_size > 10_000
    # the simulated audience followed the artist's own targets (no impact file given)
    assert (out / "edge" / "impact.toml").read_text().count("[segments.") == len(CLIPS)


@pytest.mark.parametrize("what, args, says", [
    ("story", ["--story", "{film}/nope.toml"], "nope.toml"),
    ("media", ["--story", "{film}/story.toml", "--media-root", "{film}/elsewhere"],
     "not found"),
    ("impact", ["--story", "{film}/story.toml", "--impact", "{film}/impact.toml"],
     "not_a_segment"),
])
def test_bad_story_media_or_impact_is_one_clear_line(film, tmp_path, what, args, says):
    (film / "impact.toml").write_text("[segments.not_a_segment]\ntension = [[0, 0.5]]\n")
    r = _demo(*[a.format(film=film) for a in args], "--seats", "1", "--out", tmp_path / "o",
              timeout=120)
    assert r.returncode == 1 and says in r.stderr, r.stderr
    assert r.stderr.startswith("empathy demo: ") and "Traceback" not in r.stderr
