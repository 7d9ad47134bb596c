"""Image sequences as clips: a VFX or DI delivery's `shot010/shot010.1001.dpx` ... named as
VFX tools write it, `shot010.####.dpx` or `shot010.%04d.dpx`.

A sequence is its numbered run: the frames with that name, padding and suffix, from the
lowest number to the highest. A number missing inside the run (a gap: a frame not rendered
yet) is held: the frame before it shows again for as long, and the gap is said once. A
frame that cannot be read when it is due (missing since, truncated, another size) is held
the same way (imgseq_play.py). Sequences carry no rate a player can rely on: the story's
`fps` says it (`story new` takes `--fps`, else a DPX/EXR header's rate where it is one of
imgseq_read.RATES, else 24, said).
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .imgseq_read import SUFFIXES, FrameError, Header, header

FRAMES_MAX = 1_000_000      # numbers in a run, gaps included (11.5 h at 24 fps)
LISTING_MAX = 2_000_000     # names looked at in one folder
GAPS_SAID = 5               # gaps named in a message; the rest counted
STEP_MAX = 1000             # a run's files every Nth number (on twos: 2), N up to this
# what a sequence's colour names, converted to the screen's Rec.709 before its look (hdr.py)
COLOURS = {"srgb": "display-referred (sRGB/Rec.709): shown as it is",
           "linear": "scene-linear, Rec.709 primaries: shown through the Rec.709 curve",
           "cineon": "Cineon printing-density log: to scene-linear, then the Rec.709 curve"}
# a frame number's pattern: #### (one per digit) or printf's %04d / %d, in the file name
_PATTERN = re.compile(r"^(?P<head>[^#%]*)(?:(?P<hashes>#+)|%(?:0(?P<pad>[1-9]))?d)"
                      r"(?P<tail>[^#%]*)$")
_NUMBERED = re.compile(r"^(?P<head>.*?)(?P<num>[0-9]+)(?P<tail>\.[A-Za-z0-9]+)$")


class SequenceError(ValueError):
    """Not a sequence we can play; the message says why."""


def is_pattern(path: Path | str) -> bool:
    """Whether a media name is a sequence's: an image suffix, and # or % in the file name
    (a video named `take#2.mov` is a file)."""
    name = Path(path).name
    return any(c in name for c in "#%") and "." + name.rpartition(".")[2].lower() in SUFFIXES


@dataclass(frozen=True)
class Sequence:
    folder: Path
    head: str                 # the name before the number: 'shot010.'
    pad: int                  # digits a number is padded to
    tail: str                 # after it: '.dpx'
    first: int
    last: int
    gaps: tuple[tuple[int, int], ...] = ()  # missing runs inside [first, last], inclusive

    @property
    def frames(self) -> int:
        return self.last - self.first + 1

    @property
    def name(self) -> str:
        return f"{self.head}{'#' * self.pad}{self.tail}"

    @property
    def kind(self) -> str:
        """Its format, by suffix: 'dpx', 'exr', 'png'..."""
        return self.tail.rpartition(".")[2].lower()

    @property
    def pattern(self) -> Path:
        return self.folder / self.name

    def file(self, number: int) -> Path:
        return self.folder / f"{self.head}{number:0{self.pad}d}{self.tail}"

    def in_gap(self, number: int) -> tuple[int, int] | None:
        """The gap `number` falls in, or None: bisected, as the player asks at every frame
        (scanned gap by gap, a run on twos a million numbers long took 0.1 s a frame)."""
        i = bisect.bisect_right(self.gaps, number, key=lambda g: g[0]) - 1
        return self.gaps[i] if i >= 0 and number <= self.gaps[i][1] else None

    def missing(self, step: int = 1) -> list[tuple[int, int]]:
        """The gaps' numbers a file was due at, first and last of each gap: with a step N
        (a run on twos, N 2), every Nth number from the first; the numbers between are no
        files, held as gaps are."""
        f = self.first
        due = [(a + (f - a) % step, b - (b - f) % step) for a, b in self.gaps]
        return [(a, b) for a, b in due if a <= b]

    def gaps_said(self, step: int = 1) -> str:
        gaps = self.missing(step)
        if not gaps:
            return ""
        runs = [f"{a}" if a == b else f"{a}-{b}" for a, b in gaps[:GAPS_SAID]]
        more = f" and {len(gaps) - GAPS_SAID} more" if len(gaps) > GAPS_SAID else ""
        n = sum((b - a) // step + 1 for a, b in gaps)
        return (f"{self.name}: {n} frame(s) missing ({', '.join(runs)}{more}): the frame "
                "before each gap is held")


def parse(path: Path | str) -> tuple[Path, str, int, str]:
    """(folder, head, pad, tail) of a pattern; SequenceError for anything else: `%s`, `%n`,
    two numbers, a number in a folder's name."""
    path = Path(path)
    if any(c in str(path.parent) for c in "#%"):
        raise SequenceError(f"{path}: a frame-number pattern belongs in the file name only")
    m = _PATTERN.match(path.name)
    if m is None or "." + m["tail"].rpartition(".")[2].lower() not in SUFFIXES:
        raise SequenceError(f"{path.name}: not a sequence's name: one frame number written "
                            f"#### or %04d, then {', '.join(SUFFIXES)}")
    pad = len(m["hashes"]) if m["hashes"] else int(m["pad"] or 1)
    return path.parent, m["head"], pad, m["tail"]


