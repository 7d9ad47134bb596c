"""Image sequences (a VFX or DI delivery: shot010/shot010.1001.dpx ...) as clips: found by
`story new` in a folder of shots, named in a story as `shot010.####.dpx`, played."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from imgseq_media import make_sequence
from numbered import frame_number
from test_story_new import cli, play

from empathy.host.player.decode import Decoder, End, read_frames
from empathy.host.player.imgseq_read import pixels
from empathy.host.story import StoryError, load

# EXR pixels are read by OpenEXR's bindings (pyproject's host extra: `pip install openexr`)
try:
    import OpenEXR  # noqa: F401
except ImportError:
    OpenEXR = None
needs_exr = pytest.mark.skipif(OpenEXR is None, reason="needs the openexr package "
                               "(pip install openexr)")


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
                     f'media = "{shots}/shot010/shot010.%04d.png"\nfps = 24\nduration_s = 0.5\n')
    seg = load(story).segments["a"]
    frames = list(read_frames(seg.media, fps=24, rate=seg.rate))
    assert [frame_number(f.rgb) for f in frames] == list(range(10, 22))


def test_story_new_then_check_then_a_show_plays_both_shots_gaplessly(shots, tmp_path):
    out = tmp_path / "film.toml"
    assert cli("new", shots, "--out", out, "--fps", "25").returncode == 0
    r = cli("check", out, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout
    assert play(out, tmp_path / "screen.mp4") == list(range(10, 22)) + list(range(40, 46))


def test_a_gap_a_truncated_and_a_resized_frame_are_held_said_once(tmp_path, caplog):
    shot = make_sequence(tmp_path, "shot030", range(1, 9), ext="dpx")  # 1001..1008
    (shot / "shot030.1003.dpx").unlink()                                # a gap
    f5 = shot / "shot030.1005.dpx"
    f5.write_bytes(f5.read_bytes()[:5000])                              # truncated
    f7 = shot / "shot030.1007.dpx"                                      # another size
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=size=64x36",
                    "-frames:v", "1", str(f7)], check=True, timeout=60)
    with caplog.at_level("WARNING"):
        frames = list(read_frames(shot / "shot030.%04d.dpx", fps=25, rate=25))
    assert [frame_number(f.rgb) for f in frames] == [1, 2, 2, 4, 4, 6, 6, 8]
    said = [r.message for r in caplog.records if "held" in r.message]
    assert len(said) == 2 and "1003" in said[0] and "3 frame(s) held" in said[1], said


@needs_exr
def test_colour_keys_convert_linear_and_cineon_before_the_look(tmp_path):
    """An EXR's scene-linear 18 % grey and a log DPX's code 470 (Cineon's 18 % grey) both
    reach the screen as Rec.709's 18 % grey (0.409), not as their raw codes."""
    from empathy.host.player import hdr

    grey = np.full((2, 2, 3), 0.18, np.float32)
    assert hdr.convert("linear", grey)[0, 0, 0] == pytest.approx(0.409, abs=0.002)
    code = np.full((2, 2, 3), 470 / 1023, np.float32)
    assert hdr.convert("cineon", code)[0, 0, 0] == pytest.approx(0.409, abs=0.01)
    exr = make_sequence(tmp_path, "plate", range(3), ext="exr")
    dec = Decoder(exr / "plate.####.exr", fps=25, rate=25)
    try:
        first = dec.get(timeout=30)
    finally:
        dec.stop()
    assert first.source == "linear"  # the table composes it with the look (hdr.for_source)
    assert abs(int(first.rgb[0, 0, 0]) - 30 * 257) < 64  # the background, 30 of 255, as read
    white = tmp_path / "white.1001.exr"  # half * 65535.0 was inf in half (max 65504): 0
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=white:size=16x16",
                    "-frames:v", "1", "-pix_fmt", "gbrpf32le", "-format", "half", str(white)],
                   check=True, timeout=60)
    assert pixels(white)[1].min() > 65000  # lavfi's white: 0.996


def test_a_log_dpx_header_makes_it_cineon(tmp_path):
    from empathy.host.player.imgseq import default_colour, describe, find

    shot = make_sequence(tmp_path, "scan", range(2), ext="dpx", pix_fmt="gbrp10le")
    for f in shot.iterdir():  # byte 801: transfer, 1 = printing density (what Nuke writes)
        b = bytearray(f.read_bytes())
        b[801] = 1
        f.write_bytes(bytes(b))
    seq = find(shot / "scan.####.dpx")
    assert default_colour(seq, describe(seq).header) == "cineon"
    plain = find(make_sequence(tmp_path, "cg", range(2), ext="dpx") / "cg.####.dpx")
    assert default_colour(plain, describe(plain).header) == "srgb"  # ffmpeg's 'linear' tag


