"""A phone's wall clock moved an hour under a recording: Polar Sensor Logger stamps its RR,
PPI and HR rows with the phone's local time ('Phone timestamp', no zone), so where summer
time ends an hour of stamps repeats (02:59:59.8, then 02:00:00.6), and where it begins an
hour is skipped. Read as it is, the first is time going backwards and the second an hour
of beats lost.

A step of an hour is also what a real gap of an hour looks like (a phone in a pocket out
of the strap's range), so the size alone does not tell them apart. The wall times do: a
clock change falls at one instant of one night in a zone, so the step is the clock's only
where some zone of the tz database changes its offset by that hour between the two
stamps, both stamps real times there and under ROW_S apart in that zone's UTC (a real
gap's stamps stay an hour apart in every zone; a gap must start within ROW_S of a
transition to pass). Such a step is undone, naming the zones; a step forward no zone
explains stays a gap, said so (a time zone crossed on a journey looks the same: it cannot
be told); a step back is the clock all the same (time does not go back), said so."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import numpy as np

from empathy.edge.signal_columns import SignalFileError

HOUR = 3600.0
ROW_S = 10.0  # a row's own step beside the hour's: rows come a second or so apart
MEDIAN_S = 10.0  # ... in a file whose rows do (an hourly log's steps of an hour are its rows')
NAMED = 2  # zones named in the note
REGIONS = ("Europe/", "America/", "Australia/", "Pacific/", "Asia/", "Africa/")  # named first


def hour_back(step_s: np.ndarray) -> np.ndarray:
    """Steps (s) that are the clock going back an hour, plus a row's own step."""
    return (step_s >= -HOUR) & (step_s < -HOUR + ROW_S)


def _wall(s: float) -> datetime:
    return datetime(1970, 1, 1) + timedelta(seconds=float(s))


def changing_zones(before_s: float, after_s: float) -> list[str] | None:
    """The tz database's zones whose clock changed between two wall times (s since 1970,
    naive) so that they lie under ROW_S apart there; None where it can't be read."""
    try:
        from zoneinfo import ZoneInfo, available_timezones

        names, w0, w1 = sorted(available_timezones()), _wall(before_s), _wall(after_s)
    except (ImportError, OverflowError, ValueError, OSError):
        return None
    if not names:
        return None
    out = []
    for name in names:
        try:
            z = ZoneInfo(name)
            a, b = w0.replace(tzinfo=z, fold=0), w1.replace(tzinfo=z, fold=1)
            ua, ub = a.astimezone(timezone.utc), b.astimezone(timezone.utc)
            real = (ua.astimezone(z).replace(tzinfo=None) == w0 and
                    ub.astimezone(z).replace(tzinfo=None) == w1)  # (not in a skipped hour)
            if real and 0 <= (ub - ua).total_seconds() < ROW_S:
                out.append(name)
        except (OverflowError, ValueError, OSError):
            continue
    return sorted(out, key=lambda n: next((k for k, r in enumerate(REGIONS)
                                           if n.startswith(r)), len(REGIONS)))


def _zones_said(zones: list[str]) -> str:
    more = f" and {len(zones) - NAMED} more" if len(zones) > NAMED else ""
    return ", ".join(zones[:NAMED]) + more


def across_clock_change(t: np.ndarray, path: str, start_s: float = 0.0) -> np.ndarray:
    """t (s; changed in place) with one step of an hour, back or forward, undone where it
    is the clock's; start_s + t are the rows' wall times (s since 1970, naive)."""
    if len(t) < 3:
        return t
    d = np.diff(t)
    back = np.flatnonzero(hour_back(d))
    ahead = np.flatnonzero((d >= HOUR) & (d < HOUR + ROW_S))
    if len(back) + len(ahead) != 1 or np.median(d) > MEDIAN_S:
        if len(back):
            raise SignalFileError(f"{path}: its phone timestamps go back an hour "
                                  f"{len(back)} times: cut the file at each")
        return t
    from empathy.edge.signal_apps import SignalNote

    k = int(back[0] if len(back) else ahead[0])
    at, way = _wall(start_s + t[k]).isoformat(" ", "seconds"), "back" if len(back) else "forward"
    zones = changing_zones(start_s + t[k], start_s + t[k + 1])
    unknown = "no time zone database here to tell a clock change from a gap"
    if not zones and not len(back):
        why = "no time zone's clock changed there" if zones is not None else unknown
        warnings.warn(SignalNote(
            f"{path}: note: the phone's stamps jump an hour at {at}, and {why}: read as an "
            "hour with no beats (a phone out of the strap's range); if the phone crossed a "
            "time zone there, cut the file at it"))
        return t
    t[k + 1:] += HOUR if len(back) else -HOUR
    season = "ended" if len(back) else "began"
    why = (f"summer time {season} there in {_zones_said(zones)}" if zones else
           "no summer time ended there (a time zone crossed?)" if zones is not None else
           f"time does not go back; {unknown}")
    warnings.warn(SignalNote(
        f"{path}: note: the phone's clock went {way} an hour at {at}, {t[k] - t[0]:.0f} s "
        f"in ({why}): read across it as the time that passed"))
    return t
