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
