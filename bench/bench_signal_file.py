"""Reading a long recording (edge/signal_file.py): peak memory and time of `read_signal`
beside numpy's `loadtxt` of the whole file, and of the whole `empathy signal hr`.

The file: 33.4 min of a 72-bpm pulse with noise at 500 Hz, `time,ecg` with 3 and 5
decimals (16.8 MB, 1 002 000 rows: the red team's 16-MB ECG), written to a temporary
folder. Each figure is a fresh Python process's peak RSS (ru_maxrss of the child), so the
interpreter and numpy count in both (`import` alone is given as its own line); seconds
are the call's own, on this (shared) machine.

    python -m empathy.bench.bench_signal_file [--json] [--minutes 33.4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from empathy.cli import number_in

RUN = {  # (what each child imports, what it runs on the file p, timed)
    "import": ("pass", "pass"),
    "ours": ("from empathy.edge.signal_file import read_signal", "read_signal(p)"),
    "loadtxt": ("pass", "np.loadtxt(p, delimiter=',', skiprows=1)"),
    "signal_hr": ("from empathy import cli",
                  "cli.main(['signal', 'hr', p, '--kind', 'ecg', '--json'])"),
}
CHILD = ("import resource, sys, time, numpy as np; {}; p = sys.argv[1]; "
         "t0 = time.perf_counter(); {}; print(time.perf_counter() - t0, "
         "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")


def write_recording(path: Path, minutes: float, fs: float = 500.0) -> None:
    """A minute at a time: on Linux a child's peak RSS starts at its parent's at fork."""
    rng, n = np.random.default_rng(1), int(minutes * 60 * fs)
    with open(path, "w") as f:
        f.write("time,ecg\n")
        for k in range(0, n, int(60 * fs)):
            t = np.arange(k, min(n, k + int(60 * fs))) / fs
            x = np.sin(np.pi * 1.2 * t) ** 40 + 0.01 * rng.standard_normal(len(t))
            np.savetxt(f, np.column_stack([t, x]), fmt=["%.3f", "%.5f"], delimiter=",")


def measure(minutes: float) -> dict:
    """{name: (peak RSS in MB, seconds)} of a fresh process each, and the file's MB."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holter.csv"
        write_recording(path, minutes)
        out = {"file_mb": path.stat().st_size / 1e6}
        for name, code in RUN.items():
            r = subprocess.run([sys.executable, "-c", CHILD.format(*code), str(path)],
                               capture_output=True, text=True, check=True)
            seconds, kb = r.stderr.split()[-2:]
            out[name] = (int(kb) / 1024, float(seconds))
    return out


def run(minutes: float = 33.4) -> list[dict]:
    m = measure(minutes)
    (rss, s), (prss, ps) = m["ours"], m["loadtxt"]
    return [
        dict(name="signal file MB", value=m["file_mb"], unit="MB", peer=None,
             peer_value=None, ratio=None),
        dict(name="python+numpy alone peak RSS", value=m["import"][0], unit="MB", peer=None,
             peer_value=None, ratio=None),
        dict(name="read_signal peak RSS", value=rss, unit="MB", peer="np.loadtxt",
             peer_value=prss, ratio=rss / prss),
        dict(name="read_signal time", value=s, unit="s", peer="np.loadtxt", peer_value=ps,
             ratio=s / ps),
        dict(name="signal hr --json peak RSS", value=m["signal_hr"][0], unit="MB", peer=None,
             peer_value=None, ratio=None),
        dict(name="signal hr --json time", value=m["signal_hr"][1], unit="s", peer=None,
             peer_value=None, ratio=None),
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--minutes", type=number_in(float, 0.1, 1440), default=33.4)
    a = ap.parse_args()
    figures = run(a.minutes)
    print(json.dumps(figures, indent=1) if a.json else
          "\n".join(f"{f['name']:<32} {f['value']:9.3g} {f['unit']}" +
                    (f"   {f['peer']} {f['peer_value']:.3g}" if f["peer"] else "")
                    for f in figures))
