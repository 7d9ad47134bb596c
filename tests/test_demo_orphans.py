"""`empathy demo` killed without a word (SIGKILL: the OOM killer, `kill -9`, a CI job's
timeout, a crashed terminal's session kill) leaves nothing running: its seat units and its
simulated board stop through their own clean stop (the unit's stats written, one line in
its log saying why) once the demo has gone. Before, they ran for ever, and a next demo in
the same folder found its seat unit refused (the sequence file held by the orphan) and
crashed writing its report (the truth file the orphan kept writing into, truncated under
it); a second demo in a live one's folder now is refused in one line. Real `empathy demo`
processes, real units, a real board on a pty."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import proc_group
from empathy.edge import watcher
from empathy.edge.lifeline import Lifeline
from empathy.transports import TransportError
from empathy.transports.mqtt_broker import OPEN, LocalBroker
from polling import wait_for

NEEDS_MOSQUITTO = pytest.mark.skipif(not os.path.exists("/usr/sbin/mosquitto"),
                                     reason="mosquitto is not installed")
GONE_S = 10.0  # from the kill to the last process gone: ~1 s on a loaded 2-core machine


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command's name (state first), None once gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int) -> dict[tuple[int, str], str]:
    """{(pid, start time): command line} of the processes `pid` started."""
    kids = {}
    for d in Path("/proc").iterdir():
        fields = _stat(int(d.name)) if d.name.isdigit() else None
        if fields and fields[1] == str(pid):
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            kids[(int(d.name), fields[19])] = cmd
    return kids


def _running(kid: tuple[int, str]) -> bool:
    fields = _stat(kid[0])  # the same process (not its pid reused), not yet a zombie
    return fields is not None and fields[19] == kid[1] and fields[0] != "Z"


def _lines(path: Path) -> int:
    try:
        return path.read_text().count("\n")
    except OSError:
        return 0


def _demo(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "empathy.cli", "demo", *args, "--baseline", "2", "--json",
            "--out", str(out)]


def _measuring(tmp_path, args: list[str]) -> tuple[subprocess.Popen, Path]:
    """`empathy demo ARGS` (its own process group) once its seat unit measures; its folder."""
    out = tmp_path / "demo"
    with open(tmp_path / "stderr", "w") as err:
        p = subprocess.Popen(_demo(out, *args), stdout=subprocess.DEVNULL, stderr=err,
                             start_new_session=True)
    try:
        wait_for(lambda: _lines(out / "edge" / "unit1.channels.csv") > 2 or p.poll() is not None,
                 120, "the seat unit measuring")
        assert p.poll() is None, (tmp_path / "stderr").read_text()[-2000:]
    except BaseException:
        _end(p)
        raise
    return p, out


def _end(p: subprocess.Popen) -> None:
    """Nothing of the demo left running, whatever a test found (its units are in its group)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def _killed_mid_run(tmp_path, args: list[str], kinds: dict[str, int]) -> Path:
    """`empathy demo ARGS` SIGKILLed once its seat unit measures; every process of the
    `kinds` it started ({what its command line says: how many}) must be gone in GONE_S.
    The run's folder."""
    p, out = _measuring(tmp_path, args)
    try:
        kids = {k: cmd for k, cmd in _children(p.pid).items() if any(w in cmd for w in kinds)}
        assert {w: sum(w in c for c in kids.values()) for w in kinds} == kinds, kids
        p.kill()
        p.wait()
        wait_for(lambda: not any(map(_running, kids)), GONE_S,
                 f"the demo's {', '.join(kinds)} processes to end after it was killed")
    finally:
        _end(p)
        for kid in filter(_running, kids):  # a failed test leaves nothing behind either
            os.kill(kid[0], signal.SIGKILL)
    return out


def _stopped_cleanly(out: Path) -> None:
    """The seat unit went through its own stop: its last stats written, and why, said."""
    assert (out / "edge" / "unit1.stats.json").read_text().startswith("{")
    log = (out / "edge" / "unit1.log").read_text()
    assert "unit 1: the process that started it is gone: stopping" in log, log[-2000:]


@pytest.mark.realtime
def test_a_killed_demo_leaves_no_seat_unit_running(tmp_path):
    out = _killed_mid_run(tmp_path, ["--seats", "1", "--no-faces", "--duration", "600"],
                          {"edge run": 1})
    _stopped_cleanly(out)


