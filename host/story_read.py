"""Reading a story file: every table and key checked, and anything wrong raised as a
StoryError with the file and the line it is on (`story.load` / `story.loads`; the format is
described in story.py).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Optional

from empathy import toml_text
from empathy.host.player.captions_names import canonical, nearest
from empathy.host.policy_settings import POLICY_NAMES
from empathy.host.story import Decision, Segment, Story, StoryError, line_of
from empathy.host.story_conditions import compile_condition, same_type

_TOP = {"title", "start", "segments", "decisions", "variables", "screenplay", "policy",
        "media_root", "captions_language"}
_SEG = {"media", "lut", "duration_s", "in_s", "out_s", "target", "next", "scene", "captions",
        "fps", "colour", "frame_step"}
_DEC = {"after", "window_s", "aim_arousal", "default", "options", "sets", "when"}
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
LANGUAGES_MAX = 32
SEGMENT_ID_MAX = 24  # wire.CUE_MAX_ID: the screen cue carries the segment id
ID_MAX = 64
NUM_MAX = 1e6  # s (11.6 days) or arousal units: more is a typo, and nan/inf/1e300 would
               # reach the units' impact.toml, the player's clock and the policy's sums


class _Reader:
    """Reads one story file, raising StoryError at the right line for anything wrong."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def err(self, msg, *keys):
        raise StoryError(self.path, line_of(self.text, *keys), msg)

    def num(self, v, what, *keys) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.err(f"{what} must be a number, not {v!r}", *keys)
        if not abs(v) <= NUM_MAX:  # also nan, which every comparison lets through
            self.err(f"{what} must be a number within ±{NUM_MAX:g}, not {v!r}", *keys)
        return float(v)

    def name(self, v, what, *keys) -> str:
        if not isinstance(v, str) or not v:
            self.err(f"{what} must be a name in quotes, not {v!r}", *keys)
        return v

    def ident(self, v: str, what: str, limit: int = ID_MAX) -> str:
        """An id from the file: safe characters only (it reaches HTML pages and logs)."""
        if not (_SAFE_ID.fullmatch(v) and len(v) <= limit):
            quoted = next((q for q in (f'"{v}"', f"'{v}'", v) if q in self.text), v)
            line = self.text.count("\n", 0, self.text.find(quoted)) + 1 \
                if quoted in self.text else None
            raise StoryError(self.path, line, f"{what} {v!r} may use only letters, digits, _ "
                                              f"and - (at most {limit})")
        return v

    def keys(self, table: dict, known: set, what: str, *where):
        for k in table:
            if k not in known:
                self.err(f"{what}unknown key {k!r} (known: {', '.join(sorted(known))})", *where, k)


def read(text: str, path: Path, media_root: str | Path | None, check_files: bool,
         find_media: bool | None) -> Story:
    """`story.loads`: the story in `text`, or StoryError at the first thing wrong."""
    try:
        doc = toml_text.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise StoryError(path, int(m.group(1)) if m else None, f"not valid TOML: {e}") from None
    r = _Reader(path, text)
    r.keys(doc, _TOP, "")
    variables = doc.get("variables", {})
    if not isinstance(variables, dict):
        r.err("[variables] must be a table of name = initial value", "variables")
    for k, v in variables.items():
        r.ident(k, "variable")
        if not isinstance(v, (bool, int, float, str)):
            r.err(f"variable {k!r} must start as a bool, number or string, not {v!r}", "variables", k)
        if not isinstance(v, (bool, str)):
            r.num(v, f"variable {k!r}", "variables", k)
    arc = _screenplay(r, doc, path.parent)
    root = _media_root(r, doc, path, media_root, check_files if find_media is None else find_media)
    segments = _segments(r, doc, root, arc, check_files)
    start = r.name(doc.get("start"), "start", "start")
    if start not in segments:
        r.err(f"start segment {start!r} is not a segment", "start")
    decisions, afters = {}, set()
    for did, d in (doc.get("decisions") or {}).items():
        r.ident(did, "decision")
        decisions[did] = _decision(r, did, d, segments, afters, variables)
        afters.add(decisions[did].after)
    for sid, s in segments.items():
        if s.next and s.next not in segments:
            r.err(f"segment {sid!r}: next={s.next!r} is not a segment", sid, "next")
    policy = r.name(doc["policy"], "policy", "policy") if "policy" in doc else None
    if policy is not None and policy not in POLICY_NAMES:
        r.err(f"unknown policy {policy!r} (known: {', '.join(POLICY_NAMES)})", "policy")
    title = doc.get("title", path.stem)
    # it is printed to the operator's terminal and log: "\x1b[2K" or "\n" there forged lines
    if not isinstance(title, str) or re.search(r"[\x00-\x1f\x7f-\x9f]", title):
        r.err(f"title must be one line of text, no control characters, not {title!r}", "title")
    story = Story(path, title, start, segments, decisions, dict(variables), policy, root, text,
                  _captions_language(r, doc, segments))
    _check_graph(r, story)
    return story

