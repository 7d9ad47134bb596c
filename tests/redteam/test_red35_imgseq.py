"""Red team, session 35: image sequences as a hostile file or a careless artist hands them
over: a FIFO or a device named like a frame, headers cut short, an EXR whose channels
decode to gigabytes, an 8K frame among small ones. Each is one frame held (the show goes
on) or one line, never a stall, a traceback or the memory of a frame not played."""

from __future__ import annotations

import os
import struct
import threading
import tracemalloc

import numpy as np
import pytest
from imgseq_media import make_sequence
from numbered import frame_number, numbered_frame

from empathy.host.player.decode import read_frames
from empathy.host.player.imgseq_read import FrameError, header, pixels

HELD = [1, 2, 2, 4, 4, 6, 6, 8]  # frames 3, 5 and 7 unreadable: the one before each held


def _dpx10(path, rgb: np.ndarray, size: tuple[int, int] | None = None) -> None:
    """A 10-bit RGB DPX (filled, big-endian) of `rgb`; `size`: what its header says."""
    h, w = rgb.shape[:2]
    head = bytearray(2048)
    head[:4] = b"SDPX"
    struct.pack_into(">I", head, 4, 2048)
    struct.pack_into(">II", head, 772, *(size or (w, h)))
    head[800], head[801], head[803] = 50, 2, 10  # RGB, linear, 10 bits
    struct.pack_into(">HHI", head, 804, 1, 0, 2048)  # packing, encoding, data offset
    v = rgb.astype(np.uint32) * 4
    words = v[..., 0] << 22 | v[..., 1] << 12 | v[..., 2] << 2
    path.write_bytes(bytes(head) + words.astype(">u4").tobytes())


def test_a_fifo_a_device_and_a_cut_header_among_the_frames_are_held(tmp_path):
    """A FIFO held the reading thread in open() for ever: the decoder stalled and the show
    froze on the frame before; a PNG header cut short escaped as struct.error and ended the
    reading thread (the same stall)."""
    shot = make_sequence(tmp_path, "shot", range(1, 9))  # 1001..1008; 1009 made below
    (shot / "shot.1003.png").unlink()
    os.mkfifo(shot / "shot.1003.png")
    (shot / "shot.1005.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0")
    (shot / "shot.1007.png").unlink()
    (shot / "shot.1007.png").symlink_to("/dev/zero")
    (shot / "shot.1009.png").symlink_to("/proc/self/mem")  # a file whose read fails (EIO)
    frames = list(read_frames(shot / "shot.%04d.png", fps=25, rate=25))
    assert [frame_number(f.rgb) for f in frames] == HELD + [8]


def test_an_8k_frame_among_small_ones_is_held_before_its_pixels_are_read(tmp_path):
    """Its header said 8192x8192: each reader allocated the whole frame (0.8 GB) to read it,
    then refused it as another size than the first."""
    shot = tmp_path / "shot"
    shot.mkdir()
    for i in range(1, 9):
        _dpx10(shot / f"shot.{1000 + i}.dpx", numbered_frame(i),
               (8192, 8192) if i in (3, 5, 7) else None)
    tracemalloc.start()
    try:
        frames = list(read_frames(shot / "shot.%04d.dpx", fps=25, rate=25))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [frame_number(f.rgb >> 8) for f in frames] == HELD  # (16-bit: deep)
    assert peak < 64 << 20, f"{peak >> 20} MB at the peak"


def _exr(path, channels: dict, display: tuple[int, int] | None = None) -> None:
    import OpenEXR

    head = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if display:
        head["displayWindow"] = (np.array([0, 0], np.int32),
                                 np.array([display[0] - 1, display[1] - 1], np.int32))
    OpenEXR.File(head, channels).write(str(path))


