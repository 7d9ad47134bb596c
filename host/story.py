"""Story files: segments, decision points, story variables and the intended arc (TOML).

    title = "Neon Rain"
    start = "arrival"
    media_root = "/media/usb/film"     # optional: where media/LUT paths start (default: the
                                       # story's folder; the bundled sample: its render cache)
    screenplay = "neon_rain.fountain"  # optional: segments can take targets from its scenes
    policy = "arc"                     # optional: the policy this story is meant for

    [variables]                        # optional: what the story remembers (bool/int/float/str)
    trusts_kai = false

    [segments.arrival]
    media = "media/arrival.mp4"        # relative to the story file (or --media-root)
    lut = "luts/orange_haze.cube"      # optional
    duration_s = 10.0                  # or a range of the file: in_s = 12.0, out_s = 22.0
    target = { arousal = 0.3, valence = 0.0 }   # what the screenplay intends here, or
    scene = 1                          # ...the screenplay's scene 1 (arousal, valence)
    next = "..."                       # optional: plays next when there is no decision

    [decisions.first_turn]
    after = "arrival"                  # decided while this segment plays
    window_s = [2.0, 8.5]              # seconds into it when the audience is measured
    aim_arousal = 0.5                  # where the arc wants the audience next (optional:
                                       # else each option's own target arousal)
    default = "hideout"                # used on any fault (no data, policy error, late)
    options = { chase = 0.45, hideout = -0.15 }  # option -> expected arousal lift
    sets = { hideout = { trusts_kai = true } }   # optional: taking an option sets variables
    when = { chase = "not trusts_kai" }          # optional: an option is offered only if...

Conditions are `NAME`, `not NAME` or `NAME OP VALUE` (OP: == != < <= > >=), joined by
`and` / `or` (`and` binds tighter). The default option must always be offered.

A segment with neither `next` nor a decision ends the story. `load` raises `StoryError`
with file, line and a readable message for anything wrong, including loops that can
never reach an ending (the reading: story_read.py; conditions: story_conditions.py).

Ids travel to the operator's page, the logs and the units' screen cues, so segment,
decision and variable names are restricted to letters, digits, `_` and `-` (segments at
most 24, the screen cue's room; others 64).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from empathy.host.story_conditions import holds
from empathy.paths import read_file


class StoryError(ValueError):
    def __init__(self, path, line: Optional[int], message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class Segment:
    id: str
    media: Path
    lut: Optional[Path]
    duration_s: float
    target_arousal: float = 0.0
    target_valence: float = 0.0
    next: Optional[str] = None
    in_s: float = 0.0                # the range of `media` this segment plays: [in_s, out_s)
    out_s: Optional[float] = None    # None: to the end of the file
    # its captions files: (language, path), language "" for an untagged file (story_read.py)
    captions: tuple[tuple[str, Path], ...] = ()
    rate: Optional[float] = None     # an image sequence's: the fps it plays at
    colour: Optional[str] = None     # and its curve (player/imgseq.py COLOURS)
    frame_step: int = 1              # and its files' numbers' step (on twos: 2)


@dataclass(frozen=True)
class Decision:
    id: str
    after: str
    window_s: tuple[float, float]
    aim_arousal: float
    default: str
    options: dict[str, float]  # option segment -> expected arousal lift
    sets: dict[str, dict] = field(default_factory=dict)  # option -> {variable: value}
    when: dict[str, tuple] = field(default_factory=dict)  # option -> compiled condition
    # option -> the arousal the arc wants once it plays: aim_arousal when the story sets
    # one, else the option segment's own target (from the screenplay)
    aims: dict[str, float] = field(default_factory=dict)

    def aim(self, option: str) -> float:
        return self.aims.get(option, self.aim_arousal)

    def offer(self, variables: dict) -> "Decision":
        """This decision with only the options whose conditions hold now."""
        if not self.when:
            return self
        opts = {o: v for o, v in self.options.items()
                if o not in self.when or holds(self.when[o], variables)}
        return replace(self, options=opts)

    def take(self, option: str, variables: dict) -> dict:
        """The story variables after taking `option`."""
        return {**variables, **self.sets.get(option, {})}


@dataclass
class Story:
    path: Path
    title: str
    start: str
    segments: dict[str, Segment]
    decisions: dict[str, Decision] = field(default_factory=dict)
    variables: dict = field(default_factory=dict)  # initial values
    policy: Optional[str] = None
    media_root: Optional[Path] = None  # what relative media/LUT paths were taken from
    text: str = field(default="", repr=False)  # the TOML source, for line numbers
    captions_language: Optional[str] = None  # the captions shown: a language, or "off"
    # segment -> its decision: asked for each segment of the graph checks, the show and the
    # rehearsal's paths (a scan of the decisions each time made loading quadratic)
    _after: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self._after = {}
        for d in self.decisions.values():
            self._after.setdefault(d.after, d)

    def line(self, *keys: str) -> Optional[int]:
        """Line of a key path in the source (`line("arrival", "media")`)."""
        return line_of(self.text, *keys)

    def decision_after(self, segment_id: str) -> Optional[Decision]:
        return self._after.get(segment_id)

    def successors(self, segment_id: str) -> list[str]:
        d = self.decision_after(segment_id)
        if d:
            return list(d.options)
        nxt = self.segments[segment_id].next
        return [nxt] if nxt else []


def line_of(text: str, *keys: str) -> Optional[int]:
    """Best line for a key path: the table header, then the key inside it."""
    pos = None
    for k in keys:
        m = _first_line(re.compile(rf"^[ \t]*(\[+[^\]\n]*\b{re.escape(k)}\b[^\]\n]*\]+|"
                                   rf"\"?{re.escape(k)}\"?\s*=)", re.M), text, k, pos or 0)
        if not m:
            break
        pos = m.start(1)
    return text.count("\n", 0, pos) + 1 if pos is not None else None


def _first_line(pattern: re.Pattern, text: str, key: str, pos: int) -> Optional[re.Match]:
    """pattern.search(text, pos), trying only the lines that hold `key` (every match does):
    a check with a problem per segment asks for thousands of lines, and a search from the
    top for each one made it quadratic in the story's length."""
    at = text.find(key, pos)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        m = pattern.match(text, start) if start >= pos else None
        if m:
            return m
        end = text.find("\n", at)
        at = text.find(key, end + 1) if end >= 0 else -1
    return None


def load(path: str | Path, media_root: str | Path | None = None, check_files: bool = True,
         find_media: bool | None = None) -> Story:
    path = Path(path)
    return loads(read_text(path), path, media_root, check_files, find_media)


def read_text(path: Path) -> str:
    """A text file the artist wrote or exported: UTF-8 with or without the BOM Windows
    Notepad writes; anything else is a StoryError naming the file and the line."""
    try:
        data = read_file(path)
    except OSError as e:
        raise StoryError(path, None, f"cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise StoryError(path, data.count(b"\n", 0, e.start) + 1,
                         f"not UTF-8 text (byte 0x{data[e.start]:02x}): save the file as UTF-8") \
            from None


def loads(text: str, path: str | Path = "<text>", media_root: str | Path | None = None,
          check_files: bool = True, find_media: bool | None = None) -> Story:
    """A story from TOML text in memory; `path` names it in errors and anchors relative files.

    check_files: every media/LUT file must exist (the first missing one is the error);
    find_media (default: check_files): make the media root real, rendering the bundled
    sample's media if needed (`story_check` finds the files' problems itself)."""
    from empathy.host.story_read import read  # here: story_read builds this module's Story

    return read(text, Path(path), media_root, check_files, find_media)
