"""What an HDR clip's conversion to SDR (player/hdr.py) costs a 1080p frame, beside today's
path: the same decoded 10-bit HLG frames (libx265, RGBA64 from our decoder), graded as the
player grades them, CPU time (every thread's) per frame.

  no look    today: the identity grade passes the frame through; now: the conversion table
  look       today: the look's 33^3 table; now: conversion and look, one 65^3 table
  crossfade  a new blended table each frame (a live grade change), both ways
  setup      once per look and clip kind: composing its table (off the play thread: the
             decoder does it before its first frame)

    python -m empathy.bench.bench_hdr [--frames 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import numpy as np

from empathy.host.player import hdr
from empathy.cli import number_in
from empathy.host.player.decode import read_frames
from empathy.host.player.grade import Grade, crossfade
from empathy.host.sample import luts

W, H = 1920, 1080


def _frames(path: Path, n: int) -> list:
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error",
                    "-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate=25:duration={n / 25}",
                    "-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt",
                    "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67",
                    "-colorspace", "bt2020nc", str(path)], check=True, timeout=300)
    return list(read_frames(path))


def _cpu_ms(frames: list, grade_of) -> float:
    """CPU ms a frame: grade_of(i) is frame i's grade, applied in place as the player does."""
    grade_of(0).apply(frames[0].rgb.copy())  # its 16-bit processor built outside the timing
    work = [f.rgb.copy() for f in frames]
    c0 = time.process_time()
    for i, f in enumerate(work):
        grade_of(i).apply(f, inplace=True)
    return 1000 * (time.process_time() - c0) / len(work)


def measure(n_frames: int) -> dict:
    """CPU ms a frame today (the SDR grade on the unconverted frame) and now (converted),
    per case; and the conversion table's one-off costs in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        frames = _frames(Path(tmp) / "hlg.mp4", n_frames)
    src = frames[0].source
    if src != "hlg" or frames[0].rgb.dtype != np.uint16:
        raise RuntimeError(f"the test clip decoded as {src}, {frames[0].rgb.dtype}")
    ident, look = Grade(None), Grade(luts.make("teal_night", 33))
    t0 = time.perf_counter()
    hdr.for_source(ident, src)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    hdr.for_source(look, src)
    composed = time.perf_counter() - t0
    half = Grade(luts.make("teal_night", 33), 0.5)
    n = len(frames)
    rows = {"no look": (_cpu_ms(frames, lambda i: ident),
                        _cpu_ms(frames, lambda i: hdr.for_source(ident, src))),
            "look": (_cpu_ms(frames, lambda i: look),
                     _cpu_ms(frames, lambda i: hdr.for_source(look, src))),
            "crossfade": (_cpu_ms(frames, lambda i: crossfade(look, half, (i + 1) / (n + 1))),
                          _cpu_ms(frames, lambda i: hdr.fade(look, half, (i + 1) / (n + 1),
                                                             src, look.threads)))}
    return {"frames": n, "rows": rows, "table_ms": 1000 * first, "compose_ms": 1000 * composed}


def run() -> list[dict]:
    """`empathy bench hdr`: each case's CPU ms a frame, the SDR grade of today as the peer."""
    m = measure(20)
    return [{"name": f"hdr 1080p HLG {case}", "value": now, "unit": "ms/frame",
             "peer": "SDR grade, unconverted", "peer_value": today,
             "ratio": now / today if today else float("inf")}
            for case, (today, now) in m["rows"].items()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=number_in(int, 1, 1000), default=20)
    args = ap.parse_args()
    try:
        m = measure(args.frames)
    except (RuntimeError, OSError) as e:
        print(f"bench_hdr: {e}", file=sys.stderr)
        return 1
    print(f"1080p 10-bit HLG, {m['frames']} frames, CPU ms a frame (all threads)")
    print(f"{'':<10} {'today':>7} {'now':>7}")
    for name, (today, now) in m["rows"].items():
        print(f"{name:<10} {today:7.1f} {now:7.1f}")
    print(f"setup: the conversion table {m['table_ms']:.0f} ms (once a process), "
          f"composed with a look {m['compose_ms']:.0f} ms (once a look)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
