"""Red team on the host's operations day (`empathy host run` on the venue's machine, or a
Pi host): what an ssh session, a clock without a battery and a failing card do to it.
Real processes: `empathy host run` / `empathy edge run` as systemd or an operator starts
them."""

import contextlib
import json
import os
import signal
import socket
import subprocess

import pytest

from empathy.host.session import store
from empathy.keys import Keystore
from redteam_rig import Host, free_udp_port
from test_ops22 import _card, _edge_run, _one_seat, needs_root


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT], ids=["SIGHUP", "SIGINT"])
def test_a_host_whose_terminal_closes_or_types_ctrl_c_ends_its_show_as_on_sigterm(tmp_path, sig):
    """`empathy host run` typed in an ssh session to the show machine and the session
    dropped (the kernel sends SIGHUP), or stopped with Ctrl-C (SIGINT). Before: SIGHUP
    killed the host where it stood; Ctrl-C's KeyboardInterrupt unwound the show from
    wherever it was (exit 130, a traceback where it fell in a thread's wait): either way no
    summary and the session never marked ended. Now both end the show as SIGTERM does: one
    log line, the summary, the session ended, exit 0."""
    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1])).start()
    try:
        host.proc.send_signal(sig)
        out = host.proc.communicate(timeout=60)[0]
    finally:
        if host.alive():
            host.proc.kill()
            host.proc.wait()
    log = host.log()
    assert host.proc.returncode == 0, f"rc {host.proc.returncode}: {log[-2000:]}"
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-2000:]
    assert sum(sig.name in line for line in log.splitlines()) == 1, log[-2000:]
    assert "frames_rendered" in json.loads(out.strip().splitlines()[-1])
    [session] = store.sessions(host.sessions)
    assert "ended_utc" in store.info(session), store.info(session)


def _unit_on(tmp_path, channels_log, port=9, duration_s=3):
    cfg = _one_seat(tmp_path, f"udp://127.0.0.1:{port}", f'channels_log = "{channels_log}"\n')
    return _edge_run(cfg, duration_s)


def _fill(card):
    """Every block, root's reserve too: pages until ENOSPC, again after each sync (which
    frees what ext4 had held back for delayed allocation) until none fits; then empty files
    until no new file fits (with a block or two left, the log would be made and its rows
    refused mid-show, which was never refused)."""
    with open(card / "fill", "wb", buffering=0) as f:
        wrote = 1
        while wrote:
            wrote = 0
            with contextlib.suppress(OSError):
                while True:
                    f.write(bytes(4096))
                    wrote += 1
            os.fsync(f.fileno())
    with contextlib.suppress(OSError):
        for i in range(1 << 20):
            (card / f"empty{i}").touch()


@needs_root
@pytest.mark.parametrize("fault, says", [("read-only", "read-only"), ("full", "no space")])
def test_a_channels_log_on_a_card_read_only_or_full_at_start_never_stops_the_unit(
        tmp_path, fault, says):
    """The SD card already read-only (ext4 remounted it so at an earlier error) or full when
    the unit starts. Before: refused at start as a wrong path, and under systemd's
    Restart=always a restart loop with no seat data. Now one warning and the unit runs
    without its channels log, as when the card fails mid-show. A real ext4 image on a loop
    device (test_ops22's card)."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    got = 0
    try:
        with _card(tmp_path) as card:
            if fault == "read-only":
                subprocess.run(["mount", "-o", "remount,ro", str(card)], check=True)
            else:
                _fill(card)
            unit = _unit_on(tmp_path, f"{card}/channels.csv", rx.getsockname()[1])
            while unit.poll() is None:
                with contextlib.suppress(socket.timeout):
                    rx.recv(2048)
                    got += 1
            out = unit.communicate(timeout=10)[0]
    finally:
        rx.close()
    assert unit.returncode == 0 and "Traceback" not in out, out
    assert got > 20, f"{got} packets: {out}"
    warned = [line for line in out.splitlines() if "channels log" in line]
    assert len(warned) == 1 and says in warned[0].lower(), out


@pytest.mark.parametrize("wrong", ["no-such-folder/channels.csv", "fifo", "folder"])
def test_a_channels_log_path_that_is_wrong_is_still_refused_at_start(tmp_path, wrong):
    """A wrong path is the operator's to fix: refused at start in one line, as before."""
    path = tmp_path / wrong
    if wrong == "fifo":
        os.mkfifo(path)
    elif wrong == "folder":
        path.mkdir()
    unit = _unit_on(tmp_path, path, duration_s=1)
    out = unit.communicate(timeout=30)[0]
    assert unit.returncode != 0 and "Traceback" not in out, out
    assert len(out.strip().splitlines()) == 1 and "channels_log" in out, out
