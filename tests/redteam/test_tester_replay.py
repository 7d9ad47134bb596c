"""A tester's own CSV recordings played back through `replay://` (`empathy sensors read`,
an edge unit's seat source) or given to `calibrate hr`: the file is where these values
enter the system, so each is range-checked there and a bad one named by file:line.
Findings: NaN, infinite, negative and billion-bpm readings went straight on to the edge;
a NaN time stamp was cast to a garbage integer with a numpy warning; a spreadsheet's
byte-order mark made a good file 'not a CSV recording' (and 'header must be ts_us' to
calibrate hr); a Latin-1 file and `speed=nan` were unexpected errors (exit 70, a crash
report); a short row gave numpy's 'inhomogeneous shape'."""

import pytest

from empathy import cli
from empathy.sensors.base import Beat, SourceError, open_source
from empathy.sensors.replay import load_csv


def rec(tmp_path, text: str, data: bytes = b""):
    path = tmp_path / "rec.csv"
    path.write_bytes(data + text.encode())
    return path


def test_a_spreadsheets_byte_order_mark_is_not_part_of_the_header(tmp_path):
    got = load_csv(rec(tmp_path, "ts_us,rr_ms\r\n0,800\r\n800000,810\r\n", b"\xef\xbb\xbf"))
    assert got == [Beat(0, 800.0), Beat(800000, 810.0)]


@pytest.mark.parametrize("text, says", [
    ("ts_us,rr_ms\n0,800\n800000,nan\n", "rec.csv:3: rr_ms nan is not finite"),
    ("ts_us,rr_ms\n0,800\n800000,-5\n", "rec.csv:3: rr_ms -5 is below 1"),
    ("ts_us,hr_bpm\n0,1e9\n", "rec.csv:2: hr_bpm 1e9 is above 400"),
    ("ts_us,pupil_mm\n0,3.1\n16000,inf\n", "rec.csv:3: pupil_mm inf is not finite"),
    ("ts_us,pupil_mm\n0,3.1\n16000,40\n", "rec.csv:3: pupil_mm 40 is above 12"),
    ("ts_us,ppg\n0,1\n10000,1e300\n", "rec.csv:3: ppg 1e300 is above 1e+12"),
    ("ts_us,rr_ms\nnan,800\n", "rec.csv:2: ts_us nan is not a time"),
    ("ts_us,rr_ms\n1e30,800\n", "rec.csv:2: ts_us 1e30 is not a time"),
    ("ts_us,rr_ms\n-5,800\n", "rec.csv:2: ts_us -5 is not a time"),
    ("ts_us,rr_ms\n0,800\n800000\n", "rec.csv:3: 1 field(s), need ts_us and rr_ms"),
    ("ts_us,rr_ms\n0,800\n8e5,eight\n", "rec.csv:3: '8e5', 'eight': not numbers"),
    ("ts_us,temp_c\n0,36.6\n", "unknown column 'temp_c'"),
])
def test_a_reading_out_of_range_is_refused_by_file_and_line(tmp_path, text, says):
    with pytest.raises(SourceError) as e:
        load_csv(rec(tmp_path, text))
    assert says in str(e.value), str(e.value)


def test_a_lost_pupil_sample_written_as_minus_one_still_plays(tmp_path):
    """Eye trackers write a lost sample as -1 or 0: a gap, not a damaged file."""
    got = load_csv(rec(tmp_path, "ts_us,pupil_mm\n0,3.2\n16000,-1\n32000,0\n"))
    assert [p.confidence for p in got] == [1.0, 0.0, 0.0]


def test_artefacts_a_device_sends_still_play(tmp_path):
    """A missed beat's 3.5-s RR and a strap's 0 bpm without contact are what a live
    sensor sends too: the edge judges them, the replay passes them on."""
    assert [b.rr_ms for b in load_csv(rec(tmp_path, "ts_us,rr_ms\n0,800\n9e5,3500\n"))] == [
        800.0, 3500.0]
    assert [h.hr_bpm for h in load_csv(rec(tmp_path, "ts_us,hr_bpm\n0,0\n1e6,72\n"))] == [
        0.0, 72.0]


@pytest.mark.parametrize("speed", ["nan", "inf", "-1"])
def test_a_replay_speed_that_is_not_a_speed_is_refused(tmp_path, speed):
    path = rec(tmp_path, "ts_us,rr_ms\n0,800\n800000,810\n")
    with pytest.raises(SourceError, match="speed must be a number >= 0"):
        open_source(f"replay://{path}?speed={speed}")


@pytest.mark.parametrize("data, url_tail", [
    ("ts_us,rr_ms\n0,800\n800000,8\xb0\n".encode("latin-1"), ""),  # a degree sign, Latin-1
    (b"ts_us,rr_ms\n0,800\n800000,810\n", "?speed=nan")])
def test_sensors_read_on_a_bad_recording_is_one_line(tmp_path, capfd, monkeypatch, data,
                                                     url_tail):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "rec.csv"
    path.write_bytes(data)
    rc = cli.main(["sensors", "read", f"replay://{path}{url_tail}", "--duration", "0.2"])
    out, err = capfd.readouterr()
    assert rc not in (0, 70), err  # 70: an unexpected error (a crash report)
    assert len(err.strip().splitlines()) == 1 and "unexpected" not in err, err
    assert err.startswith("empathy sensors read: "), err


def _beats_csv(bom: bytes = b"", tail: bytes = b"") -> bytes:
    t, rows = 0, []
    for k in range(150):  # 2 minutes of beats, 800 +- 30 ms
        rr = 800 + 30 * ((k * 7919) % 13 - 6) / 6
        t += int(rr * 1000)
        rows.append(f"{t},{rr:.1f}\n")
    return bom + ("ts_us,rr_ms\n" + "".join(rows)).encode() + tail


def test_calibrate_hr_reads_a_strap_export_saved_with_a_byte_order_mark(tmp_path, capfd):
    """`calibrate hr` on a device file a spreadsheet saved: refused as 'header must be
    ts_us ...; got \\ufeffts_us,rr_ms' (calibration/recording.py)."""
    (tmp_path / "ref.csv").write_bytes(_beats_csv())
    (tmp_path / "dev.csv").write_bytes(_beats_csv(b"\xef\xbb\xbf"))
    rc = cli.main(["calibrate", "hr", "--device", str(tmp_path / "dev.csv"), "--reference",
                   str(tmp_path / "ref.csv"), "--out", str(tmp_path / "out"), "--json"])
    out, err = capfd.readouterr()
    assert rc == 0, err  # the same beats: a pass


def test_calibrate_hr_names_the_file_that_is_not_utf8(tmp_path, capfd):
    (tmp_path / "ref.csv").write_bytes(_beats_csv())
    (tmp_path / "dev.csv").write_bytes(_beats_csv(tail="9,8\xb0\n".encode("latin-1")))
    rc = cli.main(["calibrate", "hr", "--device", str(tmp_path / "dev.csv"), "--reference",
                   str(tmp_path / "ref.csv"), "--out", str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert rc not in (0, 70) and f"{tmp_path / 'dev.csv'}: not a UTF-8 CSV" in err, err
