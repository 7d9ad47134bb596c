"""10-bit sources are graded at 16 bits: no 8-bit truncation (and its banding) before the LUT."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.host.player import framelog
from empathy.host.player.cube import Cube
from empathy.host.player.decode import read_frames
from empathy.host.player.grade import Grade
from empathy.host.player.gst import Gst, to_8bit
from empathy.host.player.player import Clip, Player

W, H, FPS = 320, 32, 25


@pytest.fixture(scope="module")
def ramp10(tmp_path_factory):
    """A 10-bit H.264 clip of a smooth dark-to-light horizontal ramp."""
    G = Gst()
    path = tmp_path_factory.mktemp("deep") / "ramp10.mp4"
    pipe = G.parse_launch(
        f"appsrc name=src format=time caps=video/x-raw,format=RGBA64_LE,width={W},height={H},"
        f"framerate={FPS}/1 ! videoconvert ! video/x-raw,format=Y444_10LE ! "
        "x264enc qp-max=4 qp-min=0 ! mp4mux ! filesink name=out")
    pipe.get_by_name("out").set_property("location", str(path))
    src = pipe.get_by_name("src")
    pipe.set_state(G.State.PLAYING)
    ramp = np.linspace(0.01, 0.1, W)  # deep shadows, where a lifting grade shows banding
    px = np.empty((H, W, 4), np.uint16)
    px[..., :3] = np.rint(ramp * 65535)[None, :, None]
    px[..., 3] = 65535
    for i in range(10):
        buf = G.Buffer.new_wrapped(px.tobytes())
        buf.pts, buf.duration = i * G.SECOND // FPS, G.SECOND // FPS
        assert src.emit("push-buffer", buf) == G.FlowReturn.OK
    src.emit("end-of-stream")
    msg = pipe.get_bus().timed_pop_filtered(30 * G.SECOND,
                                            G.MessageType.EOS | G.MessageType.ERROR)
    pipe.set_state(G.State.NULL)
    assert msg is not None and msg.type == G.MessageType.EOS
    return path


def lift() -> Grade:
    x = np.linspace(0, 1, 4096, dtype=np.float32)
    return Grade(Cube(lut1d=np.repeat((x ** 0.4)[:, None], 3, 1)))


def test_deep_source_decodes_to_16_bit(ramp10):
    f = next(iter(read_frames(ramp10))).rgb
    assert f.dtype == np.uint16 and f.shape == (H, W, 3)
    assert len(np.unique(f[H // 2, :, 1])) > 60  # ~80 ten-bit steps; 8 bits has ~20


def test_grading_before_truncation_avoids_banding(ramp10):
    f = next(iter(read_frames(ramp10))).rgb
    deep = to_8bit(lift().apply(f))[H // 2, :, 1].astype(int)
    truncated = lift().apply(to_8bit(f))[H // 2, :, 1].astype(int)
    # Same picture, but the 8-bit-first path has a quarter of the levels: wide bands.
    assert len(np.unique(deep)) > 2 * len(np.unique(truncated)), (deep, truncated)
    assert np.abs(np.diff(deep)).max() < np.abs(np.diff(truncated)).max()


def test_player_plays_a_deep_clip(ramp10, tmp_path):
    p = Player(f"file:{tmp_path / 'o.mp4'}", W, H, FPS, tmp_path / "f.csv", realtime=False)
    p.start(Clip("deep", ramp10, None))
    assert p.wait(30) and p.error is None and p.frames_rendered == 10
    assert framelog.summarise(tmp_path / "f.csv")["dropped"] == 0
    out = next(iter(read_frames(tmp_path / "o.mp4"))).rgb
    assert out.dtype == np.uint8 and 18 < out[H // 2, -4, 1] < 34  # 0.1 of white survives


def test_to_8bit_rounds_every_16_bit_value():
    """to_8bit is round(x / 257), 65535 -> 255, for each of the 65536 values (its integer
    shortcut must not drift by a code value anywhere)."""
    x = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1).repeat(3, axis=2)
    want = np.floor(x.astype(np.float64) / 257 + 0.5).astype(np.uint8)
    got = to_8bit(x)
    assert got.dtype == np.uint8 and got.shape == x.shape and np.array_equal(got, want)
    u8 = np.zeros((2, 2, 3), np.uint8)
    assert to_8bit(u8) is u8
