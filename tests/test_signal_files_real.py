"""`empathy signal hr|hrv` on the files real devices and apps export (tests/data/signal:
where each layout is documented, README.md there). Each must give the heart rate the same
samples give as a plain time,value CSV, or one line saying what to do and a non-zero exit;
never a silently wrong rate."""

import json
from pathlib import Path

import numpy as np
import pytest
from signal_run import ok, refused, signal


DATA = Path(__file__).parent / "data" / "signal"


def hr(capsys, *args) -> dict:
    return ok(capsys, "hr", *args)


def plain(tmp_path, fs: float, x) -> Path:
    """The same samples as the long-read layout: time (s), value."""
    p = tmp_path / "plain.csv"
    np.savetxt(p, np.column_stack([np.arange(len(x)) / fs, x]), delimiter=",", fmt="%.9g",
               header="time,value", comments="")
    return p


def test_polar_sensor_logger_ecg_reads_on_the_sensor_clock(tmp_path, capsys):
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
    s = hr(capsys, DATA / "polar_h10_ecg.txt", "--kind", "ecg")
    assert s["fs_hz"] == pytest.approx(130, abs=0.01)  # the sensor's ns, not the phone's frames
    ref = hr(capsys, plain(tmp_path, 130, uv), "--kind", "ecg")
    assert s["bpm"] == pytest.approx(ref["bpm"], abs=0.05) and 40 <= s["bpm"] <= 120
    assert s["beats_s"] == pytest.approx(ref["beats_s"], abs=0.01)


def test_a_wrong_fs_against_the_file_s_own_clock_is_refused(capsys):
    err = refused(capsys, "hr", DATA / "polar_h10_ecg.txt", "--kind", "ecg", "--fs", "250")
    assert "250" in err and "130" in err
    # the rate it gives itself, or one within 1 %, is fine
    assert hr(capsys, DATA / "polar_h10_ecg.txt", "--kind", "ecg", "--fs", "130")["fs_hz"] \
        == pytest.approx(130, abs=0.01)


def test_empatica_e4_bvp_takes_its_rate_from_its_second_row(tmp_path, capsys):
    rows = np.loadtxt(DATA / "e4_BVP.csv")
    assert rows[1] == 64
    s = hr(capsys, DATA / "e4_BVP.csv")
    ref = hr(capsys, plain(tmp_path, 64, rows[2:]))  # the header rows are no samples
    assert s["fs_hz"] == pytest.approx(64) and s["bpm"] == pytest.approx(ref["bpm"], abs=0.05)
    assert 40 <= s["bpm"] <= 120
    err = refused(capsys, "hr", DATA / "e4_BVP.csv", "--fs", "32")
    assert "64" in err


def test_e4_ibi_and_polar_rr_exports_read_as_rr(capsys):
    ref = json.loads(signal(capsys, "hrv", DATA / "elite_hrv_rr.txt", "--kind", "rr",
                            "--json")[1])
    for f in ("e4_IBI.csv", "polar_h10_rr.txt", "kubios_rr_s.txt"):
        rc, out, err = signal(capsys, "hrv", DATA / f, "--kind", "rr", "--json")
        assert rc == 0, err
        assert json.loads(out)["rr_ms"] == pytest.approx(ref["rr_ms"], abs=0.51), f


def test_opensignals_text_reads_its_header_s_rate_and_sensor(tmp_path, capsys):
    body = np.loadtxt(DATA / "opensignals_ecg.txt", comments="#")
    s = hr(capsys, DATA / "opensignals_ecg.txt", "--kind", "ecg")
    ref = hr(capsys, plain(tmp_path, 200, body[:, -1]), "--kind", "ecg")
    assert s["fs_hz"] == pytest.approx(200) and s["bpm"] == pytest.approx(ref["bpm"], abs=0.05)


@pytest.mark.parametrize("header", ["Time (s),ECG (uV)", "time [s],ecg", "Time_s;ecg"])
def test_a_time_column_with_its_unit_in_the_name_is_the_clock_not_the_signal(
        tmp_path, capsys, header):
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
    sep = ";" if ";" in header else ","
    p = tmp_path / "units.csv"
    np.savetxt(p, np.column_stack([np.arange(len(uv)) / 130, uv]), delimiter=sep,
               fmt="%.9g", header=header, comments="")
    ref = hr(capsys, plain(tmp_path, 130, uv), "--kind", "ecg")
    assert hr(capsys, p, "--kind", "ecg")["bpm"] == pytest.approx(ref["bpm"], abs=0.05)
    ms = tmp_path / "ms.csv"
    np.savetxt(ms, np.column_stack([np.arange(len(uv)) / 0.130, uv]), delimiter=",",
               fmt="%.9g", header="timestamp [ms],ecg [uV]", comments="")
    assert hr(capsys, ms, "--kind", "ecg")["fs_hz"] == pytest.approx(130)


