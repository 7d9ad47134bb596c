"""Real FIT files that watches other than the three in test_signal_files_apps.py write
(python-fitparse's test files, MIT: tests/data/signal/README.md): a strap's beats stored
during a swim (FIT 'hr' messages), and a COROS watch's file with a field of an odd size.
Each is read as the watch recorded it, checked against the device's own figures in the
same file, or refused in one line."""

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest

from empathy.edge.signal_apps import SignalNote, read_beats
from signal_run import ok
from test_signal_files_apple import HEAD as APPLE_HEAD  # (Apple's own DTD)

from empathy.cli import main

DATA = Path(__file__).parent / "data" / "signal"
fitdecode = pytest.importorskip("fitdecode")


def messages(path, name: str) -> list:
    with fitdecode.FitReader(str(path), error_handling=fitdecode.ErrorHandling.WARN) as fit, \
            pytest.warns(UserWarning) if "coros" in str(path) else nullcontext():
        return [f for f in fit if isinstance(f, fitdecode.FitDataMessage) and f.name == name]


def strap_bpm(path) -> np.ndarray:
    """The strap's own rate at each stored beat (hr.filtered_bpm, one per event_timestamp)."""
    return np.concatenate([np.atleast_1d(m.get_value("filtered_bpm"))
                           for m in messages(path, "hr")])


@pytest.mark.parametrize("name", ["garmin-fr735xt-swim-hrm.fit", "garmin-triathlon-hrm.fit"])
def test_a_strap_s_beats_stored_under_water_are_read(capsys, name):
    """Before: 'no beat intervals (hrv messages): ... record with beat intervals on' for a
    pool swim whose HRM strap stored 11 292 beats (the watch can't hear a strap under
    water; the strap sends them after: 'hr' messages, a beat's time in the device's clock,
    1/1024 s, each as 12 bits added to the one before). Each beat's rate agrees with the
    strap's own filtered rate at that beat; no interval is longer than 3 s or under 0 (a
    message's beats moved by up to 4 s, as fitdecode's own sum of the 12 bits leaves them,
    would be). A few short ones are the strap's (its filtered rate does not move there):
    the corrector's to label."""
    beats = read_beats(str(DATA / name))
    own = strap_bpm(DATA / name)
    rr = np.diff(beats)
    assert len(beats) <= len(own) and len(beats) > 0.99 * len(own)  # (last one padded)
    assert rr.min() > 0 and rr.max() < 3.0 and np.mean((rr > 0.25) & (rr < 2.0)) > 0.99
    n = min(len(rr), len(own) - 1)  # (a stamp the writer repeats to pad is no beat)
    diff = np.abs(60 / rr[:n] - own[1:n + 1])
    assert np.median(diff) < 3 and np.percentile(diff, 95) < 10
    s = ok(capsys, "hrv", DATA / name)
    assert len(s["rr_ms"]) > 0.99 * len(rr) and s["rmssd_ms"] > 0


def test_a_swim_s_heart_rate_is_its_stored_beats(capsys):
    """The swim's records hold no heart rate (the watch heard no strap): `signal hr` gave
    'no heart rate either'; its beats give the rate, within the strap's own range."""
    s = ok(capsys, "hr", DATA / "garmin-fr735xt-swim-hrm.fit")
    own = strap_bpm(DATA / "garmin-fr735xt-swim-hrm.fit")
    assert not s.get("hr_only") and own.min() < s["bpm"] < own.max()
    assert s["bpm"] == pytest.approx(60 / np.mean(np.diff(read_beats(
        str(DATA / "garmin-fr735xt-swim-hrm.fit")))), abs=5)


def test_a_triathlon_s_heart_rate_is_the_whole_race_not_the_swim(capsys):
    """The strap stored beats for the swim only (58 of 169 min): `signal hr` gives the
    records' rate over the race, not the swim's beats as if they were the race."""
    s = ok(capsys, "hr", DATA / "garmin-triathlon-hrm.fit")
    assert s["hr_only"] and s["duration_s"] > 9000


def test_a_coros_watch_s_file_is_read(capsys):
    """COROS Pace 2 writes a uint32 field one byte wide; the file's checksum is right. It
    was refused ('not a readable FIT file ... copy it from the watch again', which gives
    the same file). Its rate's maximum is the watch's own session maximum."""
    s = ok(capsys, "hr", DATA / "coros-pace-2-bike.fit")
    session = messages(DATA / "coros-pace-2-bike.fit", "session")[0]
    assert s["hr_only"] and s["max_bpm"] == session.get_value("max_heart_rate")
    assert s["readings"] > 8000


