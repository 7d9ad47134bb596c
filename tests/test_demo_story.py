"""`empathy demo --story FILE`: what the user gives it is checked first, each fault one line.

(The run itself, with the artist's names throughout, is checked on the artist's guide's
own rehearsal: tests/test_guide_artist.py.)"""

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
