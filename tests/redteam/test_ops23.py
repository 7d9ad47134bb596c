"""Red team on operations, pass 23: a unit restarted on a card read-only from its start,
Ctrl-C on the host and the edge unit (the demo's: tests/test_demo_end_early.py). Real
processes, real sockets, real files (test_ops22's loop-mounted ext4 card)."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

from empathy.host.receive import Intake
from empathy.keys import Keystore
from test_ops22 import _card, _edge_run, _one_seat, needs_root


def _run_into(intake: Intake, cfg, duration_s: float) -> tuple[str, int]:
    """One `empathy edge run` whose packets the host's own intake takes: (log, rc)."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", int(cfg.read_text().split("127.0.0.1:")[1].split('"')[0])))
    rx.settimeout(0.2)
    try:
        unit = _edge_run(cfg, duration_s)
        while unit.poll() is None:
            with contextlib.suppress(socket.timeout):
                intake.feed([rx.recv(2048)])
        return unit.communicate(timeout=10)[0], unit.returncode
    finally:
        rx.close()


@needs_root
def test_a_unit_restarted_on_a_card_read_only_from_its_start_is_taken_by_the_host(tmp_path):
    """The SD card already read-only when the unit starts (ext4 remounted it so at an error
    in an earlier show), its sequence file there. The unit runs (one warning), but every
    start read the same number from the file and sent from it again: the host, which had
    taken those numbers from the run before, refused the restarted unit's packets as
    replays (host/replay.py) for as long as the run before had sent: under systemd's
    Restart=always, a seat without data for minutes after each restart. Now a unit that
    cannot reserve its numbers starts past every number it can have sent since the file
    was last written (the unit's packet rate bound times the time since), so the host
    takes a restarted unit's packets at once."""
    port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port.bind(("127.0.0.1", 0))
    udp = port.getsockname()[1]
    port.close()
    ks = Keystore.new([1])
    intake = Intake(ks.units)
    with _card(tmp_path) as card:
        (card / "unit1.seq").write_text("5000")  # written by the last show, then the card failed
        os.utime(card / "unit1.seq", (time.time() - 60, time.time() - 60))
        subprocess.run(["mount", "-o", "remount,ro", str(card)], check=True)
        ks.for_unit(1).save(tmp_path / "k.toml")
        cfg = tmp_path / "edge.toml"
        cfg.write_text(f'unit_id = 1\nkeystore = "{tmp_path}/k.toml"\n'
                       f'seq_file = "{card}/unit1.seq"\nuplink = "udp://127.0.0.1:{udp}"\n'
                       'faces = false\n[[seats]]\nseat_id = 1\nsource = "sim://seat?seed=1&faces=0"\n')
        runs = []
        for _ in range(2):  # the first run, then systemd's restart of it
            before = intake.accepted, intake.rejected["replayed"]
            out, rc = _run_into(intake, cfg, 3)
            runs.append((intake.accepted - before[0], intake.rejected["replayed"] - before[1],
                         rc, out))
    print([r[:3] for r in runs])
    for accepted, replayed, rc, out in runs:
        assert rc == 0 and "Traceback" not in out, out
        assert accepted > 20 and replayed == 0, (accepted, replayed, out)
        warned = [line for line in out.splitlines() if "sequence" in line]
        assert len(warned) == 1 and "read-only" in warned[0].lower(), out
    top = int(intake.windows.top[1])
    assert top < 5000 + 30 * 120, f"numbers jumped past what 2 min at 30/s need: {top}"


def test_ctrl_c_on_an_edge_unit_ends_its_show_as_sigterm_does(tmp_path):
    """`empathy edge run` stopped with Ctrl-C: its counters written, exit 0 (or 1: nobody
    answered on the uplink), no traceback."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(60)
    cfg = _one_seat(tmp_path, f"udp://127.0.0.1:{rx.getsockname()[1]}")
    unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                             str(cfg), "--stats", str(tmp_path / "stats.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:  # its show under way: a packet came (its sequence file and a 1-s sleep: not always)
        rx.recv(2048)
    finally:
        rx.close()
    unit.send_signal(signal.SIGINT)
    out = unit.communicate(timeout=20)[0]
    assert unit.returncode in (0, 1) and "Traceback" not in out, f"rc {unit.returncode}: {out}"
    assert json.loads((tmp_path / "stats.json").read_text())["packets_sent"] > 0
