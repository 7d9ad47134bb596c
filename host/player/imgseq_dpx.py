"""DPX (SMPTE 268M) frames: the header read and range-checked before a pixel is allocated,
its start timecode (the TV header's SMPTE time code), and the pixels unpacked.

A 10-bit RGB frame (a word a pixel: what VFX and DI deliver) is unpacked in blocks of rows
whose temporaries stay in the CPU's cache, straight into the RGBA64 frame the player's
chain takes: unpacked a channel at a time over the whole frame it took 25 ms of CPU a
1080p frame, this way 6.6 (imgseq_play.py reads frames on several threads: numpy lets go
of the GIL in each operation).
"""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import numpy as np

from .imgseq_header import FrameError, Header, open_frame, rate_of, size_of, timecode_of

CHANNELS = {50: 3, 51: 4}  # element descriptor: RGB, RGBA
# transfer characteristic (268M table 5): 1 printing density, 3 logarithmic: a film scan's
# Cineon log; 2 linear; 5-10 video curves (display-referred); others (0 user, 4 unspecified
# video...) say nothing
_COLOUR = {1: "cineon", 3: "cineon", 2: "linear", **{t: "srgb" for t in range(5, 11)}}
_FILM_HEADER, _TV_HEADER = 1664, 1920  # where the industry headers start, when written
_ROWS = 32  # rows unpacked at a time: 32 x 1920 words' temporaries fit a core's cache
_SPARE = threading.local()  # each reading thread's file buffer, kept: see read()


def header(path: Path, head: bytes, _fh=None) -> tuple[Header, dict]:
    if len(head) < 2048:
        raise FrameError(f"{path.name}: a DPX header is 2048 bytes, this file is shorter")
    e = {b"SDPX": ">", b"XPDS": "<"}.get(head[:4])
    if e is None:
        raise FrameError(f"{path.name}: not a DPX file (no SDPX magic)")
    u32 = lambda at: struct.unpack_from(e + "I", head, at)[0]  # noqa: E731
    u16 = lambda at: struct.unpack_from(e + "H", head, at)[0]  # noqa: E731
    f32 = lambda at: struct.unpack_from(e + "f", head, at)[0]  # noqa: E731
    w, h = size_of(path, u32(772), u32(776))
    desc, transfer, bits, packing, encoding = head[800], head[801], head[803], u16(804), u16(806)
    orient, offset = u16(768), u32(808) or u32(4)
    channels = CHANNELS.get(desc)
    if channels is None:
        raise FrameError(f"{path.name}: DPX element {desc} (only RGB 50 and RGBA 51 are read)")
    if encoding != 0:
        raise FrameError(f"{path.name}: run-length encoded DPX is not read (write it "
                         "uncompressed)")
    if (bits, packing) not in {(8, 0), (8, 1), (10, 1), (10, 2), (12, 1), (16, 0), (16, 1)}:
        raise FrameError(f"{path.name}: DPX of {bits} bits, packing {packing} is not read "
                         "(10-bit filled, 8, 12 and 16 bits are)")
    if orient > 3 or not 0 < offset < 1 << 31:
        raise FrameError(f"{path.name}: DPX orientation {orient} or data offset {offset} "
                         "is not read")
    # The industry headers are there only when the picture starts after them: ffmpeg's
    # picture starts at 1664, and what lies at a TV header's place there is pixels.
    film, tv = offset >= _TV_HEADER, offset >= 2048
    rate = (tv and rate_of(f32(1940))) or (film and rate_of(f32(1724))) or None
    tc = timecode_of(u32(_TV_HEADER)) if tv else (None, None)
    return (Header(w, h, bits > 8, rate, _COLOUR.get(transfer), *tc),
            dict(e=e, bits=bits, packing=packing, channels=channels, orient=orient,
                 offset=offset))


def _into16(words: np.ndarray, out: np.ndarray, shift: int) -> None:
    """One 10-bit channel at bit `shift` of each word, as 16 bits (v << 6 | v >> 4: white
    stays white) into out, from the word in two masked shifts."""
    hi = words >> shift - 6 if shift >= 6 else words << 6 - shift
    hi &= 0xFFC0
    lo = words >> shift + 4
    lo &= 0x3F
    hi |= lo
    out[...] = hi


def _rgb10(raw: bytes, hd: Header, f: dict, out: np.ndarray) -> None:
    shifts = (22, 12, 2) if f["packing"] == 1 else (20, 10, 0)
    words = np.frombuffer(raw, f["e"] + "u4").reshape(hd.height, hd.width)
    native = words.dtype.isnative
    for a in range(0, hd.height, _ROWS):
        block = words[a:a + _ROWS] if native else words[a:a + _ROWS].astype(np.uint32)
        for c, s in enumerate(shifts):
            _into16(block, out[a:a + _ROWS, :, c], s)


def pixels(path: Path, hd: Header, f: dict, rgba: bool,
           out: np.ndarray | None = None) -> np.ndarray:
    """HxWx3 (8 or 16-bit); HxWx4 uint16 with opaque alpha where `rgba` and an upright
    10-bit RGB, into `out` when it is that shape (the rest: imgseq_read.pixels adds the
    alpha)."""
    w, h, c, e = hd.width, hd.height, f["channels"], f["e"]
    if f["bits"] == 10 and c == 3 and rgba and f["orient"] == 0:
        if out is None or out.shape != (h, w, 4) or out.dtype != np.uint16:
            out = np.empty((h, w, 4), np.uint16)
        out[:, :, 3] = 65535
        _rgb10(read(path, f["offset"], h * w * 4, reuse=True), hd, f, out)
        return out
    if f["bits"] == 10:
        words = -(-w * c // 3)  # each line starts on a 32-bit word
        raw = read(path, f["offset"], h * words * 4)
        data = np.frombuffer(raw, e + "u4").reshape(h, words).astype(np.uint32)  # native
        v = np.empty((h, words, 3), np.uint16)
        for i, s in enumerate((22, 12, 2) if f["packing"] == 1 else (20, 10, 0)):
            _into16(data, v[:, :, i], s)
        rgb = v.reshape(h, words * 3)[:, :w * c].reshape(h, w, c)
    elif f["bits"] == 8:
        line = -(-w * c // 4) * 4
        rgb = np.frombuffer(read(path, f["offset"], h * line), np.uint8).reshape(h, line)
        rgb = rgb[:, :w * c].reshape(h, w, c)
    else:  # 12 bits in the top of 16, or 16
        raw = read(path, f["offset"], h * w * c * 2)
        rgb = np.frombuffer(raw, e + "u2").reshape(h, w, c).astype(np.uint16)
        if f["bits"] == 12:
            rgb = (rgb & 0xFFF0) | (rgb >> 12)
    if f["orient"] & 1:
        rgb = rgb[:, ::-1]
    if f["orient"] & 2:
        rgb = rgb[::-1]
    return rgb[:, :, :3]


def read(path: Path, offset: int, n: int, reuse: bool = False):
    """n bytes from offset; reuse: into this thread's buffer, valid until its next read (a
    fresh 8 MB a 1080p frame cost the kernel more in page faults than the unpacking)."""
    buf = getattr(_SPARE, "buf", None) if reuse else None
    if buf is None or len(buf) < n:
        buf = bytearray(n)
        if reuse:
            _SPARE.buf = buf
    with open_frame(path) as fh:
        fh.seek(offset)
        got = fh.readinto(memoryview(buf)[:n])
    if got < n:
        raise FrameError(f"{path.name}: truncated ({got} of {n} bytes of picture)")
    return memoryview(buf)[:n]
