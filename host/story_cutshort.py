"""Whether a clip file was cut short in copying: its container promises more bytes than the
file holds. A copy that stopped part-way keeps its header (the probe says the full
duration) and its first frames, so only this finds it, from the sizes of the top-level
parts alone (no decoding: a few reads however long the film). Used by `story check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def cut_short(path: Path) -> Optional[tuple[str, int, int]]:
    """(part, the byte it ends at, file size) where the container promises more than the
    file holds, else None. MP4/MOV boxes, Matroska/WebM elements, AVI's RIFF chunks; other
    containers (MPEG-TS, MXF) are not checked."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        walk = (_ebml_part if head[:4] == b"\x1a\x45\xdf\xa3" else _riff_part
                if head[:4] == b"RIFF" else _mp4_part if head[4:8] in _MP4_TOP else None)
        pos = 0
        for _ in range(MAX_PARTS if walk else 0):
            if pos >= size:
                break
            f.seek(pos)
            part = walk(f)  # (name, bytes it takes), None: its size is not written down
            if part is None:
                return None
            if pos + part[1] > size:
                return part[0], pos + part[1], size
            pos += part[1]
    return None


# A film's top level holds a handful of parts; fragmented MP4 a moof+mdat pair per
# fragment (3 h in 2-s fragments: 11k). Past this the file is not judged here (the probe
# does): 2M 8-byte boxes took 1.2 s to walk, so a GB of them held `host run` a minute.
MAX_PARTS = 100_000
_MP4_TOP = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp",
            b"moof", b"sidx"}
_MKV_SEGMENT = 0x18538067
_MKV_NAMES = {0x1A45DFA3: "EBML header", _MKV_SEGMENT: "segment", 0x1F43B675: "cluster"}


def _mp4_part(f) -> Optional[tuple[str, int]]:
    hdr = f.read(16)
    if len(hdr) < 8:
        return "box header", 8
    n = int.from_bytes(hdr[:4], "big")
    if n == 1:  # a 64-bit size follows the type
        if len(hdr) < 16:
            return "box header", 16
        n = int.from_bytes(hdr[8:16], "big")
    if n < 8:  # 0: it runs to the end of the file; less: not a box (the probe judges)
        return None
    return f"'{hdr[4:8].decode('latin-1')}' box", n


def _riff_part(f) -> Optional[tuple[str, int]]:
    hdr = f.read(8)
    if len(hdr) < 8:
        return "chunk header", 8
    n = int.from_bytes(hdr[4:8], "little")
    if n in (0, 0xFFFFFFFF):  # a writer that could not go back to fill the size in
        return None
    return f"'{hdr[:4].decode('latin-1')}' chunk", 8 + n + (n & 1)  # odd sizes are padded


def _ebml_part(f) -> Optional[tuple[str, int]]:
    """One Matroska element; an unknown-size segment is walked into (its elements follow
    as if at the top), an unknown-size cluster ends the walk."""
    hdr = f.read(12)
    ilen = 9 - hdr[0].bit_length() if hdr else 9
    slen = 9 - hdr[ilen].bit_length() if len(hdr) > ilen else 9
    if ilen > 4 or slen > 8 or len(hdr) < ilen + slen:
        return ("element header", len(hdr) + 1) if len(hdr) < 12 else None
    eid = int.from_bytes(hdr[:ilen], "big")
    raw = int.from_bytes(hdr[ilen:ilen + slen], "big")
    n = raw & ((1 << (7 * slen)) - 1)  # the length marker bit removed
    if n == (1 << (7 * slen)) - 1:  # all ones: size unknown (a live recording)
        return ("segment header", ilen + slen) if eid == _MKV_SEGMENT else None
    return _MKV_NAMES.get(eid, "element"), ilen + slen + n
