"""The recorded files `empathy signal` reads (edge/signal_file.py): separators and decimal
commas, blocks (a fault's line is named wherever it lies), date-and-time stamps, value
ranges, EDF and WFDB records."""

import sys

import numpy as np
import pytest

from empathy import cli
from empathy.edge.signal_file import SignalFileError, read_signal
from empathy.edge.signal_text import BLOCK


def write(tmp_path, text: str, name: str = "rec.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def refused(path: str) -> str:
    with pytest.raises(SignalFileError) as e:
        read_signal(path)
    return str(e.value)


@pytest.mark.parametrize("text", [
    "time;ppg\n0,00;1,5\n0,01;2,5\n",
    "time\tppg\n0.00\t1.5\n0.01\t2.5\n",
    "time\tppg\n0,00\t1,5\n0,01\t2,5\n",
    "time  ppg\n0.00  1.5\n0.01 2.5\n",
    '"time","ppg"\n"0.00","1.5"\n"0.01","2.5"\n',
    "\ufefftime,ppg\n0.00,1.5\n\n,\n0.01,2.5\n",
], ids=["semicolon-decimal-comma", "tab", "tab-decimal-comma", "spaces", "quoted",
        "bom-blank-lines"])
def test_every_separator_reads_the_same_samples(tmp_path, text):
    t, cols = read_signal(write(tmp_path, text))
    assert list(cols) == ["ppg"]
    np.testing.assert_array_equal(t, [0.0, 0.01])
    np.testing.assert_array_equal(cols["ppg"], [1.5, 2.5])


def test_a_headerless_european_file_is_two_columns_not_four(tmp_path):
    _, cols = read_signal(write(tmp_path, "0,01;1,5\n0,02;2,5\n"))
    assert {k: list(v) for k, v in cols.items()} == {"col0": [0.01, 0.02], "col1": [1.5, 2.5]}


def test_a_thousands_comma_beside_decimal_points_is_refused_not_read_as_a_fraction(tmp_path):
    """A tab export of cells shown as '1,024' (English): not 1.024."""
    line = refused(write(tmp_path, "time\tppg\n0.00\t1,024\n0.01\t1,031\n"))
    assert "rec.csv:2: ppg '1,024' is not a number (commas are decimal points only" in line
    t, _ = read_signal(write(tmp_path, "datetime;ppg\n2024-05-01T12:00:00.000;1,5\n"
                                       "2024-05-01T12:00:00.250;2,5\n"))
    assert t[-1] == 0.25  # the stamps' points are no decimal points of the samples


def test_values_are_python_s_floats_exactly(tmp_path):
    """numpy parses the blocks: each value must be the very float the text spells. The
    first block's long lines size the columns too small for the short ones after it."""
    x = np.random.default_rng(3).standard_normal(4 * BLOCK + 5) * 1e3
    text = "ppg\n" + "".join(f"{v:.{17 if k < BLOCK else 3}g}\n" for k, v in enumerate(x))
    _, cols = read_signal(write(tmp_path, text))
    np.testing.assert_array_equal(cols["ppg"], [float(v) for v in text.split()[1:]])


@pytest.mark.parametrize("row", [BLOCK, BLOCK + 1, 2 * BLOCK + 17])
def test_a_fault_anywhere_names_its_line(tmp_path, row):
    """Blank lines move line numbers off row numbers; a block starts at row BLOCK + 1."""
    lines = [f"{k / 100:.2f},{k % 7}" for k in range(3 * BLOCK)]
    lines.insert(10, "")
    text = "time,ppg\n" + "\n".join(lines) + "\n"
    bad_line = row + 2  # the header, the blank line, then row k on line k + 2

    def with_row(value: str) -> str:
        rows = text.splitlines()
        rows[bad_line - 1] = value
        return "\n".join(rows) + "\n"

    assert refused(write(tmp_path, with_row("0.5,oops"))).endswith(
        f"rec.csv:{bad_line}: ppg 'oops' is not a number")
    assert refused(write(tmp_path, with_row("0.00,1"))).endswith(
        f":{bad_line}: time goes backwards")
    assert f":{bad_line}: 3 fields" in refused(write(tmp_path, with_row("1,2,3")))
    assert f":{bad_line}: ppg is nan" in refused(write(tmp_path, with_row("999,nan")))


def test_absurd_values_are_refused_and_epoch_clocks_are_not(tmp_path):
    line = refused(write(tmp_path, "time,ppg\n0,1\n0.01,1e21\n"))
    assert ":3: ppg 1e21 is beyond" in line and "units" in line
    t, _ = read_signal(write(tmp_path, "ts_us,ppg\n1733360000000000,1\n1733360000010000,2\n"))
    np.testing.assert_allclose(t, [0.0, 0.01])


def test_iso_stamps_give_the_rate_and_a_bad_one_its_line(tmp_path):
    rows = [f"2024-05-01T12:00:{k / 50:06.3f},{k}" for k in range(200)]
    t, cols = read_signal(write(tmp_path, "datetime,ppg\n" + "\n".join(rows) + "\n"))
    assert (len(t) - 1) / t[-1] == pytest.approx(50.0) and cols["ppg"][-1] == 199
    rows[120] = "soon,1"
    assert ":122: datetime 'soon' is not a date and time" in refused(
        write(tmp_path, "datetime,ppg\n" + "\n".join(rows) + "\n"))


def test_a_clock_that_never_ran_is_named_at_the_first_sample(tmp_path):
    line = refused(write(tmp_path, "time,ppg\n\n" + "5.0,1\n" * 30))
    assert line.endswith("rec.csv:3: time is 5.0 on every line to line 32: the logger's clock "
                         "did not run; give --fs HZ and take the column out"), line


def test_a_wfdb_record_is_read_with_its_rate_and_a_gap_is_refused(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    x = np.sin(np.arange(512) / 10.0)
    wfdb.wrsamp("rec", fs=256, units=["au", "mV"], sig_name=["PPG", "ECG"],
                p_signal=np.column_stack([x, -x]), fmt=["16", "16"], write_dir=str(tmp_path))
    t, cols = read_signal(str(tmp_path / "rec.hea"))
    assert list(cols) == ["ppg", "ecg"] and (len(t) - 1) / t[-1] == pytest.approx(256)
    np.testing.assert_allclose(cols["ecg"], -x, atol=1e-3)
    x[100] = np.nan  # written as format 16's 'no sample' value, read back as NaN
    wfdb.wrsamp("gap", fs=256, units=["au"], sig_name=["ppg"], p_signal=x[:, None],
                fmt=["16"], write_dir=str(tmp_path))
    assert "gap.dat: ppg: sample 100 is nan" in refused(str(tmp_path / "gap.dat"))


def test_an_edf_keeps_the_channels_at_the_first_one_s_rate(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    path = str(tmp_path / "rec.edf")
    w = pyedflib.EdfWriter(path, 3, pyedflib.FILETYPE_EDFPLUS)
    head = dict(dimension="au", physical_min=-2, physical_max=2, digital_min=-32768,
                digital_max=32767)
    w.setSignalHeaders([dict(head, label="PPG", sample_frequency=128),
                        dict(head, label="Resp", sample_frequency=16),
                        dict(head, label="ECG I", sample_frequency=128)])
    s = np.sin(np.arange(1280) / 10.0)
    for r in range(10):  # a data record (1 s) at a time: writeSamples fails on mixed rates
        for x, fs in ((s, 128), (s[::8], 16), (-s, 128)):
            w.writePhysicalSamples(np.ascontiguousarray(x[r * fs:(r + 1) * fs]))
    w.close()
    t, cols = read_signal(path)
    assert list(cols) == ["ppg", "ecg i"] and (len(t) - 1) / t[-1] == pytest.approx(128)
    np.testing.assert_allclose(cols["ppg"], s, atol=1e-3)


def test_an_edf_without_pyedflib_says_how_to_read_it(tmp_path, monkeypatch):
    (tmp_path / "rec.edf").write_bytes(b"0       " + b" " * 248)
    monkeypatch.setitem(sys.modules, "pyedflib", None)  # as on a unit without it
    line = refused(str(tmp_path / "rec.edf"))
    assert "EDF" in line and "pip install pyedflib" in line and "CSV" in line


def test_signal_hr_help_lists_the_files_it_reads(capsys):
    with pytest.raises(SystemExit):
        cli.main(["signal", "hr", "--help"])
    out = capsys.readouterr().out
    assert "semicolons" in out and "(0,5)" in out and "EDF" in out and "WFDB" in out


@pytest.mark.parametrize("opts", [
    (), ("--source", "Polar Flow"), ("--start", "2024-05-02"), ("--member", "a.csv"),
    ("--kind", "rr", "--report", "r.html"), ("--kind", "rr", "--polarity", "inverted"),
    ("--kind", "ecg", "--polarity", "inverted"),
], ids=["plain", "source", "start", "member", "rr-report", "rr-polarity", "ecg-polarity"])
@pytest.mark.parametrize("verb", ["hr", "hrv"])
def test_a_file_not_there_is_said_before_any_option_is_judged(tmp_path, capsys, verb, opts):
    """Before: `signal hr MISSING.xml --source X` said --source is for Apple Health's export
    only, `--member` that the file was no zip, `--kind rr --report` that the file 'holds
    beats': each judged a file that is not there. The file is looked at first."""
    from signal_run import refused as said

    missing, folder = tmp_path / "MISSING.xml", tmp_path / "export"
    folder.mkdir()
    assert "MISSING.xml: cannot read: No such file or directory" in said(
        capsys, verb, missing, *opts)
    assert "export: a folder, not a recording file" in said(capsys, verb, folder, *opts)
