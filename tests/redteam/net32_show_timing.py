"""What an attack from the network costs a running show (red team, session 32): a real
`empathy host run` at 25 fps with an honest unit, 6 s quiet, 6 s under the attack (from
its own process), 6 s quiet; per phase the frames shown, late ones, the gaps between
frames (the player's frame log) and the host process's CPU seconds.

    .venv/bin/python tests/redteam/net32_show_timing.py udp|health|metrics

udp: forged samples, sync requests and heartbeats as fast as one process sends them
(test_udp_attacks.BLASTER); health: 16 connections pipelining GET /api/v1/health (no
token needed); metrics: the same on /metrics with a scraper's token.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
from empathy.keys import Keystore  # noqa: E402
from redteam_rig import TOKEN, Host, Unit, free_udp_port, udp_send  # noqa: E402
from test_udp_attacks import BLASTER  # noqa: E402

HAMMER = r"""
import socket, sys, threading, time
port, seconds, path, token = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
req = (f"GET {path} HTTP/1.1\r\nHost: booth\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
answered = []
def run():
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 5) as s:
                while time.monotonic() < end:
                    s.sendall(req * 20)
                    got = 0
                    while got < 20:
                        data = s.recv(1 << 20)
                        if not data:
                            raise OSError
                        got += data.count(b"HTTP/1.1 ")
                    answered.append(got)
        except OSError:
            time.sleep(0.05)
threads = [threading.Thread(target=run) for _ in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sum(answered))
"""


def main(attack: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="net32-"))
    port, keys = free_udp_port(), Keystore.new([1, 2])
    host = Host(tmp, f"udp://127.0.0.1:{port}", keys)
    host.cfg["show"]["fps"] = 25.0
    host.start()
    dash = int(host.url.rsplit(":", 1)[1].strip("/"))
    unit = Unit(1, range(1, 5), keys.units[1], udp_send(port)).start()
    argv = {"udp": ["-c", BLASTER, str(port), "6"],
            "health": ["-c", HAMMER, str(dash), "6", "/api/v1/health", "-"],
            "metrics": ["-c", HAMMER, str(dash), "6", "/metrics", TOKEN]}[attack]

    def cpu() -> float:
        fields = Path(f"/proc/{host.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    time.sleep(5)
    phases = []
    for phase in ("quiet", attack, "quiet"):
        c0, t0 = cpu(), time.monotonic()
        if phase == attack:
            out = subprocess.run([sys.executable, *argv], capture_output=True, text=True)
            print(f"{attack}: {out.stdout.strip()} sent or answered")
        else:
            time.sleep(6)
        phases.append((phase, t0, time.monotonic(), cpu() - c0))
    unit.stop()
    host.stop()
    rows = list(csv.DictReader(open(tmp / "frames.csv")))
    wall = np.array([float(r["wall_s"]) for r in rows])  # the player's monotonic clock
    late = np.array([int(r["late"]) for r in rows])
    for phase, t0, t1, cpu_s in phases:
        sel = (wall >= t0) & (wall < t1)
        gaps = np.diff(wall[sel]) * 1000
        p50, p99, top = np.percentile(gaps, [50, 99, 100])
        print(f"{phase:8s} frames {sel.sum():4d} late {late[sel].sum()} gaps ms p50 {p50:.1f} "
              f"p99 {p99:.1f} max {top:.1f}; host CPU {cpu_s / (t1 - t0):.2f} of a core")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "udp")
