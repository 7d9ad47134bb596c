"""Red team, session 25: a story's title holding control characters.

`story check` printed the title as it was, so a story from elsewhere could move the
operator's cursor, clear a line and write its own verdict ("\\x1b[2K\\x1b[1A... all ok"),
or forge lines with a newline, on the terminal and in the host's log; a title written as a
table was shown as Python's repr of a dict. Now the title is refused on its line."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import tomli_w

from redteam_rig import sample_story

FORGED = "Film\n\x1b[2K\x1b[1A\x1b[32mall ok\x1b[0m"


@pytest.mark.parametrize("title", [FORGED, "Film\r", {"name": "Film"}])
def test_a_title_that_is_no_line_of_text_is_refused_on_its_line(tmp_path, title):
    from empathy.host.sample.render import ensure

    path = sample_story(tmp_path)
    story = tomllib.loads(path.read_text())
    story["title"] = title
    path.write_text(tomli_w.dumps(story))
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", str(path),
                        "--media-root", str(ensure())], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "\x1b" not in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert re.match(rf"empathy story check: {re.escape(str(path))}:\d+: title must be one line "
                    "of text, no control characters, not ", r.stderr), r.stderr


def test_a_title_in_any_script_with_a_no_break_space_is_kept(tmp_path):
    from empathy.host import story as story_mod

    path = sample_story(tmp_path)
    story = tomllib.loads(path.read_text())
    story["title"] = "Nuit d'été\u00a0: 夜 🌧"
    path.write_text(tomli_w.dumps(story))
    assert story_mod.load(path, check_files=False).title == story["title"]
