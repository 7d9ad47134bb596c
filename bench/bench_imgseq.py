"""Image sequences against video: the same 1080p frames as a PNG, TIFF, 10-bit DPX and EXR
(half float, ZIP and uncompressed) sequence, and as ProRes 422 HQ and H.264 files, each
decoded by the player's Decoder to the 1080p screen at 24 fps. Prints per source the
decoder's speed (frames a wall-clock second, everything else in this process idle: the
feeder reads frames on one thread) and CPU ms a frame (user+sys, every thread), and each
sequence's speed as a ratio of ProRes's and H.264's. A 24 fps show needs 24 a second with
CPU to spare for the grade; on a shared machine the wall figures move with the load, so
run it twice and read the CPU column.

    .venv/bin/python bench/bench_imgseq.py [--frames 48]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from empathy.cli import number_in
from empathy.host.player.decode import read_frames

W, H, FPS = 1920, 1080, 24
SEQUENCES = [  # name, suffix, ffmpeg options
    ("png", "png", []),
    ("tiff", "tif", []),
    ("dpx 10-bit", "dpx", ["-pix_fmt", "gbrp10le"]),
    ("exr half zip", "exr", ["-pix_fmt", "gbrpf32le", "-format", "half", "-compression", "zip16"]),
    ("exr half none", "exr", ["-pix_fmt", "gbrpf32le", "-format", "half"]),
]
VIDEOS = [("prores hq", "mov", ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"]),
          ("h264", "mp4", ["-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p"])]


def _ffmpeg(src: list[str], out: str, opts: list[str], frames: int) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *src, "-frames:v", str(frames), *opts, out],
                   check=True, timeout=600)


def _decode(media: Path, rate: float | None) -> tuple[float, float, int]:
    """(frames a second, CPU ms a frame, frames) decoding to the 1080p screen."""
    c0, t0 = time.process_time(), time.perf_counter()
    n = sum(1 for _ in read_frames(media, W, H, FPS, rate=rate))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, 1000 * cpu / max(n, 1), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=number_in(int, 1, 10_000), default=48)
    args = ap.parse_args()
    if not shutil.which("ffmpeg"):
        raise SystemExit("bench_imgseq: needs ffmpeg to make its media")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        src = ["-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}"]
        rows = {}
        for name, ext, opts in VIDEOS:
            _ffmpeg(src, str(d / f"v.{ext}"), opts, args.frames)
            rows[name] = _decode(d / f"v.{ext}", None)
        for name, ext, opts in SEQUENCES:
            shot = d / name.replace(" ", "_")
            shot.mkdir()
            _ffmpeg(src, str(shot / f"s.%04d.{ext}"), ["-start_number", "1001", *opts],
                    args.frames)
            size = sum(f.stat().st_size for f in shot.iterdir()) / args.frames / 1e6
            rows[f"{name} ({size:.1f} MB/frame)"] = _decode(shot / f"s.####.{ext}", FPS)
        print(f"1080p, {args.frames} frames, to a 1080p {FPS} fps screen; {os.cpu_count()} "
              f"cores, load {os.getloadavg()[0]:.1f}")
        print(f"{'source':<30}{'fps':>7}{'CPU ms/f':>10}{'x ProRes':>10}{'x H.264':>9}  "
              f"keeps up at {FPS}")
        pr, h264 = rows["prores hq"][0], rows["h264"][0]
        for name, (fps, cpu, n) in rows.items():
            print(f"{name:<30}{fps:7.1f}{cpu:10.1f}{fps / pr:10.2f}{fps / h264:9.2f}  "
                  f"{'yes' if fps >= FPS * 1.25 else 'NO' if fps < FPS else 'barely'}")


if __name__ == "__main__":
    main()
