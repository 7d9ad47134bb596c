"""Beats and heart rates as watches and phone apps record them, not as waveforms:

- Garmin FIT (.fit, read with fitdecode): the beat intervals of its hrv messages (FIT
  message 78: up to five intervals each, in s; 0xFFFF none), laid end to end (they carry no
  time, but the records' stamps around them place them where beats were lost: Part);
  each file of a chained FIT starts at its own first timestamp. Else the beats a strap
  stored while the watch could not hear it (a swim: hr messages, StoredBeats). Else the
  record messages' heart_rate (a reading a second or so): a rate, no beats, so no HRV;
  `signal hr` gives that rate too where the beats cover a part of the recording only.
- Polar Sensor Logger's HR.txt: 'Phone timestamp;HR [bpm];HRV [ms];Breathing interval
  [rpm];', a reading a second; a row ends after the last field the strap sent (2 to 4
  fields). Its HRV is the app's own (an RMSSD over 30 beats); the beats themselves are in
  the _RR.txt beside it.
(HRV Logger's RR.csv is a table: edge.signal_columns names its 'since start' clock. TCX
and GPX tracks: edge.signal_tracks.)"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from array import array
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np

from empathy.edge.signal_columns import SignalFileError
from empathy.edge.signal_dst import across_clock_change
from empathy.edge.signal_fit_beats import MIN_BEATS, Part, StoredBeats, laid_beats, stamp16
from empathy.edge.signal_text import MAX_LINE

HRV_MESG, RECORD_MESG, HR_MESG, MONITORING_MESG = 78, 20, 132, 55  # FIT global messages
BEATS_MESG = 290  # beat_intervals: newer watches' beats (field 1 `time`: uint16 ms array)
HR_BPM = (20.0, 300.0)  # a reported rate; 0 is the device's "no reading"
COVER = 0.9  # beats over this much of the recording's span give its rate
# a reading weighs in the mean rate until the next, at most this long (longer: no reading
# tells the rate there): a watch reads a resting wrist every few minutes (Apple Watch, a
# Garmin's 'smart' recording), so a 10-s bound let a day of them weigh nothing beside a
# workout read every few seconds (a day at 60 bpm with 40 min at 140 read 140)
HOLD_S = 900.0
POLAR_HR = "phone timestamp;hr [bpm]"
POLAR_FLOW = ("name,sport,date,start time", "sample rate,time,hr (bpm)")  # lines 1 and 3
TURN_ON = ("record with beat intervals on (Garmin: 'Log HRV' in the watch's data recording "
           "settings, or a chest strap that sends them)")


class SignalNote(UserWarning):
    """What a user should know of a file read (it ends early): the CLI says it on stderr
    (stdout may be JSON) where the reading succeeds, so a refusal stays one line."""


@dataclass
class Rate:
    """A heart-rate series, a reading at a time: a device's rate, no beats."""
    t: np.ndarray  # s from the first reading
    bpm: np.ndarray
    source: str
    none: int  # readings of 0 or invalid: no contact
    sources: dict[str, int] | None = None  # where a file holds several (Apple Health): readings


def app_file(path: str) -> str | None:
    """'fit', 'polar-hr', 'polar-flow', 'apple-health' or 'track' (TCX, GPX) where the file
    is one of these (by its bytes, not its name)."""
    try:  # (a FIFO blocks open(): the readers refuse what is no regular file)
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None  # the readers say why
    if len(head) >= 12 and head[8:12] == b".FIT":
        return "fit"
    if head and path.lower().endswith(".fit"):  # named so, so the FIT reader says what is wrong
        return "fit"  # (a CSV's 'not UTF-8 text: save it as UTF-8 CSV' misled)
    # export.xml opens with its DTD; export.zip holds it in apple_health_export/
    from empathy.edge.signal_apple import is_apple_zip

    if b"<!DOCTYPE HealthData" in head or is_apple_zip(path, head):
        return "apple-health"
    if any(tag in head for tag in (b"<TrainingCenterDatabase", b"<gpx", b"<!DOCTYPE gpx",
                                   b"<!DOCTYPE TrainingCenterDatabase")):
        return "track"
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("latin-1").strip().lower()
    return ("polar-hr" if first.startswith(POLAR_HR) else
            "polar-flow" if first.startswith(POLAR_FLOW[0]) else None)


class Fit(NamedTuple):
    beats: np.ndarray | None  # s: the hrv messages', else a strap's stored beats
    rate: Rate | None  # the records' heart rate
    part: bool  # beats that cover under COVER of the recording (a triathlon's swim)


