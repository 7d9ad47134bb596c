"""Image sequences read fast enough to play: the 10-bit DPX unpacked without per-pixel Python
into the RGBA64 frame the chain takes (checked against ffmpeg's own DPX decoder, both byte
orders), and frames read ahead in parallel, in order, bounded (bench/bench_imgseq.py has
the speeds)."""

from __future__ import annotations

import struct
import subprocess
import time

import numpy as np
from imgseq_media import make_sequence
from numbered import frame_number

from empathy.host.player import imgseq_play
from empathy.host.player.gst import Gst, sample_to_array
from empathy.host.player.imgseq_read import pixels


def _ffmpeg_10bit(path, w: int, h: int) -> np.ndarray:
    """ffmpeg's reading of a 10-bit DPX: HxWx3 of 10-bit values (R, G, B)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "gbrp10le", "-"], capture_output=True, check=True,
                         timeout=60).stdout
    g, b, r = np.frombuffer(raw, "<u2").reshape(3, h, w)
    return np.stack([r, g, b], -1)


def big_endian_dpx(path, rgb10: np.ndarray, tc: int = 0xFFFFFFFF) -> None:
    """A 10-bit RGB DPX as Nuke and scanners write it: big-endian, method A, the film and TV
    headers present (picture at 2048), the TV header's time code `tc`."""
    h, w, _ = rgb10.shape
    head = bytearray(2048)
    head[0:4] = b"SDPX"
    struct.pack_into(">I", head, 4, 2048)
    head[8:12] = b"V2.0"
    struct.pack_into(">I", head, 16, 2048 + h * w * 4)
    struct.pack_into(">HHII", head, 768, 0, 1, w, h)
    head[800:804] = bytes([50, 2, 2, 10])  # RGB, linear, 10 bits
    struct.pack_into(">HHI", head, 804, 1, 0, 2048)  # method A, no encoding, data offset
    struct.pack_into(">I", head, 1920, tc)
    r, g, b = (rgb10[..., i].astype(np.uint32) for i in range(3))
    path.write_bytes(bytes(head) + ((r << 22) | (g << 12) | (b << 2)).astype(">u4").tobytes())


def test_10bit_dpx_is_unpacked_as_ffmpeg_reads_it_in_both_byte_orders(tmp_path):
    little = make_sequence(tmp_path, "le", range(1), ext="dpx", pix_fmt="gbrp10le")
    f = little / "le.1001.dpx"
    hd, px = pixels(f, rgba=True)
    assert px.shape == (hd.height, hd.width, 4) and (px[..., 3] == 65535).all()
    want = _ffmpeg_10bit(f, hd.width, hd.height)
    assert np.array_equal(px[..., :3] >> 6, want) and want.max() > 0
    assert np.array_equal(pixels(f)[1], px[..., :3])  # the chain's frame, and a plain read
    values = np.random.default_rng(1).integers(0, 1024, (36, 64, 3))
    big_endian_dpx(tmp_path / "be.dpx", values)
    _, px = pixels(tmp_path / "be.dpx", rgba=True)
    assert np.array_equal(_ffmpeg_10bit(tmp_path / "be.dpx", 64, 36), values)
    assert np.array_equal(px[..., :3], (values << 6) | (values >> 4))  # white stays white


def test_frames_are_read_ahead_in_parallel_in_order_and_no_further_than_allowed(tmp_path):
    """Nothing pulls the frames at first: the readers stop a few frames ahead (the appsrc's
    push waits), not at the end of the sequence; then every frame comes, in order."""
    shot = make_sequence(tmp_path, "ahead", range(60), ext="dpx", pix_fmt="gbrp10le")
    pipe, sink, feeder = imgseq_play.pipeline(shot / "ahead.####.dpx", 24, None, None, None,
                                              None)
    sink.set_property("max-buffers", 1)
    Gst_ = Gst()
    pipe.set_state(Gst_.State.PLAYING)
    got = []
    try:
        feeder.start(0.0, None)
        asked, still = -1, 0
        for _ in range(200):  # until the readers have stopped asking for 1 s
            time.sleep(0.05)
            still = still + 1 if feeder.asked == asked else 0
            asked = feeder.asked
            if still >= 20:
                break
        # AHEAD read ahead, one being pushed; the chain holds a few: the appsrc one or two,
        # videorate its last, the appsink one
        assert 1 <= asked <= imgseq_play.AHEAD + 6 < 60
        while (sample := sink.emit("try-pull-sample", 10 * Gst_.SECOND)) is not None:
            got.append(frame_number(sample_to_array(sample) >> 8))
    finally:
        feeder.stop()
        pipe.set_state(Gst_.State.NULL)
    assert got == list(range(60)) and feeder.held == 0
    if imgseq_play.READERS > 1:
        assert len(feeder.readers - {"frames-ahead."}) > 1, feeder.readers


def test_a_frame_held_through_more_bad_frames_than_the_readers_arrays_stays_itself(tmp_path):
    """The readers' arrays go round (AHEAD + 1 of them): a frame held through a longer run
    of unreadable ones must not become a later frame read into its array meanwhile."""
    from empathy.host.player.decode import read_frames

    bad = imgseq_play.AHEAD + 4
    shot = make_sequence(tmp_path, "cut", range(bad + 6), ext="dpx", pix_fmt="gbrp10le")
    for n in range(1002, 1002 + bad):
        f = shot / f"cut.{n}.dpx"
        f.write_bytes(f.read_bytes()[:4000])  # truncated: the header reads, the picture not
    frames = list(read_frames(shot / "cut.####.dpx", fps=24, rate=24))
    assert [frame_number(f.rgb >> 8) for f in frames] == [0] * (bad + 1) + list(
        range(bad + 1, bad + 6))
