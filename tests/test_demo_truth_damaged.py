"""A demo's truth file damaged (two processes writing it: one opening it afresh under the
other, which writes on at its own place, leaving NUL bytes between; a line cut short by a
kill) costs its unreadable rows, said in one line, not the report. Before: the demo's
report crashed on it (`empathy demo: unexpected error: ValueError: could not convert
string to float: '0.1\\x00\\x00...'`, exit 70, no summary)."""

import json
import logging
import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from empathy.host.evaluate import read_truth
from polling import wait_for

FILM_S = 12  # of film before the end: the estimate is judged against the truth its
# declared latency (9 s) before
HEAD = "ts_us,arousal,valence,hr_bpm,clip,visitor,rest_bpm,pupil_mm,eda_us,expression,nuisance"


def _row(ts: int, arousal) -> str:
    return f"{ts},{arousal},0.1000,70.00,arrival,0,65.00,4.000,5.000,neutral,\n"


def _frames(out) -> int:
    try:
        return (out / "frames.csv").read_text().count("\n") - 1
    except OSError:
        return 0


@pytest.mark.realtime
def test_a_demo_whose_truth_file_was_damaged_reports_on_the_rest(tmp_path):
    out = tmp_path / "demo"
    with open(tmp_path / "stderr", "w") as err:
        p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "demo", "--seats", "2",
                              "--no-faces", "--baseline", "2", "--duration", "600", "--json",
                              "--out", str(out)], stdout=subprocess.PIPE, stderr=err, text=True,
                             start_new_session=True)
    truth = out / "edge" / "truth_seat1.csv"
    try:
        wait_for(lambda: _frames(out) >= 25 or p.poll() is not None, 240, "a second of film")
        assert p.poll() is None, (tmp_path / "stderr").read_text()[-2000:]
        at = truth.stat().st_size
        with open(truth, "w") as second:  # a second writer, as an orphaned seat unit was
            second.write(HEAD + "\n" + _row(1, 0.5)[:5])  # cut in its arousal
        # seat 1's unit writes on at its own place: NUL bytes up to it, then rows again
        wait_for(lambda: truth.stat().st_size > at + 3 * len(_row(1, 0.5)) and
                 _frames(out) >= 25 * FILM_S or p.poll() is not None, 240,
                 f"seat 1's rows after the damage, {FILM_S} s of film to judge")
        p.send_signal(signal.SIGTERM)  # ends the show early: the report is written
        stdout, _ = p.communicate(timeout=180)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    err = (tmp_path / "stderr").read_text().splitlines()
    assert p.returncode == 0, err[-20:]
    assert b"\0" in truth.read_bytes()
    said = [line for line in err if "truth_seat" in line]
    assert len(said) == 1 and f"{truth}: 1 of its " in said[0] and said[0].endswith(
        "rows unreadable (damaged: two writers, or a kill mid-line): the rest used"), err
    s = json.loads((out / "summary.json").read_text())
    assert json.loads(stdout)["ended_early"] == s["ended_early"]
    assert s["ended_early"]["by"] == "SIGTERM" and s["estimate_vs_truth"]["n"] > 0


def test_unreadable_rows_are_left_out_and_said_once_a_file(tmp_path, caplog):
    """Each kind of damage costs its row alone; a file with under two rows left is not
    used; a file that is not a truth file at all (no header, not text) is said, not a
    crash."""
    (tmp_path / "truth_seat1.csv").write_text(
        HEAD + "\n" + _row(100, 0.25) + _row(200, 1.4)
        + "300,0.1" + "\0" * 5000 + _row(400, 0.3)   # two writers met: NULs, one row lost
        + _row(450, 0.3) + _row(420, 0.2)            # a time not after the last
        + _row(500, "nan") + _row(600, 7.5)          # off any scale
        + "700,0.2,0.1\n"                            # too few fields
        + _row(800, -0.5) + _row(900, 0.1)[:12])     # cut by a kill: no line end
    (tmp_path / "truth_seat2.csv").write_text(HEAD + "\n" + _row(100, 0.2) + "200,0.")
    (tmp_path / "truth_seat3.csv").write_bytes(b"\xff\xfe\0\0garbage\n\x80\x81")
    (tmp_path / "truth_seat4.csv").write_text(HEAD + "\n" + _row(100, 0.2) + _row(200, 0.3))
    with caplog.at_level(logging.WARNING, logger="empathy.host"):
        t = read_truth(tmp_path)
    assert len(t) == 2
    np.testing.assert_array_equal(t[0], [[100, 0.25], [200, 1.4], [450, 0.3], [800, -0.5]])
    np.testing.assert_array_equal(t[1], [[100, 0.2], [200, 0.3]])
    assert not any(math.isnan(v) for v in t[0].ravel())
    lines = [r.getMessage() for r in caplog.records]
    assert [m.split("truth_")[1] for m in lines] == [
        "seat1.csv: 6 of its 10 rows unreadable (damaged: two writers, or a kill mid-line): "
        "the rest used",
        "seat2.csv: 1 of its 2 rows unreadable (damaged: two writers, or a kill mid-line): "
        "not used",
        "seat3.csv: 2 of its 2 rows unreadable (damaged: two writers, or a kill mid-line): "
        "not used"], lines
