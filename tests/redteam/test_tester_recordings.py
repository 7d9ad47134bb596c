"""A hardware tester's own recordings fed to `empathy signal hr|hrv|pupil`: what spreadsheet
programs, loggers and research tools write (a byte-order mark, semicolons with decimal
commas, tabs, EDF and WFDB files, absurd magnitudes, very short takes). Each gives the
heart rate the file holds, or one line that says what is wrong and what to do, and a
non-zero exit: never a traceback, a crash report, a numpy message or a wrong answer."""

import json

import numpy as np
import pytest

from empathy import cli

FS = 100.0
BPM = 72.0  # the pulse below: a peak every 60/72 s


def pulse(seconds: float = 30.0, fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0, seconds, 1 / fs)
    return t, np.sin(np.pi * BPM / 60 * t) ** 20  # sin^2n of half the rate: one peak a beat


def csv_text(sep: str = ",", dec: str = ".", scale: float = 1.0) -> str:
    t, x = pulse()
    rows = (f"{a:.3f}{sep}{v * scale:.6g}" for a, v in zip(t, x))
    return f"time{sep}ppg\n" + "\n".join(r.replace(".", dec) if dec != "." else r for r in rows)


def signal(capfd, *argv) -> tuple[int, str, str]:
    try:
        rc = cli.main(["signal", *map(str, argv)])
    except SystemExit as e:  # argparse
        rc = e.code
    out, err = capfd.readouterr()
    return rc, out, err


def one_line_error(rc, out, err) -> str:
    assert rc not in (0, None), out + err
    assert "Traceback" not in err and "unexpected error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"more than one line:\n{err}"
    return lines[0]


def test_the_plain_file_reads_as_72_bpm(tmp_path, capfd):
    """The baseline every variant below is held to."""
    (tmp_path / "plain.csv").write_text(csv_text())
    rc, out, err = signal(capfd, "hr", tmp_path / "plain.csv", "--json")
    assert rc == 0, err
    assert abs(json.loads(out)["bpm"] - BPM) < 1