def _screenplay(r: _Reader, doc: dict, folder: Path) -> Optional[list]:
    if "screenplay" not in doc:
        return None
    from empathy.host.arc import screenplay_arc

    try:
        return screenplay_arc(folder / r.name(doc["screenplay"], "screenplay", "screenplay"))
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as e:
        r.err(f"screenplay: {e}", "screenplay")


def _media_root(r: _Reader, doc: dict, path: Path, given, render: bool) -> Path:
    """The caller's root (--media-root, the host config) wins, then the story's own
    `media_root` (relative to the story file), then the story's folder. The bundled sample
    story's media is rendered, not shipped: its root is the render cache."""
    if given:
        return Path(given).expanduser()
    if "media_root" in doc:
        return path.parent / Path(r.name(doc["media_root"], "media_root", "media_root")).expanduser()
    from empathy.host import sample

    return sample.media_root(render) if sample.is_sample(path) else path.parent


def _segments(r: _Reader, doc: dict, root: Path, arc, check_files: bool) -> dict:
    if not isinstance(doc.get("segments"), dict) or not doc["segments"]:
        r.err("a story needs at least one [segments.NAME] table")
    segments = {}
    for sid, s in doc["segments"].items():
        r.ident(sid, "segment", SEGMENT_ID_MAX)
        if not isinstance(s, dict):
            r.err(f"segment {sid!r} must be a table", sid)
        r.keys(s, _SEG, f"segment {sid!r}: ", sid)
        if "media" not in s:
            r.err(f"segment {sid!r} has no media", sid)
        media = root / r.name(s["media"], f"segment {sid!r}: media", sid, "media")
        lut = root / r.name(s["lut"], f"segment {sid!r}: lut", sid, "lut") if "lut" in s else None
        rate, colour, step = _sequence(r, sid, s, media, check_files)
        if check_files and rate is None and not media.is_file():
            r.err(f"segment {sid!r}: media file {media} not found", sid, "media")
        if check_files and lut and not lut.is_file():
            r.err(f"segment {sid!r}: LUT {lut} not found", sid, "lut")
        in_s, out_s, dur = _range(r, sid, s)
        ta, tv = 0.0, 0.0
        if "scene" in s:
            n = s["scene"]
            if arc is None:
                r.err(f"segment {sid!r}: scene= needs a screenplay = \"FILE.fountain\" at the top",
                      sid, "scene")
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(arc):
                r.err(f"segment {sid!r}: scene must be a scene number 1..{len(arc)}, not {n!r}",
                      sid, "scene")
            ta, tv = arc[n - 1].arousal, arc[n - 1].valence
        tgt = s.get("target", {})
        if not isinstance(tgt, dict) or set(tgt) - {"arousal", "valence"}:
            r.err(f"segment {sid!r}: target takes arousal and valence only", sid, "target")
        ta = r.num(tgt.get("arousal", ta), "target.arousal", sid, "target")
        tv = r.num(tgt.get("valence", tv), "target.valence", sid, "target")
        if not (-1 <= ta <= 1 and -1 <= tv <= 1):
            r.err(f"segment {sid!r}: target values must be within -1..1", sid, "target")
        nxt = r.name(s["next"], f"segment {sid!r}: next", sid, "next") if "next" in s else None
        segments[sid] = Segment(sid, media, lut, dur, ta, tv, nxt, in_s, out_s,
                                _captions(r, sid, s, root), rate, colour, step)
    return segments