def test_a_video_files_segment_may_say_its_colour(tmp_path):
    from numbered import make_numbered

    clip = make_numbered(tmp_path / "log transcode.mp4", range(3), audio=False)
    story = tmp_path / "s.toml"
    story.write_text(f'title = "t"\nstart = "a"\n[segments.a]\nmedia = "{clip}"\n'
                     'duration_s = 0.12\ncolour = "cineon"\n')
    seg = load(story).segments["a"]
    dec = Decoder(seg.media, fps=25, colour=seg.colour)
    try:
        assert dec.get(timeout=30).source == "cineon"
    finally:
        dec.stop()
    story.write_text(story.read_text() + "fps = 24\n")
    with pytest.raises(StoryError, match="fps is an image sequence's"):
        load(story)


@pytest.mark.parametrize("ext, pix_fmt", [("tif", "rgb48le"), ("png", "rgb48be"),
                                          ("dpx", "gbrp10le"), ("dpx", "gbrp12le")])
def test_deep_frames_reach_the_screen_as_written(tmp_path, ext, pix_fmt):
    """16-bit TIFF/PNG (Pillow calls a 48-bit TIFF plain "RGB"), 10 and 12-bit DPX: each
    frame as the player decodes it is the file's pixels, in 16 bits."""
    shot = tmp_path / "deep"
    shot.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=24",
                    "-frames:v", "2", "-pix_fmt", pix_fmt, str(shot / f"d.%04d.{ext}")],
                   check=True, timeout=60)
    frames = list(read_frames(shot / f"d.####.{ext}", fps=24, rate=24))
    assert len(frames) == 2 and frames[0].rgb.dtype == np.uint16
    assert np.array_equal(frames[1].rgb, pixels(shot / f"d.0002.{ext}")[1])


@needs_exr
def test_without_fps_the_exr_header_rate_is_taken_and_said(tmp_path):
    make_sequence(tmp_path, "plate", range(4), ext="exr")  # ffmpeg writes framesPerSecond 25
    make_sequence(tmp_path, "scan", range(4), ext="dpx")   # and no DPX rate
    r = cli("new", tmp_path, "--out", tmp_path / "f.toml")
    assert r.returncode == 0, r.stderr
    plate, scan = (load(tmp_path / "f.toml").segments[k] for k in ("plate", "scan"))
    assert (plate.rate, plate.colour, scan.rate, scan.colour) == (25.0, "linear", 24.0, "srgb")
    assert "4 frames at 25 fps (its header's)" in r.stderr
    assert "4 frames at 24 fps (none said: give --fps)" in r.stderr


@needs_exr
def test_an_exr_data_window_lands_where_its_display_window_says(tmp_path):
    """A render's bounding box (dataWindow) smaller than, or off, its frame: placed, the rest
    black. Written by OpenEXR's own bindings."""
    import OpenEXR

    box = lambda *v: np.array(v, np.int32)  # noqa: E731
    px = np.full((2, 4, 3), 0.5, np.float16)
    for data, rows, cols in (((2, 1, 5, 2), slice(1, 3), slice(2, 6)),
                             ((-2, -1, 1, 0), slice(0, 1), slice(0, 2))):
        hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
               "dataWindow": (box(*data[:2]), box(*data[2:])),
               "displayWindow": (box(0, 0), box(7, 3))}
        OpenEXR.File(hdr, {"RGB": px}).write(str(tmp_path / "f.exr"))
        want = np.zeros((4, 8), np.uint16)
        want[rows, cols] = 32768
        assert np.array_equal(pixels(tmp_path / "f.exr")[1][..., 0], want)


def test_a_range_of_a_sequence_plays_those_frames(shots):
    """in_s/out_s count from the sequence's first frame at its fps: no seek, the frames read
    from there."""
    dec = Decoder(shots / "shot010" / "shot010.####.png", fps=25, rate=25, in_s=0.2, out_s=0.4)
    got = []
    try:
        while (item := dec.get(timeout=30)) is not None and not isinstance(item, End):
            got.append((frame_number(item.rgb), round(item.t_s, 3)))
    finally:
        dec.stop()
    assert got == [(15, 0.0), (16, 0.04), (17, 0.08), (18, 0.12), (19, 0.16)]