HOSTILE = {  # what a logger or a hand-edited export can hold -> words the line must carry
    "nan.csv": ("time,ppg\n0,1\n0.01,nan\n0.02,1\n", "nan"),
    "inf.csv": ("time,ppg\n0,1\n0.01,-inf\n0.02,1\n", "inf"),
    "ragged.csv": ("time,ppg,acc\n0,1,2\n0.01,1\n", "fields"),
    "words.csv": ("time,ppg\n0,one\n", "not a number"),
    "backwards.csv": ("time,ppg\n0,1\n0.02,1\n0.01,1\n", "backwards"),
    "header.csv": ("time,ppg\n", "no samples"),
    "nul.csv": ("time,ppg\n0,1\x00\n", "not a number"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("verb", ["hr", "hrv"])
def test_a_damaged_recording_is_one_line(tmp_path, capfd, verb, name):
    text, says = HOSTILE[name]
    (tmp_path / name).write_text(text)
    line = one_line_error(*signal(capfd, verb, tmp_path / name, "--fs", FS))
    assert line.startswith(f"empathy signal {verb}: ") and says in line, line


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_a_recording_in_another_encoding_is_one_line(tmp_path, capfd, encoding):
    (tmp_path / "rec.csv").write_bytes(("time,ppg,°C\n" + "0,1,20\n" * 5).encode(encoding))
    line = one_line_error(*signal(capfd, "hr", tmp_path / "rec.csv"))
    assert "rec.csv" in line, line


@pytest.mark.parametrize("samples", [3, 5, 8])
def test_a_pupil_take_shorter_than_the_smoothing_window(tmp_path, capfd, samples):
    """Fewer samples than the 0.15-s smoothing window holds (9 at 60 Hz): the pupil
    cleaner's moving average came back the window's length, and `signal pupil` said
    'operands could not be broadcast together with shapes (5,) (9,) ()'."""
    t = np.arange(samples) / 60.0
    (tmp_path / "eye.csv").write_text("time,pupil\n" + "".join(
        f"{a:.4f},{3.0 + 0.01 * k:.3f}\n" for k, a in enumerate(t)))
    rc, out, err = signal(capfd, "pupil", tmp_path / "eye.csv", "--json")
    assert rc == 0, err
    assert 2.9 < json.loads(out)["pupil_mm"] < 3.2, out


def test_a_csv_saved_with_a_byte_order_mark(tmp_path, capfd):
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + csv_text().encode())
    rc, out, err = signal(capfd, "hr", tmp_path / "excel.csv", "--json")
    assert rc == 0, err
    assert abs(json.loads(out)["bpm"] - BPM) < 1


@pytest.mark.parametrize("sep, dec", [(";", ","), ("\t", ".")], ids=["semicolon", "tab"])
def test_a_csv_with_another_delimiter(tmp_path, capfd, sep, dec):
    (tmp_path / "rec.csv").write_text(csv_text(sep, dec))
    rc, out, err = signal(capfd, "hr", tmp_path / "rec.csv", "--json")
    if rc == 0:
        assert abs(json.loads(out)["bpm"] - BPM) < 1
    else:  # refused: then the line must name the delimiter it met
        line = one_line_error(rc, out, err)
        assert "delimit" in line or "separat" in line or repr(sep) in line, line


@pytest.mark.parametrize("kind", ["edf", "hea"])
def test_an_edf_or_wfdb_recording_is_read_or_named(tmp_path, capfd, kind):
    import pyedflib
    import wfdb

    fs = 256
    _, x = pulse(20.0, fs)
    if kind == "edf":
        w = pyedflib.EdfWriter(str(tmp_path / "rec.edf"), 1, pyedflib.FILETYPE_EDFPLUS)
        w.setSignalHeaders([dict(label="PPG", dimension="au", sample_frequency=fs,
                                 physical_min=-2, physical_max=2, digital_min=-32768,
                                 digital_max=32767)])
        w.writeSamples([x])
        w.close()
    else:
        wfdb.wrsamp("rec", fs=fs, units=["au"], sig_name=["ppg"], p_signal=x[:, None],
                    fmt=["16"], write_dir=str(tmp_path))
    rc, out, err = signal(capfd, "hr", tmp_path / f"rec.{kind}", "--fs", fs, "--json")
    if rc == 0:
        assert abs(json.loads(out)["bpm"] - BPM) < 1
    else:
        line = one_line_error(rc, out, err)
        assert ("EDF" if kind == "edf" else "WFDB") in line, line


def test_absurd_magnitudes_are_refused_or_read(tmp_path, capfd):
    (tmp_path / "rec.csv").write_text(csv_text(scale=1e300))
    rc, out, err = signal(capfd, "hr", tmp_path / "rec.csv", "--json")
    if rc == 0:
        assert abs(json.loads(out)["bpm"] - BPM) < 1
    else:
        assert rc == 1, f"exit {rc}: {err}"  # 3 says the file holds no heartbeat: wrong
        one_line_error(rc, out, err)


def test_a_logger_that_stamped_every_sample_alike(tmp_path, capfd):
    _, x = pulse()
    (tmp_path / "rec.csv").write_text("time,ppg\n" + "".join(f"5.0,{v:.5f}\n" for v in x))
    line = one_line_error(*signal(capfd, "hr", tmp_path / "rec.csv"))
    assert "rec.csv:1:" not in line and "backwards" not in line, line


def test_a_long_recording_is_read_in_memory_near_its_size(tmp_path):
    import tracemalloc

    from empathy.edge.signal_file import read_signal

    t = np.arange(30_000) / 500.0
    path = tmp_path / "holter.csv"
    path.write_text("time,ecg\n" + "".join(f"{a:.3f},{np.sin(np.pi * 1.2 * a) ** 40:.5f}\n"
                                           for a in t))
    tracemalloc.start()
    try:
        _, cols = read_signal(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(cols["ecg"]) == len(t)
    size = path.stat().st_size
    # the text, and float64 columns (time and signal: 16 B a row of ~17 B) fit in 8x
    assert peak < 8 * size, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.2f} MB file"
