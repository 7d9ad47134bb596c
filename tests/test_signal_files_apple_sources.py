"""Apple Health's export holds the heart rate of every source that wrote it: the Apple
Watch's own records, and an app's (Polar Flow, Strava, Garmin Connect...) written again
for the same workout, each Record naming its sourceName (the export's DTD: sourceName
#REQUIRED; an app's records carry no HKDevice, or its own). The Health app shows one
source at a time by the user's priority; merged, a moment's rate is there twice. The
export here is the Apple tests' layout: a day of the Watch's readings every 5 min, and a
40-min workout where Polar Flow wrote a reading a second (a strap) beside the Watch's
every 5 s, 8 bpm apart. Before: all merged into one series ('Apple Health's heart-rate
records'), each workout second read twice."""

from datetime import datetime, timedelta

import pytest

from empathy.edge.signal_apple import apple_beats
from empathy.edge.signal_apps import SignalNote
from signal_run import ok_said, refused
from test_signal_files_apple import DEVICE, HEAD, hrv_record, stamp
from test_signal_files_apps import written  # noqa: F401 (the fixture)

WATCH, POLAR = "Ann\u2019s Apple Watch", "Polar Flow"
DAY = datetime(2024, 5, 2, 7, 0)
WORKOUT = DAY.replace(hour=18)


def record(t: datetime, bpm: int, source: str) -> str:
    device = f' device="{DEVICE}"' if source == WATCH else ""
    return (f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{source}" '
            f'sourceVersion="10.4"{device} unit="count/min" creationDate="{stamp(t)}" '
            f'startDate="{stamp(t)}" endDate="{stamp(t)}" value="{bpm}"/>\n')


def export_of(tmp_path, body: str):
    p = tmp_path / "export.xml"
    p.write_text(HEAD + body + "</HealthData>\n", encoding="utf-8")
    return p


@pytest.fixture
def two_sources(tmp_path):
    body = "".join(record(DAY + timedelta(minutes=5 * k), 62, WATCH) for k in range(150))
    body += "".join(record(WORKOUT + timedelta(seconds=5 * k), 140, WATCH) for k in range(480))
    body += "".join(record(WORKOUT + timedelta(seconds=k), 148, POLAR) for k in range(2400))
    return export_of(tmp_path, body)


def test_one_source_is_read_the_one_covering_the_most_of_the_span(capsys, two_sources):
    """The day: the Watch (182 minutes with records) over Polar Flow (40, at a reading a
    second); the workout's 40 minutes: both cover them all, and the strap's 2,400 records
    win over the Watch's 488. No moment is read twice either way."""
    s, err = ok_said(capsys, "hr", two_sources)
    assert s["readings"] == 630 and WATCH in s["source"]
    assert s["min_bpm"] == 62 and s["max_bpm"] == 140
    assert s["sources"] == {WATCH: 630, POLAR: 2400}
    assert "2 sources" in err and "Polar Flow (2,400 records)" in err and "--source" in err
    assert "182 minutes" in err  # (150 five-minute readings, 8 of them in the workout)
    s, err = ok_said(capsys, "hr", two_sources, "--start", "2024-05-02T18:00", "--end",
                     "2024-05-02T18:40")
    assert s["readings"] == 2400 and s["bpm"] == 148 and POLAR in s["source"]
    assert s["duration_s"] == pytest.approx(2399) and s["sources"] == {WATCH: 488, POLAR: 2400}


def test_source_picks_another_by_its_name_or_a_part_of_it(capsys, two_sources):
    for name in ("Ann's Apple Watch", "apple watch", "WATCH"):
        s, _ = ok_said(capsys, "hr", two_sources, "--source", name)
        assert s["readings"] == 630 and WATCH in s["source"]
    for name in ("Polar Flow", "polar"):
        s, err = ok_said(capsys, "hr", two_sources, "--source", name)
        assert s["readings"] == 2400 and s["bpm"] == 148 and "as --source asked" in err
    said = refused(capsys, "hr", two_sources, "--source", "Garmin")
    assert "names none" in said and "Polar Flow (2,400 records)" in said
    said = refused(capsys, "hr", two_sources, "--source", "l")  # (in both names)
    assert "names 2" in said
    for bad in ("", "  ", "a\x1b[31m", "x" * 201):  # (argparse: exit 2, one line)
        with pytest.raises(SystemExit) as e:
            ok_said(capsys, "hr", two_sources, "--source", bad)
        assert e.value.code == 2 and "give a source's name" in capsys.readouterr().err
    rr = two_sources.with_name("rr.txt")
    rr.write_text("800\n810\n790\n805\n")
    assert "Apple Health's export only" in refused(capsys, "hr", rr, "--kind", "rr",
                                                   "--source", "Polar")


def test_the_newest_day_is_the_asked_source_s(capsys, tmp_path):
    """--source alone: that source's newest day, not the newest day of any source."""
    body = "".join(record(DAY + timedelta(minutes=5 * k), 62, WATCH) for k in range(20))
    body += "".join(record(DAY - timedelta(days=3) + timedelta(seconds=k), 150, POLAR)
                    for k in range(60))
    p = export_of(tmp_path, body)
    s, err = ok_said(capsys, "hr", p)
    assert s["readings"] == 20 and s["sources"] == {WATCH: 20} and "sources" not in err
    s, _ = ok_said(capsys, "hr", p, "--source", "polar")
    assert s["readings"] == 60 and s["bpm"] == 150


def test_hrv_sessions_of_two_sources_one_is_read_and_both_said(capsys, tmp_path,
                                                                 written):  # noqa: F811
    """A session is read whole, never merged: the newest of any source by default, and
    --source reads that source's newest."""
    rr = written[1:70]
    older = hrv_record(DAY.replace(hour=9), rr, 40.0).replace('sourceName="Watch"',
                                                               'sourceName="Old Watch"')
    p = export_of(tmp_path, older + hrv_record(DAY.replace(hour=22), written[100:160], 41.2))
    with pytest.warns(SignalNote) as notes:
        beats = apple_beats(str(p))
    assert len(beats) == 60 and "2 sources" in str(notes[0].message)
    s, err = ok_said(capsys, "hrv", p, "--source", "old")
    assert len(s["rr_ms"]) == len(rr) - 1 and "Old Watch" in err


def test_a_file_naming_endless_sources_is_refused_not_held(capsys, tmp_path):
    """Each source holds its own series: 1,001 sources (a person's export has tens) are
    refused in one line, not a million arrays held."""
    p = export_of(tmp_path, "".join(record(DAY + timedelta(seconds=k), 60, f"app {k}")
                                    for k in range(1001)))
    assert "over 1,000 sources" in refused(capsys, "hr", p)
    assert ok_said(capsys, "hr", export_of(tmp_path, "".join(
        record(DAY + timedelta(seconds=k), 60, f"app {k}") for k in range(1000))))[0][
            "readings"] == 1
