"""Apple Health's export (export.xml, or the export.zip holding it), read as a stream: it is
hundreds of MB to GBs, so records are let go once read (and a progress bar shows on a
terminal). What it holds of the heart (the export's own DTD; real records' layout as
public readers quote it):

- HKQuantityTypeIdentifierHeartRate records: value (count/min) at startDate ('2021-03-27
  16:17:11 +1100', local time and its zone), a reading every few minutes, every few
  seconds in a workout: a rate, no beats (`signal hr`, as TCX/GPX).
- HKQuantityTypeIdentifierHeartRateVariabilitySDNN records: a spot check of about a
  minute, Apple's own SDNN as value, and its beats as InstantaneousBeatsPerMinute (bpm
  rounded to a whole beat a minute, time the local time of day to 1/100 s: '4:17:18.57 pm'),
  beats Apple judged unclean left out. Both roundings bound each interval (the time to
  +-10 ms, the bpm to +-8 ms at 60 bpm); the interval read is the middle of where both
  allow, and where they cannot both hold, beats were left out: a gap, not neighbours.
  So these beats give a coarse RR (a few ms): `signal hrv` reads one session (said so).

The span read is the newest day's heart rate, the newest HRV session, unless --start/--end
(local wall time, as the file writes it) pick another; of one source (--source picks it:
edge/signal_apple_sources.py)."""

from __future__ import annotations

import re
import sys
import warnings
import zipfile
from array import array
from datetime import datetime, timedelta
from xml.etree import ElementTree

import numpy as np

from empathy.edge.signal_apple_sources import known, pick, said, shown, source_name, span_of
from empathy.edge.signal_apps import HR_BPM, Rate, SignalNote
from empathy.edge.signal_columns import SignalFileError
from empathy.edge.signal_packed import APPLE_XML, ZIP, apple_chunks, apple_member
from empathy.edge.signal_tracks import ENTITIES, MAX_TAG, TAG_TOO_LONG

HR, HRV = "HKQuantityTypeIdentifierHeartRate", "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
BAR_BYTES = 32 << 20  # a read this long shows a progress bar (on a terminal)
MAX_HELD = 100_000  # elements inside one of HealthData's (a record holds tens; an HRV one ~100)
# A time of day as the export writes it: 24-hour, or 12-hour where the phone was set to
# 12-hour time: iOS then writes its locale's am/pm word, after the time ('2024-09-28
# 4:51:59 pm +1000' in en_AU, '7:57:00\u202fam' with iOS 17's narrow no-break space: the
# same HealthKit dates as Health Auto Export's, github.com/joeecarter/health-import-server
# issue 5, irvinlim/apple-health-ingester issue 24; beats' '4:17:18.57 pm'); English's
# am/pm (a.m., PM...) is read, other words refused (no real export of them seen)
CLOCK = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?\s*(?:([AaPp])\.?\s*[Mm]\.?)?")
RECORD_DATE = re.compile(r"(\d{4}-\d{2}-\d{2}) +" + CLOCK.pattern + r"\s*([+-])(\d{2})(\d{2})")
WORD = re.compile(r"\d\s*([^\d\s+-][^\d+-]*?)\s*(?:[+-]\d{4})?$")  # what stands after the time
TICK = 0.01  # s: the export's beat times are to 1/100 s
CONTROLS = bytes(c for c in range(32) if c not in b"\t\n\r")  # no XML 1.0 character
def is_apple_zip(path: str, head: bytes) -> bool:
    if not head.startswith(ZIP):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return apple_member(z) is not None
    except (zipfile.BadZipFile, OSError, ValueError):
        return False  # (the text reader says what it is)


