"""Session 26, host data: a learned policy's state checked where it is loaded, exports that
stream a long show and write EDF+ by records, and `story new` that lists a folder once.

A bandit state whose matrices were NaN, infinite, singular or of the wrong shape loaded
without a word: `policy simulate` logged a traceback at every decision (each fell back),
learned into the NaN model and saved it back (JSON `NaN`); a wrongly shaped one failed
every decision the same way, in the show too."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from empathy.host.audience import AudienceState
from empathy.host.policies.bandit import FEATURES, BanditPolicy
from empathy.host.policy import DefaultPolicy, show_policy
from empathy.host.story import load

SAMPLE = Path(__file__).parents[1] / "host" / "sample" / "neon_rain.toml"
K = len(FEATURES)
EYE = np.eye(K).tolist()


def _state(path: Path, model: dict) -> Path:
    path.write_text(json.dumps({"version": 1, "features": list(FEATURES), "frozen": False,
                                "models": {"first_turn/chase": model}}))
    return path


BAD = {
    "NaN in A": ({"A": [[float("nan")] * K] * K, "b": [0.0] * K, "n": 1}, "NaN or infinity"),
    "infinite b": ({"A": EYE, "b": [float("inf")] * K, "n": 1}, "NaN or infinity"),
    "A 2x2": ({"A": [[1, 2], [3, 4]], "b": [0.0] * K, "n": 1}, f"A is 2x2 and b {K}, not"),
    "b of 3": ({"A": EYE, "b": [0.0] * 3, "n": 1}, f"A is {K}x{K} and b 3, not"),
    "singular A": ({"A": [[0.0] * K] * K, "b": [0.0] * K, "n": 1}, "positive definite"),
    "negative n": ({"A": EYE, "b": [0.0] * K, "n": -3}, "n is -3"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bandit_state_with_unusable_matrices_is_refused_naming_the_file(tmp_path, case):
    model, why = BAD[case]
    path = _state(tmp_path / "bandit.json", model)
    with pytest.raises(ValueError) as e:
        BanditPolicy(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "'first_turn/chase'" in msg, msg
    assert why in msg and msg.endswith("move it aside or reset the policy"), msg


def test_policy_simulate_refuses_a_nan_state_in_one_line_and_leaves_it_as_it_was(tmp_path):
    path = _state(tmp_path / "bandit.json", BAD["NaN in A"][0])
    before = path.read_bytes()
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "policy", "simulate", "--story",
                        str(SAMPLE), "--policy", "bandit", "--screenings", "3", "--state",
                        str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.strip() == (
        f"empathy policy simulate: bandit state {path} is unreadable (model 'first_turn/chase': "
        "A or b holds NaN or infinity); move it aside or reset the policy"), r.stderr[-2000:]
    assert path.read_bytes() == before  # not learned into, not saved


def test_the_show_takes_the_default_cut_when_its_learned_state_is_unusable(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = tmp_path / "empathy" / "bandit" / "neon_rain.json"
    path.parent.mkdir(parents=True)
    _state(path, BAD["A 2x2"][0])
    with caplog.at_level(logging.ERROR, "empathy.host.policy"):
        policy = show_policy("bandit", load(SAMPLE, check_files=False))
    assert isinstance(policy, DefaultPolicy)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and str(path) in lines[0] and "default cut" in lines[0], lines
    assert "\n" not in lines[0] and not caplog.records[0].exc_info


def test_the_bandit_does_not_learn_from_a_nan_reward_or_state(tmp_path):
    story = load(SAMPLE, check_files=False)
    d = story.decisions["first_turn"]
    p = BanditPolicy(tmp_path / "b.json", seed=0)
    ok = AudienceState(ts_us=0, arousal=0.2, arousal_se=0.05, valence=0.0, valence_se=0.05,
                       seats_total=3, seats_good=3, synchrony=0.5)
    p.learn(d, ok, "chase", float("nan"))
    p.learn(d, replace(ok, arousal=float("inf")), "chase", 0.5)
    assert p.screenings() == 0
    p.learn(d, ok, "chase", 0.5)
    p.save()
    assert BanditPolicy(tmp_path / "b.json").screenings() == 1


# -- exports ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_session(tmp_path_factory) -> Path:
    """Three seats for two minutes, frames at 24 fps and a segment a minute (the export
    bench's session, made small)."""
    from empathy.bench.bench_export import make

    return make(tmp_path_factory.mktemp("sessions"), 3, 2)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_table_export_that_fails_midway_leaves_no_half_written_file(
        tmp_path, small_session, fmt):
    """A full disk mid-export: one line, exit 1, no half-written file; then it exports.
    Through the CLI, as a user runs it: in one whole-suite run pyarrow's writer, failing on
    /dev/full inside a test worker that had run other files, crashed that worker twice
    (segfault; never seen in a fresh process, 300 tries), and xdist then hung. A crash in
    the command's own process fails this test instead."""
    from empathy.host.session import store

    sid = store.session_id(small_session)
    out = tmp_path / "out"
    out.mkdir()
    full = out / f"{sid}.samples.{fmt}"
    full.symlink_to("/dev/full")  # every write: "No space left on device"
    cmd = [sys.executable, "-m", "empathy.cli", "session", "export", sid, "--format", fmt,
           "--out", str(out), "--dir", str(small_session.parent)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "No space left" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not full.exists() and not full.is_symlink(), sorted(out.iterdir())
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert {p.name.split(".")[1] for p in out.iterdir()} == {"samples", "events", "frames",
                                                             "faults"}


def _edf_signals(tmp_path, signals: int, n: int) -> tuple[Path, np.ndarray, float]:
    """`signals` signals of `n` samples written by the EDF+ exporter's writer, each signal
    holding its own number (one written in another's place shows); its CPU-seconds."""
    import time

    from empathy.host.session.exports import edf
    from empathy.host.session.exports.recording import Frames, Recording

    headers = [{"label": f"s{i}", "dimension": "", "sample_frequency": 10, "physical_min": -1,
                "physical_max": 1000, "digital_min": -32768, "digital_max": 32767,
                "transducer": "", "prefilter": ""} for i in range(signals)]
    values = np.arange(signals)[:, None] + (np.arange(n) % 10) / 10  # signal-major, as spilled
    rec = Recording(tmp_path / "s.session.db", "s", {}, [], [], Frames(tmp_path), 0)
    dest = tmp_path / "s.edf"
    with open(tmp_path / "spill", "w+b") as spill:
        spill.write(values.tobytes())
        spill.flush()
        t = time.process_time()
        edf._write(rec, dest, headers, spill.fileno(), n, 0)
        return dest, values, time.process_time() - t


def test_edf_plus_writes_its_records_in_time_linear_in_the_signals(tmp_path):
    """pyedflib's writeSamples built each data record with np.append signal after signal,
    copying the record again for each: 80 seats (640 signals) x 30 min took 9.1 CPU-s to
    hand to EDFlib, 10 seats 1.2; by records from one array 0.34 and 0.07 (most of it the
    header, written again by each of pyedflib's setters). 632 signals x 600 records here:
    about 3.3 CPU-s before. Each signal holds its own number, so a signal written in
    another's place shows."""
    import pyedflib

    signals, n = 632, 6000
    dest, values, spent = _edf_signals(tmp_path, signals, n)
    assert spent < 1.0, f"{spent:.2f} CPU-s to write {signals} signals x {n // 10} records"
    with pyedflib.EdfReader(str(dest)) as r:
        assert (r.signals_in_file, r.datarecords_in_file) == (signals, n // 10)
        for i in (0, 1, 317, signals - 1):
            assert np.allclose(r.readSignal(i), values[i], atol=0.02), i


def test_edf_plus_refuses_the_80th_seat_whose_file_edflib_cannot_read_back(tmp_path):
    """EDFlib writes up to 640 signals and adds its annotation signal; its reader refuses a
    file of more than 640 in all ("not EDF(+) or BDF(+) compliant (number of signals)"), so
    an 80-seat export (640 signals) was a file pyedflib could not open."""
    import pyedflib

    from empathy.host.session.exports import export
    from empathy.host.session.store import Recorder
    from empathy.wire import SeatSample

    dest, _, _ = _edf_signals(tmp_path, 640, 10)
    with pytest.raises(OSError, match="number of signals"):
        pyedflib.EdfReader(str(dest))
    dest, _, _ = _edf_signals(tmp_path, 639, 10)
    with pyedflib.EdfReader(str(dest)) as r:
        assert r.signals_in_file == 639
    rec = Recorder(tmp_path / "s", {"story": "t"})
    rec("samples", [SeatSample(1, seat, 0, 10**9, 70.0) for seat in range(80)])
    rec.close()
    with pytest.raises(ValueError, match="80 seats: EDF\\+ holds 79 "):
        export(rec.path, tmp_path / "out", "edf")


# -- story new -------------------------------------------------------------------------------
_FIND_MEDIA = """
import sys
from pathlib import Path
from empathy.host.story_new import from_timeline

media, listed = Path(sys.argv[2]), []
sys.addaudithook(lambda event, args: listed.append(event) if event in (
    "os.scandir", "os.listdir") and Path(args[0]) == media else None)
drafts = from_timeline(Path(sys.argv[1]), fps=25, media_root=media)
print(len(listed))
for d in drafts:
    print(d.id, d.media.name, d.in_s, d.out_s)
"""


def test_story_new_lists_the_media_folder_once_not_once_a_clip(tmp_path):
    """An EDL without file comments names each clip only: its file was looked for with a
    glob of the media folder per clip, reading every file in it each time (4,000 clips and
    8,000 files: 36 CPU-s). In its own process: OpenTimelineIO's C++ manifest loading
    crashed once in the long-lived test process (tests/otio_timeline.py)."""
    n = 300
    media = tmp_path / "media"
    media.mkdir()
    tc = lambda f: f"00:{f // 1500:02d}:{f // 25 % 60:02d}:{f % 25:02d}"  # noqa: E731
    lines = ["TITLE: many", "FCM: NON-DROP FRAME", ""]
    for i in range(n):
        for suffix in (".wav", ".mov"):  # the sound file sorts first
            (media / f"clip{i:04d}{suffix}").write_bytes(b"")
        lines += [f"{i + 1:03d}  AX       V     C        {tc(2 * i)} {tc(2 * i + 50)} "
                  f"{tc(50 * i)} {tc(50 * i + 50)}", f"* FROM CLIP NAME: clip{i:04d}", ""]
    (tmp_path / "cut.edl").write_text("\n".join(lines))
    r = subprocess.run([sys.executable, "-c", _FIND_MEDIA, str(tmp_path / "cut.edl"),
                        str(media)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    listed, *drafts = r.stdout.splitlines()
    assert drafts[:2] == ["clip0000 clip0000.mov 0.0 2.0", "clip0001 clip0001.mov 0.08 2.08"]
    assert len(drafts) == n and drafts[-1].startswith(f"clip{n - 1:04d} clip{n - 1:04d}.mov ")
    assert int(listed) == 1, f"the media folder was listed {listed} times for {n} clips"


@pytest.fixture(scope="module")
def long_film(tmp_path_factory) -> Path:
    """70 minutes of film (100,800 frames at 24 fps, the state twice a second, a units report
    every 5 s) and one minute of one seat's samples: what grows with the show's length
    apart from its samples."""
    import sqlite3

    from empathy.bench.bench_export import make

    path = make(tmp_path_factory.mktemp("sessions"), 1, 70)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM samples WHERE rowid > 600")
    return path


@pytest.mark.parametrize("fmt", ["xdf", "edf", "bids"])
def test_exports_read_the_frame_log_and_events_as_they_write(long_film, tmp_path, fmt):
    """Every export read the frame log and the events whole (Python rows, every event's JSON
    parsed at once): 70 minutes of film peaked at 44 MB; a 3-h show's export ran at 165-181
    MB peak RSS (4 seats, `bench_export`), 94-105 MB streamed. The same bytes."""
    import tracemalloc

    from empathy.host.session.exports import export

    export(long_film, tmp_path / "warm", fmt)  # the format's libraries imported, untraced
    tracemalloc.start()
    try:
        written = export(long_film, tmp_path / "out", fmt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"{peak / 1e6:.1f} MB"
    assert [p.read_bytes() for p in written] == [
        (tmp_path / "warm" / p.relative_to(tmp_path / "out")).read_bytes() for p in written]


@pytest.mark.parametrize("report", [{"unit": None, "rtt_us": 5}, {"unit": 1, "rtt_us": "900"},
                                    {"unit": 1, "rtt_us": 900, "offset_us": float("nan")}])
def test_a_units_report_that_is_no_clock_sync_is_one_line_naming_the_session(
        tmp_path, small_session, report):
    """A unit of null was "unexpected error: TypeError" (exit 70, a crash log); a round trip
    as text was float("900"), a NaN offset went into BIDS' JSON sidecars as NaN."""
    import shutil
    import sqlite3

    from empathy.host.session.exports import export
    from empathy.host.session.store import SessionError

    path = tmp_path / small_session.name
    shutil.copy(small_session, path)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO events VALUES (?, 'units', ?)", (10**9, json.dumps([report])))
    with pytest.raises(SessionError) as e:
        export(path, tmp_path / "out", "xdf")
    assert str(e.value).startswith(f"{path}: a units report reads ") and "\n" not in str(e.value)
    assert str(e.value).endswith("not a session this host wrote")
