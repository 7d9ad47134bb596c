"""Hostile and careless files for `empathy signal hr|hrv` (edge/signal_file.py and the readers
beside it): each gives the heart rate its samples hold, or one line saying what is wrong and a
non-zero exit; never a traceback, a hang, all the memory, or a silently wrong rate. The ECG is
Polar H10's (tests/data/signal/polar_h10_ecg.txt, 130 Hz, 77.7 bpm as a plain time,ecg CSV)."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from signal_run import refused

from empathy.cli import main


DATA = Path(__file__).parents[1] / "data" / "signal"
FS = 130.0
UV = np.loadtxt(DATA / "polar_h10_ecg.txt", delimiter=";", skiprows=1, usecols=3)
T = np.arange(len(UV)) / FS


def table(p: Path, header: str, *cols, sep=",") -> Path:
    p.write_text(header + "\n" + "\n".join(sep.join(map(str, r)) for r in zip(*cols)) + "\n")
    return p


def bpm(capsys, *args) -> float:
    rc = main(["signal", "hr", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and not err, (rc, err)
    return json.loads(out)["bpm"]


@pytest.fixture
def truth(tmp_path, capsys) -> float:
    return bpm(capsys, table(tmp_path / "plain.csv", "time,ecg", np.round(T, 6), UV), "--kind",
               "ecg")


def cli(*args, timeout=60):
    """The CLI in its own process: a reader that hangs is a failed test, not a stuck suite."""
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr[-2000:]
    return r.stderr


def test_a_clock_stuck_for_half_the_file_is_refused_not_read_at_twice_the_rate(
        tmp_path, capsys, truth):
    """Repeated stamps are a logger's bursts; a clock that stood still for half the file,
    then ran, gave 260 Hz and 155 bpm for a 77.7-bpm heart."""
    x = np.tile(UV, 3)
    t = np.arange(len(x)) / FS
    t[:len(t) // 2] = 0
    t[len(t) // 2:] -= t[len(t) // 2]
    err = refused(capsys, "hr", table(tmp_path / "s.csv", "time,ecg", np.round(t, 6), x),
                  "--kind", "ecg")
    assert "one rate" in err
    # a logger's bursts (10 samples a stamp) are read at the rate they keep (the last
    # frame's stamp ends the span early: within 1 %)
    burst = np.floor(T * 13) / 13
    assert bpm(capsys, table(tmp_path / "b.csv", "time,ecg", burst, UV), "--kind", "ecg") \
        == pytest.approx(truth, rel=0.01)


def test_a_time_column_past_float_precision_is_refused(tmp_path, capsys):
    """1e19 + seconds: float steps are 2048 s, so most stamps repeat and a few jump."""
    t = 1e19 + T * 1e4
    refused(capsys, "hr", table(tmp_path / "p.csv", "time,ecg", t, UV), "--kind", "ecg")


@pytest.mark.parametrize("rate", ["0", "-1000", "NaN", "Infinity", "1e308", "1e-300", "true"])
def test_an_opensignals_rate_out_of_range_is_refused_where_it_enters(tmp_path, capsys, rate):
    p = tmp_path / "os.txt"
    dev = ('{"00:07": {"sensor": ["ECG"], "column": ["nSeq", "CH1"], "label": ["CH1"], '
           f'"sampling rate": {rate}}}}}')
    p.write_text(f"# OpenSignals Text File Format\n# {dev}\n# EndOfHeader\n"
                 + "".join(f"{k % 16}\t{v:g}\n" for k, v in enumerate(UV)))
    assert "sampling rate" in refused(capsys, "hr", p, "--kind", "ecg")


@pytest.mark.parametrize("depth", [100_000, 3000])
def test_a_deeply_nested_opensignals_header_is_refused(tmp_path, capsys, depth):
    p = tmp_path / "os.txt"
    p.write_text("# OpenSignals Text File Format\n# " + '{"a": ' + "[" * depth + "]" * depth
                 + "}\n# EndOfHeader\n1\n2\n")
    assert ":2:" in refused(capsys, "hr", p, "--kind", "ecg")


def test_a_header_of_many_columns_is_refused_in_time(tmp_path):
    """60 000 names: the twice-named check compared each with all before it (30 s+)."""
    p = tmp_path / "wide.csv"
    m = 60_000
    p.write_text(",".join(["time", "ecg"] + [f"a{k}" for k in range(m)]) + "\n0,1"
                 + ",0" * m + "\n")
    assert "columns" in cli("hr", p, "--kind", "ecg", timeout=20)


def test_a_line_of_megabytes_is_refused_without_reading_it_whole(tmp_path, capsys):
    p = tmp_path / "one.csv"
    p.write_text("1," * 3_000_000)
    assert "characters" in refused(capsys, "hr", p, "--kind", "ecg", "--fs", "130")


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_a_pipe_or_a_device_is_refused_not_waited_on(tmp_path, make):
    """A FIFO with no writer blocked open() for ever; /dev/zero (one endless line) took all
    the memory (MemoryError)."""
    p = tmp_path / "x.csv"
    if make == "fifo":
        os.mkfifo(p)
    else:
        p.symlink_to("/dev/zero")
    assert "regular file" in cli("hr", p, "--kind", "ecg", "--fs", "130", timeout=20)


def test_utf16_text_is_read(tmp_path, capsys, truth):
    """Excel's 'Unicode text' is UTF-16 (refused as 'not UTF-8', or its zero bytes read as
    part of each number)."""
    p = table(tmp_path / "u.csv", "time,ecg", np.round(T, 6), UV)
    text = p.read_text()
    for code in ("utf-16", "utf-16-le", "utf-16-be"):  # with a byte-order mark, and without
        p.write_bytes(text.encode(code))
        assert bpm(capsys, p, "--kind", "ecg") == pytest.approx(truth, abs=0.01)


def test_compressed_and_spreadsheet_files_are_named_for_what_they_are(tmp_path, capsys):
    import gzip
    import zipfile

    plain = table(tmp_path / "p.csv", "time,ecg", np.round(T, 6), UV)
    gz = tmp_path / "g.csv"  # a gzipped table is read as the table (Strava's .gz exports)
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert bpm(capsys, gz, "--kind", "ecg") == bpm(capsys, plain, "--kind", "ecg") > 0
    for sheet in (["xl/workbook.xml", "xl/worksheets/sheet1.xml"], ["mimetype", "content.xml"]):
        xl = tmp_path / "x.csv"
        with zipfile.ZipFile(xl, "w") as z:
            for name in sheet:
                z.writestr(name, "<workbook/>")
        assert "save the sheet as CSV" in refused(capsys, "hr", xl, "--kind", "ecg")


def test_a_pulse_rate_column_is_not_read_as_the_pleth_beside_it(tmp_path, capsys, truth):
    """Pulse oximeters export 'Pulse Rate' (bpm, one a second) before 'Pleth': 'pulse' took
    the rate column and found no heartbeat in the pleth's recording."""
    n = len(UV)
    p = table(tmp_path / "oxi.csv", "time,pulse rate,spo2,pleth", np.round(T, 6),
              np.full(n, 72), np.full(n, 97), UV)
    assert bpm(capsys, p, "--kind", "ppg", "--column", "pleth") > 0  # the column itself reads
    assert bpm(capsys, p, "--kind", "ppg") == \
        bpm(capsys, p, "--kind", "ppg", "--column", "pleth")
    for name in ("heart rate", "pulse rate", "spo2", "hr [bpm]"):
        err = refused(capsys, "hr", table(tmp_path / "r.csv", f"time,{name}", np.round(T, 6),
                                          np.full(n, 72)), "--kind", "ppg")
        assert name in err


