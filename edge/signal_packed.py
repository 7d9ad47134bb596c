"""Recordings as exports pack them: gzip (Strava's bulk export: activities/NNN.fit.gz,
.tcx.gz, .gpx.gz) and zip (Garmin Connect's 'Export Original': a zip of one .fit; Strava's
whole export; Apple Health's export.zip; Garmin Connect's account export, whose activities
are in zips inside it: one level of zip in the zip is read, its files named
'outer/inner/name'). One file is unpacked to a temporary one the readers open as they
would the file itself; Apple Health's export.xml (gigabytes) is read from the zip as a
stream (chunks). What is unpacked is capped (a zip or gzip bomb; a zip in the zip and its
file count together), and a member whose name leaves the archive ('../', '/etc/...')
refuses the whole archive: nothing is ever written under a member's own path."""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from empathy.edge.signal_columns import SignalFileError

MAX_UNPACKED = 1 << 30  # bytes to a temporary file: a day of 130-Hz ECG as CSV is ~0.5 GB
MAX_STREAMED = 1 << 34  # bytes of export.xml read as a stream (real ones: 0.1 to 5 GB)
MAX_RATIO = 200  # unpacked over packed: real FIT, TCX, CSV, XML 3-30x; zeros gzip ~1000x
RATIO_FREE = 16 << 20  # ... counted past this much only (a small file's header is no bomb)
CHUNK = 1 << 20
ACTIVITY = (".fit", ".tcx", ".gpx", ".fit.gz", ".tcx.gz", ".gpx.gz")
APPLE_XML = "export.xml"  # apple_health_export/export.xml (older exports: at the top)
GZ, ZIP = b"\x1f\x8b", b"PK\x03\x04"
EMPTY_ZIP = b"PK\x05\x06"  # a zip of nothing: its directory's end alone
MAX_ZIPS = 64  # zips in a zip looked into for its activities (Garmin's export: a few parts)
LISTED = 4  # names said in a refusal; export.xml's namesakes looked into
SNIFF = 4096  # bytes of an .xml read to tell Apple Health's export (its DTD starts there)


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(4)
    except OSError:
        return b""  # (a pipe, a folder: the readers say why)


def packed(path: str) -> bool:
    return os.path.isfile(path) and _head(path).startswith((GZ, ZIP, EMPTY_ZIP))


def apple_member(z: zipfile.ZipFile) -> str | None:
    """Apple Health's export.xml in export.zip: apple_health_export/export.xml, or named in
    the phone's language ('导出.xml' in a Chinese export, k0rventen/apple-health-grafana's
    test-export-cn.zip; 'Export.xml'), beside export_cda.xml: an .xml at the top or a
    folder down whose head names HealthData (its DTD's)."""
    xml = [i for i in z.infolist() if not i.is_dir() and i.filename.lower().endswith(".xml")
           and len(PurePosixPath(i.filename).parts) <= 2]
    named = [i for i in xml if PurePosixPath(i.filename).name == APPLE_XML]
    for i in (named or xml)[:LISTED]:
        try:
            with z.open(i) as f:
                if named or b"HealthData" in f.read(SNIFF).replace(b"\x00", b""):
                    return i.filename
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
                EOFError, OSError):
            continue  # (the one read says what is wrong with it)
    return None


@contextmanager
def unpacked(path: str, member: str | None = None):
    """(the path to read, the name to show for it): the file itself where it is not packed
    (or is Apple Health's export.zip, read as a stream), else its one recording unpacked to
    a temporary file, gone after."""
    if not packed(path):
        if member:
            raise SignalFileError(f"{path}: --member names a file inside a zip; this is no zip")
        yield path, path
        return
    with tempfile.TemporaryDirectory(prefix="empathy-signal-") as tmp:
        with _errors(path):
            local, shown = _unpack(path, member, Path(tmp))
        # (the readers' own errors are theirs, not the archive's: read outside _errors);
        # Apple Health's export.zip is read from the zip itself
        yield (local, shown) if local is not None else (path, path)


def _unpack(path: str, member: str | None, tmp: Path) -> tuple[str | None, str]:
    if _head(path).startswith(GZ):
        if member:
            raise SignalFileError(f"{path}: --member names a file inside a zip; this is "
                                  "gzip (one file)")
        name = Path(path).name
        out = tmp / (name[:-3] if name.lower().endswith(".gz") else name + ".out")
        _copy(gzip.open(path, "rb"), out, _Chain(os.path.getsize(path)), path)
        return str(out), path
    with zipfile.ZipFile(path) as z:
        infos = _members(path, z)
        if not member and apple_member(z):
            return None, path
        return _read(path, z, *_chosen(path, z, infos, member, tmp), tmp)


