"""A phone's wall clock moved an hour under a recording: Polar Sensor Logger stamps its RR,
PPI and HR rows with the phone's local time ('Phone timestamp', no zone), so where summer
time ends an hour of stamps repeats (02:59:59.8, then 02:00:00.6), and where it begins an
hour is skipped. Read as it is, the first is time going backwards and the second an hour
of beats lost; one such step, in a file whose rows come seconds apart, is the clock, and
is undone (a note says so)."""

from __future__ import annotations

import warnings

import numpy as np

from empathy.edge.signal_columns import SignalFileError

HOUR = 3600.0
ROW_S = 10.0  # a row's own step beside the hour's: rows come a second or so apart
MEDIAN_S = 10.0  # ... in a file whose rows do (an hourly log's steps of an hour are its rows')


def hour_back(step_s: np.ndarray) -> np.ndarray:
    """Steps (s) that are the clock going back an hour, plus a row's own step."""
    return (step_s >= -HOUR) & (step_s < -HOUR + ROW_S)


def across_clock_change(t: np.ndarray, path: str) -> np.ndarray:
    """t (s; changed in place) with one step of an hour, back or forward, undone."""
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
    k = int(back[0] if len(back) else ahead[0])
    t[k + 1:] += HOUR if len(back) else -HOUR
    from empathy.edge.signal_apps import SignalNote

    warnings.warn(SignalNote(
        f"{path}: note: the phone's clock went {'back' if len(back) else 'forward'} an hour "
        f"{t[k] - t[0]:.0f} s in (summer time {'ended' if len(back) else 'began'}): read "
        "across it as the time that passed"))
    return t
