"""`empathy story new`: a story file scaffolded from a folder of clips or an editor's timeline.

    empathy story new CLIPS_DIR --out film.toml          # one segment per clip, name order
    empathy story new cut.otio --out film.toml           # OpenTimelineIO
    empathy story new cut.edl --fps 25 --out film.toml   # CMX 3600 EDL (otio-cmx3600-adapter)
    empathy story new cut.xml --out film.toml            # FCP 7 XML (otio-fcp-adapter)
    empathy story new cut.fcpxml --out film.toml         # Final Cut Pro X (.fcpxml, .fcpxmld)

A folder's clips are probed (GStreamer's discoverer) for their durations. A timeline's clips
(its first video track, in order, host/story_timeline.py) become segments with their source
ranges (`in_s`/`out_s`, seconds from the start of the file); what a story cannot play is
left out or refused, said on stderr.
Segments follow one another (`next`); the artist then adds decisions. The written story is
checked like `story check` would, and the result printed.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from empathy.cli import number_in
from empathy.host.story import read_text
from empathy.host.story_read import SEGMENT_ID_MAX
from empathy.host.story_timeline import ScaffoldError

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts"}


@dataclass
class Draft:
    id: str
    media: Path
    duration_s: float
    in_s: Optional[float] = None
    out_s: Optional[float] = None
    lut: Optional[Path] = None
    captions: tuple[tuple[str, Path], ...] = ()  # (language, file) beside the clip
    rate: Optional[float] = None   # an image sequence's fps and colour (player/imgseq.py)
    colour: Optional[str] = None
    step: int = 1                  # its files' numbers' step (.otio frame_step)


def _natural(name: str) -> list:
    # odd places are the runs of ASCII digits (str.isdigit() took '²', then int() raised)
    return [int(t) if i % 2 else t.lower() for i, t in enumerate(re.split(r"([0-9]+)", name))]


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


def from_folder(folder: Path, warn=print, fps: Optional[float] = None) -> list[Draft]:
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
        drafts.append(Draft(ident(p.name), p, round(info.duration_s, 3), lut=lut,
                            captions=captions_beside(p)))
    shots = _sequences(folder, fps, warn, ident)
    if not drafts and not shots:
        raise ScaffoldError(f"{folder}: no video clips GStreamer can read "
                            f"({', '.join(sorted(VIDEO_SUFFIXES))}) and no image sequences")
    return [d for _, d in sorted([(d.media.name, d) for d in drafts] + shots,
                                 key=lambda nd: _natural(nd[0]))]


_RATE_FROM = {"story": "--fps", "header": "its header's"}


def _sequences(folder: Path, fps: Optional[float], warn, ident) -> list[tuple[str, Draft]]:
    """(name, draft) of each image sequence in the folder and in its folders (one shot a
    folder, as a VFX house delivers): its rate `fps`, else its header's, else 24 (said)."""
    from empathy.host.player.imgseq import SequenceError, default_colour, describe, runs

    found, stills = [], 0
    for where in [folder, *(p for p in folder.iterdir() if p.is_dir())]:
        try:
            seqs, alone = runs(where)
        except SequenceError as e:
            warn(f"skipped: {e}")
            continue
        stills += len(alone)
        for seq in seqs:
            try:
                str(seq.pattern).encode("utf-8")
                info = describe(seq, fps)
            except (SequenceError, UnicodeEncodeError) as e:
                warn(f"skipped: {seq.pattern}: {e}")
                continue
            name = where.name if where != folder and len(seqs) == 1 else seq.head.rstrip("._-")
            colour = default_colour(seq, info.header)
            rate = _RATE_FROM.get(info.rate_from, "none said: give --fps")
            said = "its header's" if info.header.colour == colour else "its format's default"
            tc = info.header.timecode
            tc = (f", timecode {tc} at frame {seq.first} (its header's)" if tc else
                  f", no timecode (its header's field {info.header.timecode_bad} is none)"
                  if info.header.timecode_bad else "")
            warn(f"{seq.name}: {seq.frames} frames at {info.fps:g} fps ({rate}){tc}, colour "
                 f"{colour} ({said}: set colour = in the story if it is not)")
            if seq.gaps:
                warn(seq.gaps_said())
            found.append((name or where.name, Draft(ident(name or where.name), seq.pattern,
                                                    round(info.duration_s, 6), rate=info.fps,
                                                    colour=colour)))
    if stills:
        warn(f"left out: {stills} numbered image(s) with no frame beside them (a sequence "
             "is two frames or more)")
    return found


def captions_beside(clip: Path, listed: Optional[list[str]] = None
                    ) -> tuple[tuple[str, Path], ...]:
    """clip.srt (or .vtt, .ass, .ssa, .sub: one, in that order of preference), and one file
    for each language as releases name them (clip.en.srt, clip.eng.sdh.srt, clip_ja.srt:
    captions_names.py): for the deaf and hard of hearing first (open captions are for
    them), forced ones (a film's foreign lines only) last. A name with a word neither a
    language nor a flag (clip.v2.srt) is not taken. The files are read by `story check`,
    not here. listed: its folder's names, listed once for a timeline's clips (a glob a clip
    read the whole folder each time)."""
    from empathy.host.player.captions import FORMATS
    from empathy.host.player.captions_names import read_name

    rank, found = list(FORMATS), {}
    names = (clip.parent.glob(f"{glob.escape(clip.stem)}*") if listed is None else
             (clip.parent / n for n in listed if n.startswith(clip.stem)))
    for p in names:
        tags = read_name(p.name, clip.stem) if p.suffix.lower() in FORMATS else None
        if tags is not None and p.is_file():
            kind = 0 if "sdh" in tags.flags else 2 if "forced" in tags.flags else 1
            found.setdefault(tags.language or "", []).append(  # one language before two
                (kind, len(tags.also), rank.index(p.suffix.lower()), p.name, p))
    return tuple((lang, min(ps)[-1]) for lang, ps in sorted(found.items()))