@pytest.mark.realtime
def test_a_killed_demo_leaves_no_simulated_board_running(tmp_path):
    """`--serial-seat`: the demo's simulated sensor board, a process of its own."""
    out = _killed_mid_run(tmp_path, ["--seats", "1", "--no-faces", "--duration", "600",
                                     "--serial-seat"], {"edge run": 1, "empathy.sim.board": 1})
    _stopped_cleanly(out)


def _watcher_said(log: Path, what: str) -> None:
    said = log.read_text()
    assert f"empathy watcher: {what}: the process that started it is gone: stopping" in said, \
        said[-2000:]


@pytest.mark.realtime
@NEEDS_MOSQUITTO
def test_a_killed_demo_leaves_no_broker_running(tmp_path):
    """`--transport mqtt`: the demo's private mosquitto (which drops to its own user when
    started as root, so no parent-death signal can be set on it), ended by its watcher.
    Before: it ran on for good."""
    out = _killed_mid_run(tmp_path, ["--seats", "1", "--no-faces", "--duration", "600",
                                     "--transport", "mqtt"],
                          {"mosquitto -c ": 1, "empathy.edge.watcher": 1})
    _watcher_said(out / "mqtt" / "mosquitto.log", "mosquitto")


@pytest.mark.realtime
def test_a_killed_demo_leaves_no_bluetooth_bus_running(tmp_path):
    """`--ble-seat`: the private system bus (a dbus-daemon) and dbusmock's BlueZ on it,
    ended by their watcher. Before: both ran on for good."""
    pytest.importorskip("dbusmock")
    out = _killed_mid_run(tmp_path, ["--seats", "1", "--no-faces", "--duration", "600",
                                     "--ble-seat"], {"dbus-daemon --config-file": 1,
                                                     "-m dbusmock ": 1, "empathy.edge.watcher": 1})
    _watcher_said(out / "edge" / "bluez_mock.log", "the BLE seats' bus")


@pytest.mark.realtime
def test_a_killed_kiosk_leaves_no_seat_unit_running(tmp_path):
    out = _killed_mid_run(tmp_path, ["--kiosk", "--visitors", "1"], {"edge run": 1})
    _stopped_cleanly(out)


@pytest.mark.realtime
def test_a_second_demo_in_a_running_demo_s_folder_is_refused_in_one_line(tmp_path):
    """Before: the second demo crashed at once (exit 70: "session ... is being recorded by
    another process"), the first's session folder its own; a second demo beside an orphaned
    seat unit had its unit refused (its sequence file held), played to nobody and crashed
    (exit 70) on the truth file the orphan went on writing, truncated under it."""
    p, out = _measuring(tmp_path, ["--seats", "1", "--no-faces", "--duration", "600"])
    try:
        r = proc_group.run(_demo(out, "--seats", "1", "--no-faces", "--duration", "2"), 240)
        assert p.poll() is None, "the first demo ended"
        assert not (out / "edge" / "unit1.stats.json").exists()  # its unit runs on
    finally:
        _end(p)
    assert r.returncode == 1 and r.stderr.splitlines() == [
        f"empathy demo: another demo runs in {out} (pid {p.pid}) (wait for it to end, or give "
        "this one its own --out)"], r.stderr[-2000:]


CHILD = """import sys, threading
from empathy.edge.lifeline import fd_arg, watch
gone = threading.Event()
watch(fd_arg(sys.argv[-1]), gone.set, "child")
print("watching", flush=True)
print("stopped" if gone.wait(120) else "still watching", flush=True)
"""


def test_the_lifeline_ends_with_its_holder_alone():
    """Its end comes when the parent's end closes (as the kernel closes it when the parent
    dies), though another process the parent started meanwhile, inheriting every descriptor
    it may, still runs: it holds no end of the line."""
    line = Lifeline()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             close_fds=False)
    try:
        child = line.popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "watching\n"
        line.close()
        out, _ = child.communicate(timeout=120)
        assert out == "stopped\n" and child.returncode == 0
    finally:
        other.kill()
        other.wait()


DEAF = """import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("deaf", flush=True)
time.sleep(120)
"""


