"""`empathy signal hr|hrv` on Apple Health's export (edge/signal_apple.py). The export.xml
here is written in the layout of a real one (its DTD head; Record attributes and the
HeartRateVariabilityMetadataList of InstantaneousBeatsPerMinute bpm/time as public readers
quote real exports, e.g. '<InstantaneousBeatsPerMinute bpm="97" time="4:17:18.57 pm"/>'),
its beats from a tuning record's RR series (pyhrv-nni-long) rounded as Apple writes them:
whole bpm, times of day to 1/100 s. export.zip holds it in apple_health_export/."""

import zipfile
from datetime import datetime, timedelta

import numpy as np
import pytest

from empathy.edge.signal_apple import apple_beats
from empathy.edge.signal_apps import SignalNote
from test_signal_files_apps import written  # noqa: F401 (the fixture)
from signal_run import ok_said, refused

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 11 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
]>
<HealthData locale="en_AU">
 <ExportDate value="2024-05-03 08:00:00 +1000"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth=""/>
"""
DEVICE = ("&lt;&lt;HKDevice: 0x281d99900&gt;, name:Apple Watch, manufacturer:Apple Inc., "
          "model:Watch, hardware:Watch6,2, software:10.4&gt;")


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S +1000")


def clock(t: datetime) -> str:
    """Apple's 12-hour time of day to 1/100 s: '4:17:18.57 pm'."""
    cs = round(t.microsecond / 1e4)
    t = t.replace(microsecond=0) + timedelta(seconds=cs // 100)
    return f"{(t.hour - 1) % 12 + 1}:{t:%M:%S}.{cs % 100:02d} {'am' if t.hour < 12 else 'pm'}"


def hr_record(t: datetime, bpm: int) -> str:
    return (f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
            f'sourceVersion="10.4" device="{DEVICE}" unit="count/min" creationDate="{stamp(t)}" '
            f'startDate="{stamp(t)}" endDate="{stamp(t)}" value="{bpm}">\n'
            '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>\n'
            ' </Record>\n')


def hrv_record(start: datetime, rr_ms, sdnn: float, leave_out=()) -> str:
    beats = start + np.concatenate(([0], np.cumsum(rr_ms))) * timedelta(milliseconds=1)
    rows = "".join(f'   <InstantaneousBeatsPerMinute bpm="{round(60000 / rr_ms[k - 1])}" '
                   f'time="{clock(beats[k])}"/>\n' for k in range(1, len(beats))
                   if k not in leave_out)
    return (f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
            f'sourceName="Watch" device="{DEVICE}" unit="ms" creationDate="{stamp(beats[-1])}" '
            f'startDate="{stamp(start)}" endDate="{stamp(beats[-1])}" value="{sdnn}">\n'
            f'  <HeartRateVariabilityMetadataList>\n{rows}  </HeartRateVariabilityMetadataList>\n'
            ' </Record>\n')


DAY1, DAY2 = datetime(2024, 5, 1, 9, 0), datetime(2024, 5, 2, 23, 40, 3)


@pytest.fixture
def export(tmp_path, written):  # noqa: F811
    """Two days of heart rate (day 1: 70 bpm every 5 min; day 2: 60 + k % 9), an HRV session
    each day (day 2's crossing midnight), as the Health app writes them."""
    rr = written[1:70]
    body = "".join(hr_record(DAY1 + timedelta(minutes=5 * k), 70) for k in range(12))
    body += "".join(hr_record(DAY2.replace(hour=8) + timedelta(minutes=5 * k), 60 + k % 9)
                    for k in range(24))
    body += hrv_record(DAY1.replace(hour=22), written[100:160], 41.2)
    body += hrv_record(DAY2.replace(hour=23, minute=59, second=30), rr, 38.7)
    p = tmp_path / "export.xml"
    p.write_text(HEAD + body + "</HealthData>\n")
    return p, rr


def test_apple_health_s_heart_rate_is_a_rate_of_the_newest_day_or_the_span(capsys, export):
    """Before: refused ('not read here'). The newest day by default; --start/--end a span."""
    s, _ = ok_said(capsys, "hr", export[0])
    assert s["hr_only"] and s["readings"] == 24 and s["rmssd_ms"] is None
    assert s["min_bpm"] == 60 and s["max_bpm"] == 68
    s, _ = ok_said(capsys, "hr", export[0], "--start", "2024-05-01", "--end", "2024-05-01")
    assert s["readings"] == 12 and s["bpm"] == 70
    assert "no heart-rate records in that span" in refused(capsys, "hr", export[0], "--start",
                                                          "2025-01-01")


def test_apple_health_s_hrv_session_gives_its_beats_to_a_few_ms(capsys, export, tmp_path):
    """The newest session (past midnight) read: each interval within 8 ms of the one
    written (whole bpm, 1/100 s; here within 6), so the HRV within a few ms of the same
    series' as a plain RR file, and said to be coarse."""
    _, rr = export
    with pytest.warns(SignalNote, match="coarse RMSSD"):
        beats = apple_beats(str(export[0]))
    assert np.max(np.abs(np.diff(beats) * 1000 - rr[1:])) <= 8.0
    s, err = ok_said(capsys, "hrv", export[0])
    plain = tmp_path / "rr.txt"
    np.savetxt(plain, rr[1:], fmt="%.0f")  # (the first interval's start is no beat in it)
    ref, _ = ok_said(capsys, "hrv", plain, "--kind", "rr")
    assert len(s["rr_ms"]) == len(ref["rr_ms"])
    assert abs(s["rmssd_ms"] - ref["rmssd_ms"]) < 3.0
    assert "coarse RMSSD" in err and "38.7 ms" in err
    s, _ = ok_said(capsys, "hrv", export[0], "--end", "2024-05-01")
    assert len(s["rr_ms"]) == 59


def test_beats_apple_left_out_stay_a_gap(capsys, tmp_path, written):  # noqa: F811
    rr = written[1:70]
    p = tmp_path / "export.xml"
    p.write_text(HEAD + hrv_record(DAY1, rr, 40.0, leave_out={30, 31}) + "</HealthData>\n")
    _, err = ok_said(capsys, "hrv", p)
    assert "1 places with beats left out" in err
    with pytest.warns(SignalNote):
        beats = apple_beats(str(p))
    gap = np.argmax(np.diff(beats))  # (kept: not the beats either side made neighbours)
    assert np.diff(beats)[gap] * 1000 == pytest.approx(np.sum(rr[29:32]), abs=10)
    assert len(beats) == len(rr) - 2


def test_export_zip_is_read_like_its_export_xml(capsys, export, tmp_path):
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
        f.writestr("apple_health_export/export_cda.xml", "<x/>")
        f.write(export[0], "apple_health_export/export.xml")
    assert ok_said(capsys, "hrv", z)[0] == ok_said(capsys, "hrv", export[0])[0]
    assert ok_said(capsys, "hr", z)[0] == ok_said(capsys, "hr", export[0])[0]


def test_hostile_xml_is_refused_in_one_line(capsys, tmp_path, export):
    lol = tmp_path / "lol.xml"
    lol.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n <!ENTITY a "aaaaaaaaaa">\n'
                   + "".join(f' <!ENTITY {c} "' + f"&{p};" * 10 + '">\n'
                             for p, c in zip("abcdefgh", "bcdefghi"))
                   + ']>\n<HealthData locale="en">&i;</HealthData>\n')
    assert "declares entities" in refused(capsys, "hr", lol)
    cut = tmp_path / "cut.xml"
    cut.write_bytes(export[0].read_bytes()[:-4000])
    assert "not whole XML" in refused(capsys, "hrv", cut)
    bad = tmp_path / "bad.xml"
    bad.write_text(export[0].read_text().replace('value="70"', 'value="7000"', 1))
    assert "not 20..300 bpm" in refused(capsys, "hr", bad, "--start", "2024-05-01")
    rr = tmp_path / "rr.txt"
    rr.write_text("800\n810\n790\n805\n")
    assert "Apple Health's export only" in refused(capsys, "hr", rr, "--kind", "rr", "--start",
                                                   "2024-05-01")


def test_a_day_of_a_watch_s_sparse_readings_weighs_as_the_hours_they_cover(capsys, tmp_path):
    """A watch reads a resting wrist every few minutes and every few seconds in a workout.
    Before: a reading weighed until the next only up to 10 s, so a day of 5-min readings at
    60 bpm weighed nothing beside a 40-min workout at 140 and the day read 140 bpm."""
    day = datetime(2024, 5, 3, 8, 0)
    body = "".join(hr_record(day + timedelta(minutes=5 * k), 60) for k in range(120))  # 10 h
    workout = day + timedelta(hours=10, minutes=5)
    body += "".join(hr_record(workout + timedelta(seconds=5 * k), 140) for k in range(480))
    p = tmp_path / "export.xml"
    p.write_text(HEAD + body + "</HealthData>\n")
    s, _ = ok_said(capsys, "hr", p)
    assert s["readings"] == 600
    # 600 min at 60 and 40 at 140 (the last rest reading holds 5 min, the last reading none)
    assert abs(s["bpm"] - (600 * 60 + 40 * 140) / 640) < 1.0, s["bpm"]
