"""Red team, session 26: an artist's clip whose length lies.

`story check` took a clip's length from its container (GStreamer's discoverer), which is
its longest stream's: a clip whose picture stops before its sound (an editor's export with
the music left running, a phone whose camera stopped first) or whose header claims more
than it holds passed as the longer length. The show's picture ends at the picture's end,
so a decision whose window closes after it never came: its default played at every show
and the audience was never asked, with `story check` saying "ok". Real clips made by
ffmpeg, checked by the real `story check` code (the player's own Decoder)."""

import shutil
import struct
import subprocess

import pytest

from empathy.host.story import loads
from empathy.host.story_check import check_files

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

STORY = """title = "t"
start = "a"
[segments.a]
media = "a.mp4"
duration_s = {dur}
[segments.b]
media = "b.mp4"
duration_s = 1
[segments.c]
media = "b.mp4"
duration_s = 1
[decisions.d]
after = "a"
window_s = [{w0}, {w1}]
default = "b"
options = {{ b = 0.2, c = 0.1 }}
"""


def ffmpeg(*args) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True,
                   timeout=60)


def clip(path, picture_s: float, sound_s: float | None = None):
    sound = ["-f", "lavfi", "-i", f"sine=duration={sound_s}", "-c:a", "aac"] if sound_s else []
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size=64x48:rate=25:duration={picture_s}", *sound,
           "-pix_fmt", "yuv420p", "-c:v", "libx264", path)
    return path


def check(tmp_path, dur, w0, w1):
    clip(tmp_path / "b.mp4", 1, 1)
    story = loads(STORY.format(dur=dur, w0=w0, w1=w1), tmp_path / "t.toml")
    return [str(p) for p in check_files(story).errors]


def test_a_clip_whose_sound_runs_past_its_picture(tmp_path):
    """4 s of picture, 8 s of sound: the discoverer says 8 s; the window [5, 7] is never
    reached. Before: no error (the story checked "ok")."""
    clip(tmp_path / "a.mp4", 4, 8)
    errors = check(tmp_path, 8, 5, 7)
    assert any("'a'" in e and "picture of a.mp4 ends before 7.00 s" in e for e in errors), errors


def test_the_same_clip_declared_as_long_as_its_picture_is_clean(tmp_path):
    """The control: the same file, the segment as long as its picture."""
    clip(tmp_path / "a.mp4", 4, 8)
    assert check(tmp_path, 4, 1, 3) == []


def test_a_clip_whose_header_claims_ten_times_its_length(tmp_path):
    """2 s of frames under a movie and track header saying 20 s (a repair tool's or a
    hand-edited header): before, "ok" for a 15-s segment."""
    clip(tmp_path / "real.mp4", 2, 2)
    data = bytearray((tmp_path / "real.mp4").read_bytes())
    for box, skip in ((b"mvhd", 16), (b"mdhd", 16), (b"tkhd", 20)):  # version 0 boxes
        at = data.find(box) + 4 + skip
        data[at:at + 4] = struct.pack(">I", struct.unpack(">I", data[at:at + 4])[0] * 10)
    (tmp_path / "a.mp4").write_bytes(data)
    errors = check(tmp_path, 15, 10, 14)
    assert any("'a'" in e and "picture" in e for e in errors), errors


def test_a_picture_that_ends_within_the_segments_last_second_is_timed(tmp_path):
    clip(tmp_path / "a.mp4", 4, 8)
    errors = check(tmp_path, 4.5, 1, 3)
    assert any("picture of a.mp4 ends at 4." in e for e in errors), errors
