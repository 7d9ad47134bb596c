"""`empathy demo --story FILE`: what the user gives it is checked first, each fault one line.

(The run itself, with the artist's names throughout, is checked on the artist's guide's
own rehearsal: tests/test_guide_artist.py.)"""

import shutil
import subprocess
import sys

import pytest

from artist_film import make_film


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    return make_film(tmp_path_factory.mktemp("artist") / "my-film")


def _demo(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "demo", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


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


def test_story_that_fails_the_check_plays_nothing(film, tmp_path):
    """A story `empathy story check` fails (a fake clip, a broken LUT): the demo says the
    check's own lines, one per problem, and starts nothing."""
    bad = tmp_path / "bad"
    shutil.copytree(film, bad)
    (bad / "clips" / "undertow.mp4").write_bytes(b"not a film " * 200)
    (bad / "luts" / "steel.cube").write_text('TITLE "Steel"\nLUT_3D_SIZE 9\n0.1 0.2\n')
    check = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check",
                            bad / "story.toml", "--platform", "desktop"],
                           capture_output=True, text=True, timeout=120)
    problems = [ln for ln in check.stderr.splitlines() if ln.startswith(str(bad))]
    assert check.returncode == 1 and len(problems) == 2, check.stderr
    r = _demo("--story", bad / "story.toml", "--seats", "1", "--out", tmp_path / "o",
              timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines() == [f"empathy demo: {p}" for p in problems], r.stderr
    assert not (tmp_path / "o" / "edge").exists()  # no seat unit was started
