"""Story files: segments, decision points and the intended emotional arc (TOML).

    title = "Neon Rain"
    start = "arrival"

    [segments.arrival]
    media = "media/arrival.mp4"        # relative to the story file (or --media-root)
    lut = "luts/orange_haze.cube"      # optional
    duration_s = 10.0
    target = { arousal = 0.3, valence = 0.0 }   # what the screenplay intends here
    next = "..."                       # optional: plays next when there is no decision

    [decisions.first_turn]
    after = "arrival"                  # decided while this segment plays
    window_s = [2.0, 8.5]              # seconds into it when the audience is measured
    aim_arousal = 0.5                  # where the arc wants the audience next
    default = "hideout"                # used on any fault (no data, policy error, late)
    options = { chase = 0.45, hideout = -0.15 }  # option -> expected arousal lift

A segment with neither `next` nor a decision ends the story. `load` raises `StoryError`
with file, line and a readable message for anything wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


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


@dataclass(frozen=True)
class Decision:
    id: str
    after: str
    window_s: tuple[float, float]
    aim_arousal: float
    default: str
    options: dict[str, float]  # option segment -> expected arousal lift


@dataclass
class Story:
    path: Path
    title: str
    start: str
    segments: dict[str, Segment]
    decisions: dict[str, Decision] = field(default_factory=dict)

    def decision_after(self, segment_id: str) -> Optional[Decision]:
        for d in self.decisions.values():
            if d.after == segment_id:
                return d
        return None

    def successors(self, segment_id: str) -> list[str]:
        d = self.decision_after(segment_id)
        if d:
            return list(d.options)
        nxt = self.segments[segment_id].next
        return [nxt] if nxt else []


_TOP = {"title", "start", "segments", "decisions"}
_SEG = {"media", "lut", "duration_s", "target", "next"}
_DEC = {"after", "window_s", "aim_arousal", "default", "options"}


def _line(text: str, *keys: str) -> Optional[int]:
    """Best line for a key path: the table header, then the key inside it."""
    pos = None
    for k in keys:
        m = re.compile(rf"^[ \t]*(\[+[^\]\n]*\b{re.escape(k)}\b[^\]\n]*\]+|\"?{re.escape(k)}\"?\s*=)",
                       re.M).search(text, pos or 0)
        if not m:
            break
        pos = m.start(1)
    return text.count("\n", 0, pos) + 1 if pos is not None else None


def load(path: str | Path, media_root: str | Path | None = None, check_files: bool = True) -> Story:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise StoryError(path, None, f"cannot read: {e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise StoryError(path, int(m.group(1)) if m else None, f"not valid TOML: {e}") from None
    root = Path(media_root) if media_root else path.parent

    def err(msg, *keys):
        raise StoryError(path, _line(text, *keys), msg)

    def num(v, what, *keys) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            err(f"{what} must be a number, not {v!r}", *keys)
        return float(v)

    for k in doc:
        if k not in _TOP:
            err(f"unknown key {k!r} (known: {', '.join(sorted(_TOP))})", k)
    if not isinstance(doc.get("segments"), dict) or not doc["segments"]:
        err("a story needs at least one [segments.NAME] table")
    segments = {}
    for sid, s in doc["segments"].items():
        if not isinstance(s, dict):
            err(f"segment {sid!r} must be a table", sid)
        for k in s:
            if k not in _SEG:
                err(f"segment {sid!r}: unknown key {k!r} (known: {', '.join(sorted(_SEG))})", sid, k)
        if "media" not in s:
            err(f"segment {sid!r} has no media", sid)
        media = root / s["media"]
        lut = root / s["lut"] if s.get("lut") else None
        if check_files and not media.is_file():
            err(f"segment {sid!r}: media file {media} not found", sid, "media")
        if check_files and lut and not lut.is_file():
            err(f"segment {sid!r}: LUT {lut} not found", sid, "lut")
        dur = num(s.get("duration_s", 0), f"segment {sid!r}: duration_s", sid, "duration_s")
        if dur <= 0:
            err(f"segment {sid!r}: duration_s must be > 0", sid, "duration_s")
        tgt = s.get("target", {})
        if not isinstance(tgt, dict) or set(tgt) - {"arousal", "valence"}:
            err(f"segment {sid!r}: target takes arousal and valence only", sid, "target")
        ta = num(tgt.get("arousal", 0), "target.arousal", sid, "target")
        tv = num(tgt.get("valence", 0), "target.valence", sid, "target")
        if not (-1 <= ta <= 1 and -1 <= tv <= 1):
            err(f"segment {sid!r}: target values must be within -1..1", sid, "target")
        segments[sid] = Segment(sid, media, lut, dur, ta, tv, s.get("next"))

    start = doc.get("start")
    if start not in segments:
        err(f"start segment {start!r} is not a segment", "start")
    decisions = {}
    for did, d in (doc.get("decisions") or {}).items():
        for k in d:
            if k not in _DEC:
                err(f"decision {did!r}: unknown key {k!r} (known: {', '.join(sorted(_DEC))})", did, k)
        for k in ("after", "window_s", "default", "options"):
            if k not in d:
                err(f"decision {did!r} has no {k}", did)
        after = d["after"]
        if after not in segments:
            err(f"decision {did!r}: after={after!r} is not a segment", did, "after")
        if any(x.after == after for x in decisions.values()):
            err(f"decision {did!r}: segment {after!r} already has a decision", did, "after")
        if segments[after].next:
            err(f"decision {did!r}: segment {after!r} also has next=; use one or the other", did)
        w = d["window_s"]
        if not (isinstance(w, list) and len(w) == 2):
            err(f"decision {did!r}: window_s must be [start, end]", did, "window_s")
        w0, w1 = (num(x, "window_s", did, "window_s") for x in w)
        if not 0 <= w0 < w1:
            err(f"decision {did!r}: window_s start must be >= 0 and before its end", did, "window_s")
        if w1 > segments[after].duration_s:
            err(f"decision {did!r}: window ends at {w1} s but {after!r} lasts "
                f"{segments[after].duration_s} s", did, "window_s")
        opts = d["options"]
        if not isinstance(opts, dict) or len(opts) < 2:
            err(f"decision {did!r}: options needs at least two segments", did, "options")
        for o, lift in opts.items():
            if o not in segments:
                err(f"decision {did!r}: option {o!r} is not a segment", did, "options")
            num(lift, f"option {o!r} lift", did, "options")
        if d["default"] not in opts:
            err(f"decision {did!r}: default {d['default']!r} is not one of its options", did, "default")
        decisions[did] = Decision(did, after, (w0, w1),
                                  num(d.get("aim_arousal", 0), "aim_arousal", did, "aim_arousal"),
                                  d["default"], {o: float(v) for o, v in opts.items()})
    for sid, s in segments.items():
        if s.next and s.next not in segments:
            err(f"segment {sid!r}: next={s.next!r} is not a segment", sid, "next")

    story = Story(path, str(doc.get("title", path.stem)), start, segments, decisions)
    seen, todo = set(), [start]
    while todo:
        sid = todo.pop()
        if sid not in seen:
            seen.add(sid)
            todo.extend(story.successors(sid))
    unreachable = sorted(set(segments) - seen)
    if unreachable:
        err(f"segment {unreachable[0]!r} can never be reached from start {start!r}", unreachable[0])
    return story
