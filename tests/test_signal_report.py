"""`empathy signal hr|hrv|pupil FILE --report PATH.html`: a real PPG record through the real CLI
(a subprocess); the page's figures are the `--json` object's; bad paths are one line."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from empathy.calibration.report import _fmt
from empathy.edge.heart_corpus import RECORDS, available, record_data
from empathy.edge.signal_report import MAX_POINTS, envelope
from empathy.edge.signal_sims import pupil_viewer

PPG = next(r for r in RECORDS if r.name == "systole-ppg")  # a tuning record: 5 min, 75 Hz


def signal(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", *map(str, args)],
                       capture_output=True, text=True, timeout=300, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


def self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page, re.I)
    assert page.count("src='data:image/png;base64,") >= 1


@pytest.fixture(scope="module")
def ppg_csv(tmp_path_factory):
    if not available(PPG):
        pytest.skip("systole's distribution is not in the cache (scripts/install.sh)")
    x, fs = record_data(PPG)
    f = tmp_path_factory.mktemp("ppg") / "systole.csv"
    np.savetxt(f, np.column_stack([np.arange(len(x)) / fs, x]), delimiter=",", comments="",
               header="time_s,ppg", fmt="%.5f")
    return f


def test_hr_report_shows_the_json_figures(ppg_csv, tmp_path):
    rc, out, err = signal("hr", ppg_csv, "--json", "--report", "r/seat 3.html", cwd=tmp_path)
    assert rc == 0, err
    s = json.loads(out)
    twin = json.loads((tmp_path / "r" / "seat 3.json").read_text())
    assert twin["figures"] == s  # one computation, two renderings
    page = (tmp_path / "r" / "seat 3.html").read_text()
    self_contained(page)
    assert f"<td>bpm</td><td>{_fmt(s['bpm'])}</td>" in page
    assert f"<td>beats_s</td><td>{len(s['beats_s'])} values (in the JSON)</td>" in page
    assert f"<td>ectopic beats</td><td>{s['ectopic']}</td>" in page
    assert "Waveform and beats" in page and "Heart rate over time" in page
    assert len(s["beats_s"]) > 300 and 55 < s["bpm"] < 80  # 5 min of a resting finger
    # the text output names the page; the figures are those --json gave
    rc, out, _ = signal("hr", ppg_csv, "--report", "again.html", cwd=tmp_path)
    assert rc == 0 and out.splitlines()[-1].startswith("report      again.html")
    assert f"heart rate  {s['bpm']:.1f} bpm  ({len(s['beats_s'])} beats)" in out


def test_hrv_report_has_the_tachogram_and_table(ppg_csv, tmp_path):
    rc, out, err = signal("hrv", ppg_csv, "--json", "--report", "hrv.html", cwd=tmp_path)
    assert rc == 0, err
    d = json.loads(out)
    assert json.loads((tmp_path / "hrv.json").read_text())["figures"] == d
    page = (tmp_path / "hrv.html").read_text()
    self_contained(page)
    assert "RR tachogram: raw and corrected" in page
    assert f"<td>{round(d['rmssd_ms'], 2)}</td>" in page and d["artefacts"]


def test_pupil_report(tmp_path):
    t, lum, mm, conf, _ = pupil_viewer(120, seed=6)
    np.savetxt(tmp_path / "eye.csv", np.column_stack([t, mm, conf, lum]), delimiter=",",
               comments="", header="time_s,pupil_mm,confidence,luminance", fmt="%.4f")
    rc, out, err = signal("pupil", "eye.csv", "--json", "--report", "eye.html", cwd=tmp_path)
    assert rc == 0, err
    d = json.loads(out)
    assert json.loads((tmp_path / "eye.json").read_text())["figures"] == d
    page = (tmp_path / "eye.html").read_text()
    self_contained(page)
    assert f"<td>blinks</td><td>{d['blinks']}</td>" in page and "PASS" not in page


def test_no_heartbeat_still_writes_the_report(tmp_path):
    (tmp_path / "flat.csv").write_text("ppg\n" + "0.5\n" * 3000)
    rc, out, err = signal("hr", "flat.csv", "--fs", 100, "--report", "flat.html", cwd=tmp_path)
    assert rc == 3 and len(err.strip().splitlines()) == 1 and "no heartbeat" in err, err
    page = (tmp_path / "flat.html").read_text()
    assert "FAIL" in page and "no heartbeat found" in page
    assert json.loads((tmp_path / "flat.json").read_text())["figures"]["heartbeat"] is False


def test_the_report_keeps_the_umask_and_leaves_no_temporary_file(tmp_path):
    """Written aside and renamed, but with the mode open() gives: under a service's
    UMask=0077 a viewer's report stays 0600 (a first version forced 0644)."""
    (tmp_path / "flat.csv").write_text("ppg\n" + "0.5\n" * 3000)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "signal", "hr", "flat.csv",
                        "--fs", "100", "--report", "r.html"], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path, preexec_fn=lambda: os.umask(0o077))
    assert r.returncode == 3, r.stderr
    for name in ("r.html", "r.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.csv", "r.html", "r.json"]


