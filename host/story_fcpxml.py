"""Final Cut Pro X's `.fcpxml`, and the `.fcpxmld` bundle FCP 10.6+ writes (its `Info.fcpxml`),
read into the OpenTimelineIO objects the other timeline readers give (host/story_timeline.py),
so that their range checks, messages and file finding serve it too. Checked on FCPXML 1.8
(otio-fcpx-xml-adapter's samples) to 1.13 (FCP 11's).

Our own expat reader, not otio-fcpx-xml-adapter 1.0.0: on an FCPXML 1.10 file that adapter
read 1001/24000 s frames as 23 fps (an in point of 86424337/24000 s became 82823/23 s) and
lost every clip's file (FCPXML 1.9 moved it to `<media-rep src>`, which it does not read),
and it parses with ElementTree, which expands a file's own entities. Here every DTD subset and entity
declaration is refused (the bare `<!DOCTYPE fcpxml>` FCP writes is let through), elements
and nesting are bounded, and times are exact fractions ("1001/24000s"), range-checked.

What is read: the first project's primary storyline (its spine), in order. A clip's local
time runs from its `start` at its `offset` in its parent; an asset's `start` is its file's
start timecode, so a segment's in point is the clip's start less its asset's (a clip with no
`start` begins at its file's first frame). Compound clips (ref-clip), multicam (mc-clip: the
angle its video comes from), sync-clips, auditions (the pick) and clips holding a video are
read as what they show; connected clips (lanes) and a second project are said and left out.
A retimed clip (timeMap) or one conformed to the timeline's rate (conform-rate) is read as
the span of its file it shows, played at the file's own speed; a disabled one is left out;
an asset without hasVideo="1" is sound, not picture.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from xml.parsers import expat

from empathy.host.story_timeline import RATE_MAX, ScaffoldError, _some

# An editor's feature-length project keeps ~20,000 of the elements read here; metadata,
# keywords, markers and effect parameters are passed over, counted, not kept
MAX_KEPT, MAX_ELEMENTS, MAX_DEPTH = 100_000, 2_000_000, 64
MAX_CLIPS = 20_000  # clips shown: a feature has ~3,000; each costs ~70 us to read
MAX_LEVELS = 200  # clips within clips, compound clips within them: Python's stack holds 1000
TIME_MAX = 10 ** 7  # s (115 days): above any timecode (24 h) plus any timeline's length
_TIME = re.compile(r"([0-9]{1,20})(?:/([0-9]{1,20}))?s", re.ASCII)
_PASSED = {"metadata", "md", "note", "keyword", "marker", "chapter-marker", "rating", "param",
           "filter-video", "filter-audio", "filter-video-mask", "analysis-marker", "bookmark",
           "audio-channel-source", "audio-role-source", "data", "array", "string", "caption",
           "smart-collection", "keyword-collection", "collection-folder", "import-options",
           "hidden-clip-marker", "object-tracker", "tracking-shape", "reserved"}
_PICTURE = {"asset-clip", "clip", "video", "title", "ref-clip", "mc-clip", "sync-clip",
            "spine", "audition", "gap"}


class _Node:
    __slots__ = ("tag", "attrs", "kids", "line")

    def __init__(self, tag: str, attrs: dict, line: int):
        self.tag, self.attrs, self.kids, self.line = tag, attrs, [], line

    def child(self, tag: str):
        return next((k for k in self.kids if k.tag == tag and "lane" not in k.attrs), None)


def bundle_file(path: Path) -> Path:
    """The XML of a timeline: a `.fcpxmld` bundle (a folder) holds it as `Info.fcpxml`."""
    return path / "Info.fcpxml" if path.suffix.lower() == ".fcpxmld" else path


def _tree(path: Path, text: str) -> _Node:
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack, root, n, passed = [], [], [0, 0], [0]  # n: elements seen, kept

    def refuse(*_):
        raise ScaffoldError(f"{path}:{p.CurrentLineNumber}: a DTD or entity declaration: "
                            "refused (Final Cut Pro writes none)")

    def doctype(name, system_id, public_id, internal_subset):
        if system_id or public_id or internal_subset:
            refuse()

    def start(tag, attrs):
        n[0] += 1
        if n[0] > MAX_ELEMENTS or len(stack) + passed[0] >= MAX_DEPTH:
            raise ScaffoldError(f"{path}:{p.CurrentLineNumber}: more than {MAX_ELEMENTS} XML "
                                f"elements or {MAX_DEPTH} levels: not a Final Cut Pro export")
        if passed[0] or tag in _PASSED or tag.startswith("adjust-"):
            passed[0] += 1
            return
        n[1] += 1
        if n[1] > MAX_KEPT:
            raise ScaffoldError(f"{path}:{p.CurrentLineNumber}: more than {MAX_KEPT} clips, "
                                "assets and formats: export one project, not the library")
        node = _Node(tag, attrs, p.CurrentLineNumber)
        (stack[-1].kids if stack else root).append(node)
        stack.append(node)

    def end(tag):
        if passed[0]:
            passed[0] -= 1
        else:
            stack.pop()

    p.StartDoctypeDeclHandler, p.EntityDeclHandler = doctype, refuse
    p.StartElementHandler, p.EndElementHandler = start, end
    try:
        p.Parse(text, True)
    except expat.ExpatError as e:
        raise ScaffoldError(f"{path}:{e.lineno}: not well-formed XML: "
                            f"{expat.ErrorString(e.code)}") from None
    if root[0].tag != "fcpxml":
        raise ScaffoldError(f"{path}: root element <{root[0].tag[:40]}>, not <fcpxml>: not a "
                            "Final Cut Pro X export")
    return root[0]


def _time(path: Path, node: _Node, attr: str, default=None) -> Fraction:
    """An FCPXML time ("3600s", "1001/24000s") as an exact fraction of seconds, 0 to TIME_MAX."""
    raw = node.attrs.get(attr)
    if raw is None and default is not None:
        return default
    if raw is None:
        raise ScaffoldError(f"{path}:{node.line}: <{node.tag}> has no {attr}: export again")
    m = _TIME.fullmatch(raw)
    where = f"{path}:{node.line}: <{node.tag}> {attr}={raw[:40]!r}"
    if not m:
        raise ScaffoldError(f"{where}: not a time (N/Ds or Ns, N and D whole numbers, e.g. "
                            "1001/24000s)")
    num, den = int(m.group(1)), int(m.group(2) or 1)
    if den == 0 or num > TIME_MAX * den:
        raise ScaffoldError(f"{where}: " + ("a denominator of 0" if den == 0 else
                            f"over {TIME_MAX} s") + ": export the project again")
    return Fraction(num, den)


class _Reader:
    def __init__(self, path: Path, root: _Node):
        import opentimelineio as otio

        self.otio, self.path = otio, path
        self.res = {k.attrs.get("id"): k for r in root.kids if r.tag == "resources"
                    for k in r.kids}
        self.items, self.lanes, self.other, self.nested = [], [], [], []
        self.rate, self.level, self.work, self.sound = Fraction(1), 0, 0, 0

    def where(self, node: _Node) -> str:
        return f"{self.path}:{node.line}: <{node.tag} name={node.attrs.get('name', '')[:60]!r}>"

    def ref(self, node: _Node, tag: str, attr: str = "ref") -> _Node:
        r = self.res.get(node.attrs.get(attr))
        if r is None or r.tag != tag:
            raise ScaffoldError(f"{self.where(node)}: {attr}={node.attrs.get(attr, '')[:40]!r} "
                                f"names no {tag} in <resources>")
        return r

    def fps(self, fmt: _Node) -> Fraction:
        fd = _time(self.path, fmt, "frameDuration")
        if fd == 0 or not 0 < 1 / fd <= RATE_MAX:
            raise ScaffoldError(f"{self.path}:{fmt.line}: format {fmt.attrs.get('id')!r}: "
                                f"frameDuration {fmt.attrs['frameDuration'][:40]} is not a "
                                f"frame rate above 0 and at most {RATE_MAX:g} fps")
        return 1 / fd

    def rt(self, secs: Fraction):
        return self.otio.opentime.RationalTime(float(secs * self.rate), float(self.rate))

    def span(self, start: Fraction, dur: Fraction):
        return self.otio.opentime.TimeRange(self.rt(start), self.rt(dur))

    def storyline(self, kids: list, t0: Fraction, t1: Fraction, speed: bool) -> None:
        """What the primary items among `kids` show over [t0, t1) of their parent's time."""
        self.level += 1
        for k in kids:
            self.work += 1  # a compound clip used 10 times in each of 15 nested: 10^15 visits
            if self.work > MAX_KEPT or len(self.items) > MAX_CLIPS or self.level > MAX_LEVELS:
                raise ScaffoldError(f"{self.where(k)}: more than {MAX_KEPT} items to visit, "
                                    f"{MAX_CLIPS} clips shown or {MAX_LEVELS} levels of clips "
                                    "in clips: not a timeline to read")
            if "lane" in k.attrs or k.tag == "audio":
                continue  # connected (said by its parent) or sound
            if k.tag not in _PICTURE and k.tag != "transition":
                if "duration" in k.attrs:  # a story element this reader does not know
                    self.other.append(f"<{k.tag[:40]}>")
                continue  # else a clip's own settings (timeMap, conform-rate, mc-source)
            if k.tag == "transition":
                self.items.append(self.otio.schema.Transition(name=k.attrs.get("name", "")))
                continue
            if k.tag == "audition":  # its first child is the pick shown, where it stands
                self.storyline([self.pick(k)] if k.kids else [], t0, t1, speed)
                continue
            off = _time(self.path, k, "offset", Fraction(0))
            dur = self.duration(k)
            a, b = max(t0, off), min(t1, off + dur)
            if b <= a:
                continue
            self.lanes += [c for c in k.kids if "lane" in c.attrs and self.pictured(c)]
            self.show(k, a - off, b - a, speed or any(
                c.tag in ("timeMap", "conform-rate") and c.attrs.get("scaleEnabled") != "0"
                for c in k.kids))
        self.level -= 1

    def pick(self, audition: _Node) -> _Node:
        """An audition's pick, at the audition's offset (FCP writes none on the pick)."""
        pick = audition.kids[0]
        node = _Node(pick.tag, {"offset": audition.attrs.get("offset", "0s"), **pick.attrs},
                     pick.line)
        node.kids = pick.kids
        return node

    def duration(self, k: _Node) -> Fraction:
        if k.tag == "spine":  # a storyline's length is its items'
            items = [self.pick(c) if c.tag == "audition" else c for c in k.kids
                     if c.tag != "audition" or c.kids]
            return max((_time(self.path, c, "offset", Fraction(0)) + self.duration(c)
                        for c in items if "lane" not in c.attrs and c.tag != "transition"
                        and ("duration" in c.attrs or c.tag == "spine")), default=Fraction(0))
        d = _time(self.path, k, "duration")
        if d <= 0:
            raise ScaffoldError(f"{self.where(k)}: lasts 0 s: export the project again")
        return d

    def show(self, k: _Node, local: Fraction, dur: Fraction, speed: bool) -> None:
        """Item `k` shown for `dur` from `local` s (of its parent's time) after its offset."""
        otio, name = self.otio, k.attrs.get("name", "")
        if k.attrs.get("enabled") == "0":  # hidden in the editor's viewer too
            off = otio.schema.Clip(name=name)
            off.enabled = False
            self.items.append(off)
        elif k.tag == "gap":
            self.items.append(otio.schema.Gap(name=name, source_range=self.span(Fraction(0), dur)))
        elif k.tag == "title" or (k.tag == "video" and self.res.get(k.attrs.get("ref"), k).tag
                                  == "effect"):
            self.items.append(otio.schema.Clip(
                name=name, media_reference=otio.schema.GeneratorReference(),
                source_range=self.span(Fraction(0), dur)))
        elif k.attrs.get("srcEnable") == "audio":
            return
        elif k.tag in ("asset-clip", "video"):
            asset = self.ref(k, "asset")
            if asset.attrs.get("hasVideo") != "1":  # FCP says hasVideo="1" of each that has
                self.sound += 1
                return
            start = _time(self.path, asset, "start", Fraction(0))  # the file's timecode
            self.clip(k, asset, *self.window(k, local, dur, start, asset), speed)
        elif k.tag in ("clip", "sync-clip", "spine"):
            self.storyline(k.kids, *self.window(k, local, dur, Fraction(0)), speed)
        elif k.tag in ("ref-clip", "mc-clip"):
            media = self.ref(k, "media")
            if media.attrs.get("id") in self.nested:
                raise ScaffoldError(f"{self.where(k)}: compound clip {media.attrs.get('id')!r}"
                                    " holds itself")
            inner = media.child("sequence" if k.tag == "ref-clip" else "multicam")
            if inner is None:
                raise ScaffoldError(f"{self.where(k)}: its media holds no <sequence> or "
                                    "<multicam>: export the project again")
            kids = (inner.child("spine") or _Node("spine", {}, 0)).kids if k.tag == "ref-clip" \
                else self.angle(k, inner)
            self.nested.append(media.attrs.get("id"))
            self.storyline(kids, *self.window(k, local, dur, _time(
                self.path, inner, "tcStart", Fraction(0))), speed)
            self.nested.pop()

    def window(self, k: _Node, local: Fraction, dur: Fraction, start: Fraction,
               asset: _Node = None) -> tuple[Fraction, Fraction]:
        """[from, to) of k's own time that `dur` s of its parent's from `local` show. Its time
        runs from its `start` (else `start` here), scaled by a rate conform: 25 fps media
        conformed to a 24 fps timeline shows 24/25 s of the file a second (FCP's Automatic
        Speed); then through its timeMap (a retime), read as straight lines between points."""
        s, scale = _time(self.path, k, "start", start), Fraction(1)
        conform = k.child("conform-rate")
        fmt = self.res.get((asset or k).attrs.get("format"))
        if conform is not None and conform.attrs.get("scaleEnabled") != "0" and \
                fmt is not None and "frameDuration" in fmt.attrs:
            scale = self.rate / self.fps(fmt)
        lo, hi = s + local * scale, s + (local + dur) * scale
        timemap = k.child("timeMap")
        if timemap is not None:
            lo, hi = sorted((self.remap(timemap, lo), self.remap(timemap, hi)))
            if hi - lo < 1 / self.rate:  # a freeze frame: its frame, held as long as shown
                hi = lo + dur
        return lo, hi

    def remap(self, timemap: _Node, t: Fraction) -> Fraction:
        pts = sorted((_time(self.path, p, "time"), _time(self.path, p, "value"))
                     for p in timemap.kids if p.tag == "timept")
        lines = [(a, b) for a, b in zip(pts, pts[1:]) if b[0] > a[0]]
        if not lines:  # no line to read
            return t
        (t0, v0), (t1, v1) = next((ln for ln in lines if t <= ln[1][0]), lines[-1])
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)  # past either end: its line goes on

    def angle(self, mc: _Node, multicam: _Node) -> list:
        """The items of the angle a multicam clip shows its video from."""
        src = next((c for c in mc.kids if c.tag == "mc-source" and
                    c.attrs.get("srcEnable", "all") in ("all", "video")), None)
        ids = [src.attrs.get("angleID")] if src is not None else []
        angle = next((a for a in multicam.kids if a.tag == "mc-angle" and
                      a.attrs.get("angleID") in ids), None)
        if angle is None:
            raise ScaffoldError(f"{self.where(mc)}: no angle of its multicam is its video "
                                "(<mc-source srcEnable=\"video\">): export the project again")
        return angle.kids

    def clip(self, k: _Node, asset: _Node, first: Fraction, last: Fraction, speed: bool) -> None:
        otio = self.otio
        a_start = _time(self.path, asset, "start", Fraction(0))
        a_dur = _time(self.path, asset, "duration", Fraction(0))
        rep = next((r for r in asset.kids if r.tag == "media-rep" and
                    r.attrs.get("kind", "original-media") == "original-media"), None)
        src = (rep.attrs if rep is not None else asset.attrs).get("src", "")
        name = k.attrs.get("name") or asset.attrs.get("name", "")
        end = a_start + a_dur
        if speed and a_dur and end - first >= 1 / self.rate:
            last = min(last, end)  # a freeze frame held past the file's end: cut there
        if a_dur and last > end + 1 / self.rate:  # (a still's asset lasts 0 s)
            raise ScaffoldError(f"{self.where(k)}: runs to {float(last):.3f} s, past its "
                                f"file's end ({float(end):.3f} s): relink the clip in Final "
                                "Cut Pro and export again")
        ref = otio.schema.ExternalReference(target_url=src, available_range=self.span(
            a_start, a_dur))
        clip = otio.schema.Clip(name=name, media_reference=ref,
                                source_range=self.span(first, last - first))
        if speed:
            clip.effects.append(otio.schema.LinearTimeWarp(name="retimed"))
        self.items.append(clip)

    def pictured(self, k: _Node) -> bool:
        """Whether a connected item shows a picture (a lane -1 clip is often only sound)."""
        if k.tag not in _PICTURE or k.attrs.get("srcEnable") == "audio" or \
                k.attrs.get("enabled") == "0":
            return False
        if k.tag == "asset-clip":
            return self.res.get(k.attrs.get("ref"), k).attrs.get("hasVideo") == "1"
        if k.tag in ("clip", "sync-clip", "spine", "audition", "gap"):
            return any(self.pictured(c) for c in k.kids)
        return True