def _members(shown: str, z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The zip's files, where none would land outside and it is no spreadsheet."""
    infos = [i for i in z.infolist() if not i.is_dir()]
    for i in infos:
        p = PurePosixPath(i.filename.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or ":" in i.filename:
            raise SignalFileError(f"{shown}: a zip whose member {_said(i.filename[:60])} would "
                                  "land outside where it is unpacked: not an export we read")
    names = [i.filename for i in infos]
    if "xl/workbook.xml" in names or "content.xml" in names and "mimetype" in names:
        raise SignalFileError(f"{shown}: a spreadsheet (an Excel .xlsx or .ods is a zip of its "
                              "sheets), not a recording: save the sheet as CSV")
    return infos


def _chosen(path: str, z: zipfile.ZipFile, infos: list, member: str | None, tmp: Path):
    """(the member to read, the name to read inside it where it is a zip, else None): where
    --member names it (a member's path or name, or 'a zip's path/a path in it'), else the
    zip's one activity, looked for in the zips in it too (Garmin's account export keeps
    its activities in DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip), else
    its one file; else a refusal naming what is there."""
    zips = [i for i in infos if i.filename.lower().endswith(".zip")]
    if member:
        hit = [(i, None) for i in infos if i.filename == member] or \
            [(i, member[len(i.filename) + 1:]) for i in zips
             if member.startswith(i.filename + "/")]
        if not hit:  # a name, in the zip or in a zip in it
            hit = _named(infos, member) + [(i, n) for i in _looked_into(path, zips)
                                           for n in _names_in(path, z, i, tmp)
                                           if PurePosixPath(n).name == member]
        if len(hit) != 1:
            held = _some([i.filename for i in infos])
            raise SignalFileError(f"{path}: {'no' if not hit else len(hit)} members named "
                                  f"{_said(member)} (it holds {held})")
        return hit[0]
    acts = [(i, None) for i in infos if _activity(i.filename)]
    acts += [(i, n) for i in _looked_into(path, zips) for n in _names_in(path, z, i, tmp)
             if _activity(n)]
    if len(acts) == 1 or (not acts and len(infos) == 1):
        return (acts or [(infos[0], None)])[0]
    if not infos:
        raise SignalFileError(f"{path}: an empty zip archive")
    what = f"{len(acts)} activities" if acts else f"{len(infos)} files, none an activity"
    return _refuse(path, what, [_path_of(i, n) for i, n in acts] or
                   [i.filename for i in infos])


def _named(infos: list, member: str) -> list:
    """(member, None) of each named so: by its path, else by its name."""
    return [(i, None) for i in infos if i.filename == member] or \
        [(i, None) for i in infos if PurePosixPath(i.filename).name == member]


def _activity(name: str) -> bool:
    return name.lower().endswith(ACTIVITY)


def _path_of(info: zipfile.ZipInfo, inner: str | None) -> str:
    """A member's name for --member: 'outer/inner/name' for a file in a zip in the zip."""
    return info.filename if inner is None else f"{info.filename}/{inner}"


def _looked_into(path: str, zips: list) -> list:
    """The zips in the zip, where they are few enough to look into (each is unpacked)."""
    if len(zips) > MAX_ZIPS:
        names = _some([i.filename for i in zips])
        raise SignalFileError(f"{path}: a zip of {len(zips):,} zips ({names}): give --member "
                              "with the one to read as 'outer.zip/name'")
    return zips


def _names_in(path: str, z: zipfile.ZipFile, info: zipfile.ZipInfo, tmp: Path) -> list[str]:
    """The files of a zip in the zip (unpacked to be read, under the caps, then let go)."""
    out = tmp / "listed.zip"
    try:
        _copy(z.open(info), out, _Chain(_packed(path, z, info)), f"{path}:{_said(info.filename)}")
        if not _head(str(out)).startswith(ZIP):
            return []  # (named .zip, is none: a file like any other)
        with zipfile.ZipFile(out) as inner:
            return [i.filename for i in _members(f"{path}:{_said(info.filename)}", inner)]
    finally:
        out.unlink(missing_ok=True)


def _read(path: str, z: zipfile.ZipFile, info: zipfile.ZipInfo, inner: str | None,
          tmp: Path) -> tuple[str, str]:
    """The member unpacked (a .gz in it too), and where it is a zip, the one file asked of
    it (or its one activity) unpacked in turn: both count against one cap."""
    shown, name = f"{path}:{_said(info.filename)}", PurePosixPath(info.filename).name
    chain, gz = _Chain(_packed(path, z, info)), name.lower().endswith(".gz")
    out = tmp / (name[:-3] if gz else name)
    stream = z.open(info)
    _copy(gzip.GzipFile(fileobj=stream) if gz else stream, out, chain, shown)
    if not _head(str(out)).startswith(ZIP):
        if inner is not None:
            raise SignalFileError(f"{shown}: no zip, so no {_said(inner)} in it")
        return str(out), shown
    with zipfile.ZipFile(out) as nested:  # (Garmin's account export: zips of activities)
        infos = _members(shown, nested)
        acts = [i for i in infos if _activity(i.filename)] or infos
        hit = [i for i, _ in _named(infos, inner)] if inner is not None else acts
        if len(hit) != 1:
            if inner is not None:
                raise SignalFileError(f"{shown}: {'no' if not hit else len(hit)} members "
                                      f"named {_said(inner)} in it")
            _refuse(path, f"{len(hit)} files in {_said(info.filename)}",
                    [_path_of(info, i.filename) for i in hit])
        _packed(shown, nested, hit[0])  # (its room checked; the cap is the chain's)
        shown = f"{path}:{_said(_path_of(info, hit[0].filename))}"
        last = Path(tempfile.mkdtemp(dir=tmp)) / PurePosixPath(hit[0].filename).name
        _copy(nested.open(hit[0]), last, chain, shown)
    out.unlink()
    if _head(str(last)).startswith((ZIP, GZ)):
        raise SignalFileError(f"{shown}: packed again inside a zip inside the zip: unpack it "
                              "yourself (one zip in the zip is read)")
    return str(last), shown


def _refuse(path: str, what: str, names: list[str]):
    raise SignalFileError(f"{path}: a zip of {what} ({_some(names)}): give --member NAME "
                          "with the one to read")


def _said(name: str) -> str:
    """A member's name as it may be said in one line (a zip's names are its maker's)."""
    return name if name.isprintable() else ascii(name)


def _some(names: list[str]) -> str:
    return ", ".join(map(_said, names[:LISTED])) + (f" and {len(names) - LISTED} more"
                                        if len(names) > LISTED else "")


def _limit(packed_size: int, cap: int) -> int:
    return min(cap, max(RATIO_FREE, MAX_RATIO * max(packed_size, 1)))


def _bomb(shown: str, limit: int, packed_size: int) -> SignalFileError:
    return SignalFileError(f"{shown}: unpacks to over {limit / 2**20:,.0f} MiB from "
                           f"{packed_size / 2**20:,.2f} MiB (over {MAX_RATIO}x, or over "
                           f"{MAX_UNPACKED >> 30} GiB): a zip bomb or no recording; unpack it "
                           "yourself if it is one")


def _packed(path: str, z: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The member's packed size, where the bytes between its header and the next one's (or
    the directory's) can hold it: zipfile reads what the directory says, on into the next
    member, so a directory saying 2 GB for 64 KB of zeros lifted the bomb cap's ratio."""
    ends = [i.header_offset for i in z.infolist() if i.header_offset > info.header_offset]
    end = getattr(z, "start_dir", None)  # (where the directory starts)
    room = min(ends, default=os.path.getsize(z.filename) if end is None else end) \
        - info.header_offset
    if info.compress_size > room:
        raise SignalFileError(f"{path}:{_said(info.filename)}: the zip's directory says it "
                              f"holds {info.compress_size} packed bytes where there is room "
                              f"for {room}: a damaged or crafted zip, not an export to read")
    return info.compress_size


class _Chain:
    """Bytes unpacked for one recording, a zip in the zip and the file in it together,
    against one cap: its outer member's packed size's (MAX_RATIO, MAX_UNPACKED)."""

    def __init__(self, packed_size: int):
        self.packed, self.n = packed_size, 0
        self.limit = _limit(packed_size, MAX_UNPACKED)


def _copy(src, out: Path, chain: _Chain, shown: str) -> None:
    with src, open(out, "wb") as f:
        while chunk := src.read(CHUNK):
            chain.n += len(chunk)
            if chain.n > chain.limit:
                raise _bomb(shown, chain.limit, chain.packed)
            f.write(chunk)


def apple_chunks(path: str):
    """export.xml's bytes, a chunk at a time, from the file or from export.zip; and its size
    (for a progress bar)."""
    if not _head(path).startswith(ZIP):
        with _errors(path), open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            yield size
            while chunk := f.read(CHUNK):
                yield chunk
        return
    with _errors(path), zipfile.ZipFile(path) as z:
        name = apple_member(z)
        if name is None:
            raise SignalFileError(f"{path}: a zip without {APPLE_XML}: not Apple Health's "
                                  "export")
        info = z.getinfo(name)
        limit, n = _limit(_packed(path, z, info), MAX_STREAMED), 0
        yield info.file_size
        with z.open(info) as f:
            while chunk := f.read(CHUNK):
                n += len(chunk)
                if n > limit:
                    raise _bomb(f"{path}:{_said(name)}", limit, info.compress_size)
                yield chunk


@contextmanager
def _errors(path: str):
    """A damaged archive's errors, as one line."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile,
            zipfile.LargeZipFile) as e:
        raise SignalFileError(f"{path}: a damaged or cut-short archive ({type(e).__name__}: "
                              f"{str(e)[:80] or 'ends early'}): copy or export it again") \
            from None
    except (NotImplementedError, RuntimeError) as e:  # an encrypted member, deflate64...
        raise SignalFileError(f"{path}: an archive Python's zipfile cannot open "
                              f"({str(e)[:80]}): unpack it yourself") from None
    except OSError as e:
        raise SignalFileError(f"{path}: cannot read: {e.strerror or e}") from None


class Shown:
    """A stream that writes the temporary file's name as the one the user gave."""

    def __init__(self, stream, local: str, shown: str):
        self.stream, self.local, self.shown = stream, local, shown

    def write(self, text: str) -> int:
        return self.stream.write(text.replace(self.local, self.shown))

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextmanager
def shown_as(local: str, shown: str):
    """stdout and stderr name `shown` where the readers wrote `local`."""
    if local == shown:
        yield
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Shown(out, local, shown), Shown(err, local, shown)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
