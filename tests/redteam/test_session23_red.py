"""Red team, session 23: what the last pass added to the host and the unit, in real
`empathy host run` and `empathy edge run` processes."""

from __future__ import annotations

import signal
import socket
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
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(60)
    cfg = _one_seat(tmp_path, f"udp://127.0.0.1:{rx.getsockname()[1]}")
    with _nohup():
        unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run",
                                 "--config", str(cfg), "--duration", "30"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # the unit's show started: its first packet (a 3-s sleep was not enough beside 3
        # busy loops: still importing, it took the SIGTERM below as death, rc -15)
        try:
            rx.recv(2048)
        finally:
            rx.close()
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


def test_a_host_name_of_two_addresses_in_rotating_order_is_not_a_switch_a_minute(
        monkeypatch, caplog):
    """A resolver that rotates a name's addresses (DNS round robin, `options rotate`, a host
    whose mDNS name answers for two interfaces): last pass's uplink thread took the first
    address at every look-up, so the unit switched host each minute and logged a warning
    each time (here 10 look-ups: 9 switches, 10 lines). Now the address in use is kept
    while the name still has it: one line, no switch."""
    import logging
    import socket

    from empathy.transports import udp

    answers = [[("10.0.0.1", 47100), ("10.0.0.2", 47100)],
               [("10.0.0.2", 47100), ("10.0.0.1", 47100)]]
    asked = []

    def rotating(host, port, *_a, **_k):  # the resolver (the C library's), not our code
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_DGRAM, 17, "", a)
                for a in answers[len(asked) % 2]]

    monkeypatch.setattr(udp.socket, "getaddrinfo", rotating)
    monkeypatch.setattr(udp, "RESOLVE_EVERY_S", 0.02)
    caplog.set_level(logging.INFO, "empathy")
    tx = udp.Sender("udp://screen-host.lan:47100", 1)
    try:
        first, used = tx.addr, set()
        while len(asked) < 10:
            used.add(tx.addr)
            time.sleep(0.005)
    finally:
        tx.close()
    said = [r.getMessage() for r in caplog.records if "sending to" in r.getMessage()]
    assert used == {first} and len(said) == 1, (used, said)