def read_fit(path: str) -> Fit:
    """The beats (s from the first; hrv messages, else stored beats), the records' rate, and
    whether the beats cover a part of the recording only."""
    try:
        import fitdecode
    except ImportError:
        raise SignalFileError(f"{path}: a FIT file, which is read with fitdecode (not "
                              "installed here): pip install fitdecode") from None
    parts: list[Part] = []  # per chained file: hrv messages'
    beat_parts: list[Part] = []  # ... beat_intervals messages'
    t_hr, hr, none = array("d"), array("d"), 0
    stored, cut = StoredBeats(path), None
    try:  # a field of an odd size (COROS writes a uint32 one byte wide) is read as bytes,
        # warned, not refused: the checksum still tells a damaged file
        with fitdecode.FitReader(path, check_crc=fitdecode.CrcCheck.RAISE,
                                 error_handling=fitdecode.ErrorHandling.WARN) as fit, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for frame in fit:
                if isinstance(frame, fitdecode.FitHeader):
                    parts.append(Part())
                    beat_parts.append(Part())
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                stamp = _stamp(frame)
                parts[-1].seen(stamp)
                beat_parts[-1].seen(stamp)
                if frame.global_mesg_num == HRV_MESG:
                    parts[-1].add(_intervals(frame))
                elif frame.global_mesg_num == BEATS_MESG:
                    beat_parts[-1].add([ms / 1000 for ms in _intervals(frame)])
                elif frame.global_mesg_num == HR_MESG:
                    stored.add(frame, stamp)
                elif frame.global_mesg_num in (RECORD_MESG, MONITORING_MESG) and \
                        frame.has_field("heart_rate"):
                    v = frame.get_value("heart_rate", fallback=None)
                    if stamp is None and (stamp := stamp16(frame, parts[-1].latest)):
                        parts[-1].seen(stamp)  # (the next 16 bits count on from it)
                    if stamp is None:
                        continue
                    if not isinstance(v, (int, float)) or v == 0:
                        none += 1
                        continue
                    if not HR_BPM[0] <= v <= HR_BPM[1]:
                        raise SignalFileError(f"{path}: a record's heart_rate is {v} bpm, "
                                              f"not {HR_BPM[0]:g}..{HR_BPM[1]:g}: not a heart "
                                              "rate")
                    t_hr.append(stamp)
                    hr.append(float(v))
    except fitdecode.FitCRCError:
        raise SignalFileError(f"{path}: a FIT file whose checksum (CRC) is wrong: a copy "
                              "damaged or cut short; copy it from the watch again") from None
    except fitdecode.FitEOFError as e:  # a recording never closed (its device stopped), or
        # a copy cut short: what came before the cut is read, and said to be
        cut = str(e)[:60]
    # what fitdecode lets out of a damaged file: its own checks (assert) and struct's
    except (fitdecode.FitError, ValueError, KeyError, IndexError, TypeError, OverflowError,
            AssertionError, struct.error) as e:
        raise SignalFileError(f"{path}: not a readable FIT file ({type(e).__name__}: "
                              f"{str(e)[:80]}): copy it from the watch again") from None
    except OSError as e:
        raise SignalFileError(f"{path}: cannot read: {e.strerror or e}") from None
    rate = (Rate(np.asarray(t_hr) - t_hr[0], np.asarray(hr), "a FIT file's heart-rate readings",
                 none) if len(hr) else None)
    if cut:
        _ends_inside(path, cut, bool(rate or stored.t or any(len(p.rr) for p in parts)))
    _heart_intervals(path, parts + beat_parts)
    # a file of both kinds (none seen yet) is read by the one with more beats
    beats = max((laid_beats(p) for p in (parts, beat_parts)),
                key=lambda b: -1 if b is None else len(b))
    if beats is None and (beats := stored.beats()) is None:
        return Fit(None, rate, False)
    ends = [beats[0], beats[-1]] + ([t_hr[0], t_hr[-1]] if len(hr) else [])
    return Fit(beats - beats[0], rate, beats[-1] - beats[0] < COVER * (max(ends) - min(ends)))


def _heart_intervals(path: str, parts: list[Part]) -> None:
    """A watch's intervals range-checked as a text file's are (RR_MS); a few no heart makes
    (as many as hrv.MAX_SHORT lets a heart have) are artefacts, left to be corrected."""
    from empathy.edge.hrv import MAX_SHORT
    from empathy.edge.signal_file import RR_MS

    rr = np.concatenate([np.asarray(p.rr) for p in parts] + [np.zeros(0)]) * 1000
    odd = int(np.sum((rr < RR_MS[0]) | (rr > RR_MS[1])))
    if odd > max(1, MAX_SHORT * len(rr)):
        raise SignalFileError(f"{path}: {odd} of its {len(rr)} beat intervals are none a "
                              f"heart makes (not {RR_MS[0]:g}..{RR_MS[1]:g} ms): a damaged "
                              "file, or not a watch's beats")


