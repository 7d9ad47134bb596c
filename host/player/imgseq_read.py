"""One frame of an image sequence read to an RGB array: EXR headers read here (DPX's in
imgseq_dpx.py), every value range-checked before a pixel is allocated; PNG/TIFF/JPEG
through Pillow's header and OpenCV's decoders; EXR pixels by OpenEXR's own bindings.

GStreamer 1.22 cannot decode these: avdec_dpx and avdec_exr take `unknown/unknown` caps,
which its video decoder base class refuses ("wrong name 'unknown/unknown'"), and decodebin
finds no decoder for image/x-exr. So the frames are read here and pushed into the same
GStreamer pipeline a video's decoded frames go through (imgseq_play.py).
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np

from . import imgseq_dpx
from .imgseq_header import (SIDE_MAX, RATES, FrameError, FrameFault, Header, open_frame, rate_of,
                            size_of, timecode_of)

__all__ = ["FrameError", "Header", "RATES", "SUFFIXES", "header", "pixels"]
HEADER_MAX = 1 << 20       # bytes of an EXR header read at most
# bytes a pixel of an EXR's channels at most (RGBA float): OpenEXR's bindings decode every
# channel, and 300 zeroed channels of 1080p (a 1.3 MB file) took 1.2 GB to read
EXR_PIXEL_BYTES = 16
_EXR_TYPE_BYTES = {0: 4, 1: 2, 2: 4}  # UINT, HALF, FLOAT
# an EXR's data window at most this many times its display window's area: the pixels
# outside are decoded, then dropped (8192x4096 of data about a 64x36 picture, a 212 kB
# file, took 383 MB to read); overscan plates carry a tenth or two more
EXR_OVERSCAN = 4
# a PNG/TIFF/JPEG file's bytes at most (it is read whole, then decoded): 64 a pixel, 8 times
# 16-bit RGBA's, and 16 MB of metadata (a 100 GB sparse file read in full filled memory)
STILL_PIXEL_BYTES, STILL_EXTRA = 64, 16 << 20


# -- OpenEXR ------------------------------------------------------------------------------
def _exr_attrs(path: Path, head: bytes) -> dict:
    """The header's attributes (name -> (type, bytes)), read without OpenEXR."""
    if head[:4] != b"\x76\x2f\x31\x01":
        raise FrameError(f"{path.name}: not an OpenEXR file")
    if len(head) < 8:
        raise FrameError(f"{path.name}: EXR header cut short")
    if head[5] & 0x1A:  # tiled, deep, multi-part: flags in the version field (bits 9, 11, 12)
        raise FrameError(f"{path.name}: tiled, deep or multi-part EXR is not read "
                         "(write scanlines)")
    attrs, at = {}, 8
    while at < len(head) and head[at] != 0:
        name_end = head.find(b"\0", at)
        type_end = head.find(b"\0", name_end + 1)
        if name_end < 0 or type_end < 0 or type_end + 5 > len(head):
            raise FrameError(f"{path.name}: EXR header cut short")
        size = struct.unpack_from("<i", head, type_end + 1)[0]
        if not 0 <= size <= len(head) - type_end - 5:
            raise FrameError(f"{path.name}: EXR header attribute of {size} bytes")
        value = head[type_end + 5:type_end + 5 + size]
        attrs[head[at:name_end].decode("latin-1")] = (head[name_end + 1:type_end], value)
        at = type_end + 5 + size
    if at >= len(head):
        raise FrameError(f"{path.name}: EXR header cut short")
    return attrs


def _exr_pixel_bytes(path: Path, chlist: bytes) -> float:
    """The bytes a pixel of the data window takes decoded, all channels together (each:
    its name, type, linear flag, 3 reserved bytes, x and y sampling)."""
    total, at = 0.0, 0
    while at < len(chlist) and chlist[at] != 0:
        at = chlist.find(b"\0", at) + 1
        if at == 0 or at + 16 > len(chlist):
            raise FrameError(f"{path.name}: EXR channel list cut short")
        kind, _, xs, ys = struct.unpack_from("<iIii", chlist, at)
        if kind not in _EXR_TYPE_BYTES or not (1 <= xs <= SIDE_MAX and 1 <= ys <= SIDE_MAX):
            raise FrameError(f"{path.name}: EXR channel of type {kind}, sampling {xs}x{ys}")
        total += _EXR_TYPE_BYTES[kind] / (xs * ys)
        at += 16
    return total