def _records(path: str, kind: str):
    """Each record of this type: (attributes, [(bpm, time) of its beats])."""
    parser, depth, root, prolog = ElementTree.XMLPullParser(("start", "end")), 0, None, b""
    held = quiet = 0  # elements read since HealthData's last child ended (held till then);
    # bytes fed since the parser last gave a tag
    chunks = apple_chunks(path)
    size = next(chunks)
    with _bar(size) as advance:
        try:
            for chunk in _mended(path, chunks):
                advance(len(chunk))
                if root is None:  # entities are declared before the root: none are let in
                    # (NULs out: UTF-16's; the last chunk's tail kept: a '<!ENTITY' across two)
                    prolog = prolog[-16:] + chunk.replace(b"\x00", b"")
                    if b"<!ENTITY" in prolog:
                        raise SignalFileError(f"{path}: {ENTITIES}")
                parser.feed(chunk)
                quiet += len(chunk)
                for event, el in parser.read_events():
                    quiet = 0
                    if event == "start":
                        root, depth, held = el if root is None else root, depth + 1, held + 1
                        if held > MAX_HELD:
                            raise SignalFileError(f"{path}: an element holding over "
                                                  f"{MAX_HELD:,} elements: not Apple Health's "
                                                  "export (its records hold tens)")
                        continue
                    depth -= 1
                    if el.tag == "Record" and el.get("type") == kind:
                        yield el.attrib, [(b.get("bpm"), b.get("time")) for b in
                                          el.iter("InstantaneousBeatsPerMinute")]
                    if depth == 1:
                        root.clear()  # (what is read is let go)
                        held = 0
                if quiet > MAX_TAG:
                    raise SignalFileError(f"{path}: {TAG_TOO_LONG}: not Apple Health's "
                                          "export (its tags are kilobytes)")
            parser.close()
        except ElementTree.ParseError as e:
            raise SignalFileError(f"{path}: not whole XML ({e}): a copy cut short? export it "
                                  "again") from None
    if root is None or root.tag != "HealthData":
        raise SignalFileError(f"{path}: no HealthData in it: not Apple Health's {APPLE_XML}")


def _mended(path: str, chunks):
    """export.xml's bytes as a parser can read them: iOS 16 (HealthKit Export Version 12)
    wrote its DTD broken ('<!ATTLIST VisionPrescription' never closed: 'syntax error: line
    156', fedecalendino/apple-health issue 1, markwk/qs_ledger issue 23) and a vertical tab
    (\\x0b, no XML character) into some values (jameno/Simple-Apple-Health-XML-to-CSV pull
    3): the DTD before the root is left out (nothing is read from it; one declaring
    entities is refused first) and C0 controls other than tab and newlines are dropped
    (UTF-8 only: no byte of another character is one)."""
    head, utf8 = b"", True
    for chunk in chunks:
        if head is None:
            yield chunk.translate(None, CONTROLS) if utf8 else chunk
            continue
        head += chunk
        root = head.find(b"<HealthData")
        if root < 0 and len(head) <= MAX_TAG:
            continue
        if b"<!ENTITY" in head.replace(b"\x00", b""):
            raise SignalFileError(f"{path}: {ENTITIES}")
        utf8 = b"\x00" not in head[:256]
        start = head.find(b"<!DOCTYPE", 0, root)
        end = head.rfind(b"]>", start, root)
        if utf8 and root > 0 and 0 <= start < end:
            head = head[:start] + head[end + 2:]
        yield head.translate(None, CONTROLS) if utf8 else head
        head = None
    if head:
        yield head


class _bar:
    """A rich progress bar on stderr for a long read on a terminal; else nothing."""

    def __init__(self, size: int):
        self.size, self.progress = size, None

    def __enter__(self):
        if self.size < BAR_BYTES or not sys.stderr.isatty():
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self.progress = Progress("reading Apple Health's export", BarColumn(),
                                 DownloadColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)
        self.progress.start()
        task = self.progress.add_task("", total=self.size)
        return lambda n: self.progress.advance(task, n)

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()


def _when(path: str, text: str | None) -> tuple[datetime, timedelta]:
    """(local wall time, its offset from UTC) of '2021-03-27 16:17:11 +1100' (or of a
    12-hour '2021-03-27 4:17:11 pm +1100')."""
    try:
        if len(text) == 25 and text[19] == " ":  # (the 24-hour form: most exports' all)
            local, sign, zone = datetime.fromisoformat(text[:19]), text[20], text[21:25]
        else:
            m = RECORD_DATE.fullmatch(text.strip())
            local = datetime.fromisoformat(m[1]).replace(
                hour=_hour(int(m[2]), m[6]), minute=int(m[3]), second=int(m[4]))
            sign, zone = m[7], m[8] + m[9]
        if sign not in "+-" or int(zone[:2]) > 14 or int(zone[2:]) > 59:  # (-12:00..+14:00)
            raise ValueError(zone)
        return local, (-1 if sign == "-" else 1) * timedelta(hours=int(zone[:2]),
                                                              minutes=int(zone[2:]))
    except (TypeError, ValueError, IndexError):
        raise SignalFileError(f"{path}: a record's date {_said(text)} is not "
                              "'YYYY-MM-DD hh:mm:ss +hhmm'" + _word(text)) from None