def test_hostile_headers_are_one_line(tmp_path):
    pytest.importorskip("OpenEXR")
    z = np.zeros((64, 64), np.float16)
    cases = {
        "magic.exr": b"\x76\x2f\x31\x01",  # IndexError before
        "cut.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0",  # struct.error before
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    # 300 zeroed channels beside RGB: a 1.3 MB file at 1080p took 1.2 GB to read
    _exr(tmp_path / "aovs.exr", {**{k: z for k in "RGB"}, **{f"a{i}": z for i in range(300)}})
    # 4096x1024 of data about a 64x64 picture: decoded, then dropped (383 MB at 8192x4096)
    _exr(tmp_path / "window.exr", {k: np.zeros((1024, 4096), np.float16) for k in "RGB"},
         (64, 64))
    os.mkfifo(tmp_path / "fifo.dpx")
    (tmp_path / "zero.dpx").symlink_to("/dev/zero")
    said = {}

    def read(name):
        try:
            header(tmp_path / name)
        except FrameError as e:
            said[name] = str(e)

    for name in [*cases, "aovs.exr", "window.exr", "fifo.dpx", "zero.dpx"]:
        t = threading.Thread(target=read, args=(name,), daemon=True)
        t.start()
        t.join(60)  # a FIFO's open() never returns: the thread is left behind
        assert name in said, f"{name}: {'still reading' if t.is_alive() else 'no FrameError'}"
    assert "cut short" in said["magic.exr"] and "cut short" in said["cut.png"]
    assert "bytes a pixel" in said["aovs.exr"] and "FIFO" in said["fifo.dpx"]
    assert "crop it to the picture" in said["window.exr"]
    assert "a device" in said["zero.dpx"]
    _exr(tmp_path / "rgba.exr", {k: z.astype(np.float32) for k in "RGBA"})  # 16 bytes: read
    assert header(tmp_path / "rgba.exr")[0].width == 64


def test_a_run_on_twos_a_million_numbers_long_plays_its_end_cheaply(tmp_path):
    """Every frame's gap check scanned the gaps one by one: at the end of a run on twos a
    million numbers long (half a million gaps) 25 ms of CPU, under the GIL, a frame (60 %
    of a core at 24 fps). The run is made here of the frames played, its gaps as a folder
    of them would give."""
    import time

    from empathy.host.player.gst import Gst
    from empathy.host.player.imgseq import Sequence, describe
    from empathy.host.player.imgseq_play import Feeder

    last = 1_000_000
    for n in (1, *range(last - 99, last + 1, 2)):
        _dpx10(tmp_path / f"s.{n:07d}.dpx", numbered_frame(n % 256))
    seq = Sequence(tmp_path, "s.", 7, ".dpx", 1, last,
                   tuple((n, n) for n in range(2, last, 2)))
    pipe = Gst().parse_launch("appsrc name=src format=time ! fakesink sync=false")
    pipe.set_state(Gst().State.PLAYING)
    feeder = Feeder(describe(seq, 24), pipe.get_by_name("src"))
    try:
        cpu = time.process_time()
        feeder.start((last - 100) / 24, None)  # its last 100 numbers: 50 files, 50 gaps
        feeder._thread.join(600)
        cpu = time.process_time() - cpu
    finally:
        feeder.stop()
        pipe.set_state(Gst().State.NULL)
    assert feeder.asked == 100 and feeder.held == 50 and feeder.error is None
    assert cpu < 0.5, f"{cpu:.2f} s of CPU for 100 frames of 160x96"


def test_a_sparse_png_is_refused_by_its_size_not_read(tmp_path):
    """A PNG (read whole, then decoded) whose file runs on, sparse, to 1 GB after its end:
    the gigabyte was read into memory."""
    import cv2

    f = tmp_path / "s.0001.png"
    cv2.imwrite(str(f), numbered_frame(1))
    with open(f, "r+b") as fh:
        fh.truncate(1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(FrameError, match="1,073,741,824 bytes for a 160x96 frame"):
            pixels(f)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak >> 20} MB at the peak"
