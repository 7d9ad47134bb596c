"""`empathy signal hr|hrv` on what users bring from watches and phone apps (edge/signal_apps.py;
the files and where each layout comes from: tests/data/signal/README.md): Garmin FIT files
(real ones from three Garmin devices, and ones written with fit-tool, not the fitdecode that
reads them, carrying a corpus RR series), Polar Sensor Logger's HR and PPI files, HRV
Logger's RR file;
and two faults of the readers beside them (an E4 file with its start zeroed, an EDF with two
channels of one label). Each is read as the series written into it, or refused in one line
with a non-zero exit."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from empathy.edge.signal_apps import read_beats, read_fit
from signal_run import ok, refused

DATA = Path(__file__).parent / "data" / "signal"
sys.path.insert(0, str(DATA))


@pytest.fixture(scope="module")
def written():
    """The RR series make_apps.py wrote into the FIT files (pyhrv-nni-long, a tuning record)."""
    from make_apps import FIT_RR, corpus_rr

    try:
        rr = corpus_rr("pyhrv-0.5.0.tar.gz", "pyhrv-0.5.0/pyhrv/files/SampleNNISeriesLong.npy")
    except FileNotFoundError:
        pytest.skip("the heart corpus's cache is not here")
    return rr[:FIT_RR]


def plain(tmp_path, rr) -> Path:
    p = tmp_path / "rr.txt"
    np.savetxt(p, rr, fmt="%.0f")
    return p


def test_a_garmin_fit_s_hrv_messages_give_the_rr_written_into_them(tmp_path, capsys, written):
    """Before: 'not UTF-8 text'. Intervals written with fit-tool (the last message's two
    empty slots 0xFFFF), read with fitdecode: the series, and the HRV of the same series as a
    text file; `signal hr` reads it as beats (any --kind: a FIT holds no waveform)."""
    beats = read_beats(str(DATA / "garmin_hrv.fit"))
    assert np.diff(beats) * 1000 == pytest.approx(written, abs=0.5)
    got = ok(capsys, "hrv", DATA / "garmin_hrv.fit")
    ref = ok(capsys, "hrv", plain(tmp_path, written), "--kind", "rr")
    assert got["rr_ms"] == pytest.approx(ref["rr_ms"], abs=0.05)
    assert got["rmssd_ms"] == pytest.approx(ref["rmssd_ms"], abs=0.01)
    assert ok(capsys, "hr", DATA / "garmin_hrv.fit")["bpm"] == \
        pytest.approx(ok(capsys, "hr", plain(tmp_path, written), "--kind", "rr")["bpm"], abs=0.01)


def test_fit_beat_intervals_messages_give_the_rr_written_into_them(tmp_path, capsys, written):
    """Before: 'no beat intervals (hrv messages)'. FIT message 290 (beat_intervals, newer
    Garmin watches: timestamp, timestamp_ms, time: an array of intervals in ms; FIT SDK
    Profile), written with fit-tool after each second's record: the series exactly, and
    the HRV of the same series as a text file."""
    beats = read_beats(str(DATA / "garmin_beat_intervals.fit"))
    assert np.diff(beats) * 1000 == pytest.approx(written, abs=1e-3)  # (UTC s in a float)
    got = ok(capsys, "hrv", DATA / "garmin_beat_intervals.fit")
    ref = ok(capsys, "hrv", plain(tmp_path, written), "--kind", "rr")
    assert got["rr_ms"] == pytest.approx(ref["rr_ms"], abs=1e-3)
    assert got["rmssd_ms"] == pytest.approx(ref["rmssd_ms"], abs=1e-3)


@pytest.mark.parametrize("name", ["garmin-fenix-5-run.fit", "garmin-edge-820-bike.fit"])
def test_real_garmin_files_beats_agree_with_the_watch_s_own_heart_rate(capsys, name):
    """Real files (fitparse's test files, MIT): a fenix 5 (one interval a message) and an
    Edge 820 (one or two). The rate the beats give over their span is the watch's own
    heart_rate records' within 2 bpm, which a misread interval or slot would not keep."""
    beats, rate, _ = read_fit(str(DATA / name))
    from_beats = 60 * (len(beats) - 1) / beats[-1]
    watch = float(np.average(rate.bpm[:-1], weights=np.diff(rate.t)))
    assert from_beats == pytest.approx(watch, abs=2.0)
    assert 0.25 < np.diff(beats).min() and np.diff(beats).max() < 2.0  # a moving person's
    assert ok(capsys, "hrv", DATA / name)["rmssd_ms"] > 0


@pytest.mark.parametrize("name", ["garmin_hr_only.fit", "garmin-fenix-5-bike.fit"])
def test_a_fit_file_without_hrv_messages_gives_its_rate_and_no_hrv(capsys, name):
    """A watch without 'Log HRV' writes heart_rate records only: `signal hr` gives their mean,
    labelled a rate with no HRV; `signal hrv` says how to record beats."""
    s = ok(capsys, "hr", DATA / name)
    beats, rate, _ = read_fit(str(DATA / name))
    assert beats is None and s["hr_only"] and s["rmssd_ms"] is None
    assert s["readings"] == len(rate.bpm) and rate.bpm.min() <= s["bpm"] <= rate.bpm.max()
    if name == "garmin_hr_only.fit":  # a reading a second of the corpus series' beats
        assert s["bpm"] == pytest.approx(ok(capsys, "hr", DATA / "garmin_hrv.fit")["bpm"],
                                         abs=1.0)
    assert "Log HRV" in refused(capsys, "hrv", DATA / name)


def test_chained_fit_files_keep_the_time_between_them(capsys, written):
    """Two activities in one file, the second a minute after the first ends: laid end to
    end, the last beat of one and the first of the other were neighbours."""
    s = ok(capsys, "hrv", DATA / "garmin_chained.fit")
    beats = read_beats(str(DATA / "garmin_chained.fit"))
    rr = np.diff(beats) * 1000
    half = len(written) // 2
    # (FIT stamps whole seconds)
    assert len(rr) == len(written) + 1 and rr[half] == pytest.approx(60_000, abs=1000)
    assert np.delete(rr, half) == pytest.approx(written, abs=0.5)
    assert half in [a["index"] for a in s["artefacts"]] and not s["normal"][half]


def test_a_damaged_fit_file_is_refused_in_one_line(tmp_path, capsys):
    """One bit of a message flipped: the checksum says so. (A file that ends early is read
    up to its end: tests/test_signal_fit_real.py.)"""
    data = bytearray((DATA / "garmin_hrv.fit").read_bytes())
    data[200] ^= 0x01
    p = tmp_path / "bad.fit"
    p.write_bytes(bytes(data))
    for verb in ("hr", "hrv"):
        err = refused(capsys, verb, p)
        assert "FIT" in err and "checksum" in err


def test_a_fit_writer_s_zero_padding_is_no_interval(tmp_path, capsys):
    """fit-tool pads a short hrv message with zeros, Garmin with 0xFFFF: neither is a beat."""
    fit_tool = pytest.importorskip("fit_tool")  # noqa: F841 (the writer)
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.hrv_message import HrvMessage

    b = FitFileBuilder(auto_define=True)
    for times in ([0.8, 0.812, None, None, None], [0.9], [0.85, 0.83]):
        h = HrvMessage()
        h.time = times
        b.add(h)
    p = tmp_path / "pad.fit"
    p.write_bytes(b.build().to_bytes())
    assert np.diff(read_beats(str(p))) == pytest.approx([0.8, 0.812, 0.9, 0.85, 0.83])


def test_polar_sensor_logger_s_hr_file_gives_its_rate_not_hrv(tmp_path, capsys):
    """Rows of 2 to 4 fields ('...;62' or '...;62;42.5;'): refused before ('4 fields, header
    has 5'). Its 'HRV [ms]' is the app's own RMSSD over 30 beats: no beats, so `signal hrv`
    names the _RR.txt beside it."""
    rows = [s.split(";") for s in (DATA / "polar_h10_HR.txt").read_text().splitlines()[1:]]
    bpm = np.array([float(r[1]) for r in rows])
    assert {len(r) for r in rows} >= {2, 4}
    s = ok(capsys, "hr", DATA / "polar_h10_HR.txt")
    assert s["hr_only"] and s["readings"] == len(bpm)
    assert s["bpm"] == pytest.approx(bpm.mean(), abs=0.01)  # a reading a second: equal weights
    assert "polar_h10_RR.txt" in refused(capsys, "hrv", DATA / "polar_h10_HR.txt", "--kind",
                                         "rr")
    lost = tmp_path / "x_HR.txt"  # a strap off the skin reports 0: no reading, not 0 bpm
    head = (DATA / "polar_h10_HR.txt").read_text().splitlines()[0]
    lost.write_text("\n".join([head] + [";".join(r[:1] + ["0" if r[1] == "60" else r[1]] + r[2:])
                                        for r in rows]) + "\n")
    s0 = ok(capsys, "hr", lost)
    assert s0["no_reading"] == int(np.sum(bpm == 60)) and s0["bpm"] > s["bpm"]
    bad = tmp_path / "y_HR.txt"
    bad.write_text((DATA / "polar_h10_HR.txt").read_text().replace(";61\n", ";610\n", 1))
    assert "610" in refused(capsys, "hr", bad)


def test_hrv_logger_s_rr_file_is_read_on_its_beat_clock(tmp_path, capsys):
    """'date, rr, since start' (date to the second, with its zone): refused before (the date
    is no number). Its 'since start' stamps each interval's start: ten beats the app lost
    stay a gap."""
    lines = (DATA / "hrv_logger_RR.csv").read_text().splitlines()
    rr = [float(s.split(",")[1]) for s in lines[1:]]
    assert ok(capsys, "hrv", DATA / "hrv_logger_RR.csv", "--kind", "rr")["rr_ms"] == rr
    (tmp_path / "RR.csv").write_text("\n".join(lines[:61] + lines[71:]))
    s = ok(capsys, "hrv", tmp_path / "RR.csv", "--kind", "rr")
    assert [a["index"] for a in s["artefacts"]] == [59] and not s["normal"][59]
    assert "--kind rr" in refused(capsys, "hr", DATA / "hrv_logger_RR.csv")


@pytest.mark.parametrize("header", ["Phone Data RX timestamp;", "Phone timestamp;"])
def test_polar_sensor_logger_s_ppi_file_leaves_out_what_the_sensor_blocked(tmp_path, header):
    """Verity Sense's pulse intervals: refused before ('contact' named twice). An interval
    the sensor marks 'blocker' (motion) ends in no beat: it and the next are one long
    interval for the corrector, not a short and a long beside good ones. Both header
    variants, rows with or without a closing ';'."""
    text = (DATA / "polar_verity_PPI.txt").read_text()
    rows = [r.split(";") for r in text.splitlines()[1:]]
    pp, blocked = np.array([float(r[1]) for r in rows]), np.array([r[3] == "1" for r in rows])
    if header == "Phone timestamp;":  # the app's other version: a ';' closes every line
        text = header + text.split(";", 1)[1].replace("\n", ";\n")
    (tmp_path / "x_PPI.txt").write_text(text)
    got = np.diff(read_beats(str(tmp_path / "x_PPI.txt"))) * 1000
    merged, k = [], 0
    while k < len(pp):  # a blocked interval joins the next
        n = next(j for j in range(k, len(pp)) if not blocked[j] or j == len(pp) - 1)
        merged.append(pp[k:n + 1].sum())
        k = n + 1
    assert blocked.sum() == 3 and got == pytest.approx(merged, abs=0.01)


def test_an_e4_file_whose_start_was_zeroed_is_still_an_e4_file(tmp_path, capsys):
    """Its first two rows (start, rate) were read as samples (then '--fs needed')."""
    ref = ok(capsys, "hr", DATA / "e4_BVP.csv")
    lines = (DATA / "e4_BVP.csv").read_text().splitlines(True)
    for start in ("0.000000\n", "-1.000000\n"):
        (tmp_path / "BVP.csv").write_text(start + "".join(lines[1:]))
        assert ok(capsys, "hr", tmp_path / "BVP.csv")["bpm"] == ref["bpm"]


def test_an_edf_with_two_channels_of_one_label_asks_which(tmp_path, capsys):
    """The later channel was read under the label, silently: here a flat one for the ECG."""
    pyedflib = pytest.importorskip("pyedflib")
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)[:1300]
    head = dict(dimension="uV", physical_min=-8000, physical_max=8000, digital_min=-32768,
                digital_max=32767, sample_frequency=130)
    p = str(tmp_path / "two.edf")
    with pyedflib.EdfWriter(p, 2, file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        w.setSignalHeaders([dict(head, label="ECG"), dict(head, label="ECG")])
        w.writeSamples([uv.astype(float), np.zeros(1300)])
    assert "ecg#1, ecg#2" in refused(capsys, "hr", p, "--kind", "ecg")
    assert ok(capsys, "hr", p, "--kind", "ecg", "--column", "ecg#1")["bpm"] == pytest.approx(
        77.7, abs=0.5)


def test_a_damaged_file_named_fit_is_refused_as_a_fit_file(tmp_path):
    """Random bytes in a .fit (a copy cut at its start) were refused as 'not UTF-8 text:
    save it as UTF-8 CSV'."""
    f = tmp_path / "ride.fit"
    f.write_bytes(bytes(np.random.default_rng(3).integers(0, 256, 300, dtype=np.uint8)))
    for verb in ("hr", "hrv"):
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", verb, str(f)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "Traceback" not in r.stderr
        assert "FIT" in r.stderr and "CSV" not in r.stderr, r.stderr