def _captions(r: _Reader, sid: str, s: dict, root: Path) -> tuple:
    """captions = "a.srt", or { en = "a.en.srt", fr = "a.fr.srt" }: ((language, path), ...).
    The files are read by `story check` and the player (host/player/captions.py): one that
    is missing or bad leaves its clip without captions, not the show without its film."""
    v = s.get("captions")
    if v is None:
        return ()
    if not isinstance(v, dict):
        v = {"": r.name(v, f"segment {sid!r}: captions", sid, "captions")}
    elif not 1 <= len(v) <= LANGUAGES_MAX:
        r.err(f"segment {sid!r}: captions takes 1..{LANGUAGES_MAX} languages", sid, "captions")
    out, keys = [], {}
    for lang, name in v.items():
        # keys as file names carry them (eng, pt_BR, chs): ICU's canonical tags, as choices
        tag = canonical(lang) if lang else ""
        if tag is None:
            r.err(f"segment {sid!r}: captions language {lang[:20]!r} is not a language tag "
                  "(en, pt-BR)", sid, "captions")
        if tag in keys:
            r.err(f"segment {sid!r}: captions keys {keys[tag][:20]!r} and {lang[:20]!r} are "
                  f"both {tag or 'untagged'}: keep one", sid, "captions")
        keys[tag] = lang
        out.append((tag, root / r.name(name, f"segment {sid!r}: captions", sid, "captions")))
    return tuple(out)


def _captions_language(r: _Reader, doc: dict, segments: dict) -> Optional[str]:
    """The story's captions: "off", or a language some segment has captions in."""
    if "captions_language" not in doc:
        return None
    v = r.name(doc["captions_language"], "captions_language", "captions_language")
    tag = "off" if v == "off" else canonical(v)
    if tag is None or tag != "off" and not any(
            nearest(tag, dict(s.captions)) for s in segments.values()):
        r.err(f"captions_language {v[:20]!r}: no segment has captions in it (a language "
              "from the segments' captions tables, or \"off\")", "captions_language")
    return tag


def _sequence(r: _Reader, sid: str, s: dict, media: Path, check_files: bool):
    """(rate, colour, frame_step) of an image sequence's segment (`shot010.####.dpx`);
    (None, colour, 1) for a video file's (a log or linear transcode may say its colour too)."""
    from empathy.host.player import imgseq

    colour = s.get("colour")  # None: the format's own (imgseq.default_colour)
    if colour is not None and colour not in imgseq.COLOURS:
        r.err(f"segment {sid!r}: colour must be one of {', '.join(imgseq.COLOURS)}, not "
              f"{colour!r}", sid, "colour")
    if not imgseq.is_pattern(media):
        for key in ("fps", "frame_step"):
            if key in s:
                r.err(f"segment {sid!r}: {key} is an image sequence's (media named like "
                      "shot010.####.dpx): a video file has its own frames", sid, key)
        return None, colour, 1
    step = s.get("frame_step", 1)  # a run rendered on twos: its files every 2nd number
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= imgseq.STEP_MAX:
        r.err(f"segment {sid!r}: frame_step must be a whole number 1..{imgseq.STEP_MAX} (its "
              f"files' numbers step by it), not {step!r}", sid, "frame_step")
    try:
        imgseq.find(media) if check_files else imgseq.parse(media)
    except imgseq.SequenceError as e:
        r.err(f"segment {sid!r}: {e}", sid, "media")
    if "fps" not in s:
        r.err(f"segment {sid!r}: an image sequence needs fps (the rate it plays at: "
              "sequences do not carry one)", sid)
    rate = r.num(s["fps"], f"segment {sid!r}: fps", sid, "fps")
    if not 1 <= rate <= 1000:
        r.err(f"segment {sid!r}: fps must be 1..1000, not {rate:g}", sid, "fps")
    return rate, colour, step