def _numbers(folder: Path, head: str, pad: int, tail: str) -> list[int]:
    taken = []
    try:
        with os.scandir(folder) as it:
            for n, entry in enumerate(it):
                if n >= LISTING_MAX:
                    raise SequenceError(f"{folder}: over {LISTING_MAX} names in one folder")
                name = entry.name
                if not (name.startswith(head) and name.endswith(tail)):
                    continue
                digits = name[len(head):len(name) - len(tail)]
                if digits.isascii() and digits.isdigit() and (
                        len(digits) == pad or len(digits) > pad and digits[0] != "0"):
                    taken.append(int(digits))
    except OSError as e:
        raise SequenceError(f"{folder}: {e.strerror or e}") from None
    return sorted(taken)


def _run(folder: Path, head: str, pad: int, tail: str, numbers: list[int]) -> Sequence:
    if not numbers:
        raise SequenceError(f"{folder / (head + '#' * pad + tail)}: no frames")
    first, last = numbers[0], numbers[-1]
    if last - first + 1 > FRAMES_MAX:
        raise SequenceError(f"{head}{'#' * pad}{tail}: frames {first} to {last}, over "
                            f"{FRAMES_MAX} (a stray file numbered far off?)")
    gaps = tuple((a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b > a + 1)
    return Sequence(folder, head, pad, tail, first, last, gaps)


def find(pattern: Path | str) -> Sequence:
    """The sequence a pattern names, from the files there now."""
    folder, head, pad, tail = parse(pattern)
    if not folder.is_dir():
        raise SequenceError(f"{folder}: no such folder")
    return _run(folder, head, pad, tail, _numbers(folder, head, pad, tail))


def numbered(name: str) -> tuple[str, int, str, int] | None:
    """(head, pad, tail, number) of one numbered frame's file name of an image format
    (`shot010.1001.dpx`: 'shot010.', 4, '.dpx', 1001); None for any other name."""
    m = _NUMBERED.match(name)
    if m is None or m["tail"].lower() not in SUFFIXES:
        return None
    return m["head"], len(m["num"]), m["tail"], int(m["num"])


def runs(folder: Path) -> tuple[list[Sequence], list[Path]]:
    """The numbered runs of image files in a folder (two frames or more), and the numbered
    stills left alone (one frame: a poster, a slate, not a shot)."""
    groups: dict[tuple[str, int, str], list[int]] = {}
    try:
        with os.scandir(folder) as it:
            for n, entry in enumerate(it):
                if n >= LISTING_MAX:
                    raise SequenceError(f"{folder}: over {LISTING_MAX} names in one folder")
                frame = numbered(entry.name)
                if frame is None or "#" in entry.name or "%" in entry.name:
                    continue
                groups.setdefault(frame[:3], []).append(frame[3])
    except OSError as e:
        raise SequenceError(f"{folder}: {e.strerror or e}") from None
    seqs, stills = [], []
    for (head, pad, tail), numbers in groups.items():
        if len(numbers) == 1:
            stills.append(folder / f"{head}{numbers[0]:0{pad}d}{tail}")
            continue
        seqs.append(_run(folder, head, pad, tail, sorted(numbers)))
    return seqs, stills


@dataclass(frozen=True)
class SequenceInfo:
    sequence: Sequence
    header: Header            # the first frame's
    rate_from: str            # where the rate came from: 'story', 'header' or 'default'
    fps: float

    @property
    def duration_s(self) -> float:
        return self.sequence.frames / self.fps


DEFAULT_FPS = 24.0


def describe(seq: Sequence, fps: float | None = None) -> SequenceInfo:
    """The first frame's header (size, depth, rate, curve) and the rate to play at: `fps`
    when given, else the header's, else DEFAULT_FPS."""
    try:
        hd, _ = header(seq.file(seq.first))
    except FrameError as e:
        raise SequenceError(f"{seq.name}: its first frame: {e}") from None
    if fps:
        return SequenceInfo(seq, hd, "story", float(fps))
    return SequenceInfo(seq, hd, "header" if hd.rate else "default", hd.rate or DEFAULT_FPS)


def default_colour(seq: Sequence, hd: Header) -> str:
    """The colour a sequence is taken to be when the story does not say: a DPX whose header
    says printing density or log is Cineon, any other DPX display-referred (ffmpeg writes
    'linear' into every RGB DPX, whatever its curve); an EXR scene-linear; the rest sRGB."""
    return format_colour(seq.kind, hd.colour)


def format_colour(kind: str, curve: str | None = None) -> str:
    """default_colour by the format ('dpx', 'exr', ...) and the curve its header says, if
    read (none: a DPX is taken display-referred)."""
    if kind == "exr":
        return "linear"
    if kind == "dpx":
        return "cineon" if curve == "cineon" else "srgb"
    return "srgb"


def clip_info(pattern: Path | str, fps: float, colour: str | None, step: int = 1):
    """(probe.ClipInfo, gaps said or "") of a sequence whose files step by `step`, for `story
    check`; ProbeError when it cannot play."""
    from .hdr import CURVES
    from .probe import ClipInfo, ProbeError

    try:
        info = describe(find(pattern), fps)
    except SequenceError as e:
        raise ProbeError(str(e)) from None
    seq, hd = info.sequence, info.header
    colour = colour or default_colour(seq, hd)
    return (ClipInfo(str(seq.pattern), "image sequence", seq.kind,
                     f"{seq.kind.upper()} sequence, {seq.frames} frames from {seq.first}, {colour}",
                     hd.width, hd.height, round(info.fps, 3), info.duration_s, "", 0, 0, True,
                     colour if colour in CURVES else None), seq.gaps_said(step))
