"""Red team on `empathy signal hrv FILE --kind rr` (edge/signal_file.py's RR input): the
files a user writes by hand or exports, in seconds or ms, with decimal commas, a row of
values, too few, and a real sinus pause (QT Database sel232, tuning). Every mistake gets
one line and exit 1, never a traceback; what is read must be what the file holds."""

import json
import subprocess
import sys

import numpy as np
import pytest

from corpus_records import need
from empathy.edge.heart_corpus import annotated_beats, record_data


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *argv],
                          capture_output=True, text=True)


def _rr(n: int = 300, seed: int = 0) -> np.ndarray:
    return 800 + np.random.default_rng(seed).normal(0, 20, n)


def _hrv(path) -> dict:
    r = _cli("hrv", str(path), "--kind", "rr", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _refused(path, *words) -> str:
    r = _cli("hrv", str(path), "--kind", "rr", "--json")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (
        r.returncode, r.stderr)
    assert all(w in r.stderr for w in words), r.stderr
    return r.stderr


@pytest.mark.parametrize("header", ["", "rr\n", "ibi_s\n"])
def test_rr_in_seconds_read_as_seconds(tmp_path, header):
    """Kubios, Elite HRV and most phone apps export RR in seconds (0.8025): every value
    was refused ('need RR intervals in ms (200..3000), got 0.8025 at row 1'). No interval
    in ms is under 200, so a column whose every value is 0.2-10 is seconds: read so, the
    same figures as the file in ms."""
    rr = _rr()
    ms, s = tmp_path / "ms.txt", tmp_path / "s.txt"
    ms.write_text("\n".join(f"{v:.1f}" for v in rr))
    s.write_text(header + "\n".join(f"{v / 1000:.4f}" for v in rr))
    a, b = _hrv(ms), _hrv(s)
    assert b["rr_ms"] == a["rr_ms"] and b["rmssd_ms"] == a["rmssd_ms"]


def test_seconds_among_milliseconds_named(tmp_path):
    """One value in seconds among ms (0.81 at the 101st interval): refused, and said."""
    f = tmp_path / "mixed.txt"
    f.write_text("\n".join(f"{v:.1f}" if i != 100 else f"{v / 1000:.3f}"
                           for i, v in enumerate(_rr())))
    _refused(f, "interval 101", "seconds")


def test_decimal_commas_in_one_column_are_not_cut_to_whole_ms(tmp_path):
    """'802,5' per line: the comma read as the separator and the first field taken, so
    every interval lost its fraction (802.5 -> 802) and exit 0. A headerless file of
    several columns is now refused, naming --column and the decimal comma."""
    f = tmp_path / "commas.txt"
    f.write_text("\n".join(f"{v:.1f}".replace(".", ",") for v in _rr()))
    _refused(f, "--column", "decimal comma")


def test_a_row_of_values_is_told_one_per_line(tmp_path):
    """'803,797,...' on one line: 'need RR intervals in ms (200..3000), got 803.0'."""
    f = tmp_path / "row.txt"
    f.write_text(",".join(f"{v:.0f}" for v in _rr()))
    _refused(f, "one row", "one interval a line")


@pytest.mark.parametrize("values", [[800], [800, 810]])
def test_too_few_intervals_says_so(tmp_path, values):
    """One or two intervals: 'need RR intervals in ms (200..3000), got 800.0'."""
    f = tmp_path / "few.txt"
    f.write_text("\n".join(map(str, values)) + "\n")
    _refused(f, f"{len(values)} interval", "at least 3")


def test_microseconds_named(tmp_path):
    f = tmp_path / "us.txt"
    f.write_text("\n".join(f"{v * 1000:.0f}" for v in _rr()))
    _refused(f, "interval 1", "microseconds")


@pytest.mark.parametrize("text,words", [
    ("", ("no samples",)), ("\n\n", ("no samples",)), ("rr_ms\n", ("no samples",)),
    ("rr_ms\n800\n-5\n810\n", ("interval 2", "-5")), ("800\nnan\n810\n", ("nan",)),
    ("hello\nworld\n", ("not a number",)), ("800\n1e30\n810\n", ("1e30",)),
    ("800\n0\n810\n", ("interval 2",))])
def test_every_mistake_gets_one_line(tmp_path, text, words):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    _refused(f, *words)


def test_a_real_sinus_pause_is_read(tmp_path):
    """QT Database sel232 (tuning): sinus pauses of up to 5.6 s in its annotation. The
    file was refused (over 3000 ms), so a sick sinus's RR could not be read at all; now up
    to 10 s is an interval (the pauses themselves are no NN intervals)."""
    rec = need("qtdb-sel232")
    x, fs = record_data(rec)
    rr = np.diff(annotated_beats(rec, len(x), fs)) * 1000.0
    f = tmp_path / "sel232.csv"
    f.write_text("rr_ms\n" + "\n".join(f"{v:.0f}" for v in rr))
    out = _hrv(f)
    pauses = np.flatnonzero(rr > 3000)
    assert len(pauses) >= 3 and len(out["rr_ms"]) == len(rr)
    assert not any(out["normal"][i] for i in pauses)