def read_fcpxml(path: Path, text: str):
    """The first project's primary storyline as an OpenTimelineIO timeline of one video track;
    what is left out besides (connected clips, other projects) in its metadata's notes."""
    root = _tree(path, text)
    projects, notes = [], []
    todo = [root]
    while todo:  # fcpxml > library > event > project, or an event or project at the top
        node = todo.pop(0)
        for k in node.kids:
            (projects.append(k) if k.tag == "project" else
             todo.append(k) if k.tag in ("library", "event") else None)
    if not projects:
        raise ScaffoldError(f"{path}: holds no project (a timeline), only clips or events: "
                            "select the project in Final Cut Pro's browser, then File > Export "
                            "XML")
    if len(projects) > 1:
        notes.append(f"{len(projects)} projects; the first "
                     f"({projects[0].attrs.get('name', '')[:60]!r}) is read")
    r = _Reader(path, root)
    seq = projects[0].child("sequence")
    if seq is None or seq.child("spine") is None:
        raise ScaffoldError(f"{path}:{projects[0].line}: the project holds no <sequence> "
                            "with a <spine>: export the project again")
    r.rate = r.fps(r.ref(seq, "format", "format"))
    for fmt in r.res.values():
        if fmt.tag == "format" and "frameDuration" in fmt.attrs:
            r.fps(fmt)  # each, as the clips' own rates
    spine = seq.child("spine")
    r.storyline(spine.kids, Fraction(0), Fraction(2 * TIME_MAX), False)
    if r.lanes:
        names = [k.attrs.get("name") or f"<{k.tag}>" for k in r.lanes]
        notes.append(f"{len(r.lanes)} connected clips (lanes above or below the primary "
                     f"storyline) left out ({_some(names)}): only the primary storyline is read")
    if r.other:
        notes.append(f"{len(r.other)} items left out ({', '.join(sorted(set(r.other))[:5])})")
    if r.sound and not any(isinstance(i, r.otio.schema.Clip) and i.enabled and isinstance(
            i.media_reference, r.otio.schema.ExternalReference) for i in r.items):
        raise ScaffoldError(f"{path}: the project's storyline shows no video file, only sound "
                            f"({r.sound} audio clips): a story needs the picture")
    track = r.otio.schema.Track(kind="Video", children=r.items)
    tl = r.otio.schema.Timeline(name=projects[0].attrs.get("name", ""), tracks=[track])
    tl.metadata["empathy_notes"] = notes
    return tl