def _range(r: _Reader, sid: str, s: dict) -> tuple[float, Optional[float], float]:
    """(in_s, out_s, duration_s): a range of the file, or the whole file for duration_s."""
    in_s = r.num(s.get("in_s", 0.0), f"segment {sid!r}: in_s", sid, "in_s")
    if in_s < 0:
        r.err(f"segment {sid!r}: in_s must be >= 0", sid, "in_s")
    out_s = None
    if "out_s" in s:
        out_s = r.num(s["out_s"], f"segment {sid!r}: out_s", sid, "out_s")
        if out_s <= in_s:
            r.err(f"segment {sid!r}: out_s ({out_s:g}) must be after in_s ({in_s:g})", sid, "out_s")
    if "duration_s" not in s:
        if out_s is None:
            r.err(f"segment {sid!r} needs duration_s (or a range: in_s and out_s)", sid)
        return in_s, out_s, round(out_s - in_s, 6)
    dur = r.num(s["duration_s"], f"segment {sid!r}: duration_s", sid, "duration_s")
    if dur <= 0:
        r.err(f"segment {sid!r}: duration_s must be > 0", sid, "duration_s")
    if out_s is not None and abs(dur - (out_s - in_s)) > 1e-6:
        r.err(f"segment {sid!r}: duration_s = {dur:g} but in_s..out_s lasts "
              f"{out_s - in_s:g} s (leave duration_s out)", sid, "duration_s")
    return in_s, out_s, dur


def _decision(r: _Reader, did: str, d, segments: dict, afters: set, variables: dict):
    """One decision; `afters`: the segments earlier decisions are taken after."""
    if not isinstance(d, dict):
        r.err(f"decision {did!r} must be a table", did)
    r.keys(d, _DEC, f"decision {did!r}: ", did)
    for k in ("after", "window_s", "default", "options"):
        if k not in d:
            r.err(f"decision {did!r} has no {k}", did)
    after = r.name(d["after"], f"decision {did!r}: after", did, "after")
    if after not in segments:
        r.err(f"decision {did!r}: after={after!r} is not a segment", did, "after")
    if after in afters:
        r.err(f"decision {did!r}: segment {after!r} already has a decision", did, "after")
    if segments[after].next:
        r.err(f"decision {did!r}: segment {after!r} also has next=; use one or the other", did)
    w = d["window_s"]
    if not (isinstance(w, list) and len(w) == 2):
        r.err(f"decision {did!r}: window_s must be [start, end]", did, "window_s")
    w0, w1 = (r.num(x, f"decision {did!r}: window_s", did, "window_s") for x in w)
    if not 0 <= w0 < w1:
        r.err(f"decision {did!r}: window_s start must be >= 0 and before its end", did, "window_s")
    if w1 > segments[after].duration_s:
        r.err(f"decision {did!r}: window ends at {w1} s but {after!r} lasts "
              f"{segments[after].duration_s} s", did, "window_s")
    opts = d["options"]
    if not isinstance(opts, dict) or len(opts) < 2:
        r.err(f"decision {did!r}: options needs at least two segments", did, "options")
    for o, lift in opts.items():
        if o not in segments:
            r.err(f"decision {did!r}: option {o!r} is not a segment", did, "options")
        r.num(lift, f"option {o!r} lift", did, "options")
    if r.name(d["default"], f"decision {did!r}: default", did, "default") not in opts:
        r.err(f"decision {did!r}: default {d['default']!r} is not one of its options", did, "default")
    sets = _sets(r, did, d.get("sets", {}), opts, variables)
    when = {}
    if not isinstance(d.get("when", {}), dict):
        r.err(f"decision {did!r}: when must be a table of option = \"condition\"", did, "when")
    for o, cond in d.get("when", {}).items():
        if o not in opts:
            r.err(f"decision {did!r}: when names {o!r}, which is not one of its options", did, "when")
        if o == d["default"]:
            r.err(f"decision {did!r}: the default {o!r} must always be offered; it cannot have "
                  f"a condition", did, "when")
        try:
            when[o] = compile_condition(cond, variables)
        except ValueError as e:
            r.err(f"decision {did!r}: when.{o}: {e}", did, "when")
    if "aim_arousal" in d:
        aim = r.num(d["aim_arousal"], "aim_arousal", did, "aim_arousal")
        aims = {o: aim for o in opts}
    else:
        aim, aims = segments[d["default"]].target_arousal, {o: segments[o].target_arousal for o in opts}
    return Decision(did, after, (w0, w1), aim, d["default"],
                    {o: float(v) for o, v in opts.items()}, sets, when, aims)