def test_a_recording_never_closed_is_read_up_to_where_it_ends(capsys):
    """A Sigma Sport ride of 4 h 39 min whose last message the device never finished (no
    checksum after it): refused whole before ('copy it from the watch again', which gives
    the same file). Its 14 387 heart-rate readings are read, and stderr says where it ends
    and that nothing checked it."""
    rc = main(["signal", "hr", str(DATA / "sigma-unclosed-ride.fit"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and json.loads(out)["readings"] == 14387
    assert len(err.strip().splitlines()) == 1 and "never closed" in err and "403456" in err


@pytest.mark.parametrize("harm", ["cut", "size", "header"])
def test_a_fit_file_cut_short_gives_the_beats_before_the_cut(tmp_path, capsys, harm):
    """A copy cut in half, or a header promising more data than there is (10 times, or
    4 GB): the beats up to the cut are the whole file's first ones, no other; a file cut
    before any heart rate is refused in one line."""
    data = (DATA / "garmin_hrv.fit").read_bytes()
    whole = read_beats(str(DATA / "garmin_hrv.fit"))
    p = tmp_path / "cut.fit"
    size = {"cut": None, "size": len(data) * 10, "header": 0xFFFFFFFF}[harm]
    p.write_bytes(data[:len(data) // 2] if size is None else
                  data[:4] + size.to_bytes(4, "little") + data[8:])
    with pytest.warns(SignalNote, match="ends inside"):
        got = read_beats(str(p))
    assert len(got) > 100 and got == pytest.approx(whole[:len(got)], abs=1e-9)
    p.write_bytes(data[:60])  # (file_id and no more)
    assert main(["signal", "hr", str(p)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no heart rate before the end" in err


APPLE_HR = ('<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Apple Watch" '
            'unit="count/min" startDate="2024-04-30 08:0{}:00 +0200" endDate="2024-04-30 '
            '08:0{}:00 +0200" value="6{}"/>\n')


@pytest.mark.parametrize("packed", [False, True])
def test_apple_health_s_export_gives_its_rate_and_no_hrv_without_sessions(tmp_path, capsys,
                                                                          packed):
    """The Health app's 'Export All Health Data' (export.zip, export.xml inside; the layout
    as its DTD and public readers give it). Before: "'<!DOCTYPE HealthData [' is not a
    number", and for the zip 'an Excel .xlsx? save the sheet as CSV'. Its heart rate is a
    rate with no HRV (tests/test_signal_files_apple.py reads its HRV sessions' beats); with
    no HRV session, `signal hrv` says so in one line."""
    import zipfile

    xml = APPLE_HEAD + "".join(APPLE_HR.format(k, k, k) for k in range(5)) + "</HealthData>\n"
    p = tmp_path / ("export.zip" if packed else "export.xml")
    if packed:
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("apple_health_export/export.xml", xml)
    else:
        p.write_text(xml)
    for args in (["hr"], ["hr", "--kind", "rr"], ["hr", "--kind", "ecg"]):
        assert main(["signal", *args, str(p), "--json"]) == 0
        s = json.loads(capsys.readouterr().out)
        assert s["readings"] == 5 and s["rmssd_ms"] is None and s["min_bpm"] == 60
    rc = main(["signal", "hrv", str(p)])
    out, err = capsys.readouterr()
    assert rc == 1 and not out and len(err.strip().splitlines()) == 1, err
    assert "no HRV sessions" in err and "signal hr" in err


def fit_heard(path, rr: np.ndarray, heard: np.ndarray, bpm: int = 75) -> np.ndarray:
    """A watch's activity (fit-tool): a record a second, and an hrv message (one interval,
    as a fenix 5) for each interval that ends in a beat the watch heard. The beat times."""
    pytest.importorskip("fit_tool")
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.hrv_message import HrvMessage
    from fit_tool.profile.messages.record_message import RecordMessage

    beats = np.concatenate(([0.0], np.cumsum(rr)))
    b, ms0, k = FitFileBuilder(auto_define=True), 1_000_000_000_000, 0
    for s in range(int(beats[-1]) + 2):
        r = RecordMessage()
        r.timestamp, r.heart_rate = ms0 + 1000 * s, bpm
        b.add(r)
        while k < len(rr) and beats[k + 1] <= s:
            if heard[k]:
                h = HrvMessage()
                h.time = [float(rr[k])]
                b.add(h)
            k += 1
    path.write_bytes(b.build().to_bytes())
    return beats


def made_up_rr(n: int) -> np.ndarray:
    rng = np.random.default_rng(19)
    return 0.8 + 0.05 * np.sin(np.arange(n) * 2 * np.pi / 7) + rng.normal(0, 0.01, n)


def test_beats_a_watch_never_heard_leave_a_gap_not_neighbours(tmp_path, capsys):
    """A strap out of the watch's range for a minute: the watch writes its records a
    second (their clock runs on) but no hrv messages. Laid end to end, the beats after
    the minute were moved back a minute and the last one before it made neighbour of the
    first after: a silent join. The records' clock places them: one long interval the
    corrector labels, the beats after it within the records' 1-s stamps of their times.
    (The rates are made up.)"""
    rr = made_up_rr(300)
    beats = np.concatenate(([0.0], np.cumsum(rr)))
    heard = ~((beats[1:] > 100) & (beats[1:] <= 160))  # an interval ends in the beat heard
    fit_heard(tmp_path / "lost.fit", rr, heard)
    got = read_beats(str(tmp_path / "lost.fit"))
    first = int(np.argmax(~heard))  # intervals heard before the minute
    j = first + int(np.argmax(heard[first:]))  # the first heard after it
    assert np.diff(got)[:first] == pytest.approx(rr[:first], abs=1e-3)
    assert np.diff(got)[first] == pytest.approx(beats[j] - beats[first], abs=1.5)
    assert got[first + 1:] == pytest.approx(beats[j:], abs=1.5)
    s = ok(capsys, "hrv", tmp_path / "lost.fit")
    assert first in [a["index"] for a in s["artefacts"]] and not s["normal"][first]


def test_beats_of_a_part_of_the_ride_are_not_its_heart_rate(tmp_path, capsys):
    """The strap is heard for the first 2 of 10 minutes (then the watch reads its own wrist:
    records only). `signal hr` gave those 2 minutes' rate as the ride's, with no word; it
    gives the records' rate over the ride, and `signal hrv` the 2 minutes' beats."""
    rr = made_up_rr(750)
    beats = np.concatenate(([0.0], np.cumsum(rr)))
    fit_heard(tmp_path / "part.fit", rr, beats[1:] <= 120, bpm=90)
    s = ok(capsys, "hr", tmp_path / "part.fit")
    assert s["hr_only"] and s["bpm"] == 90 and s["duration_s"] > 590
    assert ok(capsys, "hrv", tmp_path / "part.fit")["mean_rr_ms"] == pytest.approx(
        1000 * rr[beats[1:] <= 120].mean(), abs=1)


def test_a_cut_file_refused_says_so_in_one_line(tmp_path, capsys):
    """Half a file of heart rate only: `signal hr` reads it, noting the cut; `signal hrv`
    refuses it (no beats) in one line, not the note and the refusal."""
    data = (DATA / "garmin_hr_only.fit").read_bytes()
    p = tmp_path / "cut.fit"
    p.write_bytes(data[:len(data) // 2])
    assert main(["signal", "hr", str(p)]) == 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "ends inside" in err
    assert main(["signal", "hrv", str(p)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Log HRV" in err


def test_a_message_of_whole_stamps_is_each_one_s_beat(tmp_path):
    """hr messages may carry event_timestamp whole, an array of them (FIT Profile: uint32
    array, 1/1024 s), in a message stamped in UTC: each value is its own beat, on the
    clock its message's stamp pins (it was each pinned to the message's stamp: all one
    time, so one beat). fit-tool writes it."""
    pytest.importorskip("fit_tool")
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.hr_message import HrMessage

    rr = made_up_rr(48)
    ticks = 3_500_000 + np.concatenate(([0.0], np.cumsum(rr)))  # the device's clock, s
    b = FitFileBuilder(auto_define=True)
    for k in range(0, 48, 8):
        m = HrMessage()
        m.timestamp = 1_000_000_000_000 + round(1000 * (ticks[k + 7] - ticks[0]))
        m.event_timestamp = list(ticks[k:k + 8])
        b.add(m)
    (tmp_path / "whole.fit").write_bytes(b.build().to_bytes())
    got = read_beats(str(tmp_path / "whole.fit"))
    assert np.diff(got) == pytest.approx(rr[:47], abs=2e-3)


def test_a_watch_s_beats_are_not_called_a_ppg(capsys):
    """`signal hrv` on a FIT file said '... intervals after correction (ppg)': the default
    --kind, though no PPG was read; they are RR intervals."""
    assert main(["signal", "hrv", str(DATA / "garmin-fenix-5-run.fit")]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert head.endswith("(rr)") and "(ppg)" not in head  # (a path may hold "ppg")


def test_a_daily_monitoring_file_gives_its_heart_rate(tmp_path, capsys):
    """A Garmin watch's all-day file (FIT file type monitoring_b: monitoring messages, a
    heart_rate a minute or two, stamped with timestamp_16, the low 16 bits of the time,
    after one whole timestamp: FIT Profile). `signal hr` said 'no heart rate either'; it
    gives the day's readings as a rate (no HRV), their times across the 16 bits' wrap
    (every 18 h) read on. fit-tool writes it; the rates are made up."""
    pytest.importorskip("fit_tool")
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.file_id_message import FileIdMessage
    from fit_tool.profile.messages.monitoring_message import MonitoringMessage
    from fit_tool.profile.profile_type import FileType

    fit0 = (1 << 30) - 3600  # s since the FIT epoch (1989-12-31): 16 bits wrap an hour on
    bpm = 60 + (np.arange(180) % 25)
    b = FitFileBuilder(auto_define=True)
    f = FileIdMessage()
    f.type = FileType.MONITORING_B
    b.add(f)
    m = MonitoringMessage()
    m.timestamp = (fit0 + 631_065_600) * 1000  # (fit-tool takes unix ms)
    b.add(m)
    for k, v in enumerate(bpm):
        m = MonitoringMessage()
        m.timestamp_16, m.heart_rate = (fit0 + 60 * (k + 1)) & 0xFFFF, int(v)
        b.add(m)
    (tmp_path / "day.fit").write_bytes(b.build().to_bytes())
    s = ok(capsys, "hr", tmp_path / "day.fit")
    assert s["hr_only"] and s["readings"] == 180 and s["duration_s"] == 179 * 60
    assert s["bpm"] == pytest.approx(bpm.mean(), abs=0.01)