def test_time_zones_in_iso_stamps_are_read_quietly(tmp_path, capsys, truth):
    from datetime import datetime, timedelta

    t0 = datetime(2024, 5, 1, 12)
    stamps = [(t0 + timedelta(seconds=float(s))).isoformat(timespec="microseconds") + "+02:00"
              for s in T]
    p = table(tmp_path / "tz.csv", "timestamp,ecg", stamps, UV)
    with warnings.catch_warnings():  # numpy warned of each zone on stderr
        warnings.simplefilter("error")
        assert bpm(capsys, p, "--kind", "ecg") == pytest.approx(truth, abs=0.01)


def test_a_wfdb_header_with_more_signals_than_lines_is_refused(tmp_path, capsys):
    wfdb = pytest.importorskip("wfdb")
    wfdb.wrsamp("rec", fs=FS, units=["uV"], sig_name=["ECG"], p_signal=UV[:, None],
                fmt=["16"], adc_gain=[1.0], baseline=[0], write_dir=str(tmp_path))
    hea = tmp_path / "rec.hea"
    hea.write_text(hea.read_text().replace("rec 1 ", "rec 100000 ", 1))
    refused(capsys, "hr", hea, "--kind", "ecg")


def test_blank_lines_before_the_header_are_counted_not_held(tmp_path, capsys, truth):
    """20 M blank lines (40 MB) before the header were held as 20 M strings: 1.5 GB to read
    a 10-s ECG, so under a 1 GB limit a MemoryError (115 MB now); their count still numbers
    the lines an error names."""
    import resource

    rows = "".join(f"{a:.6f},{b:g}\n" for a, b in zip(T, UV))
    p = tmp_path / "b.csv"
    p.write_text(" \n" * 20_000_000 + "time,ecg\n" + rows)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", str(p), "--kind",
                        "ecg", "--json"], capture_output=True, text=True, timeout=120,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30,) * 2))
    assert r.returncode == 0, r.stderr[-500:]
    assert json.loads(r.stdout)["bpm"] == pytest.approx(truth, abs=0.01)
    p.write_text(" \n" * 9000 + "time,ecg\n" + rows.replace("\n0.015385,", "\n0.015385,x", 1))
    assert "b.csv:9004: ecg 'x" in refused(capsys, "hr", p, "--kind", "ecg")