def _ends_inside(path: str, cut: str, read: bool) -> None:
    """A FIT file that ends inside a message: refused where nothing came before; else a
    note that it is read up to there, unchecked."""
    what = (f"a FIT file that ends inside a message ({cut}): a recording the watch never "
            "closed, or a copy cut short")
    if not read:
        raise SignalFileError(f"{path}: {what}, with no heart rate before the end; copy it "
                              "from the watch again")
    warnings.warn(SignalNote(f"{path}: note: {what}; read up to where it ends (no checksum "
                             "checks it)"))


def _stamp(frame) -> float | None:
    """A message's time in s (UTC), where it has one."""
    v = frame.get_value("timestamp", fallback=None) if frame.has_field("timestamp") else None
    return v.timestamp() if hasattr(v, "timestamp") else None


def _intervals(frame) -> list[float]:
    """An hrv message's intervals in s (a beat_intervals message's in ms): invalid slots
    (0xFFFF: None) and zeros (a writer's padding) are none."""
    v = frame.get_value("time", fallback=None) if frame.has_field("time") else None
    vs = v if isinstance(v, (tuple, list)) else (v,)
    return [float(s) for s in vs if isinstance(s, (int, float)) and s > 0]


def _no_beats(path: str, rate: Rate | None) -> SignalFileError:
    have = (f"only the watch's heart rate ({len(rate.bpm)} readings), which holds no beats, "
            "so no HRV" if rate else "no heart rate either")
    return SignalFileError(f"{path}: a FIT file with no beat intervals (hrv messages): "
                           f"{have}; {TURN_ON}" + ("; `signal hr` reads the rate" if rate
                                                   else ""))


def polar_hr(path: str) -> Rate:
    """Polar Sensor Logger's HR.txt, line by line (a day is 86 400 lines)."""
    t, hr, none = array("d"), array("d"), 0
    with open(path, encoding="utf-8-sig", errors="replace") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a zone ('+02:00') is read as UTC
        lines = iter(partial(f.readline, MAX_LINE), "")  # (one endless line is not read whole)
        for line, text in enumerate(lines, 1):
            if len(text) >= MAX_LINE:
                raise SignalFileError(f"{path}:{line}: a line of {MAX_LINE:,} characters or "
                                      "more: not Polar Sensor Logger's HR file")
            fields = text.strip().split(";")
            if line == 1 or not text.strip():
                continue
            try:
                stamp = np.datetime64(fields[0].strip(), "us")
                v = float(fields[1]) if len(fields) > 1 and fields[1].strip() else 0.0
                if np.isnat(stamp):
                    raise ValueError
            except ValueError:
                raise SignalFileError(f"{path}:{line}: {text.strip()[:60]!r} is not "
                                      "'date and time;heart rate' (Polar Sensor Logger's HR "
                                      "file)") from None
            if v == 0:
                none += 1
                continue
            if not HR_BPM[0] <= v <= HR_BPM[1]:
                raise SignalFileError(f"{path}:{line}: heart rate {fields[1][:20]!r} is not "
                                      f"{HR_BPM[0]:g}..{HR_BPM[1]:g} bpm")
            t.append(stamp.astype(np.int64) / 1e6)
            hr.append(v)
    if not len(hr):
        raise SignalFileError(f"{path}: no heart rate in it" + (
            f" ({none} readings of 0: the strap had no skin contact)" if none else ""))
    t = across_clock_change(np.asarray(t), path)  # (summer time began or ended)
    if np.any(np.diff(t) < 0):
        raise SignalFileError(f"{path}: its phone timestamps go backwards")
    return Rate(t - t[0], np.asarray(hr), "Polar Sensor Logger's HR file", none)


def polar_flow(path: str) -> Rate:
    """Polar Flow's CSV export of a session: a summary header and its row, then 'Sample
    rate,Time,HR (bpm),...' and a row a second, Time (H:MM:SS) from the start; an empty
    HR is no reading."""
    t, hr, none = array("d"), array("d"), 0
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        for line, text in enumerate(iter(partial(f.readline, MAX_LINE), ""), 1):
            fields = [v.strip() for v in text.split(",")]
            if len(text) >= MAX_LINE or (line == 3 and not text.lower().startswith(
                    POLAR_FLOW[1])):
                raise SignalFileError(f"{path}:{line}: not Polar Flow's CSV export (line 3: "
                                      "'Sample rate,Time,HR (bpm),...')")
            if line <= 3 or not text.strip():
                continue
            try:
                h, m, sec = (float(v) for v in fields[1].split(":"))
                v = float(fields[2]) if len(fields) > 2 and fields[2] else 0.0
            except (ValueError, IndexError):
                raise SignalFileError(f"{path}:{line}: {text.strip()[:60]!r} is not 'sample "
                                      "rate,H:MM:SS,heart rate' (Polar Flow's CSV)") from None
            if v == 0:
                none += 1
                continue
            if not HR_BPM[0] <= v <= HR_BPM[1]:
                raise SignalFileError(f"{path}:{line}: heart rate {fields[2][:20]!r} is not "
                                      f"{HR_BPM[0]:g}..{HR_BPM[1]:g} bpm")
            t.append(3600 * h + 60 * m + sec)
            hr.append(v)
    if not len(hr) or np.any(np.diff(t) < 0):
        raise SignalFileError(f"{path}: " + ("its times go backwards" if len(hr) else
                                             "no heart rate in it"))
    return Rate(np.asarray(t) - t[0], np.asarray(hr), "Polar Flow's CSV export", none)


