"""A unit told to stop (SIGTERM from systemd, SIGINT from Ctrl-C, SIGHUP from a closed
terminal) while it is still starting stops as it does mid-show: exit 0, one line naming the
signal, no traceback, its stats written, and its sequence carried on (a host takes a
restarted unit's packets). Before, the handlers were set only once the unit was built:
a SIGTERM during its imports, model load or source open killed it by Python's default
action (no line, no stats), a SIGINT ended it as "interrupted (Ctrl-C)", exit 130.

Real `empathy edge run` processes: seat 1 a serial board on a pty pair, seat 2 a simulated
viewer whose face loads the expression model, packets to a real host intake. The
signal is timed by what the process itself shows, never by a sleep: a library mapped into
it (/proc/PID/maps), the board's port asked for its HELLO, the sequence lock made."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys

import pytest

from empathy.edge.expression import DEFAULT_MODEL
from empathy.keys import Keystore
from redteam.ops_rig import Host, unit_config, wait_for

pytestmark = [pytest.mark.timeout(600), pytest.mark.realtime]
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Start:
    """One unit started, and the points of its start it can be caught at."""

    def __init__(self, cfg, board_fd: int, stats):
        self.board_fd, self.stats = board_fd, stats
        # (`start_new_session`: a SIGINT sent to it is not Ctrl-C from our terminal)
        self.p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "--log-level", "info",
                                   "edge", "run", "--config", str(cfg), "--stats", str(stats)],
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)

    def mapped(self, lib: str) -> bool:
        try:
            with open(f"/proc/{self.p.pid}/maps") as f:
                return lib in f.read()
        except OSError:  # gone already
            return True

    def board_asked(self) -> bool:
        """The board's port was opened: the unit wrote its HELLO request."""
        if select.select([self.board_fd], [], [], 0.001)[0]:
            return bool(os.read(self.board_fd, 64))
        return self.p.poll() is not None

    def locked(self) -> bool:
        """It holds its sequence file's lock (the file itself stays from the last run)."""
        try:
            fds = os.listdir(f"/proc/{self.p.pid}/fd")
            return any(os.readlink(f"/proc/{self.p.pid}/fd/{fd}").endswith("seq1.lock")
                       for fd in fds)
        except OSError:  # gone, or an fd closed as we looked: look again
            return self.p.poll() is not None


# in the order the unit reaches them: its runtime imported, the face model loaded, the
# board's port opened, the sequence file taken (the last step before its handlers were set)
POINTS = {
    "imports": lambda s: s.mapped("_multiarray_umath"),
    "models": lambda s: s.mapped("litert") or s.mapped("tflite"),
    "source": Start.board_asked,
    "sequence": Start.locked,
}


def problems(run: Start, sig: signal.Signals) -> list[str]:
    try:
        _, err = run.p.communicate(timeout=120)  # (far past any stop, loaded or not)
    except subprocess.TimeoutExpired:
        run.p.kill()
        return ["still running 120 s after the signal"]
    out = []
    if run.p.returncode != 0:
        out.append(f"exit {run.p.returncode}")
    if "Traceback" in err:
        out.append("traceback")
    said = err.count(f"{sig.name}: ending the show")
    if said != 1:
        out.append(f"{said} stop lines")
    try:
        if json.loads(run.stats.read_text())["unit_id"] != 1:
            out.append("stats of another unit")
    except (OSError, ValueError, KeyError):
        out.append("no stats")
    return out


def test_a_unit_stopped_while_it_starts_stops_cleanly(tmp_path):
    keys = Keystore.new([1])
    host = Host(keys)
    master, slave = os.openpty()
    cfg = unit_config(tmp_path, keys, 1, host.rx.port,
                      {1: f"serial://{os.ttyname(slave)}", 2: "sim://seat?seed=3"})
    cfg.write_text(cfg.read_text().replace("faces = false", "faces = true"))
    failed: dict[str, list[str]] = {}
    try:
        for i, (point, sig) in enumerate((p, s) for p in POINTS for s in SIGNALS):
            run = Start(cfg, master, tmp_path / f"stats{i}.json")
            wait_for(lambda: POINTS[point](run), 120)
            run.p.send_signal(sig)
            if bad := problems(run, sig):
                failed[f"{point}/{sig.name}"] = bad
            while select.select([master], [], [], 0)[0]:  # what it wrote to the board
                os.read(master, 4096)
        # a unit started again: the host takes its packets (no number it has seen)
        before = host.intake.accepted
        last = subprocess.run([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                               str(cfg), "--duration", "2"], capture_output=True, text=True,
                              timeout=120)
        assert last.returncode == 0, last.stderr[-1500:]
        wait_for(lambda: host.intake.accepted > before, 30)
    finally:
        host.close()
        os.close(master)
        os.close(slave)
    assert not host.intake.rejected["replayed"], host.intake.rejected
    n = len(POINTS) * len(SIGNALS)
    assert not failed, f"{len(failed)} of {n} stops not clean: {failed}"


