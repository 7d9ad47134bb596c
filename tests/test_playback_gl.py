"""The GL grading path: a real GstGL pipeline (Mesa llvmpipe headless) against OpenColorIO."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.host.player import framelog, glgrade
from empathy.host.player.cube import Cube, identity_cube, write_cube
from empathy.host.player.decode import read_frames
from empathy.host.player.grade import Grade
from empathy.host.player.gst import Gst, sample_to_array
from empathy.host.player.outputs import VideoWriter
from empathy.host.player.player import Clip, Player
from empathy.host.sample import luts

W, H, FPS = 160, 90, 25
FRAME = np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)

if Gst().ElementFactory.find("glshader") is None:
    pytest.skip("GstGL not installed (apt: gstreamer1.0-gl)", allow_module_level=True)


def gl_grade(frames: list[np.ndarray], tables: list[np.ndarray]) -> list[np.ndarray]:
    """Push packed frames through the GL chain and read the graded pictures back."""
    G = Gst()
    n = tables[0].shape[0]
    rows = glgrade.lut_rows(W, n)
    pipe = G.parse_launch(
        f"appsrc name=src format=time caps=video/x-raw,format=RGBA,width={W},"
        f"height={H + rows},framerate={FPS}/1 ! {glgrade.pipeline(W, H, n)} ! videoconvert ! "
        "video/x-raw,format=RGB ! appsink name=sink sync=false")
    pipe.get_by_name("lutshader").set_property("fragment", glgrade.fragment_shader(W, H, n))
    src, sink = pipe.get_by_name("src"), pipe.get_by_name("sink")
    pipe.set_state(G.State.PLAYING)
    out = []
    try:
        for i, (f, t) in enumerate(zip(frames, tables)):
            buf = G.Buffer.new_wrapped(glgrade.pack(f, t).tobytes())
            buf.pts, buf.duration = i * G.SECOND // FPS, G.SECOND // FPS
            assert src.emit("push-buffer", buf) == G.FlowReturn.OK
            sample = sink.emit("try-pull-sample", 30 * G.SECOND)
            assert sample is not None, "GL pipeline produced nothing"
            out.append(sample_to_array(sample))
    finally:
        pipe.set_state(G.State.NULL)
    return out


def test_pack_layout():
    t = np.random.default_rng(0).random((5, 5, 5, 3)).astype(np.float32)
    p = glgrade.pack(FRAME, t)
    assert p.shape == (H + glgrade.lut_rows(W, 5), W, 4) and np.array_equal(p[:H, :, :3], FRAME)
    tex = p[H:, :, :3].reshape(-1, 3).astype(np.uint32)
    r, g, b = 2, 4, 1
    i = 2 * (r + 5 * g + 25 * b)
    assert np.allclose((tex[i] * 256 + tex[i + 1]) / 65535, t[r, g, b], atol=1e-5)


def test_gl_matches_ocio_within_one_code_value():
    swap = identity_cube(33)
    swap.lut3d = np.ascontiguousarray(swap.lut3d[..., ::-1])
    looks = [luts.make("teal_night", 33), swap, luts.make("bleach_bypass", 33)]
    grades = [Grade(c) for c in looks] + [Grade(looks[0], 0.5)]
    got = gl_grade([FRAME] * len(grades), [g.bake(33) for g in grades])
    for g, out in zip(grades, got):
        ref = g.apply(FRAME)
        assert np.abs(out.astype(int) - ref).max() <= 1, g.name
        assert np.abs(out.astype(int) - FRAME).max() > 20  # the shader really graded


def test_gl_player_switch_and_live_crossfade(tmp_path):
    swap = identity_cube(9)
    swap.lut3d = np.ascontiguousarray(swap.lut3d[..., ::-1])
    write_cube(tmp_path / "swap.cube", swap)
    clip = tmp_path / "red.mp4"
    w = VideoWriter(f"file:{clip}", W, H, FPS)
    for i in range(20):
        w.push(np.full((H, W, 3), (200, 40, 40), np.uint8), i / FPS, 1 / FPS)
    assert w.close()
    out, log = tmp_path / "gl.mp4", tmp_path / "frames.csv"
    seen = []
    p = Player(f"file:{out}", W, H, FPS, log, on_frame=seen.append, realtime=False,
               grade_on="gl")
    p.start(Clip("a", clip, None))
    p.set_next(Clip("b", clip, tmp_path / "swap.cube"))
    assert p.wait(60) and p.error is None
    frames = list(read_frames(out))
    assert len(frames) == 40
    assert frames[10].rgb.mean(axis=(0, 1))[0] > 150  # a: ungraded red
    assert frames[30].rgb.mean(axis=(0, 1))[2] > 150  # b: swapped on the GPU, now blue
    s = framelog.summarise(log)
    assert s["frames"] == 40 and s["dropped"] == 0
    assert seen[30].luminance < seen[10].luminance  # luminance of the graded picture
    with pytest.raises(ValueError, match="grade_on"):
        Player("null", W, H, FPS, tmp_path / "x.csv", grade_on="vulkan")


def test_gl_output_refuses_frames_without_table(tmp_path):
    w = VideoWriter(f"file:{tmp_path / 'x.mp4'}", W, H, FPS, gl_lut_size=17)
    try:
        with pytest.raises(ValueError, match="17\\^3 table"):
            w.push(FRAME, 0.0, 1 / FPS)
        w.push(FRAME, 0.0, 1 / FPS, Grade(Cube(lut3d=identity_cube(17).lut3d)).bake(17))
    finally:
        assert w.close()
    assert len(list(read_frames(tmp_path / "x.mp4"))) == 1
