"""An .otio ImageSequenceReference of every Nth frame (frame_step N: a shot rendered on
twos), named by the timeline's frame, `shot010.1001`, `.1003`...

Before: a clip whose in point fell between two files (frame 1004 of a run on twos) showed
the next file (1005) for its first frames, not the one the timeline holds there (1003);
and `story check` said the numbers between the files were missing frames."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from numbered import numbered_frame
from test_image_sequence_fast import big_endian_dpx
from test_story_new import cli
from test_story_timeline_media import only_segment, shown

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def on_twos(tmp_path, start: int, frames: int, step: int = 2):
    """tmp_path/shot: shot010.1001, 1003 ... 1015 showing 40-47; `story new` (its result) of
    an .otio clip of `frames` timeline frames from timeline frame `start` (0: the file 1001)
    whose reference says `step`, into tmp_path/s.toml."""
    import opentimelineio as otio

    shot = tmp_path / "shot"
    shot.mkdir(parents=True)
    for k in range(8):
        big_endian_dpx(shot / f"shot010.{1001 + 2 * k}.dpx",
                       numbered_frame(40 + k).astype(np.uint16) << 2)
    rt = lambda f: otio.opentime.RationalTime(f, 24)  # noqa: E731
    ref = otio.schema.ImageSequenceReference(
        target_url_base=shot.as_uri() + "/", name_prefix="shot010.", name_suffix=".dpx",
        start_frame=1001, frame_step=step, frame_zero_padding=4, rate=24,
        available_range=otio.opentime.TimeRange(rt(0), rt(16)))
    clip = otio.schema.Clip(name="on twos", media_reference=ref,
                            source_range=otio.opentime.TimeRange(rt(start), rt(frames)))
    otio.core.serialize_json_to_file(
        otio.schema.Timeline(tracks=[otio.schema.Track(children=[clip])]),
        str(tmp_path / "cut.otio"))
    return cli("new", tmp_path / "cut.otio", "--out", tmp_path / "s.toml")


def test_an_otio_sequence_of_every_other_frame_holds_each_two_frames(tmp_path):
    """(Before, any frame_step but 1 was refused.)"""
    r = on_twos(tmp_path, 2, 10)
    assert r.returncode == 0, r.stderr
    seg = only_segment(tmp_path / "s.toml")
    assert (seg.rate, seg.in_s, seg.out_s) == (24, round(2 / 24, 6), round(12 / 24, 6))
    assert shown(seg) == [41, 41, 42, 42, 43, 43, 44, 44, 45, 45]
    r = on_twos(tmp_path / "bad", 2, 10, step=-2)
    assert r.returncode == 1 and "frame_step of -2" in r.stderr and "Traceback" not in r.stderr


def test_an_in_point_between_two_files_holds_the_file_before_it(tmp_path):
    assert on_twos(tmp_path, 3, 9).returncode == 0  # timeline frames 1004-1012
    seg = only_segment(tmp_path / "s.toml")
    assert (seg.in_s, seg.out_s) == (round(3 / 24, 6), round(12 / 24, 6))
    assert shown(seg) == [41, 42, 42, 43, 43, 44, 44, 45, 45]


def _warnings(story) -> list[str]:
    r = cli("check", story, "--json")
    assert "Traceback" not in r.stderr, r.stderr
    return [w["reason"] for w in json.loads(r.stdout)["warnings"]]


def test_story_check_says_no_missing_frame_between_a_stepped_runs_files(tmp_path):
    assert on_twos(tmp_path, 0, 14).returncode == 0
    shot, story = tmp_path / "shot", tmp_path / "s.toml"
    assert not [w for w in _warnings(story) if "missing" in w]
    (shot / "shot010.1007.dpx").unlink()  # a file of the run itself missing: said
    said = [w for w in _warnings(story) if "missing" in w]
    assert len(said) == 1 and "1 frame(s) missing (1007)" in said[0], said


@pytest.mark.parametrize("media, step, why", [
    ("shot/shot010.####.dpx", "0", "frame_step must be a whole number 1..1000"),
    ("shot/shot010.####.dpx", '"2"', "frame_step must be a whole number 1..1000"),
    ("shot/shot010.####.dpx", "1001", "frame_step must be a whole number 1..1000"),
    ("a.mp4", "2", "frame_step is an image sequence's"),
])
def test_a_bad_frame_step_is_one_line(tmp_path, media, step, why):
    from empathy.host.story import StoryError, load

    story = tmp_path / "s.toml"
    fps = "fps = 24\n" if "#" in media else ""
    story.write_text(f'title = "t"\nstart = "a"\n[segments.a]\nmedia = "{media}"\n{fps}'
                     f"duration_s = 1\nframe_step = {step}\n")
    with pytest.raises(StoryError, match=why) as e:
        load(story, check_files=False)
    assert "\n" not in str(e.value) and f":{6 + bool(fps)}:" in str(e.value)
