"""TCX and GPX files (Garmin Connect's and Strava's exports of an activity): a heart-rate
reading a trackpoint, no beats. The layouts as the two schemas give them: TCX's
Trackpoint/Time and HeartRateBpm/Value (Garmin's TrainingCenterDatabase v2), GPX 1.1's
trkpt/time with the Garmin TrackPointExtension's hr (as Strava writes it)."""

import json

import numpy as np
import pytest

from empathy.cli import main

T0 = np.datetime64("2024-05-01T12:00:00")


def tcx(bpm) -> str:
    points = "".join(
        f"<Trackpoint><Time>{T0 + np.timedelta64(k, 's')}.000Z</Time><HeartRateBpm>"
        f"<Value>{v}</Value></HeartRateBpm></Trackpoint>\n" for k, v in enumerate(bpm))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="http://'
            'www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities><Activity '
            f'Sport="Running"><Id>{T0}.000Z</Id><Lap StartTime="{T0}.000Z"><Track>\n{points}'
            '</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n')


def gpx(bpm) -> str:
    points = "".join(
        f'<trkpt lat="45.1" lon="6.2"><time>{T0 + np.timedelta64(k, "s")}Z</time><extensions>'
        f"<gpxtpx:TrackPointExtension><gpxtpx:hr>{v}</gpxtpx:hr></gpxtpx:TrackPointExtension>"
        "</extensions></trkpt>\n" for k, v in enumerate(bpm))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="StravaGPX" version="1.1" '
            'xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/'
            f'xmlschemas/TrackPointExtension/v1"><trk><trkseg>\n{points}</trkseg></trk></gpx>\n')


def run(capsys, *args):
    rc = main(["signal", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("make, suffix", [(tcx, "tcx"), (gpx, "gpx")])
def test_a_track_s_heart_rate_is_read_as_a_rate(tmp_path, capsys, make, suffix):
    """Before: "'<TrainingCenterDatabase ...' is not a number". A reading a second: the
    mean of the readings; 0 is no reading; `signal hrv` says no beats are in it and which
    file holds them, in one line."""
    bpm = np.round(120 + 20 * np.sin(np.arange(300) / 30)).astype(int)
    p = tmp_path / f"run.{suffix}"
    p.write_text(make(bpm))
    rc, out, err = run(capsys, "hr", p, "--json")
    s = json.loads(out)
    assert rc == 0 and s["hr_only"] and s["readings"] == 300 and s["rmssd_ms"] is None
    assert s["bpm"] == pytest.approx(bpm.mean(), abs=0.01) and s["duration_s"] == 299
    p.write_text(make(np.where(np.arange(300) < 100, 0, bpm)))
    s = json.loads(run(capsys, "hr", p, "--json")[1])
    assert s["no_reading"] == 100 and s["bpm"] == pytest.approx(bpm[100:].mean(), abs=0.01)
    rc, out, err = run(capsys, "hrv", p)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "FIT" in err


@pytest.mark.parametrize("harm", ["cut", "400 bpm", "backwards"])
def test_a_bad_track_is_refused_in_one_line(tmp_path, capsys, harm):
    bpm = np.full(60, 100)
    text = tcx(bpm)
    if harm == "cut":
        text = text[:len(text) // 2]
    elif harm == "400 bpm":
        text = text.replace("<Value>100</Value>", "<Value>400</Value>", 1)
    else:
        text = text.replace(f"{T0 + np.timedelta64(30, 's')}", f"{T0 - np.timedelta64(9, 's')}")
    p = tmp_path / "run.tcx"
    p.write_text(text)
    rc, out, err = run(capsys, "hr", p)
    assert rc == 1 and not out and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and {"cut": "XML", "400 bpm": "400",
                                       "backwards": "backwards"}[harm] in err


FLOW_HEAD = ("Name,Sport,Date,Start time,Duration,Total distance (km),Average heart rate (bpm),"
             "Average speed (km/h),Max speed (km/h),Average pace (min/km),Max pace (min/km),"
             "Calories,Fat percentage of calories(%),Average cadence (rpm),Average stride length "
             "(cm),Running index,Training load,Ascent (m),Descent (m),Notes,Height (cm),Weight "
             "(kg),HR max,HR sit,VO2max,\n"
             "Jane Doe,RUNNING,01-05-2024,12:00:00,00:10:00,1.50,131,9.0,12.1,06:40,04:57,120,"
             "30,80,110,48,20,5,5,,170,60,190,55,48,\n"
             "Sample rate,Time,HR (bpm),Speed (km/h),Pace (min/km),Cadence,Altitude (m),Stride "
             "length (m),Distances (m),Temperatures (C),Power (W),\n")


def test_polar_flow_s_csv_export_gives_its_heart_rate(tmp_path, capsys):
    """Polar Flow's CSV export of a session: a summary header and its row, then 'Sample
    rate,Time,HR (bpm),...' and a row a second (Time since the start, H:MM:SS; an empty HR
    is no reading), as public readers of it quote the layout. It was refused ('Name' is no
    time column...): `signal hr` gives its rate, `signal hrv` says no beats are in it."""
    bpm = np.round(125 + 15 * np.sin(np.arange(600) / 40)).astype(int)
    rows = [f"1,{k // 3600:02d}:{k // 60 % 60:02d}:{k % 60:02d},{'' if k < 20 else v},"
            f"9.0,06:40,80,120,1.1,{k * 2.5:.1f},,," for k, v in enumerate(bpm)]
    p = tmp_path / "Jane_Doe_2024-05-01_12-00-00.CSV"
    p.write_text(FLOW_HEAD + "\n".join(rows) + "\n")
    rc, out, err = run(capsys, "hr", p, "--json")
    assert rc == 0, err
    s = json.loads(out)
    assert s["hr_only"] and s["readings"] == 580 and s["no_reading"] == 20
    assert s["bpm"] == pytest.approx(bpm[20:].mean(), abs=0.01) and s["duration_s"] == 579
    rc, out, err = run(capsys, "hrv", p)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "Polar Flow" in err
