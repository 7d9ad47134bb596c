"""Captions on the GL path (GstGL, Mesa llvmpipe headless): the GPU grades the frame, and the
captions, carried in the frame's alpha, are laid over the graded picture in the same shader,
so the look never tints them, as on the CPU path."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from test_captions import FPS, H, W, ffmpeg_clip, white

from empathy.host.player.cube import identity_cube, write_cube
from empathy.host.player.decode import read_frames
from empathy.host.player.gst import Gst
from empathy.host.player.player import Clip, Player

if Gst().ElementFactory.find("glshader") is None:
    pytest.skip("GstGL not installed (apt: gstreamer1.0-gl)", allow_module_level=True)


@pytest.mark.parametrize("grade_on", ["gl", "cpu"])
def test_the_look_does_not_tint_the_captions(tmp_path, grade_on):
    clip = ffmpeg_clip(tmp_path / "m.mp4", 1.0)
    red = identity_cube(9)
    red.lut3d = np.ascontiguousarray(red.lut3d)
    red.lut3d[..., 1:] = 0.0
    write_cube(tmp_path / "red.cube", red)
    (tmp_path / "m.srt").write_text("1\n00:00:00,400 --> 00:00:00,800\nWHITE TEXT\n")
    m = Clip("m", clip, tmp_path / "red.cube", captions=tmp_path / "m.srt",
             captions_root=tmp_path)
    p = Player(f"file:{tmp_path}/o.mp4", W, H, FPS, tmp_path / "f.csv", realtime=False,
               audio=False, grade_on=grade_on)
    p.preload([m])
    p.start(m)
    assert p.wait(60) and p.error is None
    frames = [f.rgb for f in read_frames(tmp_path / "o.mp4")]
    lit = [int(white(f).sum()) for f in frames]
    assert len(frames) == 25 and lit[9] == 0 and min(lit[10:20]) > 40 and max(lit[20:]) == 0
    # the look still applies: red everywhere but the letters and their outline
    assert frames[15][10:40, 10:40, 1:].max() < 20 and frames[15][10:40, 10:40, 0].min() > 50


def test_the_brightness_the_pupil_model_reads_includes_the_captions_on_both_paths(tmp_path):
    """FrameInfo.luminance (what the pupil model is told the screen gives off) is the picture
    on screen: with its captions, on the GL path as on the CPU path."""
    clip = tmp_path / "m.mp4"  # a night scene: the letters light it, their outline cannot
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c=black:s={W}x{H}:r={FPS}:d=1", "-pix_fmt", "yuv420p", str(clip)],
                   check=True, timeout=60)
    (tmp_path / "m.srt").write_text("1\n00:00:00,400 --> 00:00:00,800\nWHITE TEXT ON SCREEN\n")
    luma = {}
    for grade_on in ("cpu", "gl"):
        for captions in (None, tmp_path / "m.srt"):
            seen = []
            m = Clip("m", clip, None, captions=captions, captions_root=tmp_path)
            p = Player(f"file:{tmp_path}/o.mp4", W, H, FPS, tmp_path / "f.csv",
                       realtime=False, audio=False, grade_on=grade_on,
                       on_frame=lambda f: seen.append(f.luminance))
            p.preload([m])
            p.start(m)
            assert p.wait(60) and p.error is None and len(seen) == 25
            luma[grade_on, captions is not None] = np.array(seen)
    for grade_on in ("cpu", "gl"):
        lift = luma[grade_on, True] - luma[grade_on, False]
        # frames 10..19 carry the cue: brighter; the others exactly as without captions
        assert lift[10:20].min() > 0.001 and not lift[:10].any() and not lift[20:].any(), \
            (grade_on, lift)
    assert np.abs(luma["gl", True] - luma["cpu", True]).max() < 0.0005, luma
