"""Recording any source and playing it back through the same source protocol."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from empathy.sensors.base import Beat, FaceCrop, Health, Pupil, SourceError, Waveform, open_source
from empathy.sensors.replay import Recorder, record


def test_record_sim_then_replay_same_readings_same_spacing(tmp_path):
    path = tmp_path / "seat.emrec"
    n = record("sim://seat?seed=9", path, 1.5, progress=False)  # faces on: images too
    src = open_source(f"replay://{path}?speed=0")
    got = []
    while not src.finished:
        got += src.read(0)
    assert len(got) == n > 40
    kinds = {type(r) for r in got}
    assert {Beat, Pupil, Health} <= kinds
    # time spacing kept exactly, only shifted onto this machine's clock
    rec = open_source(f"replay://{path}?speed=0").readings
    assert np.array_equal(np.diff([r.ts_us for r in got]), np.diff([r.ts_us for r in rec]))
    assert [type(r) for r in got] == [type(r) for r in rec]


def test_replay_keeps_original_timing_or_faster(tmp_path):
    path = tmp_path / "beats.emrec"
    rec = Recorder(path, "test://")
    for i in range(11):
        rec.add(Beat(5_000_000 + i * 100_000, 800.0 + i))
    rec.add(Waveform(6_050_000, "ppg", 100.0, np.arange(25, dtype=np.int32)))
    rec.add(FaceCrop(6_060_000, np.full((48, 48), 7, np.uint8)))
    rec.close()
    for speed, span_s in ((1.0, 1.06), (4.0, 0.265)):
        src = open_source(f"replay://{path}?speed={speed}")
        t0, got = time.monotonic(), []
        while not src.finished:
            got += src.read(0.05)
        wall = time.monotonic() - t0
        assert len(got) == 13
        assert wall >= span_s * 0.95  # never early (late is allowed under load)
        ts = [r.ts_us for r in got]
        assert ts[10] - ts[0] == pytest.approx(1_000_000 / speed, abs=2)
    assert np.array_equal(got[11].samples, np.arange(25)) and got[12].image.shape == (48, 48)


def test_csv_recordings_from_calibration_play_back(tmp_path):
    (tmp_path / "rr.csv").write_text("ts_us,rr_ms\n1000000,800\n1800000,820\n2620000,790\n")
    beats = open_source(f"replay://{tmp_path / 'rr.csv'}?speed=0").read(0)
    assert [b.rr_ms for b in beats] == [800, 820, 790]
    t = np.arange(0, 2_000_000, 10_000)
    (tmp_path / "ppg.csv").write_text("ts_us,ppg\n" + "".join(
        f"{x},{np.sin(x / 1e5):.4f}\n" for x in t))
    waves = open_source(f"replay://{tmp_path / 'ppg.csv'}?speed=0").read(0)
    assert {w.fs_hz for w in waves} == {100.0} and sum(len(w.samples) for w in waves) == 200


def test_bad_recordings_are_clear_errors(tmp_path):
    (tmp_path / "junk.emrec").write_bytes(b"\x93hello")
    with pytest.raises(SourceError, match="not an Empathy Engine recording"):
        open_source(f"replay://{tmp_path / 'junk.emrec'}")
    with pytest.raises(SourceError, match="No such file"):
        open_source(f"replay://{tmp_path / 'none.emrec'}")
    (tmp_path / "x.csv").write_text("time,foo\n1,2\n")
    with pytest.raises(SourceError, match="starts with ts_us"):
        open_source(f"replay://{tmp_path / 'x.csv'}")
    with pytest.raises(SourceError, match="speed must be"):
        open_source(f"replay://{tmp_path / 'x.csv'}?speed=-1")


def test_cli_record_and_read_back(tmp_path):
    out = tmp_path / "cli.emrec"
    run = subprocess.run([sys.executable, "-m", "empathy.cli", "sensors", "record",
                          "sim://seat?seed=2&faces=0", "--out", str(out), "--duration", "1",
                          "--json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    n = json.loads(run.stdout)["readings"]
    read = subprocess.run([sys.executable, "-m", "empathy.cli", "sensors", "read",
                           f"replay://{out}?speed=0", "--duration", "1", "--json"],
                          capture_output=True, text=True, timeout=60)
    lines = [json.loads(x) for x in read.stdout.splitlines()]
    assert read.returncode == 0 and len(lines) == n
    assert {"Beat", "Pupil"} <= {x["type"] for x in lines}


def test_cli_read_from_a_named_pipe_says_it_waits_and_ctrl_c_ends_it(tmp_path):
    """A recording streamed in through a named pipe: one line while no writer has sent it
    whole (the open waits for one: silent for ever before), then it plays; Ctrl-C while it
    waits is one line and exit 130."""
    import os
    import signal

    from polling import wait_for

    path = tmp_path / "beats.emrec"
    rec = Recorder(path, "test://")
    for i in range(5):
        rec.add(Beat(5_000_000 + i * 100_000, 800.0 + i))
    rec.close()
    fifo = tmp_path / "stream.emrec"
    os.mkfifo(fifo)

    def waiting(*args):
        err = tmp_path / f"err{len(args)}.txt"
        with open(err, "w") as f:
            p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "sensors", "read",
                                  f"replay://{fifo}?speed=0", *args], text=True,
                                 stdout=subprocess.PIPE, stderr=f)
        wait_for(lambda: "waiting for its writer" in err.read_text() or p.poll() is not None,
                 60, "the line saying it waits")
        return p, err

    p, err = waiting()
    p.send_signal(signal.SIGINT)
    assert p.wait(30) == 130
    said = err.read_text().splitlines()
    assert len(said) == 2 and said[1] == "empathy sensors read: interrupted (Ctrl-C)", said

    p, err = waiting("--duration", "1", "--json")
    fifo.write_bytes(path.read_bytes())  # the writer sends it and closes the pipe
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, err.read_text()
    assert [json.loads(x)["rr_ms"] for x in out.splitlines()] == [800.0 + i for i in range(5)]