def test_a_watcher_stops_what_it_guards_once_the_line_ends(tmp_path):
    """Two processes that watch no lifeline, one deaf to SIGTERM: once the line's holder
    closes it (as the kernel does when the holder dies) the watcher ends both, the deaf one
    by SIGKILL after its grace, says so, and exits."""
    line = Lifeline()
    plain = subprocess.Popen(["sleep", "120"])
    deaf = subprocess.Popen([sys.executable, "-c", DEAF], stdout=subprocess.PIPE, text=True)
    assert deaf.stdout.readline() == "deaf\n"
    with open(tmp_path / "watcher.log", "w") as out:
        w = watcher.guard(line, [plain.pid, deaf.pid], "two sleepers", out)
    try:
        line.close()
        assert w.wait(120) == 0
        assert plain.wait(120) == -signal.SIGTERM and deaf.wait(120) == -signal.SIGKILL
    finally:
        for p in (plain, deaf, w):
            p.kill()
            p.wait()
    said = (tmp_path / "watcher.log").read_text()
    assert "two sleepers: the process that started it is gone: stopping" in said, said
    assert said.count("two sleepers: still running 3 s after SIGTERM: killed") == 1, said


def test_a_watcher_ends_quietly_with_what_it_guards(tmp_path):
    """Stopped by their starter (or failed), the guarded leave their watcher nothing to do:
    it exits while the line still holds, having sent nothing to anyone."""
    line = Lifeline()
    p = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    with open(tmp_path / "watcher.log", "w") as out:
        w = watcher.guard(line, [p.pid], "a short one", out)
    try:
        assert p.wait(120) == 3 and w.wait(120) == 0
    finally:
        line.close()
        w.kill()
        w.wait()
    assert (tmp_path / "watcher.log").read_text() == ""


@NEEDS_MOSQUITTO
def test_a_watched_broker_that_cannot_listen_fails_as_before(tmp_path):
    """mosquitto told to listen where another socket does exits at once: the same one error
    as unwatched, and its watcher gone with it (the demo says that error in one line)."""
    line = Lifeline()
    try:
        with socket.socket() as taken:  # (not 127.0.0.1, where the broker's start looks)
            taken.bind(("127.0.0.2", 0))
            taken.listen()
            conf = f"listener {taken.getsockname()[1]} 127.0.0.2\n{OPEN}"
            for watched, folder in ((line, "on"), (None, "off")):
                with pytest.raises(TransportError, match="^mosquitto exited: see "):
                    LocalBroker(tmp_path / folder, config=conf, lifeline=watched)
    finally:
        line.close()
    assert not [cmd for cmd in _children(os.getpid()).values() if "empathy.edge.watcher" in cmd]
    said = (tmp_path / "on" / "mosquitto.log").read_text()
    assert "Address already in use" in said and "watcher" not in said, said


SLOW_CLIENT = """import sys, threading, time
from empathy.edge.lifeline import fd_arg, watch
gone = threading.Event()
watch(fd_arg(sys.argv[-1]), gone.set, "client")
print("watching", flush=True)
gone.wait(120)
time.sleep(2)  # its own stop takes a while (a seat unit's: its last stats written)
"""


def test_a_watcher_stops_a_service_only_after_its_clients(tmp_path):
    """The service a seat unit uses (the broker, the BLE bus) is stopped after the unit,
    whose own stop may need it: when the guarded process has ended, the client started on
    the same line, slow to stop, has already gone. Before: both were stopped at once, and a
    BLE unit whose bus went first took 21 s to stop instead of 1."""
    line = Lifeline()
    service = subprocess.Popen(["sleep", "120"])
    client = line.popen([sys.executable, "-c", SLOW_CLIENT], client=True,
                        stdout=subprocess.PIPE, text=True)
    assert client.stdout.readline() == "watching\n"
    with open(tmp_path / "watcher.log", "w") as out:
        w = watcher.guard(line, [service.pid], "a service", out)
    try:
        line.close()
        assert service.wait(120) == -signal.SIGTERM
        assert client.poll() == 0, "the service was stopped before its client"
        assert w.wait(120) == 0
    finally:
        for p in (service, client, w):
            p.kill()
            p.wait()


def test_the_watcher_takes_only_open_pidfds(capsys):
    """A number alone could name any file (stdin, a socket) or none: signalling through it
    would fail mid-stop. The watcher's arguments are refused unless they are pidfds (its
    numeric argument was unchecked: 0, -1, nan, 1e12 passed or gave argparse's int error)."""
    from empathy.edge.watcher import main

    r, w = os.pipe()
    pidfd = os.pidfd_open(os.getpid())
    try:
        for bad in ("0", "-1", "nan", "1000000000000", str(r)):
            with pytest.raises(SystemExit) as e:
                main(["units", bad, "--lifeline", str(r)])
            assert e.value.code == 2 and "not an open pidfd" in capsys.readouterr().err
        from empathy.edge.watcher import pidfd_arg
        assert pidfd_arg(str(pidfd)) == pidfd
    finally:
        for fd in (r, w, pidfd):
            os.close(fd)
