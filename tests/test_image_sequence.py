"""Image sequences (a VFX or DI delivery: shot010/shot010.1001.dpx ...) as clips: found by
`story new` in a folder of shots, named in a story as `shot010.####.dpx`, played."""

from __future__ import annotations

import subprocess
import sys

import pytest
from imgseq_media import make_sequence
from numbered import frame_number

from empathy.host.player.decode import read_frames
from empathy.host.story import load


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", *map(str, args)],
                          capture_output=True, text=True, timeout=180, cwd=cwd)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = tmp_path_factory.mktemp("delivery")
    make_sequence(d, "shot010", range(10, 22))           # 12 frames, 1001..1012
    make_sequence(d, "shot020", range(40, 46), ext="dpx")  # 6 frames
    return d


def test_story_new_drafts_a_segment_per_shot_folder(shots, tmp_path):
    out = tmp_path / "film.toml"
    r = cli("new", shots, "--out", out, "--fps", "24")
    assert r.returncode == 0, r.stderr
    story = load(out)
    assert list(story.segments) == ["shot010", "shot020"]
    s10, s20 = story.segments.values()
    assert s10.media.name == "shot010.####.png" and s20.media.name == "shot020.####.dpx"
    assert (s10.duration_s, s20.duration_s) == (0.5, 0.25)  # 12 and 6 frames at 24 fps


def test_a_story_naming_a_sequence_plays_its_frames(shots, tmp_path):
    story = tmp_path / "s.toml"
    story.write_text(f'title = "t"\nstart = "a"\n[segments.a]\n'
                     f'media = "{shots}/shot010/shot010.%04d.png"\nfps = 24\n')
    seg = load(story).segments["a"]
    frames = list(read_frames(seg.media, fps=24, rate=seg.rate))
    assert [frame_number(f.rgb) for f in frames] == list(range(10, 22))
