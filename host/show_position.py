"""Where the show is, kept so that a host restarted mid-show (a crash, `systemctl restart`,
the host's power) goes on with the film the audience is watching instead of its first clip.

One small JSON file, show.json, in the host's state folder: the show's id and first start,
the story file's digest, the segment on screen and how far into it, the story's variables
as that segment began, the path of segments and choices so far, and the film time shown so
far over all the show's runs (its `duration_s` is the show's: a resumed run plays what is
left of it). Written whole (atomic
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
import os
import secrets
import stat
import threading
import time
from dataclasses import asdict, dataclass, field, replace
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
MAX_RESUMES = 3  # resumed this often at one segment, the host dying each time: start over
_GONE = "remove"  # Keeper's order to its writer: the film is over


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
    resumes: int = 0  # starts at this segment since the show last got to a new one
    config: str = ""  # the host config it ran with: another config is another show
    shown_s: float = 0.0  # film shown by all its runs so far (their frames), s

    @classmethod
    def new(cls, story, config: str = "") -> "Position":
        return cls(secrets.token_hex(6), time.time(), digest(story), story.start, 0.0,
                   dict(story.variables), config=config)


def digest(story) -> str:
    return hashlib.sha256(story.text.encode()).hexdigest()


class Keeper:
    """Keeps the position for the show loop. The writes (fsync: tens of ms on an SD card,
    seconds on a failing disk) happen on a thread of their own, the latest position
    replacing one not yet written, so the show loop never waits on the disk. A write that
    fails is logged once; the show goes on (only a resume is lost)."""

    def __init__(self, folder: Path, pos: Position, resumed: bool = False):
        # its own copy: the resume point stays what the show started from
        self.path = folder / FILE
        self.pos = replace(pos, vars=dict(pos.vars), path=list(pos.path))
        self._due, self._failing, self._done = 0.0, False, False
        self._again = pos.segment if resumed else None  # in the path already: not twice
        self._pending: Optional[str] = None  # the text to write next; _GONE: remove the file
        self._wake = threading.Condition()
        self._closing = False  # close(): write what is pending, then end
        self._writer = threading.Thread(target=self._write_loop, name="show-position",
                                        daemon=True)
        self._writer.start()

    def note(self, segment: str, offset_s: float, variables: dict, steps: list,
             now: float, force: bool = False, shown_s: float = 0.0) -> None:
        """The show loop's turn: write if a step was taken (`force`) or SAVE_S has passed.
        shown_s: the film the show has shown, its earlier runs' included."""
        if self._done or (not force and now < self._due):
            return
        self._due = now + SAVE_S
        if steps:
            steps, self._again = steps[steps[0] == self._again:], None
        p = self.pos
        if any("=" not in s for s in steps):  # a new segment: the show got on
            p.resumes = 0
        p.segment, p.offset_s, p.vars = segment, round(offset_s, 2), dict(variables)
        p.shown_s = round(shown_s, 2)
        p.path = (p.path + steps)[-PATH_KEPT:]
        p.saved_utc = time.time()
        self._put(json.dumps({"version": _VERSION, **asdict(p)}))

    def finish(self, wait_s: float = 10.0) -> None:
        """The film is over: the next start is a new show (the file is gone once this
        returns, unless the disk took longer than wait_s)."""
        self._done = True
        self._put(_GONE)
        self._writer.join(wait_s)

    def close(self, wait_s: float = 10.0) -> None:
        """The show stops (a signal, a fault): the last position written, the writer ends,
        the file stays for the next start."""
        self._done = True
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._writer.join(wait_s)

    def _put(self, item: str) -> None:
        with self._wake:
            self._pending = item
            self._wake.notify()

    def _write_loop(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closing:
                    self._wake.wait()
                item, self._pending = self._pending, None
            if item is None:  # closing, nothing left to write
                return
            try:
                if item is _GONE:
                    self.path.unlink(missing_ok=True)
                    return
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_text(self.path, item, 0o600, durable=True)
                if self._failing:
                    log.info("show position saved again in %s", self.path)
                self._failing = False
            except OSError as e:
                if item is _GONE:
                    log.error("cannot remove %s (%s): remove it, or a start within "
                              "resume_within_s goes on from its last segment", self.path, e)
                    return
                if not self._failing:
                    log.error("cannot save the show's position (%s): a restart now would "
                              "go back to an older one, or to the film's beginning", e)
                self._failing = True


def resume_point(folder: Path, story, within_s: float, fresh: bool,
                 config: str = "") -> Optional[Position]:
    """The saved position to resume at, or None (a new show), with one line saying which.
    `config`: the host config's path (a second config on one state folder is not this show)."""
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
    if pos.config != config:
        log.warning("show position %s is for another host config (%s): starting the film "
                    "from its beginning", path, pos.config)
        return None
    if age < -_SKEW_S:
        log.warning("show position %s was written %.0f s from now (the clock went back?): "
                    "starting the film from its beginning", path, -age)
        return None
    if age > within_s:
        log.info("show position %s is %.0f s old (resume_within_s = %g): starting the film "
                 "from its beginning", path, age, within_s)
        return None
    if pos.resumes >= MAX_RESUMES:
        log.warning("show %s was resumed at '%s' %d times and the host stopped each time "
                    "before the next segment: starting the film from its beginning",
                    pos.show, pos.segment, pos.resumes)
        return None
    pos.resumes += 1
    log.info("show %s resumed: '%s' plays again from its start (it was %.1f s in, %.0f s "
             "ago; the show started %s UTC and has shown %.0f s of film, path %s)", pos.show,
             pos.segment, pos.offset_s, age,
             time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(pos.started_utc)), pos.shown_s,
             " > ".join(pos.path[-8:]) or pos.segment,
             extra={"show": pos.show, "segment": pos.segment, "offset_s": pos.offset_s,
                    "shown_s": pos.shown_s})
    return pos


