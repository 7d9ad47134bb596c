"""An editor's timeline read for `empathy story new`: the clips its main video track shows,
each range-checked, with the file behind it.

What an editor exports carries more than a story can play: nested sequences (flattened into
the clips they show), disabled clips and generators (left out, said), speed effects (played
at normal speed, said), source timecode (hours 00-23, frames below the rate). Each is a line
on stderr or a refusal in one line, never a traceback.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

from empathy.whole import whole

TIMELINE_SUFFIXES = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml"}
# Final Cut Pro X's, read by host/story_fcpxml.py (.fcpxmld: the bundle folder FCP 10.6+ writes)
FCPXML_SUFFIXES = {".fcpxml", ".fcpxmld"}
OTIO_DEPTH_MAX = 200
RATE_MAX = 1000.0  # frames a second: above any camera's or editor's timeline
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a string (passed over) or a bracket
TIMECODE = re.compile(r"^(\d\d)[:;.](\d\d)[:;.](\d\d)[:;.](\d\d)$", re.ASCII)
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:)?\\|^[A-Za-z]:[\\/]")
_SPEED_EFFECTS = {"LinearTimeWarp", "FreezeFrame", "TimeEffect"}


class ScaffoldError(ValueError):
    """The source cannot become a story; the message says why."""


def read_timeline(path: Path, text: str, fps: Optional[float]):
    """The timeline in `text` (the file at `path`), through its adapter, its numbers checked."""
    import opentimelineio as otio

    suffix = path.suffix.lower()
    if suffix in FCPXML_SUFFIXES:
        from empathy.host.story_fcpxml import read_fcpxml

        return read_fcpxml(path, text)
    adapter = TIMELINE_SUFFIXES.get(suffix)
    if adapter is None:
        raise ScaffoldError(f"{path}: not a timeline ({', '.join([*TIMELINE_SUFFIXES, '.fcpxml'])})"
                            " nor a folder")
    kwargs = {}
    if adapter == "cmx_3600":
        if not fps:
            raise ScaffoldError(f"{path}: an EDL does not say its frame rate: give --fps "
                                "(the timeline's, e.g. 25 or 23.976)")
        kwargs["rate"] = _timecode_rate(path, fps)
        _check_edl(path, text, fps)
        if round(kwargs["rate"] * 1001) in (30000, 60000):
            text = _drop_frame_marks(text)
    if adapter == "otio_json":
        _check_depth(path, text)
    try:
        return otio.adapters.read_from_string(text, adapter_name=adapter, **kwargs)
    except Exception as e:  # each adapter raises its own kinds for a malformed file
        hint = {"sequences": ": export the sequence, not a clip or a bin",
                "don't match": " (a speed change with no M2 line, or --fps not the EDL's rate)"}
        hint = next((h for k, h in hint.items() if k in str(e)), "")
        raise ScaffoldError(f"{path}: cannot read the timeline: {e}{hint}") from None


def _timecode_rate(path: Path, fps: float) -> float:
    """The SMPTE rate an editor means by `fps`: OpenTimelineIO's timecode takes 29.97 only as
    30000/1001 (and 23.976 as 24000/1001), and refused what editors type."""
    from opentimelineio.opentime import RationalTime

    rate = RationalTime.nearest_valid_timecode_rate(fps)
    if abs(rate - fps) > fps * 1e-3:
        raise ScaffoldError(f"{path}: --fps {fps:g} is not a timecode rate (an EDL's is one of "
                            "23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60)")
    return rate


def shown_clips(tl, path: Path, warn) -> list:
    """(clip, in_s, duration_s), unrounded, for each clip the first video track with clips shows, in order:
    nested sequences flattened, disabled clips, generators, gaps and transitions left out."""
    tracks = [t for t in getattr(tl, "video_tracks", lambda: [])() if t.find_clips()]
    if not tracks:
        audio = [t for t in getattr(tl, "audio_tracks", lambda: [])() if t.find_clips()]
        raise ScaffoldError(f"{path}: no video track with clips" + (
            f" (only {len(audio)} audio track{'s' * (len(audio) > 1)}): export the picture "
            "track too" if audio else ""))
    if len(tracks) > 1:
        warn(f"{path}: {len(tracks)} video tracks; the first one is used")
    out, left, speed = [], {}, []
    _walk(tracks[0], path, out, left, speed)
    if not out:
        raise ScaffoldError(f"{path}: no clip on the first video track names a file (" + ", ".join(
            f"{len(names)} {what}" for what, names in left.items()) + ")")
    for note in tl.metadata.get("empathy_notes", []):  # what an .fcpxml's reader left out
        warn(f"{path}: {note}")
    for what, names in left.items():
        warn(f"{path}: {len(names)} {what} left out ({_some(names)}): segments cut straight "
             "from one to the next")
    if speed:
        warn(f"{path}: {len(speed)} clips with a speed effect play at normal speed in the "
             f"story ({_some(speed)})")
    return out


def _some(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")


def _walk(track, path: Path, out: list, left: dict, speed: list) -> None:
    import opentimelineio as otio

    for item in track:
        name = item.name or ""
        if isinstance(item, otio.schema.Gap):
            if item.duration().value:
                left.setdefault("gaps", []).append(name)
        elif isinstance(item, otio.schema.Transition):
            left.setdefault("transitions", []).append(name)
        elif not getattr(item, "enabled", True):
            left.setdefault("disabled items", []).append(name)
        elif isinstance(item, (otio.schema.Stack, otio.schema.Track)):  # a nested sequence
            if _has_speed(item):
                speed.append(name)
            _walk(_visible(item), path, out, left, speed)
        elif isinstance(item, otio.schema.Clip):
            if isinstance(item.media_reference, otio.schema.GeneratorReference):
                left.setdefault("generators (no file)", []).append(name)
            elif not Path(name.replace("\\", "/")).name and not _url(item):
                left.setdefault("clips naming no file", []).append(name)
            else:
                if _has_speed(item):
                    speed.append(name)
                out.append((item, *_clip_range(item, path)))
        else:
            left.setdefault(type(item).__name__, []).append(name)


def _visible(comp):
    """A nested Stack or Track as the one track of what it shows over its trimmed range."""
    import opentimelineio as otio

    if isinstance(comp, otio.schema.Track):
        track = comp
    else:  # a stack's later children are on top; a clip stacked bare is a layer of its own
        track = otio.algorithms.flatten_stack(
            [c.deepcopy() if isinstance(c, otio.schema.Track)
             else otio.schema.Track(children=[c.deepcopy()]) for c in comp])
    return otio.algorithms.track_trimmed_to_range(track, comp.trimmed_range())


def _has_speed(item) -> bool:
    return any(type(e).__name__ in _SPEED_EFFECTS or "time remap" in (e.name or "").lower()
               or "timeremap" in (e.effect_name or "").lower() for e in item.effects)


def _clip_range(item, path: Path) -> tuple[float, float]:
    """The clip's in point (s from its file's start) and duration, each range-checked."""
    sr = item.trimmed_range()
    where = f"{path}: clip {item.name!r}"
    for t in (sr.start_time, sr.duration):
        if not (math.isfinite(t.rate) and 0 < t.rate <= RATE_MAX and math.isfinite(t.value)):
            raise ScaffoldError(f"{where}: a time of {t.value:g} frames at {t.rate:g} fps "
                                f"(a rate must be above 0 and at most {RATE_MAX:g})")
    dur = sr.duration.to_seconds()
    if dur <= 0:
        raise ScaffoldError(f"{where}: lasts {dur:g} s: a clip must last more than 0 s")
    start = sr.start_time.to_seconds()
    avail = getattr(item.media_reference, "available_range", None)
    if avail is not None:  # source time is the file's timecode: count from its start
        start -= avail.start_time.to_seconds()
    if start < -1e-6:
        raise ScaffoldError(f"{where}: starts {-start:g} s before its file's first frame: "
                            "relink the clip in the editor and export again")
    return max(0.0, start), dur


class FileStarts:
    """Source time counted from each clip file's own start timecode, where the timeline does
    not give it (an EDL; .otio without `available_range`): each file probed once, an event
    outside its file refused in one line."""

    def __init__(self, timeline: Path):
        self.timeline = timeline
        self.probed: dict[Path, Optional[tuple]] = {}  # (StartTimecode or None, length s)
        self.unstamped: list[str] = []  # files read with no timecode: counted from 0
        self.unread: list[str] = []  # clips an hour in or later whose file was not read

    def given(self, clip) -> bool:
        """Whether the timeline says where the clip starts in its file: its start given
        (subtracted in _clip_range), or FCP 7 XML's <in> with no <timecode>: frames from
        the file's first, whatever its stamp. Else it is source timecode (an EDL's)."""
        return (getattr(clip.media_reference, "available_range", None) is not None
                or self.timeline.suffix.lower() == ".xml")

    def in_point(self, clip, media: Path, in_s: float, dur: float) -> float:
        if self.given(clip):
            return in_s
        got = self._probe(clip, media)
        if got is None:
            if in_s >= 3600:
                self.unread.append(clip.name)
            return in_s
        tc, length = got
        start = in_s - (tc.seconds if tc else 0.0)
        frame = 1 / clip.trimmed_range().duration.rate
        if start < -1e-6 or start + dur > length + frame:
            from opentimelineio import opentime

            src, rate = clip.trimmed_range(), clip.trimmed_range().duration.rate
            runs = f"whose timecode runs {tc.text()}-{tc.text(length)}" if tc else (
                "which carries no start timecode (counted 00:00:00:00-" + opentime.to_timecode(
                    opentime.RationalTime.from_seconds(length, rate).round()) + ")")
            at = "-".join(map(opentime.to_timecode, (src.start_time, src.end_time_exclusive())))
            raise ScaffoldError(
                f"{self.timeline}: clip {clip.name!r} at source {at} lies outside {media.name}, "
                f"{runs}: " + ("give --media-root the files the editor cut, and --fps the "
                               "EDL's rate" if tc else
                               "give --media-root the files the editor cut (they carry its "
                               "timecode), or stamp this one with its start (ffmpeg -i IN "
                               "-c copy -timecode 01:00:00:00 OUT)"))
        return max(0.0, start)

    def _probe(self, clip, media: Path) -> Optional[tuple]:
        from empathy.host.player.probe import ProbeError, describe
        from empathy.host.player.timecode import start_timecode

        if media not in self.probed:
            try:
                info = describe(media)
            except ProbeError:  # not here, or not a video: `story check` names it
                self.probed[media] = None
                return None
            try:
                tc = start_timecode(media, info.fps)
            except ProbeError as e:
                raise ScaffoldError(f"{self.timeline}: clip {clip.name!r}: {e}") from None
            if tc is None:
                self.unstamped.append(media.name)
            self.probed[media] = (tc, info.duration_s)
        return self.probed[media]

    def say(self, warn) -> None:
        if self.unstamped:
            warn(f"{self.timeline}: {len(self.unstamped)} files carry no start timecode "
                 f"({_some(self.unstamped)}): their clips' source in points count from "
                 "00:00:00:00")
        if self.unread:  # an EDL names source timecode, not where the file's own starts
            warn(f"{self.timeline}: {len(self.unread)} clips start at source timecode "
                 f"01:00:00:00 or later ({_some(self.unread)}) and their files were not read "
                 "here: in_s counts from 00:00:00:00; give --media-root the clips so their "
                 "own start timecode is subtracted")


def _url(clip) -> str:
    import opentimelineio as otio

    ref = clip.media_reference
    if isinstance(ref, otio.schema.ImageSequenceReference):
        from empathy.host.story_timeline_seq import first_frame_url

        return first_frame_url(ref)
    return ref.target_url if isinstance(ref, otio.schema.ExternalReference) else ""


class Listings:
    """Each folder's entries, sorted, listed once: a glob per clip read the whole folder
    again for every clip (clips x files)."""

    def __init__(self):
        self.names: dict[Path, list[str]] = {}

    def listed(self, folder: Path) -> list[str]:
        if folder not in self.names:
            try:
                self.names[folder] = sorted(os.listdir(folder))
            except OSError:  # no such folder, or not one: glob found nothing there either
                self.names[folder] = []
        return self.names[folder]

    def first(self, folder: Path, prefix: str, exact: bool = False) -> Optional[Path]:
        """The entry named `prefix` (exact), else `prefix` with a video suffix, else the first
        (in name order) starting with it and ending in one, as sorted(folder.glob(prefix +
        "*")) would find it."""
        from empathy.host.story_new import VIDEO_SUFFIXES

        names = self.listed(folder)
        if not exact:  # `X.mov` before `X (48.00 FPS).mov`, another clip that sorts first
            for i in range(bisect.bisect_left(names, prefix + "."), len(names)):
                if not names[i].startswith(prefix + "."):
                    break
                if names[i][len(prefix):].lower() in VIDEO_SUFFIXES:
                    return folder / names[i]
        for i in range(bisect.bisect_left(names, prefix), len(names)):  # the names after it
            if not names[i].startswith(prefix) or (exact and names[i] != prefix):
                return None
            if exact or Path(names[i]).suffix.lower() in VIDEO_SUFFIXES:
                return folder / names[i]
        return None


def media_path(clip, timeline: Path, search: list[Path], listings: Listings) -> Path:
    """The file behind a timeline clip: its reference's path where that file is here, else a
    file of the same name in the search folders (the editor's machine had other drives),
    else a video file named after the clip."""
    url = _url(clip)
    if url:
        if _WINDOWS_PATH.match(url):  # an Avid or Nucoda EDL's `* FROM CLIP: S:\...`
            p = Path(url.replace("\\", "/").split(":", 1)[-1])
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("file", ""):
                raise ScaffoldError(f"{timeline}: clip {clip.name!r}: {url} is not a local file")
            p = Path(unquote(parts.path))
            p = p if p.is_absolute() else timeline.parent / p
            if p.exists():
                return p
        for root in search:
            found = listings.first(root, p.name, exact=True)
            if found:
                return found
        return p if p.is_absolute() and not _WINDOWS_PATH.match(url) else search[0] / p.name
    folder, _, prefix = clip.name.replace("\\", "/").rpartition("/")  # a name with a slash
    for root in search:  # an EDL without file comments names only the clip or reel
        found = listings.first(root / folder, prefix)
        if found:
            return found
    return search[0] / clip.name.replace("\\", "/").lstrip("/")


def _drop_frame_marks(text: str) -> str:
    """Events under `FCM: DROP FRAME` with their timecodes as hh:mm:ss;ff. CMX 3600 lets the
    header say drop frame and the events keep colons; the adapter goes by the separator only
    and read them as non-drop, off by 2 frames a minute (108 an hour)."""
    lines, drop = text.splitlines(keepends=True), False
    for i, line in enumerate(lines):
        fcm = re.match(r"\s*FCM:\s*(NON)?", line, re.I)
        if fcm:
            drop = fcm.group(1) is None
        elif drop and whole(line[:1]) is not None:
            lines[i] = re.sub(r"\b(\d\d:\d\d:\d\d):(\d\d)\b", r"\1;\2", line)
    return "".join(lines)


def _check_depth(path: Path, text: str) -> None:
    """OpenTimelineIO's C++ reader recurses at each level of nesting: 5,000 levels held it
    15 s, 10,000 a minute, and 100,000 (a 400 KB file) crashed the process (SIGSEGV)."""
    depth = 0
    for m in _JSON_NESTING.finditer(text):
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(m.group(), 0)
        if depth > OTIO_DEPTH_MAX:
            raise ScaffoldError(f"{path}: nested deeper than {OTIO_DEPTH_MAX} levels (an "
                                "editor's timeline nests about 15): not a timeline to read")


def _check_edl(path: Path, text: str, fps: float) -> None:
    """Each event's numbering and timecodes. An event numbered like the one before it is, in
    CMX 3600, a transition into it (D, W, K): a cut (C) numbered so comes from per-track
    numbering, which the adapter misreads. A timecode is hh:mm:ss:ff below 24 h and the
    rate, the record out not before the record in: the adapter takes 25:00:00:00 as it is."""
    prev = None  # (number, line) of the last event
    frames = math.ceil(fps - 1e-3)  # 23.976 counts 24 frames a second, 29.97 counts 30
    for i, line in enumerate(text.splitlines(), 1):
        f = line.split()
        number = whole(f[0]) if f else None
        if number is None:
            continue
        if prev and number == prev[0] and len(f) > 3 and f[3].upper() == "C":
            raise ScaffoldError(f"{path}:{i}: event {f[0]} is a cut numbered like the event on "
                                f"line {prev[1]} (a repeated number means a transition): "
                                "export the EDL again with its events numbered in order")
        prev = (number, i)
        codes = [TIMECODE.match(t) for t in f[-4:]]
        if not all(codes):
            continue  # not an event line the adapter reads as one; it says so itself
        for m in codes:
            h, mi, s, fr = map(int, m.groups())
            if h >= 24 or mi >= 60 or s >= 60 or fr >= frames:
                raise ScaffoldError(f"{path}:{i}: timecode {m.group()} is not a time of day "
                                    f"at {fps:g} fps (hh < 24, mm and ss < 60, ff < {frames})")
        rec_in, rec_out = (sum(int(v) * k for v, k in zip(m.groups(), (3600, 60, 1, 0)))
                           * frames + int(m.group(4)) for m in codes[2:])
        if rec_out < rec_in:
            raise ScaffoldError(f"{path}:{i}: record out {codes[3].group()} is before record "
                                f"in {codes[2].group()}")