def _flags(captions: tuple[tuple[str, Path], ...]) -> str:
    """The flags the files' names carry (sdh, forced) and a bilingual file's other
    languages ("zh-Hans" with en), as a comment: the story has no field for them."""
    from empathy.host.player.captions_names import read_name

    said = [(lang, " ".join([*n.flags, *(["with " + ", ".join(n.also)] if n.also else [])]))
            for lang, p in captions if (n := read_name(p.name)) and (n.flags or n.also)]
    if not said:
        return ""
    if len(captions) == 1 and not captions[0][0]:
        return f"  # {said[0][1]} (from its name)"
    return "  # " + ", ".join(f"{_q(lang)} {f}" for lang, f in said) + " (from the names)"


def from_timeline(path: Path, fps: Optional[float] = None, media_root: Optional[Path] = None,
                  warn=print, sequence_start: Optional[str] = None) -> list[Draft]:
    from empathy.host.story_fcpxml import bundle_file
    from empathy.host.story_timeline import (FileStarts, Listings, media_path, read_timeline,
                                             shown_clips)
    from empathy.host.story_timeline_seq import Sequences

    tl = read_timeline(path, read_text(bundle_file(path)), fps)  # may start with a BOM
    search = [media_root] if media_root else [path.parent]
    drafts, ident, listings, starts = [], _Idents(), Listings(), FileStarts(path)
    seqs = Sequences(path, sequence_start)
    for clip, in_s, dur in shown_clips(tl, path, warn):
        media = media_path(clip, path, search, listings)
        if seqs.pattern(media):  # one frame of a numbered run: the run is the clip
            media, in_s, out_s, rate, colour, step = seqs.draft(clip, media, in_s, dur,
                                                                starts.given(clip))
            drafts.append(Draft(ident(clip.name or "clip"), media, round(dur, 6),
                                round(in_s, 6), round(out_s, 6), rate=rate, colour=colour,
                                step=step))
            continue
        in_s = starts.in_point(clip, media, in_s, dur)  # source timecode: from the file's start
        drafts.append(Draft(ident(clip.name or "clip"), media, round(dur, 6), round(in_s, 6),
                            round(in_s + dur, 6),
                            captions=captions_beside(media, listings.listed(media.parent))))
    starts.say(warn)
    seqs.say(warn)
    return drafts


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
        if len(d.captions) == 1 and not d.captions[0][0]:
            lines.append(f"captions = {_q(_rel(d.captions[0][1], out.parent))}"
                         + _flags(d.captions))
        elif d.captions:
            lines.append("captions = { " + ", ".join(f"{_q(lang)} = "
                         f"{_q(_rel(p, out.parent))}" for lang, p in d.captions) + " }"
                         + _flags(d.captions))
        if d.out_s is not None:
            lines.append(f"in_s = {_q(d.in_s)}")
            lines.append(f"out_s = {_q(d.out_s)}                 # {d.duration_s:g} s")
        else:
            lines.append(f"duration_s = {_q(d.duration_s)}")
        if d.rate:
            lines.append(f"fps = {_q(d.rate)}")
            lines.append(f"colour = {_q(d.colour)}            # srgb, linear or cineon")
        if d.step > 1:
            lines.append(f"frame_step = {d.step}              # a file every {d.step} frames")
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
             media_root: Optional[Path] = None, warn=print,
             sequence_start: Optional[str] = None) -> Path:
    drafts = (from_folder(source, warn, fps) if source.is_dir()
              and source.suffix.lower() != ".fcpxmld"
              else from_timeline(source, fps, media_root, warn, sequence_start))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(story_text(drafts, out, title or source.stem, source), encoding="utf-8")
    return out


def run(args) -> int:
    from empathy.host.story import StoryError, load
    from empathy.plots import never_plots

    never_plots()
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
                 else None, warn, args.sequence_start)
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
                                   "timeline (.otio, .edl, FCP .xml, .fcpxml)")
    n.add_argument("source", help="a folder of clips, or a timeline file")
    n.add_argument("--out", required=True, help="the story file to write")
    n.add_argument("--title", help="the story's title (default: the source's name)")
    n.add_argument("--fps", type=number_in(float, 1, 1000),
                   help="an EDL's frame rate (EDLs do not say), or image sequences' "
                        "(default: their DPX/EXR header's, else 24)")
    n.add_argument("--media-root", help="where to look for clips an EDL names without a path")
    n.add_argument("--sequence-start", metavar="TC", help="the timecode of the frame an EDL "
                   "names of an image sequence (default: frame numbers are timecode, "
                   "frame N at N / fps s)")
    n.add_argument("--force", action="store_true", help="overwrite --out")
    n.set_defaults(func=run)
