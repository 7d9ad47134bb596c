"""Reading a large .cube: peak memory and time of `read_cube`, per table size.

Each size is written once (an identity table with 7 significant digits, as write_cube and
most grading tools write them) and read in a fresh process, so the peak RSS is the read's
own: the figure is peak RSS (VmHWM) less the RSS after imports, against the file's size. A Pi
kiosk has 4-8 GB; the show reads every LUT of the story at start.

`python -m bench.bench_cube_read [SIZE ...]` (default 33 65 97 129).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from empathy.host.player.cube import identity_cube, write_cube

_CHILD = """
import sys, time
from empathy.host.player.cube import read_cube
def status_kb(key):  # VmHWM, not ru_maxrss: that keeps the parent's peak across exec
    return int(next(s for s in open("/proc/self/status") if s.startswith(key)).split()[1])
base = status_kb("VmRSS")
t = time.perf_counter()
c = read_cube(sys.argv[1])
dt = time.perf_counter() - t
print(status_kb("VmHWM") - base, dt, c.lut3d.shape[0])
"""


def measure(n: int, tmp: Path) -> tuple[float, float, float]:
    """(file MB, extra peak RSS MB, seconds) for an n^3 table."""
    path = tmp / f"id{n}.cube"
    write_cube(path, identity_cube(n))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], check=True,
                         capture_output=True, text=True).stdout.split()
    assert int(out[2]) == n
    return path.stat().st_size / 1e6, int(out[0]) / 1024, float(out[1])


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [33, 65, 97, 129]
    print(f"{'size':>5} {'file MB':>8} {'peak+ MB':>9} {'x file':>7} {'s':>6}")
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            mb, peak, s = measure(n, Path(d))
            print(f"{n:>5} {mb:8.1f} {peak:9.1f} {peak / mb:7.2f} {s:6.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
