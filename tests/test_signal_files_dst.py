"""Polar Sensor Logger stamps each row with the phone's local wall time ('Phone timestamp',
no zone: tests/data/signal/README.md), and its RR, PPI and HR files carry no other clock.
Across the night summer time ends (2024-10-27, 03:00 CEST -> 02:00 CET) an hour of stamps
repeats; where it begins (2024-03-31, 02:00 -> 03:00 CET) an hour is skipped. The files
here are the app's layouts with a tuning record's beats (systole-rr, as make_apps.py), the
phone's stamps written as a phone's clock gives them. Before: 'time goes backwards'
(RR), 'its phone timestamps go backwards' (HR), and an hour's gap read into the beats
(spring). Now read across, as the hour it was, and said so."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from empathy.cli import main
from empathy.edge.signal_apps import SignalNote, read_beats

STARTS = {"autumn": (datetime(2024, 10, 27, 2, 58, 10), datetime(2024, 10, 27, 3, 0), -1),
          "spring": (datetime(2024, 3, 31, 1, 58, 10), datetime(2024, 3, 31, 2, 0), 1)}


@pytest.fixture(scope="module")
def rr():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "data" / "signal"))
    from make_apps import corpus_rr

    try:
        return np.round(corpus_rr("systole-0.3.1.tar.gz",
                                  "systole-0.3.1/src/systole/datasets/rr.txt")[:240])
    except FileNotFoundError:
        pytest.skip("the heart corpus's cache is not here")


def wall(start: datetime, change: datetime, hours: int, s: float) -> str:
    """The phone's local time s after `start`, its clock moved `hours` at `change`."""
    t = start + timedelta(seconds=s)
    t += timedelta(hours=hours) if t >= change else timedelta(0)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def run(capsys, *args) -> tuple[dict, str]:
    rc = main(["signal", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out), err


@pytest.mark.parametrize("season", ["autumn", "spring"])
def test_polar_rr_across_a_clock_change_reads_the_beats_it_holds(tmp_path, capsys, rr, season):
    start, change, hours = STARTS[season]
    arrive = np.cumsum(rr) / 1000 + 0.08  # each beat's notification
    p = tmp_path / "polar_RR.txt"
    p.write_text("Phone timestamp;RR-interval [ms]\n" + "".join(
        f"{wall(start, change, hours, s)};{int(v)}\n" for s, v in zip(arrive, rr)))
    plain = tmp_path / "rr.txt"
    np.savetxt(plain, rr, fmt="%.0f")
    got, err = run(capsys, "hrv", p, "--kind", "rr")
    ref, _ = run(capsys, "hrv", plain, "--kind", "rr")
    assert got["rr_ms"] == ref["rr_ms"]
    assert got["rmssd_ms"] == pytest.approx(ref["rmssd_ms"], abs=1e-6)
    assert "clock" in err and "an hour" in err


@pytest.mark.parametrize("season", ["autumn", "spring"])
def test_polar_hr_across_a_clock_change_keeps_its_span(tmp_path, capsys, season):
    start, change, hours = STARTS[season]
    p = tmp_path / "polar_HR.txt"
    p.write_text("Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n" + "".join(
        f"{wall(start, change, hours, s + 0.037)};{60 + s % 5}\n" for s in range(300)))
    s, err = run(capsys, "hr", p)
    assert s["readings"] == 300 and s["duration_s"] == pytest.approx(299, abs=0.01)
    assert "clock" in err


def test_a_real_gap_of_other_than_an_hour_is_still_a_gap(tmp_path, capsys, rr):
    """The hour is told by its size: beats lost for 20 minutes stay a gap."""
    start = datetime(2024, 5, 1, 9, 0)
    arrive = np.cumsum(rr) / 1000 + 0.08
    arrive[120:] += 1200
    p = tmp_path / "polar_RR.txt"
    p.write_text("Phone timestamp;RR-interval [ms]\n" + "".join(
        f"{wall(start, start, 0, s)};{int(v)}\n" for s, v in zip(arrive, rr)))
    rc = main(["signal", "hrv", str(p), "--kind", "rr", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and "clock" not in err


def polar_rr(path, start: datetime, arrive, rr):
    path.write_text("Phone timestamp;RR-interval [ms]\n" + "".join(
        f"{wall(start, start, 0, s)};{int(v)}\n" for s, v in zip(arrive, rr)))
    return path


@pytest.mark.parametrize("gap_s", [3600.5, 3605.0, 3608.0])
def test_a_real_hour_s_gap_in_the_afternoon_stays_a_gap(tmp_path, capsys, rr, gap_s):
    """Before: any step of 3600..3610 s was read as summer time beginning and taken out,
    here on a plain Wednesday at 15:00 (no zone changes its clock then): the beats after
    the gap were laid an hour early. Now the gap stays (its hour of beats lost), and the
    note says why it was not taken for the clock."""
    start = datetime(2024, 5, 1, 14, 58, 10)
    arrive = np.cumsum(rr) / 1000 + 0.08
    arrive[120:] += gap_s
    p = polar_rr(tmp_path / "polar_RR.txt", start, arrive, rr)
    _, err = run(capsys, "hrv", p, "--kind", "rr")
    assert "no time zone's clock changed there" in err and "went forward" not in err
    with pytest.warns(SignalNote):
        beats = read_beats(str(p))
    assert beats[-1] - np.sum(rr) / 1000 == pytest.approx(gap_s, abs=1.5)  # (lost: an hour)
    s, err = run(capsys, "hr", polar_hr(tmp_path / "polar_HR.txt", start, 300, gap_s))
    assert s["duration_s"] == pytest.approx(299 + gap_s, abs=0.01)
    assert "no time zone's clock changed there" in err


def polar_hr(path, start: datetime, n: int, gap_s: float, change=None, hours=0):
    step = [s + 0.037 + (gap_s if s >= n // 2 else 0) for s in range(n)]
    path.write_text("Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n" + "".join(
        f"{wall(start, change or start, hours, s)};{60 + k % 5}\n" for k, s in enumerate(step)))
    return path


def test_a_clock_change_is_told_by_its_zone_and_night(tmp_path, capsys):
    """The same hour's step on the night summer time began in Europe (2024-03-31, 02:00
    CET -> 03:00 CEST) and in the USA (2024-03-10, 02:00 EST -> 03:00 EDT) is the clock;
    a real gap starting at 00:30 that night (stamps an hour apart in every zone) is not."""
    for start in (datetime(2024, 3, 31, 1, 57, 30), datetime(2024, 3, 10, 1, 57, 30)):
        p = polar_hr(tmp_path / "polar_HR.txt", start, 300, 0.0, start.replace(minute=0,
                     hour=2, second=0), 1)
        s, err = run(capsys, "hr", p)
        assert s["duration_s"] == pytest.approx(299, abs=0.01)
        zone = "Europe/" if start.day == 31 else "America/"
        assert "summer time began there in " + zone in err, err
    gap = polar_hr(tmp_path / "gap_HR.txt", datetime(2024, 3, 31, 0, 27, 30), 300, 3601.0)
    s, err = run(capsys, "hr", gap)
    assert s["duration_s"] == pytest.approx(299 + 3601, abs=0.01)
    assert "no time zone's clock changed there" in err


def test_an_hour_back_no_zone_explains_is_read_across_and_said(tmp_path, capsys):
    """Time does not go back: an hour back at 15:00 is the phone's clock all the same (a
    journey west), read across, and the note says no summer time ended there."""
    start, change = datetime(2024, 5, 1, 14, 57, 30), datetime(2024, 5, 1, 15, 0)
    s, err = run(capsys, "hr", polar_hr(tmp_path / "polar_HR.txt", start, 300, 0.0, change,
                                         -1))
    assert s["duration_s"] == pytest.approx(299, abs=0.01)
    assert "no summer time ended there" in err


def test_without_a_time_zone_database_the_hour_is_kept_and_said(tmp_path, capsys,
                                                                 monkeypatch):
    """A system without tzdata (no /usr/share/zoneinfo, no tzdata package) cannot tell a
    clock change from a gap: a step forward stays a gap, a step back is read across, and
    the note says why."""
    import zoneinfo

    monkeypatch.setitem(__import__("sys").modules, "tzdata", None)
    zoneinfo.reset_tzpath(to=[])
    try:
        start, change = datetime(2024, 3, 31, 1, 57, 30), datetime(2024, 3, 31, 2, 0)
        s, err = run(capsys, "hr", polar_hr(tmp_path / "a_HR.txt", start, 300, 0.0, change, 1))
        assert s["duration_s"] == pytest.approx(299 + 3600, abs=0.01)
        assert "no time zone database here" in err
        start, change = datetime(2024, 10, 27, 2, 57, 30), datetime(2024, 10, 27, 3, 0)
        s, err = run(capsys, "hr", polar_hr(tmp_path / "b_HR.txt", start, 300, 0.0, change, -1))
        assert s["duration_s"] == pytest.approx(299, abs=0.01)
        assert "time does not go back; no time zone database here" in err
    finally:
        zoneinfo.reset_tzpath()