def _exr(path: Path, head: bytes, _fh=None) -> tuple[Header, dict]:
    attrs = _exr_attrs(path, head)
    if attrs.get("channels", (b"",))[0] != b"chlist":
        raise FrameError(f"{path.name}: EXR header without its channel list")
    if (n := _exr_pixel_bytes(path, attrs["channels"][1])) > EXR_PIXEL_BYTES:
        raise FrameError(f"{path.name}: EXR channels of {n:g} bytes a pixel (at most "
                         f"{EXR_PIXEL_BYTES}, RGBA float): write R, G, B (and A) only")
    try:
        dx0, dy0, dx1, dy1 = struct.unpack("<4i", attrs["displayWindow"][1][:16])
        x0, y0, x1, y1 = struct.unpack("<4i", attrs["dataWindow"][1][:16])
    except (KeyError, struct.error):
        raise FrameError(f"{path.name}: EXR header without its windows") from None
    w, h = size_of(path, dx1 - dx0 + 1, dy1 - dy0 + 1)
    dw, dh = size_of(path, x1 - x0 + 1, y1 - y0 + 1)
    if dw * dh > EXR_OVERSCAN * w * h:
        raise FrameError(f"{path.name}: EXR data window {dw}x{dh} about a {w}x{h} picture "
                         f"(at most {EXR_OVERSCAN} times its area): crop it to the picture")
    rate = None
    if "framesPerSecond" in attrs and len(attrs["framesPerSecond"][1]) == 8:
        n, d = struct.unpack("<iI", attrs["framesPerSecond"][1])
        rate = rate_of(n / d) if d else None
    tc = (None, None)
    if attrs.get("timeCode", (b"",))[0] == b"timecode" and len(attrs["timeCode"][1]) == 8:
        tc = timecode_of(struct.unpack("<I", attrs["timeCode"][1][:4])[0])
    return (Header(w, h, True, rate, "linear", *tc),
            dict(display=(dx0, dy0), data=(x0, y0)))


def _half_codes() -> np.ndarray:
    """Every half float's 16-bit code: a look-up, 15x faster on a 1080p frame than clipping
    (np.nan_to_num alone took 290 ms); NaN and below 0 -> 0, above 1 and +inf -> 65535."""
    v = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    v = np.where(np.isnan(v), 0.0, np.clip(v, 0.0, 1.0))
    return (v * 65535.0 + 0.5).astype(np.uint16)


_HALF_CODES = _half_codes()


def _exr_pixels(path: Path, hd: Header, f: dict, _rgba: bool) -> np.ndarray:
    try:
        import OpenEXR
    except ImportError:
        raise FrameError("EXR needs OpenEXR's Python bindings: pip install openexr") from None
    try:
        with open_frame(path) as fh, OpenEXR.File(fh) as exr:
            ch = exr.channels()
            if "RGB" in ch or "RGBA" in ch:
                px = (ch.get("RGB") or ch["RGBA"]).pixels[:, :, :3]
            elif {"R", "G", "B"} <= set(ch):
                px = np.stack([ch[k].pixels for k in "RGB"], -1)
            elif "Y" in ch:
                px = np.repeat(ch["Y"].pixels[:, :, None], 3, -1)
            else:
                raise FrameError(f"{path.name}: EXR without R, G, B or Y channels "
                                 f"({', '.join(sorted(ch))[:80]})")
    except FrameError:
        raise
    except Exception as e:  # OpenEXR's own: truncated, bad compression data...
        raise FrameError(f"{path.name}: {e}") from None
    if px.dtype.kind != "f":
        raise FrameError(f"{path.name}: EXR of {px.dtype} channels (half or float are read)")
    # scene-linear, as 16-bit codes: 0..1 kept (above 1.0 clips), the colour's table views it
    codes = _HALF_CODES[np.ascontiguousarray(px, np.float16).view(np.uint16)]
    (dx, dy), (x, y) = f["display"], f["data"]
    if codes.shape[:2] == (hd.height, hd.width) and (dx, dy) == (x, y):
        return codes
    out = np.zeros((hd.height, hd.width, 3), np.uint16)  # the data window where it falls
    ox, oy = x - dx, y - dy
    a, b = max(0, -oy), max(0, -ox)
    part = codes[a:hd.height - oy, b:hd.width - ox]
    out[oy + a:oy + a + part.shape[0], ox + b:ox + b + part.shape[1]] = part
    return out