def _said(text) -> str:
    return ascii(str(text)[:40]) if not str(text).isprintable() else repr(str(text)[:40])


def _word(text) -> str:
    """Where a locale's word for am/pm we do not read stands after the time: say so."""
    m = WORD.search(str(text)[:60])
    if not m or CLOCK.fullmatch("1:00:00 " + m[1]):
        return ""
    return (f": its time of day is in {_said(m[1])}, a 12-hour clock's word we do not read "
            "(English am/pm only); set the iPhone to 24-hour time (Settings > General > "
            "Date & Time) and export again")


def _hour(h: int, half: str | None) -> int:
    """The hour of the day of a 12-hour clock's 1..12 and its am/pm."""
    if half is None:
        return h
    if not 1 <= h <= 12:
        raise ValueError(h)
    return h % 12 + (12 if half in "Pp" else 0)


def _within(local: datetime, start, end) -> bool:
    return (start is None or local >= start) and (end is None or local < end)


def apple_rate(path: str, span=(None, None)) -> Rate:
    """One source's heart-rate records in the span (default: the newest record's local
    day; the source covering the most minutes there, or --source's: signal_apple_sources)."""
    start, end, asked = span_of(span)
    series: dict[str, tuple] = {}  # source: (UTC s, bpm, local day) of its records
    for a, _ in _records(path, HR):
        local, zone = _when(path, a.get("startDate"))
        if not _within(local, start, end):
            continue
        try:
            v = float(a.get("value"))
        except (TypeError, ValueError):
            v = float("nan")
        if not HR_BPM[0] <= v <= HR_BPM[1]:
            raise SignalFileError(f"{path}: a heart-rate record of {a.get('value')!r} at "
                                  f"{a.get('startDate')}: not {HR_BPM[0]:g}..{HR_BPM[1]:g} bpm")
        name = source_name(a)
        t, bpm, day = series.get(name) or series.setdefault(
            known(path, series, name), (array("d"), array("d"), array("l")))
        t.append((local - datetime(1970, 1, 1) - zone).total_seconds())  # (UTC; no overflow)
        bpm.append(v)
        day.append(local.toordinal())
    if not series:
        raise SignalFileError(f"{path}: Apple Health's export with no heart-rate records"
                              + (" in that span" if (start, end) != (None, None) else ""))
    series = {n: tuple(map(np.asarray, v)) for n, v in series.items()}
    if (start, end) == (None, None):  # the newest day (of --source's records, if asked)
        mine = [series[pick(path, _counts(series), asked, "records")]] if asked else \
            series.values()
        newest = max((v[0].max(), v[2][np.argmax(v[0])]) for v in mine)[1]
        series = {n: tuple(x[v[2] == newest] for x in v) for n, v in series.items()
                  if np.any(v[2] == newest)}
    counts = _counts(series)
    minutes = {n: len(np.unique(v[0] // 60)) for n, v in series.items()}
    name = pick(path, counts, asked, "records", minutes)
    t_, bpm_, _ = series[name]
    order = np.argsort(t_, kind="stable")
    t_, bpm_ = t_[order], bpm_[order]
    if len(counts) > 1:
        warnings.warn(SignalNote(
            f"{path}: heart-rate records of {len(counts)} sources in the span: "
            f"{said(counts, 'records')}; read {shown(name)}'s alone "
            f"({'as --source asked' if asked else 'the one covering the most of it'}: "
            f"{minutes[name]:,} minutes with records; --source NAME reads another's): merged, "
            "a workout's rate would be there twice"))
    return Rate(t_ - t_[0], bpm_, f"Apple Health's heart-rate records of {name}", 0,
                sources=counts)


def _counts(series: dict) -> dict[str, int]:
    return {n: len(v[0]) for n, v in series.items()}


def _tod(path: str, text: str | None) -> float:
    """s into the day of '4:17:18.57 pm' (or a 24-hour '16:17:18.57')."""
    m = CLOCK.fullmatch((text or "").strip())
    if not m:
        raise SignalFileError(f"{path}: a beat's time {_said(text)} is not "
                              "'h:mm:ss.SS am/pm'" + _word(text))
    mi, s = int(m[2]), int(m[3])
    try:
        h = _hour(int(m[1]), m[5])
    except ValueError:
        h = 99
    if h > 23 or mi > 59 or s > 60:
        raise SignalFileError(f"{path}: a beat's time {_said(text)} is no time of day")
    return 3600 * h + 60 * mi + s + (float("0." + m[4]) if m[4] else 0.0)


def apple_beats(path: str, span=(None, None)) -> np.ndarray:
    """Beat times (s) of the newest HRV session in the span, each interval the middle of what
    both the times and the rounded bpm allow; a gap where they cannot both hold."""
    start, end, asked = span_of(span)
    newest, sessions = {}, {}  # per source: its newest session (years of them are GBs), count
    for a, beats in _records(path, HRV):
        local, _ = _when(path, a.get("startDate"))
        if _within(local, start, end) and len(beats) >= 2:
            name = source_name(a)
            sessions[name] = sessions.get(known(path, sessions, name), 0) + 1
            if name not in newest or local > newest[name][0]:
                newest[name] = (local, a.get("value"), beats)
    if not newest:
        raise SignalFileError(f"{path}: Apple Health's export with no HRV sessions' beats "
                              "(InstantaneousBeatsPerMinute)" + (
                                  " in that span" if (start, end) != (None, None) else "")
                              + "; `signal hr` reads its heart-rate records")
    name = pick(path, sessions, asked, "sessions") if asked else \
        max(newest, key=lambda n: (newest[n][0], n))  # (a session is read whole, never merged)
    local, sdnn, beats = newest[name]
    if len(sessions) > 1:
        warnings.warn(SignalNote(
            f"{path}: HRV sessions of {len(sessions)} sources in the span: "
            f"{said(sessions, 'sessions')}; read {shown(name)}'s "
            f"newest ({'--source' if asked else 'the newest of all'}; --source NAME reads "
            "another's)"))
    try:
        sdnn = f"{float(sdnn):.1f} ms" if 0 <= float(sdnn) <= 1000 else "none readable"
    except (TypeError, ValueError):
        sdnn = "none readable"
    t = np.array([_tod(path, tm) for _, tm in beats])
    t += 86400 * np.concatenate(([0], np.cumsum(np.diff(t) < -43200)))  # (past midnight)
    try:
        bpm = np.array([float(b) for b, _ in beats])
    except (TypeError, ValueError):
        raise SignalFileError(f"{path}: a beat's bpm is no number (session of {local})") \
            from None
    if not np.all((bpm >= HR_BPM[0]) & (bpm <= HR_BPM[1])) or np.any(np.diff(t) <= 0):  # (NaN)
        raise SignalFileError(f"{path}: the session of {local} has a beat of no rate "
                              f"({HR_BPM[0]:g}..{HR_BPM[1]:g} bpm) or beats out of time order")
    out, gaps = [t[0]], 0
    for k in range(1, len(t)):
        dt = t[k] - t[k - 1]
        lo, hi = max(dt - TICK, 60 / (bpm[k] + 0.5)), min(dt + TICK, 60 / (bpm[k] - 0.5))
        if lo <= hi:
            out.append(out[-1] + (lo + hi) / 2)
        else:  # beats left out between: the gap as the times give it
            out.append(out[-1] + dt)
            gaps += 1
    warnings.warn(SignalNote(
        f"{path}: Apple Health's HRV session of {local} ({sessions[name]} in the span read; "
        f"--start/--end pick another): {len(t)} beats, {gaps} places with beats left out; its "
        "bpm are whole and its times to 1/100 s, so each interval is known to a few ms: a "
        f"coarse RMSSD; Apple's own SDNN for it: {sdnn}"))
    return np.asarray(out) - out[0]
