"""When a seat's first heart rate leaves a real edge unit: a strap's beats against a raw
waveform's, whose beat detector (edge/seat_wave.py, scipy) is imported at the first chunk.
`python -m empathy.bench.first_heart [--runs N]`.

Each run starts `empathy edge run` with one seat, `replay://` of a real device's file
looped (tests/data/signal: a Polar H10's RR intervals, its 130 Hz ECG, an Empatica E4's
64 Hz PPG), and a UDP uplink to this process. Seconds from spawn to the unit's first packet
and to its first sample with HR_OK, and the unit's CPU seconds then. `warm`: the same unit
with edge.seat_wave imported by a thread from the process's start, as a fix would (does
the import delay the first heart rate, or does the detector's own warm-up outlast it?).
Median (min-max) of N interleaved runs.
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

from empathy import wire
from empathy.bench.bench_unit_start import _cpu_s
from empathy.cli import number_in
from empathy.edge.signal_apps import read_beats
from empathy.edge.signal_file import read_heart
from empathy.keys import Keystore

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "signal"
MAIN = "from empathy.cli import main; sys.exit(main(sys.argv[1:]))"
WARM = ("import threading, importlib; threading.Thread(target=importlib.import_module, "
        "args=('empathy.edge.seat_wave',), daemon=True).start(); ")
SEATS = (("strap RR", "rr", False), ("H10 ECG", "ecg", False), ("H10 ECG", "ecg", True),
         ("E4 PPG", "ppg", False), ("E4 PPG", "ppg", True))


def recordings(folder: Path) -> None:
    """The device files as the CSV recordings replay:// plays (ts_us, then the values)."""
    beats = read_beats(str(DATA / "polar_h10_rr.txt"))
    rows = {"rr": ("rr_ms", beats[1:] * 1e6, (beats[1:] - beats[:-1]) * 1000)}
    for kind, name in (("ecg", "polar_h10_ecg.txt"), ("ppg", "e4_BVP.csv")):
        x, fs = read_heart(str(DATA / name), None, kind, None)
        rows[kind] = (kind, [i / fs * 1e6 for i in range(len(x))], x)
    for kind, (col, ts, values) in rows.items():
        (folder / f"{kind}.csv").write_text(f"ts_us,{col}\n" + "".join(
            f"{int(t)},{v:.6g}\n" for t, v in zip(ts, values)))


def first_heart(folder: Path, kind: str, warm: bool, rx: socket.socket, key: bytes):
    """(first packet s, first HR_OK s, CPU s at it) of one unit run, s from spawn."""
    cfg = folder / f"{kind}.toml"
    cfg.write_text(f'unit_id = 7\nuplink = "udp://127.0.0.1:{rx.getsockname()[1]}"\n'
                   f'keystore = "{folder}/k.toml"\nseq_file = "{folder}/seq"\nfaces = false\n'
                   f'[[seats]]\nseat_id = 70\nsource = "replay://{folder}/{kind}.csv?loop=1"\n')
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", "import sys; " + (WARM if warm else "") + MAIN,
                          "edge", "run", "--config", str(cfg), "--duration", "60"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    try:
        rx.settimeout(0.5)
        while p.poll() is None:
            try:
                packet = rx.recv(2048)
            except TimeoutError:
                continue
            t = time.perf_counter() - t0
            first = first if first is not None else t
            if (wire.kind_of(packet) == wire.KIND_SAMPLE
                    and wire.decode(packet, {7: key}).flags & wire.Flag.HR_OK):
                return first, t, _cpu_s(p.pid)
        raise RuntimeError(f"{kind}: no HR_OK ({p.stderr.read()[-300:]})")
    finally:
        p.terminate()
        p.communicate(timeout=60)
        rx.settimeout(0.2)
        try:  # what it sent as it ended is not the next run's
            while rx.recv(2048):
                pass
        except TimeoutError:
            pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=number_in(int, 1, 100), default=4)
    runs = ap.parse_args(argv).runs
    times: dict = {s: [] for s in SEATS}
    with tempfile.TemporaryDirectory(prefix="empathy-first-heart-") as tmp, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        folder = Path(tmp)
        recordings(folder)
        keys = Keystore.new([7])
        keys.for_unit(7).save(folder / "k.toml")
        rx.bind(("127.0.0.1", 0))
        for _ in range(runs):
            for seat in SEATS:
                times[seat].append(first_heart(folder, seat[1], seat[2], rx, keys.units[7]))
    print(f"{runs} runs, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          "median (min-max)")
    print(f"{'seat':18} {'first packet s':>20} {'first HR_OK s':>22} {'CPU s then':>20}")
    for (name, _, warm), rows in times.items():
        cells = [f"{statistics.median(c):.2f} ({min(c):.2f}-{max(c):.2f})" for c in zip(*rows)]
        print(f"{name + (' warm' if warm else ''):18} {cells[0]:>20} {cells[1]:>22} {cells[2]:>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