def _sets(r: _Reader, did: str, sets, opts: dict, variables: dict) -> dict:
    if not isinstance(sets, dict):
        r.err(f"decision {did!r}: sets must be a table of option = {{ variable = value }}", did, "sets")
    for o, assign in sets.items():
        if o not in opts:
            r.err(f"decision {did!r}: sets names {o!r}, which is not one of its options", did, "sets")
        if not isinstance(assign, dict):
            r.err(f"decision {did!r}: sets.{o} must be {{ variable = value }}", did, "sets")
        for k, v in assign.items():
            if k not in variables:
                r.err(f"decision {did!r}: sets.{o} sets {k!r}, which is not in [variables]",
                      did, "sets")
            if not same_type(v, variables[k]):
                r.err(f"decision {did!r}: sets.{o}.{k} = {v!r} but {k!r} is a "
                      f"{type(variables[k]).__name__}", did, "sets")
            if not isinstance(v, (bool, str)):
                r.num(v, f"decision {did!r}: sets.{o}.{k}", did, "sets")
    return {o: dict(a) for o, a in sets.items()}


def _check_graph(r: _Reader, story: Story) -> None:
    """Every segment reachable from the start, and every reachable one able to end."""
    seen, todo = set(), [story.start]
    while todo:
        sid = todo.pop()
        if sid not in seen:
            seen.add(sid)
            todo.extend(story.successors(sid))
    unreachable = sorted(set(story.segments) - seen)
    if unreachable:
        r.err(f"segment {unreachable[0]!r} can never be reached from start {story.start!r}",
              unreachable[0])
    # Able to end: the endings, then back along the edges (each edge walked once).
    before: dict[str, list[str]] = {}
    for s in seen:
        for n in story.successors(s):
            before.setdefault(n, []).append(s)
    todo = [s for s in seen if not story.successors(s)]
    can_end = set(todo)
    while todo:
        for p in before.get(todo.pop(), ()):
            if p not in can_end:
                can_end.add(p)
                todo.append(p)
    trapped = [s for s in story.segments if s in seen and s not in can_end]  # file order
    if trapped:
        loop, at, s = [trapped[0]], {trapped[0]: 0}, story.successors(trapped[0])[0]
        while s not in at:
            at[s] = len(loop)
            loop.append(s)
            s = story.successors(s)[0]
        loop = loop[at[s]:] + [s]
        r.err(f"segments {' -> '.join(loop)} loop forever: no path out of them reaches an "
              f"ending", loop[0])
