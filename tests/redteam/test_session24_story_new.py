"""Red team, session 24: `empathy story new` on an editor's material.

A clip's name becomes its segment's id, and an id is at most 24 characters (the screen
cue's room): a folder of rushes named as editors name them ("Interview_John_Smith_take3_
final_v2.mov") was scaffolded into a story that `story new` itself then refused, a line
about characters the name does not have. An .otio timeline nested 100,000 deep (400 KB)
crashed OpenTimelineIO's C++ reader: the process died of SIGSEGV, no line at all; 10,000
deep (60 KB) held it over a minute. Real GStreamer clips, the real command in its own
process."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from numbered import make_numbered

from empathy.host.story import load

pytestmark = pytest.mark.timeout(240)


def _new(*args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_clips_with_long_names_become_a_story_that_checks_clean(tmp_path):
    rushes = tmp_path / "rushes"
    rushes.mkdir()
    names = ["Interview_John_Smith_take3_final_v2", "Interview_John_Smith_take3_final_v3",
             "2024-05-01 Opening wide shot of the harbour at dawn"]
    for k, name in enumerate(names):
        make_numbered(rushes / f"{name}.mp4", range(25 * k, 25 * k + 25))
    out = tmp_path / "film.toml"
    r = _new(rushes, "--out", out)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    ids = list(load(out).segments)
    assert len(ids) == 3 == len(set(ids)) and all(len(i) <= 24 for i in ids), ids
    assert ids[1].startswith("interview_john_smith"), ids


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_a_timeline_nested_beyond_any_editor_s_is_one_line(tmp_path, depth):
    tl = tmp_path / "cut.otio"
    tl.write_text('{"OTIO_SCHEMA": "Timeline.1", "metadata": {"a": ' + "[" * depth + "1"
                  + "]" * depth + "}}")
    t0 = time.monotonic()
    r = _new(tl, "--out", tmp_path / "film.toml")
    took = time.monotonic() - t0
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "nested" in lines[0], (r.returncode, lines)
    assert took < 30, took
    assert not (tmp_path / "film.toml").exists()