def not_samples(path: str, app: str) -> str:
    """Why a reader of samples or beats can't read this app's file, and what to give."""
    if app == "fit":
        return (f"{path}: a FIT file (a watch's beats or heart rate, no samples): give it "
                "to `signal hr` or `signal hrv`")
    if app == "polar-flow":
        return (f"{path}: Polar Flow's CSV export of a session: a heart rate a second, no "
                "beats, so no HRV (`signal hr` reads its rate); record the beats with the "
                "strap in Polar Sensor Logger (its RR.txt), or a watch's FIT with 'Log HRV'")
    if app == "track":
        from empathy.edge.signal_tracks import NO_BEATS

        return f"{path}: {NO_BEATS}; `signal hr` reads its rate"
    if app == "apple-health":
        return (f"{path}: Apple Health's export (heart-rate readings, HRV sessions' beats; no "
                "samples): give it to `signal hr` or `signal hrv`")
    name = os.path.basename(path)
    rr = name.replace("_HR.", "_RR.") if "_HR." in name else "the _RR.txt file"
    return (f"{path}: Polar Sensor Logger's heart-rate file (a reading a second; its 'HRV' "
            f"is the app's own average): no beats in it; the beats are in {rr} beside it "
            "(signal hrv that --kind rr); `signal hr` reads this one's rate")


def read_beats(path: str, column: str | None = None, span=(None, None)) -> np.ndarray:
    """Beat times in s: a FIT's hrv messages, Apple Health's HRV session in the span (local
    times), else a file of RR intervals (read_rr)."""
    app = app_file(path)
    if app == "apple-health":
        from empathy.edge.signal_apple import apple_beats

        return apple_beats(path, span)
    if app == "fit":
        beats, rate, _ = read_fit(path)
        if beats is None or len(beats) < MIN_BEATS:
            raise _no_beats(path, rate)
        return beats
    if app:
        raise SignalFileError(not_samples(path, app))
    from empathy.edge.signal_file import read_rr

    return read_rr(path, column)[1]


def beats_or_rate(path: str, column: str | None = None, span=(None, None)):
    """(beat times, None) where the file holds beats, else (None, its rate readings)."""
    app = app_file(path)
    if app == "apple-health":
        from empathy.edge.signal_apple import apple_rate

        return None, apple_rate(path, span)
    if app == "polar-hr":
        return None, polar_hr(path)
    if app == "polar-flow":
        return None, polar_flow(path)
    if app == "track":
        from empathy.edge.signal_tracks import track_hr

        return None, track_hr(path)
    if app != "fit":
        return read_beats(path, column), None
    beats, rate, part = read_fit(path)
    if beats is not None and len(beats) >= MIN_BEATS and not (part and rate):
        return beats, None
    if rate is None:
        raise _no_beats(path, rate)
    return None, rate


def rate_summary(r: Rate) -> dict:
    """The mean rate over the time the readings cover (a reading weighs until the next, at
    most HOLD_S: readings a second, a workout's every few, a resting wrist's every few
    minutes)."""
    step = np.diff(r.t)
    w = np.append(step, np.median(step) if len(step) else 1.0)
    w[(w > HOLD_S) | (w < 0)] = 0.0  # (chained files' clocks may overlap)
    bpm = float(np.average(r.bpm, weights=w)) if w.sum() > 0 else float(np.mean(r.bpm))
    return {"bpm": bpm, "hr_only": True, "source": r.source, "readings": len(r.bpm),
            "duration_s": float(r.t[-1]), "min_bpm": float(r.bpm.min()),
            "max_bpm": float(r.bpm.max()), "no_reading": r.none, "heartbeat": True,
            "rmssd_ms": None, "sdnn_ms": None, "pnn50": None,
            **({"sources": r.sources} if r.sources is not None else {})}
