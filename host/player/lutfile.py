"""Read a LUT file of any format we read into the Cube the grade uses, or refuse it in one line.

The format is told by the file's suffix (a colourist's tools always write one); a file with
another suffix is told by its first words (XML as a CLF). Formats OpenColorIO reads but we
do not are refused with the command that bakes them to a .cube, never read as a .cube (a .3dl
read that way said "table data before LUT_3D_SIZE", which sent the artist the wrong way).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import threading
from pathlib import Path

from .clf import parse_clf
from .csp import parse_csp
from .cube import Cube, CubeError, parse_cube
from .luttext import whole
from .spi import parse_spi1d, parse_spi3d
from .threedl import parse_3dl

_MAX_BYTES = 512 * 1024 * 1024  # a 256^3 .cube is ~600 MB of text; refuse anything larger
_SNIFF = 1 << 16  # characters a format is told from
_ESCAPED_RE = re.compile("[\udc80-\udcff]")  # a byte not UTF-8, as decoding escapes it
KEPT = 32  # parsed files remembered (a show reuses a few LUTs)
_kept: dict[tuple, Cube] = {}  # (path, inode, size, mtime_ns) -> its Cube: an edit reads it again
_kept_lock = threading.Lock()

READ = {".cube": parse_cube, ".3dl": parse_3dl, ".spi3d": parse_spi3d, ".spi1d": parse_spi1d,
        ".csp": parse_csp, ".clf": parse_clf, ".ctf": parse_clf}
# suffix -> the format's name, for the refusal
REFUSED = {".spimtx": "Imageworks .spimtx matrix",
           ".cc": "ASC CDL .cc", ".ccc": "ASC CDL .ccc", ".cdl": "ASC CDL .cdl",
           ".lut": "Houdini / Discreet 1D .lut", ".mga": "Pandora .mga",
           ".m3d": "Pandora .m3d", ".vf": "Nuke .vf", ".icc": "ICC profile",
           ".icm": "ICC profile", ".look": "IRIDAS .look", ".hdl": "Houdini .hdl"}


def format_of(path: Path, text: str) -> str:
    """The suffix of the format `text` is in: its own suffix where we know it, else told
    from its first words (a story may name `grade.txt`)."""
    suffix = path.suffix.lower()
    if suffix in READ or suffix in REFUSED:
        return suffix
    for line in text[:_SNIFF].splitlines()[:20]:  # the whole text's lines took 1.8 GB
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        first = words[0]
        if first.startswith("<"):
            return ".clf"
        if first == "CSPLUTV100":
            return ".csp"
        if first == "SPILUT":
            return ".spi3d"
        if first == "Version":
            return ".spi1d"
        if first in ("3DMESH", "Mesh") or (len(words) > 3 and all(whole(w) is not None for w in words)):
            return ".3dl"
        break
    return ".cube"


def refusal(path: Path, suffix: str) -> CubeError:
    name = REFUSED.get(suffix, suffix)
    out = shlex.quote(str(path.with_suffix(".cube")))
    return CubeError(path, 0, f"{name} files are not read here (we read "
                     f"{', '.join(READ)}); bake it to a .cube with OpenColorIO: "
                     f"ociobakelut --lut {shlex.quote(str(path))} --format resolve_cube {out}")


def _decode(path: Path, raw: bytes, what: str) -> str:
    if not re.search(rb"\S", raw):  # not raw.strip(): that is a copy of the whole file
        raise CubeError(path, 0, "empty file")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # was "binary data (NUL byte)"
        raise CubeError(path, 0, f"UTF-16 text: save it as UTF-8 (or ASCII), as a {what} is")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise CubeError(path, raw.count(b"\n", 0, nul) + 1,
                        f"binary data (NUL byte), not a text {what}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # a TITLE or comment in Windows-1252 is for a human: read it
        text = raw.decode("utf-8-sig", "surrogateescape")
    for m in _ESCAPED_RE.finditer(text):
        head = text[text.rfind("\n", 0, m.start()) + 1:m.start()]
        if not (head.lstrip().startswith("TITLE") or "#" in head):
            raise CubeError(path, text.count("\n", 0, m.start()) + 1,
                            f"binary data (not UTF-8 text), not a text {what}")
    return _ESCAPED_RE.sub(lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", "replace"),
                           text)


def _key(path: Path, st: os.stat_result) -> tuple:
    return str(path.absolute()), st.st_ino, st.st_size, st.st_mtime_ns


def _kept_cube(path: Path) -> Cube | None:
    """The file parsed before, if it has not changed since (stat: not opened, not read)."""
    try:
        key = _key(path, os.stat(path))
    except OSError:
        return None  # reading it says why
    with _kept_lock:
        return _kept.get(key)


def read_lut(path: str | Path, keep: bool = False) -> Cube:
    """Read and parse a LUT file; every problem (including I/O) is a CubeError.
    keep: remember the parsed file (the KEPT last), and give it again while the file is
    unchanged: a host start's story check and its grade read the same LUTs (~50 ms each)."""
    path = Path(path)
    what = path.suffix.lower() if path.suffix.lower() in READ else "LUT"
    if path.suffix.lower() in REFUSED:
        raise refusal(path, path.suffix.lower())
    if keep and (cube := _kept_cube(path)) is not None:
        return cube
    try:
        # not blocking: a FIFO held the reader for ever; /dev/zero filled its memory
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise CubeError(path, 0, "not a regular file (a folder, a pipe or a device)")
            if st.st_size > _MAX_BYTES:
                raise CubeError(path, 0, f"file is {st.st_size} bytes, larger than any valid "
                                f"{what}")
            key = _key(path, st)  # the file as read (it may have changed since the stat)
            text = _decode(path, f.read(), what if what != "LUT" else ".cube")
    except OSError as e:
        raise CubeError(path, 0, f"cannot read: {e.strerror or e}") from None
    suffix = format_of(path, text)
    if suffix not in READ:
        raise refusal(path, suffix)
    cube = READ[suffix](text, path)
    cube.name = path.stem
    cube.origin = cube.origin or f"{suffix}, {cube.kind}"
    if keep:
        with _kept_lock:
            if len(_kept) >= KEPT:
                _kept.pop(next(iter(_kept)))
            _kept[key] = cube
    return cube
