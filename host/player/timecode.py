"""A clip's start timecode: where the timecode cameras and editors stamp in a file begins
(01:00:00:00 for an edit's master, the time of day for a camera's). An EDL's source in/out
points count in it. GStreamer's discoverer leaves a MOV/MP4's timecode track out, so its
index is read here; an MXF's timecode component and a Matroska's TIMECODE tag come in the
discoverer's tags.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .probe import ProbeError

MOOV_MAX = 64 << 20  # a film's index: a few MB for hours of frames
TAGGED = {".mxf", ".mkv", ".webm"}  # read from the discoverer's tags, not an MP4 index
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
# ASCII digits only (re.ASCII, as empathy/whole.py): \d takes '²' (int() raises) and
# Arabic-Indic digits (int() reads them), which no camera or editor writes
_MXF_TC = re.compile(r"start-timecode\W+gint64\W+(-?\d+)\W+rounded-timecode-base\W+uint\W+"
                     r"(\d+)\W+drop-frame\W+boolean\W+(\w+)", re.ASCII)
_TAG_TC = re.compile(r"(\d\d):(\d\d):(\d\d)([:;.])(\d\d)", re.ASCII)


@dataclass(frozen=True)
class StartTimecode:
    frames: int   # frames from 00:00:00:00 (drop frame: the numbers it skips not counted)
    rate: float   # frames a second: 25, 30000/1001...
    drop: bool

    @property
    def seconds(self) -> float:
        return self.frames / self.rate

    def text(self, after_s: float = 0.0) -> str:
        """hh:mm:ss:ff (drop frame hh:mm:ss;ff) `after_s` seconds into the file."""
        from opentimelineio import opentime

        frames = self.frames + round(after_s * self.rate)
        return opentime.to_timecode(opentime.RationalTime(frames, self.rate), self.rate,
                                    self.drop)


def _checked(path: Path, frames: int, rate: float, drop: bool, base: int) -> StartTimecode:
    """A time of day at the file's own rate: a counter past 24 h or at another rate than its
    frames' is a damaged or foreign stamp, refused rather than trusted."""
    if not (0 < rate <= 1000 and base == round(rate) and (not drop or base in (30, 60))):
        raise ProbeError(f"{path}: its timecode track says {base} frames a second at a rate of "
                         f"{rate:g}{' drop frame' if drop else ''}: not a timecode to count from")
    if not 0 <= frames < 86400 * rate:
        raise ProbeError(f"{path}: its start timecode is frame {frames} at {rate:g} fps, past "
                         "24 hours: not a time of day")
    return StartTimecode(frames, rate, drop)


def _boxes(data: bytes):
    """(type, payload) of each box in `data`, stopping at one whose size does not fit."""
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1 and at + 16 <= len(data):
            size, head = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:
            size = len(data) - at
        if size < head or at + size > len(data):
            return
        yield kind, data[at + head:at + size]
        at += size


def _moov(f) -> Optional[bytes]:
    end, at = f.seek(0, 2), 0
    while at + 8 <= end:
        f.seek(at)
        size, kind = struct.unpack(">I4s", f.read(8))
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = end - at
        if size < head:
            return None
        if kind == b"moov":
            return f.read(size - head) if size <= MOOV_MAX else None
        at += size
    return None


def _tmcd(trak: bytes) -> Optional[tuple[int, int, int, int]]:
    """(flags, timescale, frame duration, frames a second) and the first sample's offset
    of a timecode track (QuickTime's `tmcd` sample entry), or None for another track."""
    found: dict[bytes, bytes] = {}

    def walk(data: bytes) -> None:
        for kind, body in _boxes(data):
            if kind in _CONTAINERS:
                walk(body)
            else:
                found.setdefault(kind, body)
    walk(trak)
    hdlr, stsd = found.get(b"hdlr", b""), found.get(b"stsd", b"")
    if hdlr[8:12] != b"tmcd" or len(stsd) < 8 + 34 or stsd[12:16] != b"tmcd":
        return None
    flags, scale, duration, base = struct.unpack_from(">IIIB", stsd, 8 + 20)
    if b"stco" in found and len(found[b"stco"]) >= 12:
        offset = struct.unpack_from(">I", found[b"stco"], 8)[0]
    elif b"co64" in found and len(found[b"co64"]) >= 16:
        offset = struct.unpack_from(">Q", found[b"co64"], 8)[0]
    else:
        return None
    return flags, scale, duration, base, offset


