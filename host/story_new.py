"""`empathy story new`: a story file scaffolded from a folder of clips or an editor's timeline.

    empathy story new CLIPS_DIR --out film.toml          # one segment per clip, name order
    empathy story new cut.otio --out film.toml           # OpenTimelineIO
    empathy story new cut.edl --fps 25 --out film.toml   # CMX 3600 EDL (otio-cmx3600-adapter)
    empathy story new cut.xml --out film.toml            # FCP 7 XML (otio-fcp-adapter)

A folder's clips are probed (GStreamer's discoverer) for their durations. A timeline's clips
(its first video track, in order) become segments with their source ranges (`in_s`/`out_s`,
seconds from the start of the file); gaps and transitions are left out (said on stderr).
Segments follow one another (`next`); the artist then adds decisions. The written story is
checked like `story check` would, and the result printed.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

from empathy.cli import number_in
from empathy.host.story import read_text
from empathy.host.story_read import SEGMENT_ID_MAX

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts"}
TIMELINE_SUFFIXES = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml"}
OTIO_DEPTH_MAX = 200
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a string (passed over) or a bracket


class ScaffoldError(ValueError):
    """The source cannot become a story; the message says why."""


@dataclass
class Draft:
    id: str
    media: Path
    duration_s: float
    in_s: Optional[float] = None
    out_s: Optional[float] = None
    lut: Optional[Path] = None


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


class _Idents:
    """Segment ids from clips' names: at most SEGMENT_ID_MAX (an editor's names run longer),
    unique by a number at the end. Each name's next number is kept: counting from 2 again
    for every cut made an EDL of 8,000 cuts from one file take 15 s."""

    def __init__(self):
        self.taken: set[str] = set()
        self.next_n: dict[str, int] = {}  # the numbers below are taken (taken only grows)

    def __call__(self, name: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", Path(name).stem if "." in name else name).strip("_")
        base = base.lower() or "segment"
        if base[0].isdigit():
            base = f"s{base}"
        ident, n = base[:SEGMENT_ID_MAX], self.next_n.get(base, 2)
        while ident in self.taken:
            ident, n = f"{base[:SEGMENT_ID_MAX - len(str(n)) - 1]}_{n}", n + 1
        self.taken.add(ident)
        self.next_n[base] = n
        return ident


def from_folder(folder: Path, warn=print) -> list[Draft]:
    from empathy.host.player.lutfile import READ as LUT_SUFFIXES  # a look beside its clip
    from empathy.host.player.probe import ProbeError, describe

    clips = sorted((p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES
                    and p.is_file()), key=lambda p: _natural(p.name))
    drafts, ident = [], _Idents()
    for p in clips:
        try:  # a name from another system's encoding (an old card's): the story is UTF-8
            str(p).encode("utf-8")
            info = describe(p)
        except UnicodeEncodeError:
            warn(f"skipped: {str(p).encode('utf-8', 'surrogateescape')!r}: its name is not "
                 "UTF-8 text, which a story file is: rename it")
            continue
        except ProbeError as e:
            warn(f"skipped: {e}")
            continue
        lut = next((c for c in [p.with_suffix(suffix) for suffix in LUT_SUFFIXES] +
                    [folder / "luts" / f"{p.stem}{suffix}" for suffix in LUT_SUFFIXES]
                    if c.is_file()), None)
        drafts.append(Draft(ident(p.name), p, round(info.duration_s, 3), lut=lut))
    if not drafts:
        raise ScaffoldError(f"{folder}: no video clips GStreamer can read "
                            f"({', '.join(sorted(VIDEO_SUFFIXES))})")
    return drafts


class _Listings:
    """Each folder's entries, sorted, listed once: a glob per clip read the whole folder
    again for every clip (clips x files)."""

    def __init__(self):
        self.names: dict[Path, list[str]] = {}

    def first_video(self, folder: Path, prefix: str) -> Optional[Path]:
        """The first entry (in name order) whose name starts with `prefix` and ends in a
        video suffix, as sorted(folder.glob(prefix + "*")) would find it."""
        if folder not in self.names:
            try:
                self.names[folder] = sorted(os.listdir(folder))
            except OSError:  # no such folder, or not one: glob found nothing there either
                self.names[folder] = []
        names = self.names[folder]
        for i in range(bisect.bisect_left(names, prefix), len(names)):  # the names after it
            if not names[i].startswith(prefix):
                return None
            if Path(names[i]).suffix.lower() in VIDEO_SUFFIXES:
                return folder / names[i]
        return None


def _media_path(clip, timeline: Path, search: list[Path], listings: _Listings) -> Path:
    """The file behind a timeline clip: its reference's URL, else a file named after it."""
    import opentimelineio as otio

    ref = clip.media_reference
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        url = urlsplit(ref.target_url)
        p = Path(unquote(url.path)) if url.scheme in ("file", "") else None
        if p is None:
            raise ScaffoldError(f"{timeline}: clip {clip.name!r}: {ref.target_url} is not a "
                                "local file")
        return p if p.is_absolute() else timeline.parent / p
    folder, _, prefix = clip.name.rpartition("/")  # a name with a slash: its folder's files
    for root in search:  # an EDL without file comments names only the clip or reel
        found = listings.first_video(root / folder, prefix)
        if found:
            return found
    return search[0] / clip.name