def test_a_thousands_point_in_a_decimal_comma_file_is_refused(tmp_path, capsys):
    """German Excel writes 1024 as '1.024' beside '0,5': the first lines' small values had
    no point, so commas were decimal points and '1.008' read as 1.008 µV: R peaks over 1000
    cut to 1, and 71.6 bpm for a 77.7-bpm heart."""
    x = UV - np.median(UV)
    x = x[next(k for k in range(len(x)) if np.abs(x[k:k + 12]).max() < 999.5):]
    t = [f"{s:.4f}".replace(".", ",") for s in np.arange(len(x)) / FS]
    p = table(tmp_path / "de.csv", "time;ecg", t, [f"{v:,.0f}".replace(",", ".") for v in x],
              sep=";")
    assert "thousands" in refused(capsys, "hr", p, "--kind", "ecg")
    plain = table(tmp_path / "ok.csv", "time;ecg", t, [f"{v:.0f}" for v in x], sep=";")
    assert bpm(capsys, plain, "--kind", "ecg") == pytest.approx(77.7, abs=0.3)


@pytest.mark.parametrize("kind", ["ppg", "ecg"])
def test_a_rate_over_the_detectors_names_the_option_and_the_file(tmp_path, capsys, kind):
    """It said "ppg at 100000 Hz: need 20..5000 Hz": neither the file nor what to change."""
    p = table(tmp_path / "x.csv", kind, UV)
    err = refused(capsys, "hr", p, "--kind", kind, "--fs", "100000")
    assert err.startswith(f"empathy signal hr: {p}: --fs 100000: ") and "5000 Hz" in err, err
    timed = table(tmp_path / "t.csv", f"time,{kind}", np.arange(len(UV)) / 10_000, UV)
    err = refused(capsys, "hr", timed, "--kind", kind)
    assert err.startswith(f"empathy signal hr: {timed}: its time column gives 10000 Hz"), err