def forget(folder: Path) -> str:
    """Forget an interrupted show (`empathy host fresh`): the next start plays the film from
    its beginning. Says what it did."""
    path = folder / FILE
    if not path.is_file():
        return f"no interrupted show in {folder}: the next start plays the film from its beginning"
    path.unlink()
    return f"removed {path}: the next start plays the film from its beginning"


def _read(path: Path, story) -> Position:
    """The file, every value checked against this story (a file edited or damaged by hand,
    or written by another version, must not steer the show)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO there must not hold the start
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    doc = json.loads(raw)
    if doc.get("version") != _VERSION:
        raise ValueError(f"version {doc.get('version')!r}, this host writes {_VERSION}")
    pos = Position(str(doc["show"]), float(doc["started_utc"]), str(doc["story"]),
                   str(doc["segment"]), float(doc["offset_s"]), dict(doc["vars"]),
                   list(doc["path"]), float(doc["saved_utc"]), int(doc["resumes"]),
                   str(doc["config"]), float(doc.get("shown_s", 0.0)))  # (a file from
    # before shown_s was kept: its earlier runs are not counted)
    if not all(math.isfinite(t) and 0 < t < 1e11 for t in (pos.started_utc, pos.saved_utc)):
        raise ValueError("times out of range")
    if pos.segment not in story.segments:
        raise ValueError(f"segment {pos.segment!r} is not in the story")
    if not 0 <= pos.resumes <= 1000:
        raise ValueError(f"resumes {pos.resumes} out of range")
    if not 0 <= pos.offset_s <= 1e6:
        raise ValueError(f"offset {pos.offset_s} s out of range")
    if not 0 <= pos.shown_s <= 1e9:  # (HostConfig.duration_s's range)
        raise ValueError(f"film shown {pos.shown_s} s out of range")
    want = story.variables
    if pos.vars.keys() != want.keys() or any(type(pos.vars[k]) is not type(v)
                                             for k, v in want.items()):
        raise ValueError("its story variables are not this story's")
    if len(pos.path) > PATH_KEPT or not all(isinstance(s, str) and len(s) <= 200
                                            for s in pos.path):
        raise ValueError("its path is not a list of steps")
    return pos
