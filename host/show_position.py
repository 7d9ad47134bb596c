"""Where the show is, kept so that a host restarted mid-show (a crash, `systemctl restart`,
the host's power) goes on with the film the audience is watching instead of its first clip.

One small JSON file, show.json, in the host's state folder: the show's id and first start,
the story file's digest, the segment on screen and how far into it, the story's variables
as that segment began, and the path of segments and choices so far. Written whole (atomic
rename, fsync) by the show loop at each segment start and each decision, and every
SAVE_S while a segment plays; removed when the story ends or the show's duration is up.

A start within `resume_within_s` of the last write plays that segment again from its
start (`resume_point`): the decision after it is measured on this audience again, since
the new host's seats start empty, and a cut at a scene's head is one a projectionist would
make; a mid-shot jump is not. Anything else starts the film from its beginning, saying why
in one line: no file, --fresh, too old, another story, or a file this host cannot read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from empathy.atomic import write_text

log = logging.getLogger("empathy.host.show")
FILE = "show.json"
SAVE_S = 2.0  # how often the position within a segment is written
PATH_KEPT = 200  # segments and choices kept in the file (a looping show runs for days)
MAX_BYTES = 256 * 1024  # larger is not a file this host wrote
_VERSION = 1
_SKEW_S = 60.0  # a file written this far "ahead" of now: the clock went back, trust it not


@dataclass
class Position:
    show: str  # the show's id: a session recorded for it continues after a resume
    started_utc: float  # when the show first started (Unix time)
    story: str  # sha256 of the story file's text
    segment: str  # the segment on screen
    offset_s: float  # how far into it
    vars: dict  # the story's variables as it began
    path: list = field(default_factory=list)  # [segment, or "decision=choice"] in order
    saved_utc: float = 0.0

    @classmethod
    def new(cls, story) -> "Position":
        return cls(secrets.token_hex(6), time.time(), digest(story), story.start, 0.0,
                   dict(story.variables))


def digest(story) -> str:
    return hashlib.sha256(story.text.encode()).hexdigest()


class Keeper:
    """Writes the position for the show loop; a write that fails is logged, the show goes
    on (it is only the resume that is lost)."""

    def __init__(self, folder: Path, pos: Position, resumed: bool = False):
        self.path, self.pos = folder / FILE, pos
        self._due, self._failing = 0.0, False
        self._again = pos.segment if resumed else None  # in the path already: not twice

    def note(self, segment: str, offset_s: float, variables: dict, steps: list,
             now: float, force: bool = False) -> None:
        """The show loop's turn: write if a step was taken (`force`) or SAVE_S has passed."""
        if not force and now < self._due:
            return
        self._due = now + SAVE_S
        if steps:
            steps, self._again = steps[steps[0] == self._again:], None
        p = self.pos
        p.segment, p.offset_s, p.vars = segment, round(offset_s, 2), dict(variables)
        p.path = (p.path + steps)[-PATH_KEPT:]
        p.saved_utc = time.time()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_text(self.path, json.dumps({"version": _VERSION, **asdict(p)}), 0o600,
                       durable=True)
            if self._failing:
                log.info("show position saved again in %s", self.path)
            self._failing = False
        except OSError as e:
            if not self._failing:
                log.error("cannot save the show's position (%s): a restart would play the "
                          "film from its beginning", e)
            self._failing = True

    def finish(self) -> None:
        """The film is over: the next start is a new show."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as e:
            log.error("cannot remove %s (%s): remove it, or the next start within the "
                      "resume window goes on from its last segment", self.path, e)


def resume_point(folder: Path, story, within_s: float, fresh: bool) -> Optional[Position]:
    """The saved position to resume at, or None (a new show), with one line saying which."""
    path = folder / FILE
    if fresh:
        log.info("show: starting the film from its beginning (--fresh)")
        return None
    if within_s <= 0 or not path.exists():
        return None
    try:
        pos = _read(path, story)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as e:
        log.warning("show position %s unreadable (%s): starting the film from its beginning",
                    path, e)
        return None
    age = time.time() - pos.saved_utc
    if pos.story != digest(story):
        log.warning("show position %s is for another story (the story file changed since: "
                    "its sha256 differs): starting the film from its beginning", path)
        return None
    if not -_SKEW_S <= age <= within_s:
        log.info("show position %s is %.0f s old (resume_within_s = %g): starting the film "
                 "from its beginning", path, age, within_s)
        return None
    log.info("show %s resumed: '%s' plays again from its start (it was %.1f s in, %.0f s "
             "ago; the show started %s UTC, path %s)", pos.show, pos.segment, pos.offset_s, age,
             time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(pos.started_utc)),
             " > ".join(pos.path[-8:]) or pos.segment,
             extra={"show": pos.show, "segment": pos.segment, "offset_s": pos.offset_s})
    return pos


def _read(path: Path, story) -> Position:
    """The file, every value checked against this story (a file edited or damaged by hand,
    or written by another version, must not steer the show)."""
    with open(path, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    doc = json.loads(raw)
    if doc.get("version") != _VERSION:
        raise ValueError(f"version {doc.get('version')!r}, this host writes {_VERSION}")
    pos = Position(str(doc["show"]), float(doc["started_utc"]), str(doc["story"]),
                   str(doc["segment"]), float(doc["offset_s"]), dict(doc["vars"]),
                   list(doc["path"]), float(doc["saved_utc"]))
    if not all(math.isfinite(t) and 0 < t < 1e11 for t in (pos.started_utc, pos.saved_utc)):
        raise ValueError("times out of range")
    if pos.segment not in story.segments:
        raise ValueError(f"segment {pos.segment!r} is not in the story")
    if not 0 <= pos.offset_s <= 1e6:
        raise ValueError(f"offset {pos.offset_s} s out of range")
    want = story.variables
    if pos.vars.keys() != want.keys() or any(type(pos.vars[k]) is not type(v)
                                             for k, v in want.items()):
        raise ValueError("its story variables are not this story's")
    if len(pos.path) > PATH_KEPT or not all(isinstance(s, str) and len(s) <= 200
                                            for s in pos.path):
        raise ValueError("its path is not a list of steps")
    return pos
