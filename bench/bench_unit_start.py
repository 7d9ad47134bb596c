"""An edge unit's start: process start to its first packet on the wire, beside bare starts.
`python -m empathy.bench.bench_unit_start [--runs N] [--seats 1,4]`.

A restarted unit (systemd, after a crash or an update) is blind till it sends again. Each
run starts a real `empathy edge run` on simulated seats (no face cameras, as CI's units)
with a UDP uplink to a socket this process listens on; the figures are the wall time from
spawning it to the first datagram, and the unit's CPU time (user + system, from /proc, to
the kernel's tick) at that moment. Peers, run the same way to their exit: a bare
interpreter (`python -c pass`) and `python -c "import numpy, scipy.signal"`, which the
unit's signal code and the simulator cannot do without. Runs interleave (unit, peers,
unit, ...) so a shared machine's load falls on all alike; median and p90 of N.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from empathy.cli import number_in, numbers_in

PEERS = {"bare interpreter": "pass", "import numpy, scipy.signal": "import numpy, scipy.signal"}
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def unit_config(folder: Path, seats: int, port: int) -> Path:
    from empathy.keys import Keystore

    folder.mkdir(parents=True, exist_ok=True)
    Keystore.new([7]).for_unit(7).save(folder / "unit7.keys.toml")
    cfg = folder / "edge.toml"
    cfg.write_text(f'unit_id = 7\nuplink = "udp://127.0.0.1:{port}"\n'
                   f'keystore = "{folder}/unit7.keys.toml"\nfaces = false\n'
                   f'seq_file = "{folder}/seq"\ncalibration_store = "{folder}/calibration"\n'
                   + "".join(f'[[seats]]\nseat_id = {70 + i}\n'
                             f'source = "sim://seat?seed={i + 1}&faces=0"\n'
                             for i in range(seats)))
    return cfg


def _cpu_s(pid: int) -> float:
    """A live process's user + system CPU seconds (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def first_packet(cfg: Path, rx: socket.socket, limit_s: float = 120.0) -> tuple[float, float]:
    """(wall s, CPU s) from spawning a unit to its first datagram; the unit is then ended."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                          str(cfg), "--duration", str(limit_s)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        rx.settimeout(limit_s)
        try:
            rx.recv(2048)
        except TimeoutError:
            raise RuntimeError(f"no packet in {limit_s:.0f} s") from None
        wall, cpu = time.perf_counter() - t0, _cpu_s(p.pid)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=60)
    if p.returncode not in (0, -15):
        raise RuntimeError(f"the unit failed ({p.returncode}): {err.strip()[-300:]}")
    while True:  # what it sent before it ended is not the next run's first packet
        try:
            rx.settimeout(0.0)
            rx.recv(2048)
        except BlockingIOError:
            return wall, cpu


def to_exit(code: str) -> tuple[float, float]:
    """(wall s, CPU s) of `python -c code` from spawn to exit."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise RuntimeError(f"python -c {code!r} failed ({p.returncode})")
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime


def _p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10, method="inclusive")[-1] if len(xs) > 1 else xs[0]


def measure(runs: int = 10, seats=(1, 4)) -> dict[str, dict[str, list[float]]]:
    """name -> {"wall": [...], "cpu": [...]} for each unit size and each peer."""
    units = [f"unit, {n} seat{'s' if n > 1 else ''}" for n in seats]
    times = {name: {"wall": [], "cpu": []} for name in units + list(PEERS)}
    with tempfile.TemporaryDirectory(prefix="empathy-unit-start-") as tmp, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        cfgs = [unit_config(Path(tmp) / f"s{n}", n, rx.getsockname()[1]) for n in seats]
        for _ in range(runs):
            for name, cfg in zip(units, cfgs):
                wall, cpu = first_packet(cfg, rx)
                times[name]["wall"].append(wall)
                times[name]["cpu"].append(cpu)
            for name, code in PEERS.items():
                wall, cpu = to_exit(code)
                times[name]["wall"].append(wall)
                times[name]["cpu"].append(cpu)
    return times


def rows(times: dict) -> list[dict]:
    """Median and p90 of each figure; the units' against each peer (ratio > 1: slower)."""
    out = []
    units = [n for n in times if n.startswith("unit")]
    for name in units:
        for kind in ("cpu", "wall"):
            for stat, f in (("median", statistics.median), ("p90", _p90)):
                value = f(times[name][kind])
                for peer in PEERS:
                    pv = f(times[peer][kind])
                    out.append({"name": f"{name}: first packet {kind} {stat}", "value": value,
                                "unit": "s", "peer": peer, "peer_value": pv,
                                "ratio": value / pv if pv else None})
    return out


def run() -> list[dict]:
    return rows(measure(int(os.environ.get("EMPATHY_UNIT_START_RUNS", "10"))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=number_in(int, 1, 1000), default=10)
    ap.add_argument("--seats", type=numbers_in(int, 1, 64), default=[1, 4])
    a = ap.parse_args(argv)
    times = measure(a.runs, a.seats)
    print(f"{a.runs} runs, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'':32} {'CPU s median':>12} {'p90':>6} {'wall s median':>14} {'p90':>6}")
    for name, t in times.items():
        print(f"{name:32} {statistics.median(t['cpu']):12.3f} {_p90(t['cpu']):6.3f} "
              f"{statistics.median(t['wall']):14.3f} {_p90(t['wall']):6.3f}")
    peer = "import numpy, scipy.signal"
    for name in (n for n in times if n.startswith("unit")):
        print(f"{name}: {statistics.median(times[name]['cpu']) / statistics.median(times[peer]['cpu']):.2f}"
              f"x the CPU of `{peer}`, {statistics.median(times[name]['cpu']) - statistics.median(times[peer]['cpu']):+.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