# -- PNG, TIFF, JPEG ----------------------------------------------------------------------
class _Capped(io.RawIOBase):
    """A frame's open file as Pillow reads its header: STILL_EXTRA bytes in all, anywhere
    in it (a TIFF's tags may follow its pixels). Pillow reads every tag's data as it opens
    a TIFF: a description saying 256 MB, in a sparse file, was read whole at every frame."""

    def __init__(self, fh, path: Path):
        self.fh, self.path, self.left = fh, path, STILL_EXTRA

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, at: int, whence: int = 0) -> int:
        return self.fh.seek(at, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def readinto(self, b) -> int:
        if self.left <= 0:
            raise FrameError(f"{self.path.name}: over {STILL_EXTRA >> 20} MB read for its "
                             "header (a layered Photoshop TIFF, or a tag saying more than the "
                             "file holds?): save it again, flattened")
        n = self.fh.readinto(memoryview(b)[:self.left])
        self.left -= n
        return n


def _still(path: Path, head: bytes, fh) -> tuple[Header, dict]:
    from PIL import Image

    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":  # said before Pillow's
        if len(head) < 25:
            raise FrameError(f"{path.name}: PNG header cut short")
        size_of(path, *struct.unpack(">II", head[16:24]))  # own limit, which names no size
    try:
        # the file opened and checked (by its name, a FIFO put there since held Pillow's
        # open() for ever), its header only, here
        fh.seek(0)
        with Image.open(io.BufferedReader(_Capped(fh, path))) as im:
            w, h = im.size
            # Pillow opens 48-bit RGB as "RGB": the file's own bits say (TIFF tag 258)
            bits = max(getattr(im, "tag_v2", {}).get(258, (8,)) or (8,))
            deep = im.mode.startswith("I;16") or im.mode == "I" or bits > 8 or (
                head[:4] == b"\x89PNG" and head[24] == 16)
    except (FrameError, MemoryError):  # (out of memory: header() names it)
        raise
    except Exception as e:  # Pillow's: not an image, truncated header, a bomb it refuses
        raise FrameError(f"{path.name}: {e}") from None
    size_of(path, w, h)
    return Header(w, h, deep, None, None), {}


def _still_pixels(path: Path, hd: Header, _f: dict, _rgba: bool) -> np.ndarray:
    import cv2

    with open_frame(path) as fh:  # (imread opens by name: a FIFO put there since held it)
        size = os.fstat(fh.fileno()).st_size
        if size > hd.width * hd.height * STILL_PIXEL_BYTES + STILL_EXTRA:
            raise FrameError(f"{path.name}: {size:,} bytes for a {hd.width}x{hd.height} "
                             "frame (a sparse or padded file?): save it again")
        data = np.frombuffer(fh.read(), np.uint8)
    px = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if px is None:
        raise FrameError(f"{path.name}: OpenCV cannot decode it (truncated or damaged)")
    if px.shape[:2] != (hd.height, hd.width):
        raise FrameError(f"{path.name}: decoded {px.shape[1]}x{px.shape[0]}, its header "
                         f"says {hd.width}x{hd.height}")
    if px.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(px[:, :, ::-1])
    raise FrameError(f"{path.name}: {px.dtype} pixels (8 or 16 bits are read)")


_KINDS = {".dpx": (imgseq_dpx.header, imgseq_dpx.pixels), ".exr": (_exr, _exr_pixels)}
_STILL = (_still, _still_pixels)
SUFFIXES = (".dpx", ".exr", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


def header(path: Path) -> tuple[Header, dict]:
    """A frame's header, checked; FrameError when it is not one we read."""
    reader = _KINDS.get(path.suffix.lower(), _STILL)[0]
    try:
        with open_frame(path, -1) as fh:  # (buffered: read() fills the header)
            head = fh.read(HEADER_MAX if reader is _exr else 2048)
            return reader(path, head, fh)
    except FrameError:
        raise
    except OSError as e:
        raise FrameError(f"{path.name}: {e.strerror or e}") from None
    except Exception as e:  # (story new and check read headers: no traceback there either)
        raise _fault(path, e) from None


def _fault(path: Path, e: Exception) -> FrameFault:
    """What no reader expects (out of memory, a decoder's own error), naming its type."""
    return FrameFault(f"{path.name}: {type(e).__name__}{f': {e}' if str(e) else ''}")


def pixels(path: Path, rgba: bool = False, out: np.ndarray | None = None,
           like: Header | None = None) -> tuple[Header, np.ndarray]:
    """(header, HxWx3 uint8 or uint16 RGB) of one frame; FrameError when unreadable.
    rgba: a deep frame as the player's chain takes it, HxWx4 uint16 with opaque alpha (a
    10-bit DPX unpacked so; others given their alpha by OpenCV: numpy's strided writes into
    a 4-channel frame took 3-4 times as long). out: an array a 10-bit DPX may be read into
    (a fresh 16 MB a 1080p frame is page faults). like: the first frame's header: a frame
    of another size or depth is refused before its pixels are read (an 8K frame among 1080p
    ones took 0.8 GB a reader to be read and then refused).
    Whatever reading it raises (MemoryError, a decoder's own) is a FrameError naming its
    type: a bad frame to hold, not the end of the thread reading ahead (the show stalled)."""
    try:
        hd, f = header(path)
        if like is not None and (hd.width, hd.height, hd.deep) != (like.width, like.height,
                                                                   like.deep):
            raise FrameError(f"{path.name}: {hd.width}x{hd.height}{' deep' * hd.deep}, not the "
                             f"{like.width}x{like.height}{' deep' * like.deep} of its first "
                             "frame")
        read = _KINDS.get(path.suffix.lower(), _STILL)[1]
        px = read(path, hd, f, rgba, out) if read is imgseq_dpx.pixels else read(path, hd, f, rgba)
        if rgba and px.dtype == np.uint16 and px.shape[2] == 3:
            import cv2

            px = cv2.cvtColor(np.ascontiguousarray(px), cv2.COLOR_RGB2RGBA)
        return hd, px
    except FrameError:
        raise
    except OSError as e:
        raise FrameError(f"{path.name}: {e.strerror or e}") from None
    except Exception as e:  # not BaseException: KeyboardInterrupt, SystemExit end the show
        raise _fault(path, e) from None