def from_timeline(path: Path, fps: Optional[float] = None, media_root: Optional[Path] = None,
                  warn=print) -> list[Draft]:
    import opentimelineio as otio

    adapter = TIMELINE_SUFFIXES.get(path.suffix.lower(), "?")
    if adapter == "?":
        raise ScaffoldError(f"{path}: not a timeline ({', '.join(TIMELINE_SUFFIXES)}) nor a folder")
    kwargs = {}
    if adapter == "cmx_3600":
        if not fps:
            raise ScaffoldError(f"{path}: an EDL does not say its frame rate: give --fps "
                                "(the timeline's, e.g. 25 or 23.976)")
        kwargs["rate"] = fps
    text = read_text(path)  # an editor's export may start with a BOM
    if adapter == "cmx_3600":
        _check_edl_numbers(path, text)
    if adapter == "otio_json":
        _check_depth(path, text)
    try:
        tl = otio.adapters.read_from_string(text, adapter_name=adapter, **kwargs)
    except Exception as e:  # each adapter raises its own kinds for a malformed file
        raise ScaffoldError(f"{path}: cannot read the timeline: {e}") from None
    tracks = [t for t in getattr(tl, "video_tracks", lambda: [])() if t.find_clips()]
    if not tracks:
        raise ScaffoldError(f"{path}: no video track with clips")
    if len(tracks) > 1:
        warn(f"{path}: {len(tracks)} video tracks; the first one is used")
    search = [media_root] if media_root else [path.parent]
    drafts, ident, listings = [], _Idents(), _Listings()
    for item in tracks[0]:
        if not isinstance(item, otio.schema.Clip):
            if not isinstance(item, otio.schema.Gap) or item.duration().value:
                warn(f"{path}: {type(item).__name__} {item.name!r} left out (segments cut "
                     "straight from one to the next)")
            continue
        sr = item.trimmed_range()
        start = sr.start_time.to_seconds()
        avail = getattr(item.media_reference, "available_range", None)
        if avail is not None:  # source time is the file's timecode: count from its start
            start -= avail.start_time.to_seconds()
        in_s, dur = round(max(0.0, start), 6), round(sr.duration.to_seconds(), 6)
        drafts.append(Draft(ident(item.name or "clip"),
                            _media_path(item, path, search, listings), dur, in_s,
                            round(in_s + dur, 6)))
    return drafts


def _check_depth(path: Path, text: str) -> None:
    """OpenTimelineIO's C++ reader recurses at each level of nesting: 5,000 levels held it
    15 s, 10,000 a minute, and 100,000 (a 400 KB file) crashed the process (SIGSEGV)."""
    depth = 0
    for m in _JSON_NESTING.finditer(text):
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(m.group(), 0)
        if depth > OTIO_DEPTH_MAX:
            raise ScaffoldError(f"{path}: nested deeper than {OTIO_DEPTH_MAX} levels (an "
                                "editor's timeline nests about 15): not a timeline to read")


def _check_edl_numbers(path: Path, text: str) -> None:
    """An event numbered like the one before it is, in CMX 3600, a transition into it (D, W,
    K): a cut (C) numbered so comes from per-track numbering, which the adapter misreads."""
    prev = None  # (number, line) of the last event
    for i, line in enumerate(text.splitlines(), 1):
        f = line.split()
        if not (f and f[0].isdigit()):
            continue
        if prev and int(f[0]) == prev[0] and len(f) > 3 and f[3].upper() == "C":
            raise ScaffoldError(f"{path}:{i}: event {f[0]} is a cut numbered like the event on "
                                f"line {prev[1]} (a repeated number means a transition): "
                                "export the EDL again with its events numbered in order")
        prev = (int(f[0]), i)


