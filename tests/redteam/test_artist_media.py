"""An installation artist's own clips and story file, as a phone, an editor or a text editor
on Windows leaves them: a portrait clip with rotation metadata, clips of odd sizes
(1x1, 7x5, 8x8) and 10-bit, a story saved with a byte-order mark, numbers that are not
numbers. The film plays upright, a grade ends in a result or one line, and a value that
cannot be played is refused where the story is read, not in the middle of a show."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from empathy.host.player.cube import identity_cube, write_cube
from empathy.host.player.decode import Decoder, End
from empathy.host.story import StoryError, loads

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def ffmpeg(*args) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True,
                   timeout=60)


def clip(path, size: str, pix_fmt: str = "yuv420p", codec: str = "libx264", frames: int = 5):
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate=25", "-frames:v", frames,
           "-pix_fmt", pix_fmt, "-c:v", codec, path)
    return path


def first_frame(path, w: int, h: int) -> np.ndarray:
    d = Decoder(path, w, h, 25.0)
    try:
        item = d.get(timeout=20)
    finally:
        d.stop()
    assert item is not None and not isinstance(item, End), f"{path}: no frame ({item})"
    return item.rgb


@pytest.mark.parametrize("size, pix_fmt, codec, ext", [
    ("1x1", "yuv444p", "ffv1", "mkv"), ("7x5", "yuv444p", "libx264", "mp4"),
    ("64x48", "yuv420p10le", "libx264", "mp4")], ids=["1x1", "7x5", "10-bit"])
def test_odd_clips_reach_the_screen_at_the_shows_size(tmp_path, size, pix_fmt, codec, ext):
    """What the show's decoder makes of them: a frame of the show's size with a picture
    in it (testsrc is never black all over)."""
    rgb = first_frame(clip(tmp_path / f"c.{ext}", size, pix_fmt, codec), 64, 36)
    assert rgb.shape == (36, 64, 3) and rgb.dtype in (np.uint8, np.uint16)  # 16: 10-bit
    assert rgb.max() > np.iinfo(rgb.dtype).max * 0.4, "a black frame"


def test_a_portrait_phone_clip_plays_upright(tmp_path):
    """Left half white, right half black, stored landscape and tagged rotate=90, as a
    phone held upright records it: shown upright, the halves are top and bottom."""
    ffmpeg("-f", "lavfi", "-i", "color=white:s=32x48:r=25[a];color=black:s=32x48:r=25[b];"
           "[a][b]hstack=inputs=2,format=yuv420p", "-frames:v", 5, "-c:v", "libx264",
           tmp_path / "raw.mp4")
    ffmpeg("-i", tmp_path / "raw.mp4", "-c", "copy", "-metadata:s:v:0", "rotate=90",
           tmp_path / "portrait.mp4")
    x = first_frame(tmp_path / "portrait.mp4", 64, 48).astype(float).mean(axis=2)
    h, w = x.shape
    top_bottom = abs(x[:h // 2].mean() - x[h // 2:].mean())
    left_right = abs(x[:, :w // 2].mean() - x[:, w // 2:].mean())
    assert top_bottom > 100 > left_right, (top_bottom, left_right)


@pytest.mark.parametrize("size, codec, ext", [("1x1", "ffv1", "mkv"), ("8x8", "libx264", "mp4")])
def test_grading_a_tiny_clip_ends_in_a_result_or_one_line(tmp_path, size, codec, ext):
    write_cube(tmp_path / "id.cube", identity_cube(5))
    src = clip(tmp_path / f"tiny.{ext}", size, "yuv444p", codec, frames=25)  # 1 s
    try:
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "lut", "apply",
                            tmp_path / "id.cube", src, tmp_path / "out.mp4"],
                           capture_output=True, text=True, timeout=12,  # 64x48: 1 s
                           env={"XDG_STATE_HOME": str(tmp_path / "state"),
                                **{k: v for k, v in os.environ.items()
                                   if k != "XDG_STATE_HOME"}})
    except subprocess.TimeoutExpired:
        pytest.fail(f"`empathy lut apply` on a {size} clip did not end in 12 s")
    assert "Traceback" not in r.stderr and "unexpected error" not in r.stderr, r.stderr
    assert r.returncode == 0 or len(r.stderr.strip().splitlines()) == 1, r.stderr


STORY = """title = "t"
start = "a"
[segments.a]
media = "a.mp4"
duration_s = {dur}
in_s = {in_s}
[segments.b]
media = "b.mp4"
duration_s = 5
[segments.c]
media = "c.mp4"
duration_s = 5
[decisions.d]
after = "a"
window_s = [1, 4]
default = "b"
options = {{ b = {lift}, c = 0.1 }}
"""
FINE = {"dur": "5", "in_s": "0", "lift": "0.2"}


def test_the_story_these_variants_start_from_loads():
    assert loads(STORY.format(**FINE), "t.toml", check_files=False).segments["a"].duration_s == 5


@pytest.mark.parametrize("key, value", [("dur", "nan"), ("dur", "inf"), ("in_s", "nan"),
                                        ("lift", "nan"), ("lift", "inf")])
def test_a_number_that_is_not_one_is_refused_on_its_line(key, value):
    with pytest.raises(StoryError, match=r"t\.toml:\d+:"):
        loads(STORY.format(**{**FINE, key: value}), "t.toml", check_files=False)


def test_a_story_saved_by_notepad_with_a_byte_order_mark(tmp_path):
    from empathy.host.story import load

    path = tmp_path / "t.toml"
    path.write_bytes(b"\xef\xbb\xbf" + STORY.format(**FINE).encode())
    assert load(path, check_files=False).title == "t"


def test_story_check_finds_a_clip_cut_short_in_copying(tmp_path):
    from empathy.host.story_check import check_files

    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-t", 2, "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-g", 25, "-movflags", "+faststart", tmp_path / "full.mp4")
    data = (tmp_path / "full.mp4").read_bytes()
    (tmp_path / "a.mp4").write_bytes(data[:len(data) * 55 // 100])
    story = loads('title = "t"\nstart = "a"\n[segments.a]\nmedia = "a.mp4"\n'
                  'duration_s = 2.0\n', tmp_path / "t.toml")
    rep = check_files(story)
    assert any("'a'" in p.reason for p in rep.errors), [str(p) for p in rep.problems]


def test_a_range_of_a_silent_clip_plays(tmp_path):
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-t", 2, "-pix_fmt", "yuv420p",
           "-c:v", "libx264", tmp_path / "silent.mp4")
    _first_frame_of_range(tmp_path / "silent.mp4")


def test_the_same_range_of_a_clip_with_sound_plays(tmp_path):
    """The control for the test above: only the missing sound differs."""
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-f", "lavfi", "-i", "sine",
           "-t", 2, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac",
           tmp_path / "sound.mp4")
    _first_frame_of_range(tmp_path / "sound.mp4")


def _first_frame_of_range(path):
    """0.5-1.5 s of a 2-s clip gives a frame, not an End (an error)."""
    d = Decoder(path, 64, 48, 25.0, in_s=0.5, out_s=1.5)
    try:
        item = d.get(timeout=20)
    finally:
        d.stop()
    assert item is not None and not isinstance(item, End), getattr(item, "error", item)


EDL_EVENT = ("{n}  AX       V     C        00:00:0{a}:00 00:00:0{b}:00 01:00:0{a}:00 "
             "01:00:0{b}:00\n* FROM CLIP NAME: s.mp4\n")


@pytest.mark.parametrize("edl", [
    "\ufeffTITLE: t\nFCM: NON-DROP FRAME\n\n" + EDL_EVENT.format(n="001", a=0, b=1),
    "TITLE: t\n\n" + EDL_EVENT.format(n="001", a=0, b=1) + EDL_EVENT.format(n="001", a=1, b=2)],
    ids=["bom", "repeated-event-number"])
def test_story_new_on_an_edl_as_editors_write_them(tmp_path, edl):
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-f", "lavfi", "-i", "sine",
           "-t", 3, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac", tmp_path / "s.mp4")
    (tmp_path / "cut.edl").write_text(edl, encoding="utf-8")
    # a process of its own: OpenTimelineIO segfaults in a process that has run GStreamer
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", tmp_path / "cut.edl",
                        "--out", tmp_path / "s.toml", "--fps", "25", "--media-root", tmp_path],
                       capture_output=True, text=True, timeout=60)
    rc, err = r.returncode, r.stderr
    # read, or refused in the editor's words: never the adapter's internals
    assert rc == 0 or not any(w in err for w in ("Unknown event type", "has no attribute")), err


def test_a_clip_without_pictures_ends_at_once(tmp_path):
    """An artist's soundtrack exported under the clip's name (audio only, .mp4)."""
    ffmpeg("-f", "lavfi", "-i", "sine", "-t", 1, "-c:a", "aac", tmp_path / "sound_only.mp4")
    d = Decoder(tmp_path / "sound_only.mp4", 64, 48, 25.0)
    try:
        item = d.get(timeout=6)  # a clip's first frame comes in well under a second
    finally:
        d.stop()
    assert isinstance(item, End) and item.error, item
