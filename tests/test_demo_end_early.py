"""`empathy demo` ended early: an artist's Ctrl-C (a terminal sends it to the whole process
group, the seat units too), SIGTERM (systemd stopping a gallery's kiosk, a CI job's
timeout: the demo alone) or SIGHUP end the show at once and still write its report, the
screen recording finalised; a second Ctrl-C aborts at once. Real `empathy demo` processes,
real edge units, real GStreamer, ffprobe on the recording."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from empathy.host.demo_stop import Aborted, EndEarly
from polling import wait_for

FPS = 25


def _demo(tmp_path, log_level, *extra, kiosk=False):
    """`empathy demo` on two simulated seats without faces (a kiosk: its one seat)."""
    out = tmp_path / "demo"
    err = open(tmp_path / "stderr", "w")
    p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "--log-level", log_level, "demo",
                          *(["--kiosk"] if kiosk else ["--seats", "2", "--no-faces"]),
                          "--baseline", "2", "--json", "--out", str(out), *extra],
                         stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
    err.close()
    return p, out


def _frames(out) -> int:
    try:
        with open(out / "frames.csv") as f:
            return sum(1 for _ in f) - 1
    except OSError:
        return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _finish(p, tmp_path, timeout_s=180) -> tuple[str, list[str]]:
    """The demo's stdout and stderr lines once it exits; then nothing of it may be left
    running (its edge units are in its process group)."""
    try:
        out, _ = p.communicate(timeout=timeout_s)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    err = (tmp_path / "stderr").read_text().splitlines()
    try:
        wait_for(lambda: not _group_alive(p.pid), 15, "the demo's seat units to be gone")
    finally:
        if _group_alive(p.pid):
            os.killpg(p.pid, signal.SIGKILL)
    return out, err


def _probe(path) -> tuple[int, str]:
    """(video frames ffprobe decodes, its complaints)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
                        "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                        str(path)], capture_output=True, text=True, timeout=60)
    return int(r.stdout.strip() or 0), r.stderr.strip()


def _sigterm_once(p, tmp_path, ready, what: str):
    """SIGTERM to the demo alone (as systemd or a CI limit sends it) once `ready`; its
    (stdout, stderr lines)."""
    try:
        wait_for(ready, 240, what)
        assert p.poll() is None, "the demo ended by itself"
        p.send_signal(signal.SIGTERM)
    finally:
        got = _finish(p, tmp_path)
    return got


def _file_says(path, test, p):
    """A condition to wait for: the file's text passes `test`, or the demo has ended."""
    def said() -> bool:
        try:
            return test(path.read_text()) or p.poll() is not None
        except OSError:
            return p.poll() is not None
    return said


@pytest.mark.realtime
def test_ctrl_c_mid_film_writes_the_report_for_what_ran(tmp_path):
    """Before: `empathy demo: interrupted (Ctrl-C)`, exit 130, no report, no summary."""
    p, out = _demo(tmp_path, "warning", "--duration", "600")
    try:
        wait_for(lambda: _frames(out) >= 2 * FPS or p.poll() is not None, 240,
                 "two seconds of film")
        assert p.poll() is None, "the demo ended by itself"
        shown = _frames(out)
        os.killpg(p.pid, signal.SIGINT)  # as a terminal does: the seat units get it too
    finally:
        stdout, err = _finish(p, tmp_path)
    assert p.returncode == 0, err[-20:]
    assert not any("Traceback" in line for line in err), err
    brief = json.loads(stdout)
    s = json.loads((out / "summary.json").read_text())
    ended = brief["ended_early"]
    assert ended == s["ended_early"] and ended["by"] == "Ctrl-C" and ended["during"] == "film"
    # stopped at once: the film shown is what had played when the signal came, within a
    # margin a loaded machine keeps (frames.csv is written a second at a time)
    assert shown / FPS <= ended["at_s"] <= shown / FPS + 6, (shown, ended)
    assert ended["at_s"] == round(s["frames_rendered"] / FPS, 2)
    # one line says it, and where the report is
    [line] = [e for e in err if "ended early" in e]
    assert line == (f"empathy demo: ended early by Ctrl-C, {ended['at_s']:.1f} s into 600 s of "
                    f"film; report: {out / 'report.html'}")
    page = (out / "report.html").read_text()
    assert f"Ended early by Ctrl-C, {ended['at_s']:.1f} s into 600 s of film. This report is " \
        "of what ran." in page
    # the recording is finalised: every frame rendered plays
    frames, complaint = _probe(out / "screen.mp4")
    assert complaint == "" and abs(frames - s["frames_rendered"]) <= 1, (frames, complaint)
    for unit in (1, 2):  # the units stopped cleanly (their stats are written at the end)
        assert json.loads((out / "edge" / f"unit{unit}.stats.json").read_text())["packets_sent"]