@pytest.mark.parametrize("how", ["kill -HUP", "timeout -s TERM"])
def test_a_unit_whose_board_is_reconnecting_stops_cleanly(tmp_path, how):
    """Its board unplugged as it starts (the pty's far end closed: the driver polls for the
    node to come back), the unit is stopped by SIGHUP, or by `timeout` (SIGTERM, exit 124).
    Before, the HUP killed it 10 times in 10 (no stats); under `timeout` it was already up."""
    keys = Keystore.new([1])
    master, slave = os.openpty()
    cfg = unit_config(tmp_path, keys, 1, 9, {1: f"serial://{os.ttyname(slave)}"})
    stats = tmp_path / "stats.json"
    first = ["timeout", "-s", "TERM", "3"] if how.startswith("timeout") else []
    unit = subprocess.Popen([*first, sys.executable, "-m", "empathy.cli", "--log-level", "info",
                             "edge", "run", "--config", str(cfg), "--stats", str(stats)],
                            stderr=subprocess.PIPE, text=True)
    try:
        select.select([master], [], [], 120)  # its HELLO request: the port is open
        os.close(slave)
        os.close(master)  # unplugged
        said = []
        for line in unit.stderr:  # (a unit that died before saying it ends the loop)
            said.append(line)
            if "board unplugged" in line:
                break
        if not first:
            unit.send_signal(signal.SIGHUP)
        _, err = unit.communicate(timeout=120)
    finally:
        unit.kill()
    err = "".join(said) + err
    assert unit.returncode == (124 if first else 0), err[-1500:]
    assert "Traceback" not in err, err[-1500:]
    assert err.count("SIGTERM: ending the show" if first else "SIGHUP: ending the show") == 1, \
        err[-1500:]
    assert json.loads(stats.read_text())["unit_id"] == 1


def probing(unit: subprocess.Popen) -> bool:
    """It has started a child (the probe), or has ended."""
    try:
        with open(f"/proc/{unit.pid}/task/{unit.pid}/children") as f:
            return bool(f.read().strip())
    except OSError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_unit_stopped_while_it_probes_a_model_stops_without_blaming_the_model(tmp_path, sig):
    """A model not shipped is first loaded in a child process (edge/model_check.py). systemd
    signals the whole unit (its cgroup), a terminal's Ctrl-C its process group: the probe
    dies too, and the unit said the model was broken (exit 1) instead of stopping."""
    model = tmp_path / "mine.tflite"  # the shipped model, one byte more: not its digest
    model.write_bytes(DEFAULT_MODEL.read_bytes() + b"\0")
    keys = Keystore.new([1])
    cfg = unit_config(tmp_path, keys, 1, 9, {1: "sim://seat?seed=3"}, faces="true",
                      expression_model=f'"{model}"')
    cfg.write_text(cfg.read_text().replace("faces = false\n", ""))
    stats = tmp_path / "stats.json"
    unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "--log-level", "info", "edge",
                             "run", "--config", str(cfg), "--stats", str(stats)],
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        wait_for(lambda: probing(unit), 120)
        os.killpg(unit.pid, sig)  # the unit and its probe
        _, err = unit.communicate(timeout=120)
    finally:
        unit.kill()
    assert unit.returncode == 0, err[-1500:]
    assert "cannot load model" not in err and "Traceback" not in err, err[-1500:]
    assert err.count(f"{sig.name}: ending the show") == 1, err[-1500:]
    assert json.loads(stats.read_text())["started"] is False
