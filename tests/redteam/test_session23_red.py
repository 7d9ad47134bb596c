"""Red team, session 23: what the last pass added to the host and the unit, in real
`empathy host run` and `empathy edge run` processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from contextlib import contextmanager

from empathy.keys import Keystore
from redteam_rig import Host, free_udp_port
from test_ops22 import _one_seat


@contextmanager
def _nohup():
    """What `nohup` does before it runs a command: SIGHUP ignored, which exec keeps."""
    was = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, was)


def test_a_show_started_with_nohup_outlives_its_terminal(tmp_path):
    """`nohup empathy host run --config host.toml &`, then the operator logs out: the
    terminal's SIGHUP is ignored, the show goes on. Last pass's SIGHUP handler (a closed
    ssh session ends the show cleanly) replaced nohup's 'ignore', so logging out ended the
    show (rc 0 with its summary), and the unit's too. Now a SIGHUP the process was started
    ignoring stays ignored; one it was not still ends the show (test_host_ops.py)."""
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1]))
    with _nohup():
        host.start()
    cfg = _one_seat(tmp_path, "udp://127.0.0.1:9")
    with _nohup():
        unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run",
                                 "--config", str(cfg), "--duration", "30"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)  # the unit's show started
        host.proc.send_signal(signal.SIGHUP)
        unit.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert host.alive(), f"the host ended on an ignored SIGHUP: {host.log()[-1500:]}"
        assert unit.poll() is None, f"the unit ended on an ignored SIGHUP: {unit.stdout.read()}"
        summary = host.stop()
        assert summary and "frames_rendered" in summary and "SIGHUP" not in host.log()
        unit.terminate()
        out = unit.communicate(timeout=30)[0]
        assert unit.returncode == 0 and "SIGHUP" not in out, out
    finally:
        if host.alive():
            host.proc.kill()
        if unit.poll() is None:
            unit.kill()