@pytest.mark.realtime
def test_sigterm_before_the_film_reports_that_nothing_played(tmp_path):
    """SIGTERM (a CI job's time limit: to the demo alone) while the viewers sit at rest for
    their baseline (here a long one). Before: the demo died where it stood (exit -15), its
    two seat units left running for good."""
    p, out = _demo(tmp_path, "warning", "--duration", "600", "--baseline", "60")
    stdout, err = _sigterm_once(p, tmp_path, _file_says(
        out / "edge" / "unit1.channels.csv", lambda t: t.count("\n") > 2, p),
        "the seat units to be measuring")
    assert p.returncode == 0, err[-20:]
    ended = json.loads(stdout)["ended_early"]
    assert ended["during"] in ("start-up", "baseline") and ended["at_s"] == 0, ended
    assert ended["by"] == "SIGTERM" and not any("Traceback" in line for line in err), err
    assert err[-1].startswith("empathy demo: ended early by SIGTERM ") and \
        err[-1].endswith(f": nothing played; report: {out / 'report.html'}"), err
    assert "nothing played" in (out / "report.html").read_text()
    assert not (out / "screen.mp4").exists()


@pytest.mark.realtime
def test_a_second_ctrl_c_aborts_at_once_and_leaves_nothing_running(tmp_path):
    """Ctrl-C again while the first one's show winds down: out at once, one line, the
    seat units stopped on the way out (further signals are ignored meanwhile)."""
    p, out = _demo(tmp_path, "info", "--duration", "600")
    try:
        wait_for(lambda: _frames(out) >= FPS or p.poll() is not None, 240, "a second of film")
        assert p.poll() is None, "the demo ended by itself"
        os.killpg(p.pid, signal.SIGINT)
        wait_for(lambda: "Ctrl-C: ending the demo" in (tmp_path / "stderr").read_text()
                 or p.poll() is not None, 30, "the first Ctrl-C taken")
        t = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)
    finally:
        _, err = _finish(p, tmp_path)
    took = time.monotonic() - t
    assert p.returncode == 130, err[-20:]
    assert err[-1].startswith("empathy demo: interrupted (Ctrl-C) ") and \
        err[-1].endswith(f": no report (what ran is in {out})"), err[-5:]
    assert not any("Traceback" in line for line in err), err
    assert not (out / "report.html").exists()
    assert took < 30, took  # at once: the seat units stopped, nothing written


@pytest.mark.realtime
def test_a_kiosk_stopped_by_its_service_reports_the_visits_so_far(tmp_path):
    """systemd stops a gallery's kiosk demo (SIGTERM to the demo alone) mid-film."""
    p, out = _demo(tmp_path, "warning", "--visitors", "3", kiosk=True)
    stdout, err = _sigterm_once(p, tmp_path, _file_says(
        out / "frames.csv", lambda t: ",arrival," in t, p), "the first visitor's film")
    assert p.returncode == 0, err[-20:]
    brief = json.loads(stdout)
    assert brief["ended_early"]["by"] == "SIGTERM" and brief["ended_early"]["at_s"] > 0
    assert err[-1].startswith("empathy demo: ended early by SIGTERM, ") and \
        err[-1].endswith(f" s into the kiosk's run; report: {out / 'report.html'}"), err
    [visit] = brief["visits"]  # the visit the stop ended, in the report
    assert visit["session"] in (out / "report.html").read_text()
    assert "Ended early by SIGTERM" in (out / "report.html").read_text()
    s = json.loads((out / "summary.json").read_text())
    frames, complaint = _probe(out / "screen.mp4")
    assert complaint == "" and abs(frames - s["frames_rendered"]) <= 1, (frames, complaint)


def _signal_self(sig):
    os.kill(os.getpid(), sig)
    time.sleep(0.01)  # the handler runs in this (the main) thread at its next bytecode


def test_each_phase_takes_a_signal_as_the_user_means_it():
    """In this process, its own signals: nothing started yet -> out at once; start-up ->
    noted, a second waits for the start-up to end; the film -> the show is stopped; the
    report -> a first is noted (the run was whole), a second aborts."""
    with EndEarly("x") as stop:
        with pytest.raises(Aborted) as e:
            _signal_self(signal.SIGTERM)
    assert e.value.code == 143 and e.value.line == \
        "interrupted (SIGTERM) before anything started: no report"

    stopped = []
    with EndEarly("what ran is in x") as stop:
        stop.phase("start-up")
        _signal_self(signal.SIGHUP)
        _signal_self(signal.SIGINT)  # waits for the start-up's end
        stop.on_stop(lambda: stopped.append(1))
        assert stopped == [1] and stop.record(0.0) == {"by": "SIGHUP", "during": "start-up",
                                                       "at_s": 0.0}
        with pytest.raises(Aborted) as e:
            stop.phase("baseline")
    assert e.value.code == 130 and e.value.line == \
        "interrupted (Ctrl-C) during the resting baseline: no report (what ran is in x)"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back

    with EndEarly() as stop:
        stop.on_stop(lambda: stopped.append(2))
        stop.phase("film")
        _signal_self(signal.SIGINT)
        assert stopped == [1, 2] and stop.record(12.345)["at_s"] == 12.35
    with EndEarly() as stop:
        stop.phase("report")
        _signal_self(signal.SIGINT)
        assert stop.record(30.0) is None  # the film had ended by itself
        with pytest.raises(Aborted, match="Ctrl-C"):
            _signal_self(signal.SIGINT)


def test_a_signal_left_ignored_stays_ignored():
    """`nohup empathy demo &`: SIGHUP (and a background job's SIGINT) stay ignored."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with EndEarly():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, old)
