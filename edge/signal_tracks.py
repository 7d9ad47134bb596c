"""An activity's track as Garmin Connect and Strava export it: TCX (Garmin's
TrainingCenterDatabase v2: Trackpoint/Time, HeartRateBpm/Value) or GPX 1.1 (trkpt/time,
the Garmin TrackPointExtension's hr). A heart-rate reading a trackpoint (a second or a
few), no beats: `signal hr` gives the rate; the beats, where the watch logged them, are
in the activity's original FIT file. Read as a stream: a day's track is large."""

from __future__ import annotations

from array import array
from datetime import datetime, timezone
from xml.etree import ElementTree

import numpy as np

from empathy.edge.signal_apps import HR_BPM, Rate
from empathy.edge.signal_columns import SignalFileError

POINTS = ("Trackpoint", "trkpt")  # TCX's, GPX's
NO_BEATS = ("a TCX/GPX track: a heart-rate reading a trackpoint, no beats, so no HRV; give "
            "the activity's original FIT file ('Export Original' in Garmin Connect or "
            "Strava), which holds the beats where the watch logged them ('Log HRV')")


def _name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # (without its namespace)


ENTITIES = ("an XML file that declares entities (<!ENTITY), which no watch's or phone's "
            "export does (an entity bomb?)")
PROLOG = 1 << 20  # bytes read at a time for declarations: the DTD comes before the first element
MAX_HELD = 100_000  # elements held outside the trackpoints (a lap's summary: tens)
MAX_TAG = 16 << 20  # bytes read without a tag ending (the parser holds it whole; real: kB)
TAG_TOO_LONG = f"a tag over {MAX_TAG >> 20} MiB long (the parser would hold it whole)"


def track_hr(path: str) -> Rate:
    try:
        with open(path, "rb") as f:
            if _declares_entities(f):
                raise SignalFileError(f"{path}: {ENTITIES}")
            f.seek(0)
            head = f.read(PROLOG)
            f.seek(len(head) - len(head.lstrip()))  # (Strava's TCX: spaces before '<?xml')
            t, hr, none = _points(path, f)
    except ElementTree.ParseError as e:
        raise SignalFileError(f"{path}: a TCX/GPX file that is not whole XML ({e}): a copy "
                              "cut short? export it again") from None
    except OSError as e:
        raise SignalFileError(f"{path}: cannot read: {e.strerror or e}") from None
    if not len(hr):
        raise SignalFileError(f"{path}: a TCX/GPX track with no heart rate in it" + (
            f" ({none} readings of 0: no contact)" if none else ""))
    return Rate(np.asarray(t) - t[0], np.asarray(hr), "a TCX/GPX track's trackpoints", none)


def _declares_entities(f) -> bool:
    """Whether all before the first element declares entities: read to it a chunk at a
    time (a megabyte of comment hides nothing), NULs out (UTF-16's)."""
    parser, seen = ElementTree.XMLPullParser(("start",)), b""
    while chunk := f.read(PROLOG):
        seen = seen[-16:] + chunk.replace(b"\x00", b"")  # (one across two chunks)
        if b"<!ENTITY" in seen:
            return True
        parser.feed(chunk.lstrip() if f.tell() == len(chunk) else chunk)  # (Strava's spaces)
        if next(parser.read_events(), None):
            return False
    return False


def _points(path: str, f) -> tuple[array, array, int]:
    """(s, bpm, readings of 0) of each trackpoint with a time, read as a stream."""
    t, hr, none = array("d"), array("d"), 0
    stack, held, mark = [], 0, 0  # (elements open; held: those kept, the points' let go)
    fed = _Fed(f, path)
    for event, el in ElementTree.iterparse(fed, events=("start", "end")):
        fed.quiet = 0
        if event == "start":
            mark = held if el.tag.endswith(POINTS) else mark
            stack.append(el)
            held += 1
            if held > MAX_HELD:
                raise SignalFileError(f"{path}: over {MAX_HELD:,} elements outside its "
                                      "trackpoints: not a TCX/GPX track")
            continue
        stack.pop()
        if not el.tag.endswith(POINTS) or _name(el.tag) not in POINTS:
            continue
        stamp = next((c.text for c in el if _name(c.tag) in ("Time", "time")), None)
        value = next((e.text for e in el.iter() if _name(e.tag) in ("Value", "hr")), None)
        if stack:  # (what is read is let go; the parser may have read on past it)
            _del_child(stack[-1], el)
        held = mark
        if stamp is None:
            continue
        at, v = _point(path, stamp, value)
        if v == 0:
            none += 1
            continue
        if t and at < t[-1]:
            raise SignalFileError(f"{path}: its trackpoints' times go backwards (at "
                                  f"{stamp.strip()[:40]})")
        t.append(at)
        hr.append(v)
    return t, hr, none


class _Fed:
    """The file as the parser reads it, and the bytes read since it last gave a tag."""

    def __init__(self, f, path: str):
        self.f, self.path, self.quiet = f, path, 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.quiet += len(data)
        if self.quiet > MAX_TAG:
            raise SignalFileError(f"{self.path}: {TAG_TOO_LONG}: not a TCX/GPX track")
        return data


def _del_child(parent, el) -> None:
    """`el` out of `parent`'s children: its newest, unless the parser read on past it."""
    if len(parent) and parent[-1] is el:
        del parent[-1]
    else:
        parent.remove(el)


def _point(path: str, stamp: str, value: str | None) -> tuple[float, float]:
    """(s, UTC; bpm, 0 where none) of a trackpoint, range-checked."""
    try:
        when = datetime.fromisoformat(stamp.strip())
        v = float(value) if value is not None and value.strip() else 0.0
    except ValueError:
        raise SignalFileError(f"{path}: a trackpoint at {stamp.strip()[:40]!r}, heart rate "
                              f"{str(value).strip()[:20]!r}: not a time and a rate") from None
    if v != 0 and not HR_BPM[0] <= v <= HR_BPM[1]:
        raise SignalFileError(f"{path}: heart rate {value.strip()[:20]!r} at "
                              f"{stamp.strip()[:40]} is not {HR_BPM[0]:g}..{HR_BPM[1]:g} bpm")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # (a track's times are UTC, its 'Z' or not)
    return when.timestamp(), v
