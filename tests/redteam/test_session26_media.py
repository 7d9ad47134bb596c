"""Red team, session 26: an artist's own clips with odd properties, through the real
`story check`, `story new` and the player's Decoder (real clips made by ffmpeg).

A clip whose length lies: the discoverer's duration is the container's, its longest
stream's, so a picture that stops before its sound (or a header claiming more than the
file holds) passed `story check` as the longer length; the show's clip ends with its
picture, so a decision whose window closes after it never came (its default played at
every show). Also: an interlaced camcorder clip shown combed, a short MPEG-TS measured as
0 s, a picture under a fifth of its sound called "no video stream", names that are not
UTF-8 (a clip's: `story new` crashed; a folder's: GStreamer could not open any clip)."""

import os
import shutil
import struct
import subprocess
import sys

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


def _comb(path) -> float:
    """Mean difference between a frame's even and odd rows over the clip, 0..255: a white
    bar moving across black, so only woven fields (combing) make neighbouring rows differ."""
    import numpy as np

    from empathy.host.player.decode import Decoder, End

    d, combs = Decoder(path, 160, 120, 25.0), []
    try:
        while (item := d.get(timeout=20)) is not None and not isinstance(item, End):
            y = item.rgb.astype(float).mean(axis=2) / (257 if item.rgb.dtype != np.uint8 else 1)
            combs.append(np.abs(y[0::2] - y[1::2]).mean())
    finally:
        d.stop()
    assert combs, getattr(item, "error", item)
    return float(np.mean(combs))


BAR = ("color=black:s=160x120:r=50[bg];color=white:s=20x120:r=50[bar];"
       "[bg][bar]overlay=x='mod(t*200,140)':y=0")


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le"])
def test_a_camcorders_interlaced_clip_plays_without_combing(tmp_path, pix_fmt):
    """A camcorder's 1080i (AVCHD .mts) in small: 50 fields a second woven into 25 frames.
    Before: every moving edge combed, rows differing by 14.4 of 255 on average (14.5 in
    10-bit; the progressive control: 0.0); after: 0.0 (10-bit: cut to 8 to weave)."""
    ffmpeg("-f", "lavfi", "-i", BAR, "-t", 1, "-vf", "tinterlace=mode=interleave_top,"
           "setfield=tff", "-c:v", "libx264", "-flags", "+ilme+ildct", "-x264opts", "tff=1",
           "-pix_fmt", pix_fmt, "-f", "mpegts", tmp_path / "i.mts")
    ffmpeg("-f", "lavfi", "-i", BAR, "-t", 1, "-r", 25, "-c:v", "libx264", "-pix_fmt", pix_fmt,
           "-f", "mpegts", tmp_path / "p.mts")
    assert _comb(tmp_path / "p.mts") < 0.5
    assert _comb(tmp_path / "i.mts") < 1.0


def test_a_short_mpeg_ts_clip_is_measured_not_taken_as_empty(tmp_path):
    """An HLS segment or a camcorder's short .ts (2 s): the discoverer gives no duration
    (0), so `story check` said "in_s = 0 but a.ts lasts 0.00 s" and refused a clip the
    player plays (and `host run` would not start), and `story new` wrote duration_s = 0.0,
    which its own loader refused. Now the demuxer's frames give it."""
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=2", "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-f", "mpegts", tmp_path / "a.ts")
    story = loads('title = "t"\nstart = "a"\n[segments.a]\nmedia = "a.ts"\nduration_s = 2\n',
                  tmp_path / "t.toml")
    rep = check_files(story)
    assert [str(p) for p in rep.errors] == [] and rep.clips["a"]["duration_s"] >= 2.0


def test_a_picture_under_a_fifth_of_its_sound_is_named_for_what_it_is(tmp_path):
    """A 2-s title over 20 s of music: qtdemux leaves a picture track shorter than a fifth
    of the film out as a preview, so the player shows nothing of it. Before: "no video
    stream", for a clip every other player shows a picture of; the sound-only control
    still says so."""
    clip(tmp_path / "a.mp4", 2, 20)
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", tmp_path / "s.mp4")
    for name, says in (("a.mp4", "its picture lasts under a fifth"), ("s.mp4", "no video")):
        story = loads(f'title = "t"\nstart = "a"\n[segments.a]\nmedia = "{name}"\n'
                      'duration_s = 2\n', tmp_path / "t.toml")
        assert [says in p.reason for p in check_files(story).errors] == [True], name


def test_story_new_on_a_folder_holding_a_name_from_another_encoding(tmp_path):
    """Rushes copied from an old camera card or a Windows share keep their Latin-1 names
    ("café" as b'caf\\xe9'): `story new` on the folder ended in "unexpected error:
    UnicodeEncodeError" (exit 70, a crash file) and left an empty story file. Now that
    clip is skipped with a line saying why, and the rest are scaffolded."""
    rush = tmp_path / "rush"
    rush.mkdir()
    clip(rush / "good.mp4", 1)
    os.link(rush / "good.mp4", bytes(rush) + b"/caf\xe9.mp4")
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", rush, "--out",
                        tmp_path / "s.toml"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "unexpected error" not in r.stderr, r.stderr
    assert "caf\\xe9.mp4': its name is not UTF-8" in r.stderr, r.stderr
    assert "good.mp4" in (tmp_path / "s.toml").read_text()


def test_a_film_in_a_folder_whose_name_is_not_utf8_plays(tmp_path):
    """A film unpacked from an old archive into "Café" as Latin-1 bytes: GStreamer's
    location property takes UTF-8 text only, so the player's decoder ended every clip in
    "cannot build decoder: could not convert ... to type 'gchararray'". `host run` checks
    without decoding (the discoverer takes a URI, which works), so the show started and
    every clip failed. Now files reach GStreamer as file:// URIs, which carry any bytes."""
    from empathy.host.player.decode import Decoder, End

    folder = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")
    os.mkdir(folder)
    clip(os.path.join(folder, "a.mp4"), 1)
    d = Decoder(os.path.join(folder, "a.mp4"), 64, 48, 25.0)
    try:
        item = d.get(timeout=20)
    finally:
        d.stop()
    assert item is not None and not isinstance(item, End), getattr(item, "error", item)
