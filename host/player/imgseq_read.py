"""One frame of an image sequence read to an RGB array: DPX and EXR headers read here, every
value range-checked before a pixel is allocated; PNG/TIFF/JPEG through Pillow's header and
OpenCV's decoders; EXR pixels by OpenEXR's own bindings.

GStreamer 1.22 cannot decode these: avdec_dpx and avdec_exr take `unknown/unknown` caps,
which its video decoder base class refuses ("wrong name 'unknown/unknown'"), and decodebin
finds no decoder for image/x-exr. So the frames are read here and pushed into the same
GStreamer pipeline a video's decoded frames go through (imgseq_play.py).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIDE_MAX = 16384           # a frame's width or height at most (16K)
PIXELS_MAX = 8192 * 8192   # and its area (an 8K full-aperture scan is 8192 x 6144)
HEADER_MAX = 1 << 20       # bytes of an EXR header read at most
# The rates a header may say that are believed (film, PAL, NTSC, HFR); any other is ignored.
RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 47.952, 48.0, 50.0, 59.94, 60.0)


class FrameError(ValueError):
    """A frame file that cannot be read; the message says why."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    deep: bool                # more than 8 bits a channel: read as 16-bit
    rate: float | None        # a rate the header says, when it is one of RATES
    colour: str | None        # what the header says of its curve: 'cineon', 'linear', 'srgb'


def _size(path: Path, w: int, h: int) -> tuple[int, int]:
    if not (1 <= w <= SIDE_MAX and 1 <= h <= SIDE_MAX and w * h <= PIXELS_MAX):
        raise FrameError(f"{path.name}: a frame of {w}x{h} (its header says) is beyond "
                         f"{SIDE_MAX} a side or {PIXELS_MAX // 1_000_000} Mpixels")
    return w, h


def _rate(v) -> float | None:
    """A header's rate, if finite and within 0.01 of a rate films are made at."""
    try:
        v = float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return next((r for r in RATES if math.isfinite(v) and abs(v - r) < 0.01), None)


# -- DPX (SMPTE 268M) ---------------------------------------------------------------------
_DPX_CHANNELS = {50: 3, 51: 4}  # element descriptor: RGB, RGBA
# transfer characteristic (268M table 5): 1 printing density, 3 logarithmic: a film scan's
# Cineon log; 2 linear; 5-10 video curves (display-referred); others (0 user, 4 unspecified
# video...) say nothing
_DPX_COLOUR = {1: "cineon", 3: "cineon", 2: "linear", **{t: "srgb" for t in range(5, 11)}}


def _dpx(path: Path, head: bytes) -> tuple[Header, dict]:
    if len(head) < 2048:
        raise FrameError(f"{path.name}: a DPX header is 2048 bytes, this file is shorter")
    e = {b"SDPX": ">", b"XPDS": "<"}.get(head[:4])
    if e is None:
        raise FrameError(f"{path.name}: not a DPX file (no SDPX magic)")
    u32 = lambda at: struct.unpack_from(e + "I", head, at)[0]  # noqa: E731
    u16 = lambda at: struct.unpack_from(e + "H", head, at)[0]  # noqa: E731
    f32 = lambda at: struct.unpack_from(e + "f", head, at)[0]  # noqa: E731
    w, h = _size(path, u32(772), u32(776))
    desc, transfer, bits, packing, encoding = head[800], head[801], head[803], u16(804), u16(806)
    orient, offset = u16(768), u32(808) or u32(4)
    channels = _DPX_CHANNELS.get(desc)
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
    rate = _rate(f32(1940)) or _rate(f32(1724))  # the TV header's, then the film header's
    return (Header(w, h, bits > 8, rate, _DPX_COLOUR.get(transfer)),
            dict(e=e, bits=bits, packing=packing, channels=channels, orient=orient,
                 offset=offset))