@pytest.mark.parametrize("name", ["e4_EDA.csv", "opensignals_eda.txt"])
def test_a_skin_conductance_file_is_no_heart_signal(capsys, name):
    assert "skin conductance" in refused(capsys, "hr", DATA / name)


def test_a_pupil_file_given_as_heart_names_the_pupil_verb(tmp_path, capsys):
    t = np.arange(0, 30, 1 / 120)
    p = tmp_path / "pupil.csv"
    np.savetxt(p, np.column_stack([t, 3.5 + 0.2 * np.sin(t)]), delimiter=",",
               header="time,pupil_mm", comments="", fmt="%.4f")
    assert "signal pupil" in refused(capsys, "hr", p)


def test_an_edf_s_ecg_channel_is_found_at_its_own_rate(tmp_path, capsys):
    pyedflib = pytest.importorskip("pyedflib")
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
    eeg = 20 * np.sin(np.arange(256 * 10) / 7.0)  # a sleep record's first channel: EEG
    head = dict(dimension="uV", physical_min=-8000, physical_max=8000, digital_min=-32768,
                digital_max=32767)
    p = str(tmp_path / "psg.edf")
    with pyedflib.EdfWriter(p, 2, file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        w.setSignalHeaders([dict(head, label="EEG Fpz-Cz", sample_frequency=256),
                            dict(head, label="ECG", sample_frequency=130)])
        w.writeSamples([eeg, uv[:1300].astype(float)])
    s = hr(capsys, p, "--kind", "ecg")
    ref = hr(capsys, plain(tmp_path, 130, uv[:1300]), "--kind", "ecg")
    assert s["fs_hz"] == pytest.approx(130) and s["bpm"] == pytest.approx(ref["bpm"], abs=0.2)


def test_a_rate_too_slow_for_a_heart_waveform_says_so(tmp_path, capsys):
    p = tmp_path / "slow.csv"
    np.savetxt(p, np.sin(np.arange(400) / 3.0), fmt="%.5f", header="ppg", comments="")
    assert "Hz" in refused(capsys, "hr", p, "--fs", "4")


def test_spreadsheet_habits_change_nothing(tmp_path, capsys):
    """A BOM, CRLF, semicolons, decimal commas and trailing blank lines."""
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
    p = tmp_path / "excel.csv"
    rows = "".join(f"{k / 130:.6f};{v / 1000:.3f}\r\n".replace(".", ",")
                   for k, v in enumerate(uv))
    p.write_text("\ufefftime;ecg\r\n" + rows + "\r\n\r\n", newline="")
    ref = hr(capsys, plain(tmp_path, 130, uv), "--kind", "ecg")
    assert hr(capsys, p, "--kind", "ecg")["bpm"] == pytest.approx(ref["bpm"], abs=0.05)


def test_frames_lost_from_a_sensor_clock_are_refused_not_read_as_a_slower_rate(tmp_path,
                                                                               capsys):
    """A BLE strap drops frames: the sensor's clock jumps, and the mean rate would be 117 Hz
    for 130 (every beat 10 % slow); a millisecond clock's 7/8-ms jitter is no gap."""
    lines = (DATA / "polar_h10_ecg.txt").read_text().splitlines(True)
    kept = lines[:1] + [s for k, s in enumerate(lines[1:]) if not 300 <= k < 430]
    (tmp_path / "lost.txt").write_text("".join(kept))
    err = refused(capsys, "hr", tmp_path / "lost.txt", "--kind", "ecg")
    assert "missing" in err and "1 s" in err
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
    p = tmp_path / "millis.csv"
    np.savetxt(p, np.column_stack([np.floor(np.arange(len(uv)) / 0.130), uv]), delimiter=",",
               fmt="%d", header="time_ms,ecg", comments="")
    assert hr(capsys, p, "--kind", "ecg")["fs_hz"] == pytest.approx(130, rel=1e-3)


def test_epoch_milliseconds_under_a_bare_timestamp_name_ask_for_the_unit(tmp_path, capsys):
    """An Arduino/phone logger's 'timestamp' of epoch ms: numpy alone reads a bare number as
    a year (1391491315566 AD), which gave a 3e-9 Hz rate."""
    p = tmp_path / "logger.csv"
    p.write_text("timestamp,ppg\n" + "".join(f"{1391491315566 + 10 * k},{k % 7}\n"
                                             for k in range(300)))
    assert "timestamp [ms]" in refused(capsys, "hr", p)
    p.write_text(p.read_text().replace("timestamp,", "timestamp [ms],", 1))
    rc, out, err = signal(capsys, "hr", p, "--json")
    assert rc in (0, 3) and "Hz" not in err  # read at 100 Hz: a heart or not, no rate fault


def test_beats_an_e4_dropped_stay_a_gap_not_neighbours(tmp_path, capsys):
    """E4's IBI.csv leaves out the beats it lost to motion; its time column says where. Laid
    end to end, the intervals either side became neighbours (a false successive difference)
    and the gap vanished from the artefact list."""
    lines = (DATA / "e4_IBI.csv").read_text().splitlines(True)
    (tmp_path / "IBI.csv").write_text("".join(lines[:61] + lines[71:]))  # 10 beats lost
    rc, out, err = signal(capsys, "hrv", tmp_path / "IBI.csv", "--kind", "rr", "--json")
    assert rc == 0, err
    s = json.loads(out)
    assert [a["index"] for a in s["artefacts"]] == [60]  # the interval across the gap
    assert not s["normal"][60]


@pytest.mark.parametrize("layout", ["polar", "e4"])
def test_an_accelerometer_export_s_axes_are_read_in_mg(tmp_path, layout):
    """At rest an accelerometer reads 1 g: 1000 mG whatever the export's unit (Polar Sensor
    Logger: 'X [mg]' beside its clocks; E4 ACC.csv: 1/64 g). Before, Polar's ISO phone stamps
    stopped the read, and an axis named with its unit was taken for the magnitude."""
    from empathy.edge.signal_acc import read_acc

    n = 32 * 20
    tremor = np.random.default_rng(5).normal(0, 0.01, (n, 3))
    p = tmp_path / ("ACC.csv" if layout == "e4" else "acc.txt")
    if layout == "e4":
        g = np.round((tremor + [0, 0, 1]) * 64).astype(int)
        p.write_text("1678788751.000000, 1678788751.000000, 1678788751.000000\n"
                     "32.000000, 32.000000, 32.000000\n"
                     + "".join(f"{a},{b},{c}\n" for a, b, c in g))
    else:
        g = np.round((tremor + [0, 0, 1]) * 1000).astype(int)
        ns0 = 731_844_751_598_254_480
        p.write_text("Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]\n"
                     + "".join(f"2023-03-14T10:12:{32 + k // 64:02d}.000;"
                               f"{ns0 + round(k * 1e9 / 32)};{a};{b};{c}\n"
                               for k, (a, b, c) in enumerate(g)))
    fs, mag, axes = read_acc(str(p), None)
    assert fs == pytest.approx(32) and axes.shape == (n, 3)
    assert np.median(mag) == pytest.approx(1000, rel=0.03)


@pytest.mark.parametrize("args,says", [
    (("hr", DATA / "e4_BVP.csv", "--kind", "ecg"), "--kind ppg"),  # read as ECG: 63.4 bpm
    (("hr", DATA / "polar_h10_rr.txt"), "--kind rr"),
    (("hrv", DATA / "polar_h10_ecg.txt", "--kind", "rr"), "--kind ecg"),
])
def test_a_file_given_as_the_wrong_kind_says_which_it_is(capsys, args, says):
    assert says in refused(capsys, *args)


def test_a_time_column_in_ms_named_time_is_told(tmp_path, capsys):
    """An Arduino logger's millis() under 'time': read as seconds, 130 Hz is 0.13 Hz."""
    uv = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
    p = tmp_path / "arduino.csv"
    np.savetxt(p, np.column_stack([np.arange(len(uv)) / 0.130, uv]), delimiter=",",
               fmt="%.9g", header="time,ecg", comments="")
    assert "time [ms]" in refused(capsys, "hr", p, "--kind", "ecg")


def test_a_column_named_by_its_name_without_the_unit(capsys):
    s = hr(capsys, DATA / "polar_h10_ecg.txt", "--kind", "ecg", "--column", "ecg")
    assert s["bpm"] == hr(capsys, DATA / "polar_h10_ecg.txt", "--kind", "ecg")["bpm"]
    assert "no column 'ekg'" in refused(capsys, "hr", DATA / "polar_h10_ecg.txt", "--kind",
                                        "ecg", "--column", "ekg")


def test_a_pandas_index_column_is_no_signal(tmp_path, capsys):
    """DataFrame.to_csv writes its index first, under an empty name (or 'Unnamed: 0' once
    re-saved): it was read as the signal, a ramp with no heartbeat."""
    rows = np.loadtxt(DATA / "e4_BVP.csv")[2:]
    ref = hr(capsys, DATA / "e4_BVP.csv")
    for name in ("", "Unnamed: 0"):
        p = tmp_path / "frame.csv"
        p.write_text(f"{name},signal\n" + "".join(f"{k},{v}\n" for k, v in enumerate(rows)))
        assert hr(capsys, p, "--fs", "64")["bpm"] == pytest.approx(ref["bpm"], abs=0.05)
