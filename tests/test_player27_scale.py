"""A clip bigger than the picture is scaled before it becomes RGB (converted first, a 4K clip
for a 1080p screen was turned into RGB at 4K), one smaller after (scaled up first cost more):
the picture that comes out has the screen's size and the grade. Real GStreamer, no timing;
CPU figures in bench/bench_downscale.py."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.host.player import decode
from empathy.host.player.cube import identity_cube, write_cube
from empathy.host.player.decode import Decoder, End, read_frames
from empathy.host.player.gst import Gst
from empathy.host.player.outputs import VideoWriter
from empathy.host.player.player import Clip, Player

W, H, FPS = 160, 90, 25


def _clip(path, w: int, h: int, frames: int = 8):
    out = VideoWriter(f"file:{path}", w, h, FPS)
    for i in range(frames):
        f = np.full((h, w, 3), (200, 40, 40), np.uint8)  # red, a white bar on top
        f[: h // 10] = 255
        out.push(f, i / FPS, 1 / FPS)
    assert out.close()
    return path


@pytest.mark.parametrize("src, to, rgb_at", [((640, 360), (W, H), (W, H)),
                                              ((W, H), (320, 180), (W, H))])
def test_rgb_conversion_runs_at_the_smaller_size(tmp_path, monkeypatch, src, to, rgb_at):
    pipes, caps, real = [], [], decode.pipeline

    def kept(*args):  # the real pipeline; what the converter after "down" takes is kept as it
        made = real(*args)  # is negotiated (a 3-frame clip ends and the pipeline is torn down,
        pipes.append(made[0])  # clearing its current caps, before the test could read them)
        pad = made[0].get_by_name("down").get_static_pad("src").get_peer()
        pad.connect("notify::caps", lambda p, _: p.get_current_caps() and caps.append(
            (p.get_parent_element().get_factory().get_name(), p.get_current_caps().to_string())))
        return made

    monkeypatch.setattr(decode, "pipeline", kept)
    dec = Decoder(_clip(tmp_path / "c.mp4", *src, frames=3), *to, FPS, queue_size=4)
    try:
        item = dec.get(timeout=60)
        assert not isinstance(item, End) and item.rgb.shape == (to[1], to[0], 3)
        assert len(pipes) == 1 and caps, caps
        factory, negotiated = caps[0]
        s = Gst().Caps.from_string(negotiated).get_structure(0)
        assert factory == "videoconvert"
        assert (s.get_int("width")[1], s.get_int("height")[1]) == rgb_at
        assert s.get_string("format") == "I420"  # still YUV: RGB comes after
    finally:
        dec.stop()
        dec.join(10)


def test_a_bigger_clip_plays_at_the_screen_size_graded(tmp_path):
    swap = identity_cube(9)
    swap.lut3d = np.ascontiguousarray(swap.lut3d[..., ::-1])  # red <-> blue
    write_cube(tmp_path / "swap.cube", swap)
    out = tmp_path / "show.mp4"
    p = Player(f"file:{out}", W, H, FPS, tmp_path / "f.csv", realtime=False, audio=False)
    p.start(Clip("big", _clip(tmp_path / "big.mp4", 640, 360), tmp_path / "swap.cube"))
    assert p.wait(60) and p.error is None and p.frames_rendered == 8
    frames = [f.rgb for f in read_frames(out)]
    assert len(frames) == 8 and frames[0].shape == (H, W, 3)
    body = frames[4][H // 5:].reshape(-1, 3).mean(axis=0)
    assert body[2] > 150 and body[0] < 90  # red graded to blue
    bar = frames[4][: H // 10 - 2].reshape(-1, 3).mean(axis=0)
    assert bar.min() > 200  # the top tenth scaled to the top tenth: white stays white
