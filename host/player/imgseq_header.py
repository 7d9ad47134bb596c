"""What a frame's header says, range-checked where it is read: its size, depth, rate, curve
and start timecode (imgseq_read.py and imgseq_dpx.py read the formats)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from empathy.paths import kind_of

SIDE_MAX = 16384           # a frame's width or height at most (16K)
PIXELS_MAX = 8192 * 8192   # and its area (an 8K full-aperture scan is 8192 x 6144)
# The rates a header may say that are believed (film, PAL, NTSC, HFR); any other is ignored.
RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 47.952, 48.0, 50.0, 59.94, 60.0)


class FrameError(ValueError):
    """A frame file that cannot be read; the message says why."""


class FrameFault(FrameError):
    """A frame whose read raised what no reader expects (out of memory, a decoder's own
    error): said apart from the gaps and damaged files a delivery has."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    deep: bool                # more than 8 bits a channel: read as 16-bit
    rate: float | None        # a rate the header says, when it is one of RATES
    colour: str | None        # what the header says of its curve: 'cineon', 'linear', 'srgb'
    timecode: str | None = None    # 'hh:mm:ss:ff' ('hh:mm:ss;ff' drop-frame), when it says one
    timecode_bad: str | None = None  # a timecode field that is none (its hex), ignored


def open_frame(path: Path, buffering: int = 0):
    """A frame file opened for reading (unbuffered unless asked), or FrameError where it is
    no regular file: a FIFO named like a frame held its reader in open() for ever (the show
    stalled on it), a device read without end. Opened without blocking, then looked at."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise FrameError(f"{path.name}: {e.strerror or e}") from None
    kind = kind_of(os.fstat(fd).st_mode)
    if kind:
        os.close(fd)
        raise FrameError(f"{path.name}: it is {kind}, not a frame's file")
    return os.fdopen(fd, "rb", buffering=buffering)


def size_of(path: Path, w: int, h: int) -> tuple[int, int]:
    if not (1 <= w <= SIDE_MAX and 1 <= h <= SIDE_MAX and w * h <= PIXELS_MAX):
        raise FrameError(f"{path.name}: a frame of {w}x{h} (its header says) is beyond "
                         f"{SIDE_MAX} a side or {PIXELS_MAX // 1_000_000} Mpixels")
    return w, h


def rate_of(v) -> float | None:
    """A header's rate, if finite and within 0.01 of a rate films are made at."""
    try:
        v = float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return next((r for r in RATES if math.isfinite(v) and abs(v - r) < 0.01), None)


def _bcd(byte: int, tens_max: int) -> int | None:
    tens, units = byte >> 4, byte & 0xF
    return None if tens > tens_max or units > 9 else tens * 10 + units


def timecode_of(word: int) -> tuple[str | None, str | None]:
    """(timecode, None) of a SMPTE 12M time code packed as DPX's TV header and EXR's
    timeCode hold it (BCD: hours in the top byte, frames in the bottom; flags masked);
    (None, None) when unset (all ones, as 268M says, or all zeros, as many writers leave
    it); (None, its hex) when a digit or field is out of range."""
    if word in (0, 0xFFFFFFFF):
        return None, None
    hh = _bcd(word >> 24 & 0x3F, 2)
    mm, ss = _bcd(word >> 16 & 0x7F, 5), _bcd(word >> 8 & 0x7F, 5)
    ff = _bcd(word & 0x3F, 5)
    if None in (hh, mm, ss, ff) or hh > 23:
        return None, f"0x{word:08X}"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if word & 0x40 else ':'}{ff:02d}", None
