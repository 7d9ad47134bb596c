"""An edge unit's start: process start to its first packet on the wire, beside bare starts.
`python -m empathy.bench.bench_unit_start [--runs N] [--seats 1,4] [--source URL] [--faces]`.

A restarted unit (systemd, after a crash or an update) is blind till it sends again. Each
run starts a real `empathy edge run` on simulated seats of beats and pupil (a strap's and an
eye camera's; no face camera, as CI's units; `--source` another, `{seed}` the seat's
number) with `faces = false` (`--faces`: true, a config's default) and a UDP uplink to a
socket this process listens on. The figures: the wall time from spawning it to the first
datagram, and the unit's CPU time (user + system, from /proc, to the kernel's tick) at that
moment. Peers, run the same way to their exit: a bare interpreter (`python -c pass`) and
`python -c "import numpy, scipy.signal"`, what a unit paid before its first packet until a
seat without waveforms stopped loading scipy (a waveform seat still does: PPG, ECG, EDA, an
accelerometer). Runs interleave (units, peers, units, ...) so a shared machine's load falls
on all alike; median and p90 of N.
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
SOURCE = "sim://seat?seed={seed}&faces=0"  # beats and pupil: a strap's and an eye camera's


def unit_config(folder: Path, seats: int, port: int, source: str = SOURCE,
                faces: bool = False) -> Path:
    from empathy.keys import Keystore

    folder.mkdir(parents=True, exist_ok=True)
    Keystore.new([7]).for_unit(7).save(folder / "unit7.keys.toml")
    cfg = folder / "edge.toml"
    cfg.write_text(f'unit_id = 7\nuplink = "udp://127.0.0.1:{port}"\n'
                   f'keystore = "{folder}/unit7.keys.toml"\nfaces = {str(faces).lower()}\n'
                   f'seq_file = "{folder}/seq"\ncalibration_store = "{folder}/calibration"\n'
                   + "".join(f'[[seats]]\nseat_id = {70 + i}\n'
                             f'source = "{source.format(seed=i + 1)}"\n'
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
        rx.settimeout(0.05)
        while True:
            try:
                rx.recv(2048)
                break
            except TimeoutError:
                if p.poll() is not None or time.perf_counter() - t0 > limit_s:
                    break
        wall, cpu = time.perf_counter() - t0, _cpu_s(p.pid) if p.poll() is None else None
    finally:
        p.terminate()
        _, err = p.communicate(timeout=60)
    if p.returncode not in (0, -15) or cpu is None:
        said = err.strip().splitlines()[-1:] or [f"no packet in {limit_s:.0f} s"]
        raise RuntimeError(f"the unit failed ({p.returncode}): {said[0][:300]}")
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


def source_url(text: str) -> str:
    """An argparse type: a source URL, `{seed}` standing for the seat's number."""
    try:
        url = text.format(seed=1)
    except (KeyError, IndexError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r}: only {{seed}} may stand in braces") from None
    if "://" not in url:
        raise argparse.ArgumentTypeError(f"{text!r} is not a source URL (sim://seat?ppg=1)")
    return text


def _p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10, method="inclusive")[-1] if len(xs) > 1 else xs[0]


def measure(runs: int = 10, seats=(1, 4), source: str = SOURCE,
            faces: bool = False) -> dict[str, dict]:
    """name -> {"wall": [...], "cpu": [...]} for each unit size and each peer."""
    units = [f"unit, {n} seat{'s' if n > 1 else ''}" for n in seats]
    times = {name: {"wall": [], "cpu": []} for name in units + list(PEERS)}
    with tempfile.TemporaryDirectory(prefix="empathy-unit-start-") as tmp, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        cfgs = [unit_config(Path(tmp) / f"s{n}", n, rx.getsockname()[1], source, faces)
                for n in seats]
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
    ap.add_argument("--source", type=source_url, default=SOURCE,
                    help=f"each seat's source (default {SOURCE})")
    ap.add_argument("--faces", action="store_true",
                    help="the units' config says faces = true (a config's default)")
    a = ap.parse_args(argv)
    try:
        times = measure(a.runs, a.seats, a.source, a.faces)
    except RuntimeError as e:
        print(f"bench_unit_start: {e}", file=sys.stderr)
        return 1
    print(f"{a.runs} runs, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'':32} {'CPU s median':>12} {'p90':>6} {'wall s median':>14} {'p90':>6}")
    for name, t in times.items():
        print(f"{name:32} {statistics.median(t['cpu']):12.3f} {_p90(t['cpu']):6.3f} "
              f"{statistics.median(t['wall']):14.3f} {_p90(t['wall']):6.3f}")
    peer = statistics.median(times["import numpy, scipy.signal"]["cpu"])
    for name in (n for n in times if n.startswith("unit")):
        cpu = statistics.median(times[name]["cpu"])
        print(f"{name}: {cpu / peer:.2f}x the CPU of `import numpy, scipy.signal` "
              f"({cpu - peer:+.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