def _dpx_pixels(path: Path, hd: Header, f: dict) -> np.ndarray:
    w, h, c, e = hd.width, hd.height, f["channels"], f["e"]
    if f["bits"] == 10:
        words = -(-w * c // 3)  # each line starts on a 32-bit word
        raw = _read(path, f["offset"], h * words * 4)
        data = np.frombuffer(raw, e + "u4").reshape(h, words).astype(np.uint32)  # native
        v = np.empty((h, words, 3), np.uint16)
        for i, s in enumerate((22, 12, 2) if f["packing"] == 1 else (20, 10, 0)):
            v[:, :, i] = (data >> s) & 0x3FF
        rgb = v.reshape(h, words * 3)[:, :w * c].reshape(h, w, c)
        rgb = (rgb << 6) | (rgb >> 4)  # 10 bits to 16: white stays white
    elif f["bits"] == 8:
        line = -(-w * c // 4) * 4
        rgb = np.frombuffer(_read(path, f["offset"], h * line), np.uint8).reshape(h, line)
        rgb = rgb[:, :w * c].reshape(h, w, c)
    else:  # 12 bits in the top of 16, or 16
        raw = _read(path, f["offset"], h * w * c * 2)
        rgb = np.frombuffer(raw, e + "u2").reshape(h, w, c).astype(np.uint16)
        if f["bits"] == 12:
            rgb = (rgb & 0xFFF0) | (rgb >> 12)
    if f["orient"] & 1:
        rgb = rgb[:, ::-1]
    if f["orient"] & 2:
        rgb = rgb[::-1]
    return rgb[:, :, :3]


def _read(path: Path, offset: int, n: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        raw = fh.read(n)
    if len(raw) < n:
        raise FrameError(f"{path.name}: truncated ({len(raw)} of {n} bytes of picture)")
    return raw


# -- OpenEXR ------------------------------------------------------------------------------
def _exr_attrs(path: Path, head: bytes) -> dict:
    """The header's attributes (name -> (type, bytes)), read without OpenEXR."""
    if head[:4] != b"\x76\x2f\x31\x01":
        raise FrameError(f"{path.name}: not an OpenEXR file")
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


def _exr(path: Path, head: bytes) -> tuple[Header, dict]:
    attrs = _exr_attrs(path, head)
    try:
        dx0, dy0, dx1, dy1 = struct.unpack("<4i", attrs["displayWindow"][1][:16])
        x0, y0, x1, y1 = struct.unpack("<4i", attrs["dataWindow"][1][:16])
    except (KeyError, struct.error):
        raise FrameError(f"{path.name}: EXR header without its windows") from None
    w, h = _size(path, dx1 - dx0 + 1, dy1 - dy0 + 1)
    _size(path, x1 - x0 + 1, y1 - y0 + 1)
    rate = None
    if "framesPerSecond" in attrs and len(attrs["framesPerSecond"][1]) == 8:
        n, d = struct.unpack("<iI", attrs["framesPerSecond"][1])
        rate = _rate(n / d) if d else None
    return Header(w, h, True, rate, "linear"), dict(display=(dx0, dy0), data=(x0, y0))


def _half_codes() -> np.ndarray:
    """Every half float's 16-bit code: a look-up, 15x faster on a 1080p frame than clipping
    (np.nan_to_num alone took 290 ms); NaN and below 0 -> 0, above 1 and +inf -> 65535."""
    v = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    v = np.where(np.isnan(v), 0.0, np.clip(v, 0.0, 1.0))
    return (v * 65535.0 + 0.5).astype(np.uint16)


_HALF_CODES = _half_codes()


def _exr_pixels(path: Path, hd: Header, f: dict) -> np.ndarray:
    try:
        import OpenEXR
    except ImportError:
        raise FrameError("EXR needs OpenEXR's Python bindings: pip install openexr") from None
    try:
        with OpenEXR.File(str(path)) as exr:
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
def _still(path: Path, head: bytes) -> tuple[Header, dict]:
    from PIL import Image

    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":  # said before Pillow's
        _size(path, *struct.unpack(">II", head[16:24]))  # own limit, which names no size
    try:
        with Image.open(path) as im:  # the header only: nothing decoded yet
            w, h = im.size
            # Pillow opens 48-bit RGB as "RGB": the file's own bits say (TIFF tag 258)
            bits = max(getattr(im, "tag_v2", {}).get(258, (8,)) or (8,))
            deep = im.mode.startswith("I;16") or im.mode == "I" or bits > 8 or (
                head[:4] == b"\x89PNG" and head[24] == 16)
    except Exception as e:  # Pillow's: not an image, truncated header, a bomb it refuses
        raise FrameError(f"{path.name}: {e}") from None
    _size(path, w, h)
    return Header(w, h, deep, None, None), {}


def _still_pixels(path: Path, hd: Header, _f: dict) -> np.ndarray:
    import cv2

    px = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if px is None:
        raise FrameError(f"{path.name}: OpenCV cannot decode it (truncated or damaged)")
    if px.shape[:2] != (hd.height, hd.width):
        raise FrameError(f"{path.name}: decoded {px.shape[1]}x{px.shape[0]}, its header "
                         f"says {hd.width}x{hd.height}")
    if px.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(px[:, :, ::-1])
    raise FrameError(f"{path.name}: {px.dtype} pixels (8 or 16 bits are read)")


_KINDS = {".dpx": (_dpx, _dpx_pixels), ".exr": (_exr, _exr_pixels)}
_STILL = (_still, _still_pixels)
SUFFIXES = (".dpx", ".exr", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


def header(path: Path) -> tuple[Header, dict]:
    """A frame's header, checked; FrameError when it is not one we read."""
    reader = _KINDS.get(path.suffix.lower(), _STILL)[0]
    try:
        with path.open("rb") as fh:
            head = fh.read(HEADER_MAX if reader is _exr else 2048)
    except OSError as e:
        raise FrameError(f"{path.name}: {e.strerror or e}") from None
    return reader(path, head)


def pixels(path: Path) -> tuple[Header, np.ndarray]:
    """(header, HxWx3 uint8 or uint16 RGB) of one frame; FrameError when unreadable."""
    hd, f = header(path)
    try:
        return hd, _KINDS.get(path.suffix.lower(), _STILL)[1](path, hd, f)
    except OSError as e:
        raise FrameError(f"{path.name}: {e.strerror or e}") from None
    except ValueError as e:  # numpy's reshape of a short read
        if isinstance(e, FrameError):
            raise
        raise FrameError(f"{path.name}: {e}") from None
