"""The correction `calibrate hr --sensor-id` stores from a validation (calibration/hr.py):
the bias and lag found, for the edge to undo (edge/profile.py), when what is left (limits
of agreement, beats, dropouts) passes: a correction cannot fix those; and the reference's
heart beat steadily (STEP); and the lag only where the record tells lags apart: each half
of it finds the same lag on its own, and the whole that too (a record too short for that
stores none), and the sensor follows the reference's heart rate at it (a rate too steady
to time stores none); the bias is stored either way."""

from __future__ import annotations

from empathy.edge.profile import LAG_MAX_MS
from empathy.sensors.base import Device

from .hr import MIN_OVERLAP_S, STEP
from .report import Result

# A lag is stored only where both halves of the record and the whole find it within
# LAG_AGREE_S of each other (a device's figure comes once a second: its time is known to
# about that; halves agreeing 3-4 s from the whole's lag stored one ~2 s off) ...
LAG_AGREE_S = 1.0
# ... and the sensor's rate, at the lag, follows the reference's with r of at least this (a
# quarter of its variance): mitdb-100's steady sinus (r 0.24-0.35 under 5-15-s averages)
# found lags 2-6 s off, its halves agreeing by chance (bench/hr_lag_range.py, tuning)
MIN_LAG_R = 0.5
# A correction comes from a steady heart: where over MAX_IRREGULAR_PCT of the reference's
# intervals step by over STEP from the one before (or are none a heart makes), a device's
# own average weighs short and long beats its way, not the reference's, and the bias found
# is the rhythm's as much as the device's. Tuning records (bench/hr_lag_range.py, a watch's
# 8-s average and a strap's HR field 4 % high): sinus and sparse ectopy step on at most
# 14 % (|bias error| <= 0.6 points), bigeminy, trigeminy, AF and pauses on 25-96 % (up to
# 2.5 points; a pause-ridden record 11.8)
MAX_IRREGULAR_PCT = 20.0


CORRECTABLE = {"|bias|", "mean absolute error", "|lag|"}  # what undoing bias and lag fixes


def correction(res: Result) -> tuple[dict | None, list[str]]:
    """The heart sensor's correction (what the edge reads from the store's [hr]) and what
    it leaves out: None and why, where checks that undoing bias and lag would not fix
    failed, or the reference's rhythm was too irregular to trust a bias from (STEP); or the
    bias with no lag (lag_ms 0), and why, where the record can't tell the lag (the bias, a
    mean, does not rest on it: a steady heart's watch 3.5 % high keeps its correction,
    bench/hr_lag_range.py)."""
    f = res.figures
    left = [c.name for c in res.checks if not c.ok and c.name not in CORRECTABLE]
    refused = list(res.errors) or ([f"{', '.join(left)} cannot be undone"] if left else [])
    if f.get("ref_irregular_pct", 0.0) > MAX_IRREGULAR_PCT:
        refused.append(f"an irregular reference rhythm ({f['ref_irregular_pct']:.0f} % of its "
                       f"intervals stepped over {STEP:.0%} from the one before, or were none a "
                       "heart makes): a bias from it is the rhythm's as much as the sensor's; "
                       "calibrate on a steady heart")
    if refused:
        return None, refused
    why = _lag_untold(f)
    lag_ms, said = (0.0, [f"no lag stored: {why}"]) if why else _device_lag(f)
    fix = {"bias_pct": f["bias_pct"], "bias_bpm": f["bias_bpm"], "lag_ms": lag_ms,
           "mae_bpm": f["mae_bpm"], "windows": f["windows"]}
    if why:
        fix["lag_not_stored"] = why
    return fix, said


def _device_lag(f: dict) -> tuple[float, list[str]]:
    """The device's own lag: a PPG's against the electrical beat less the wearer's pulse
    arrival (the rig's range), which is the tester's body, not the device; the next viewer's
    differs by tens of ms, and a seat's beats moved onto the tester's heart would be moved
    by the wrong amount for everyone else (all PPG seats stay on the pulse's time alike)."""
    arrival = f.get("pulse_arrival_allowed_ms")
    if not arrival:
        return f["lag_ms"], []
    beyond = f["lag_beyond_pulse_arrival_ms"]
    return beyond, [f"{f['lag_ms'] - beyond:+.0f} ms of the lag is the wearer's pulse arrival "
                    f"({arrival[0]:g}-{arrival[1]:g} ms allowed): the body's, not stored as "
                    "the device's"]


def _lag_untold(f: dict) -> str:
    """Why the lag found is not one to store ("" where it is)."""
    halves, lag_ms, search_ms = f["lag_halves_ms"], f["lag_ms"], f["lag_search_ms"]
    if f.get("lag_judged") is False:
        return "a recording whose beats are stamped when their notification arrives (the notes)"
    if abs(lag_ms) >= search_ms:  # the best of those tried, no peak
        return (f"a lag at the edge of the rig's ±{search_ms:.0f} ms search (the sensor "
                "lags more: a rig profile with a larger max_search_lag_s measures it)")
    if abs(lag_ms) > LAG_MAX_MS:
        return f"a lag of {lag_ms:+.0f} ms (the edge undoes ±{LAG_MAX_MS:.0f} ms at most)"
    if halves is None:
        least = 2 * (2 * search_ms / 1000 + MIN_OVERLAP_S)
        return (f"a record too short to tell lags apart (each half is searched "
                f"±{search_ms / 1000:g} s on its own: record {least:.0f} s or more)")
    if max(halves + [lag_ms]) - min(halves + [lag_ms]) > LAG_AGREE_S * 1000:
        return (f"a lag the record's halves do not agree on, with each other and the whole "
                f"({halves[0]:+.0f}, {halves[1]:+.0f}; whole {lag_ms:+.0f} ms: record longer, "
                "the heart rate changing)")
    if f["lag_correlation"] < MIN_LAG_R:
        return (f"a heart rate too steady to time the sensor by (r {f['lag_correlation']} "
                "at the lag: record while it changes, standing up, a few deep breaths)")
    return ""


def measured_device(readings: list) -> str:
    """The device a live recording read (`Device.ident`: a board's HELLO, a strap's
    address), which its correction belongs to; "" where none was named (a file, a
    simulated viewer). A recording that named two (a board swapped mid-run) measured
    neither: ValueError."""
    named = list(dict.fromkeys(r.ident for r in readings if isinstance(r, Device)))
    if len(named) > 1:
        raise ValueError(f"the device changed during the recording ({', then '.join(named)}): "
                         "a correction is one device's; record again with one")
    return named[0] if named else ""