def _from_mp4(path: Path) -> Optional[StartTimecode]:
    with path.open("rb") as f:
        if f.read(8)[4:8] not in (b"ftyp", b"wide", b"mdat", b"moov", b"free"):
            return None
        moov = _moov(f)
        for kind, trak in _boxes(moov or b""):
            tc = _tmcd(trak) if kind == b"trak" else None
            if tc is None:
                continue
            flags, scale, duration, base, offset = tc
            f.seek(offset)
            sample = f.read(4)
            if len(sample) < 4 or not duration:
                raise ProbeError(f"{path}: its timecode track has no first sample")
            return _checked(path, struct.unpack(">I", sample)[0], scale / duration,
                            bool(flags & 1), base)
    return None


def _from_tags(path: Path, fps: float) -> Optional[StartTimecode]:
    """An MXF's first timecode component (the material package's), from the discoverer's
    `mxf-structure`; a Matroska's `TIMECODE` tag, from its container tags."""
    import warnings

    from .gst import Gst
    from .probe import _pbutils

    Gst_, pb = Gst(), _pbutils()
    try:
        info = pb.Discoverer.new(10 * Gst_.SECOND).discover_uri(path.resolve().as_uri())
    except Exception:  # GLib.Error: not a file GStreamer reads; describe() says so
        return None
    with warnings.catch_warnings():  # the container's tags are only here (1.20 deprecated it)
        warnings.simplefilter("ignore", DeprecationWarning)
        lists = [info.get_tags()] + [st.get_tags() for st in info.get_stream_list()]
    lists = [t for t in lists if t is not None]
    text = " ".join(t.to_string().replace("\\", "") for t in lists)
    ntsc = round(fps) * 1000 / 1001  # a timecode base of 30 counts 29.97 fps pictures
    m = _MXF_TC.search(text)
    if m:
        frames, base, drop = int(m.group(1)), int(m.group(2)), m.group(3) == "true"
        rate = ntsc if drop or abs(fps - ntsc) < abs(fps - base) else float(base)
        return _checked(path, frames, rate, drop, base)
    tag = _timecode_tag(lists)
    if tag is None:
        return None
    m = _TAG_TC.fullmatch(tag.strip())
    if m is None:
        raise ProbeError(f"{path}: its TIMECODE tag {tag[:40]!r} is not a timecode "
                         "(hh:mm:ss:ff in ASCII digits)")
    h, mi, sec, fr = map(int, m.group(1, 2, 3, 5))
    base, drop = round(fps), m.group(4) == ";"
    rate = ntsc if drop or abs(fps - ntsc) < abs(fps - base) else float(base)
    if mi >= 60 or sec >= 60 or fr >= base:
        raise ProbeError(f"{path}: its timecode tag {tag.strip()} is not a time at {fps:g} fps "
                         f"(mm and ss < 60, ff < {base})")
    frames = ((h * 60 + mi) * 60 + sec) * base + fr
    if drop:  # two frame numbers skipped each minute but every tenth
        minutes = h * 60 + mi
        frames -= base // 15 * (minutes - minutes // 10)
    return _checked(path, frames, rate, drop, base)


def _timecode_tag(lists: list) -> Optional[str]:
    """A Matroska's TIMECODE tag as written: read from the tag lists, not from their
    to_string(), whose escapes of a byte (\\331\\242), backslashes stripped, read as digits."""
    for tags in lists:
        for i in range(tags.get_tag_size("extended-comment")):
            ok, said = tags.get_string_index("extended-comment", i)
            key, _, value = said.partition("=") if ok else ("", "", "")
            if key.isascii() and key.strip().upper() == "TIMECODE":
                return value
    return None


def start_timecode(path: Path, fps: float) -> Optional[StartTimecode]:
    """The file's start timecode; None where it carries none. ProbeError for one out of range
    or unreadable. `fps`: the picture's rate (an MXF's timecode says only its rounded base)."""
    try:
        if path.suffix.lower() in TAGGED:
            return _from_tags(path, fps)
        return _from_mp4(path)
    except (OSError, struct.error) as e:
        raise ProbeError(f"{path}: cannot read its timecode ({e})") from None