def _shown(text: str) -> str:
    """Format characters (U+202E and the other bidi controls, zero-width ones) escaped: raw,
    they reorder how an editor or terminal shows the story's line. Valid in a TOML basic
    string, and visible in a comment."""
    return "".join((f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   if unicodedata.category(c) == "Cf" else c for c in text)


def _q(v) -> str:
    return _shown(json.dumps(v, ensure_ascii=False)) if isinstance(v, str) else \
        repr(round(float(v), 6))


def _rel(p: Path, base: Path) -> str:
    try:
        return os.path.relpath(p.resolve(), base.resolve())
    except ValueError:  # another drive
        return str(p.resolve())


def story_text(drafts: list[Draft], out: Path, title: str, source: Path) -> str:
    lines = [f"# Scaffolded by `empathy story new` from {_shown(source.name)}: segments play "
             "one after",
             "# another (`next`). Add decisions to branch, targets for the arc policy, LUTs for",
             "# looks; then `empathy story check` this file.",
             f"title = {_q(title)}", f"start = {_q(drafts[0].id)}", ""]
    for i, d in enumerate(drafts):
        lines.append(f"[segments.{d.id}]")
        lines.append(f"media = {_q(_rel(d.media, out.parent))}")
        if d.lut:
            lines.append(f"lut = {_q(_rel(d.lut, out.parent))}")
        if d.out_s is not None:
            lines.append(f"in_s = {_q(d.in_s)}")
            lines.append(f"out_s = {_q(d.out_s)}                 # {d.duration_s:g} s")
        else:
            lines.append(f"duration_s = {_q(d.duration_s)}")
        if i + 1 < len(drafts):
            lines.append(f"next = {_q(drafts[i + 1].id)}")
        lines.append("")
    a, b = drafts[0].id, drafts[1].id if len(drafts) > 1 else drafts[0].id
    lines += ["# A decision, for example (remove `next` from its `after` segment):",
              "# [decisions.first_turn]", f"# after = {_q(a)}",
              "# window_s = [2.0, 8.0]        # when the audience is measured, s into it",
              f"# default = {_q(b)}", f"# options = {{ {b} = 0.0, OTHER = 0.4 }}  # expected lift",
              ""]
    return "\n".join(lines)


def scaffold(source: Path, out: Path, title: Optional[str] = None, fps: Optional[float] = None,
             media_root: Optional[Path] = None, warn=print) -> Path:
    drafts = (from_folder(source, warn) if source.is_dir()
              else from_timeline(source, fps, media_root, warn))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(story_text(drafts, out, title or source.stem, source), encoding="utf-8")
    return out


def run(args) -> int:
    from empathy.host.story import StoryError, load
    from empathy.host.story_check import check_files, platform_of

    source, out = Path(args.source), Path(args.out)
    source = source if source.name else source.resolve()  # `story new .`: name the folder
    if not source.exists():
        print(f"empathy story new: {source}: no such file or folder", file=sys.stderr)
        return 1
    if out.exists() and not args.force:
        print(f"empathy story new: {out} exists (--force to overwrite)", file=sys.stderr)
        return 1
    warn = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    try:
        scaffold(source, out, args.title, args.fps, Path(args.media_root) if args.media_root
                 else None, warn)
        story = load(out, check_files=False, find_media=True)
    except (ScaffoldError, StoryError, OSError) as e:
        print(f"empathy story new: {e}", file=sys.stderr)
        return 1
    rep = check_files(story, platform_of())
    for p in rep.errors + rep.warnings:
        print(p, file=sys.stderr)
    print(f"{out}: {len(story.segments)} segments from {source.name}"
          f"{' — checks clean' if not rep.errors else f' — {len(rep.errors)} errors to fix'}")
    return 1 if rep.errors else 0


def register(sub) -> None:
    n = sub.add_parser("new", help="scaffold a story from a folder of clips or an editor's "
                                   "timeline (.otio, .edl, FCP .xml)")
    n.add_argument("source", help="a folder of clips, or a timeline file")
    n.add_argument("--out", required=True, help="the story file to write")
    n.add_argument("--title", help="the story's title (default: the source's name)")
    n.add_argument("--fps", type=number_in(float, 1, 1000),
                   help="an EDL's frame rate (EDLs do not say)")
    n.add_argument("--media-root", help="where to look for clips an EDL names without a path")
    n.add_argument("--force", action="store_true", help="overwrite --out")
    n.set_defaults(func=run)