@pytest.mark.parametrize("report, why", [
    ("in.csv/r.html", "in.csv is not a folder that can be written"),  # a file, not a folder
    ("r.pdf", "give a file name ending in .html"),
])
def test_a_bad_report_path_is_one_line(tmp_path, report, why):
    (tmp_path / "in.csv").write_text("ppg\n" + "0.5\n" * 300)
    for verb in ("hr", "hrv", "pupil"):
        rc, out, err = signal(verb, "in.csv", "--fs", 100, "--report", report, cwd=tmp_path)
        assert rc == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith(f"empathy signal {verb}: --report {report}: {why}"), err


def test_bad_input_is_the_same_error_with_a_report(tmp_path):
    (tmp_path / "bad.csv").write_text("time_s,ppg\n0,1\n1,x\n")
    plain = signal("hr", "bad.csv", cwd=tmp_path)
    asked = signal("hr", "bad.csv", "--report", "r.html", cwd=tmp_path)
    assert plain == asked and plain[0] == 1 and len(plain[2].strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r.json").exists()


def test_envelope_caps_points_and_keeps_the_spikes():
    t = np.arange(3_600_000) / 1000.0  # an hour at 1 kHz
    y = np.sin(t)
    y[1_234_567] = 9.0  # one spike must survive decimation
    tt, yy = envelope(t, y)
    assert len(tt) == len(yy) <= MAX_POINTS and yy.max() == 9.0 and np.all(np.diff(tt) >= 0)
    assert len(envelope(t[:100], y[:100])[0]) == 100  # short lines are left alone


def test_each_beat_is_marked_once_with_its_label(ppg_csv, monkeypatch):
    """The plots mark what the counts count: in the first 10 s every beat once, by label;
    over a crowded whole recording the flagged ones only."""
    import argparse

    from empathy.edge import signal_report
    from empathy.edge.signal_cli import _beats

    args = argparse.Namespace(file=str(ppg_csv), column=None, fs=None, acc=None, kind="ppg")
    s, fs, x, sqi, moving, *_ = _beats(args)
    labels = signal_report.beat_labels(s, sqi, moving)
    assert np.sum(labels == "ectopic") == s["ectopic"]
    assert np.sum(labels == "artefact corrected") <= s["artefacts_corrected"]
    monkeypatch.setattr(signal_report, "CROWDED", 100)  # 5 min has ~380 beats
    res = signal_report.hr_result(str(ppg_csv), "ppg", s, x, sqi, moving)
    fig = res.plot()["Waveform and beats"]

    def drawn(ax):
        return {c.get_label().rsplit(" (", 1)[0]: len(c.get_offsets()) for c in ax.collections
                if c.get_label().rsplit(" (", 1)[0] in signal_report.LABELS}

    beats = np.array(s["beats_s"])
    first = labels[beats <= 10.0]
    assert drawn(fig.axes[1]) == {k: int(np.sum(first == k)) for k in signal_report.LABELS}
    whole = drawn(fig.axes[0])
    low = int(np.sum(labels == "low shape quality"))  # less those ectopic or corrected
    assert whole["normal"] == 0 and whole["low shape quality"] == low > 0
    assert low <= s["low_quality_beats"] <= low + s["ectopic"] + s["artefacts_corrected"]
