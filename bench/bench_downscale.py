"""A clip bigger than the screen: CPU per frame to decode it to the screen's RGB (1080p), the
player's decoder against ffmpeg doing the same (decode, scale, convert to RGB, one process).

The player's grade runs on what the decoder hands over, already at the screen's size; what
the source's size costs is the decoder's conversion to RGB and the scaling. CPU is the
process's (user+sys, every thread: GStreamer's and libav's too) over the frames, ffmpeg's is
its child-process CPU; both decode the same file with the same H.264 decoder (libav), so the
difference is the conversion and scaling. Noisy on a loaded machine: the CPU, not the wall
time, is reported, but caches are shared.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from empathy.host.player.decode import Decoder, End

SCREEN = (1920, 1080)
SOURCES = [  # name, size, ffmpeg pix_fmt, seconds at 25 fps
    ("4k", (3840, 2160), "yuv420p", 2.0),
    ("4k_10bit", (3840, 2160), "yuv420p10le", 2.0),
    ("8k", (7680, 4320), "yuv420p", 1.0),
]


def _make(path: Path, size: tuple[int, int], pix_fmt: str, seconds: float) -> None:
    w, h = size
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={w}x{h}:rate=25", "-t", str(seconds), "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", pix_fmt, str(path)],
                   check=True, timeout=300)


def _ours(path: Path) -> tuple[float, int]:
    """CPU ms per frame decoding `path` to the screen's size, and the frames."""
    c0 = time.process_time()
    dec = Decoder(path, *SCREEN, 25.0, queue_size=4)
    n = 0
    try:
        while True:
            item = dec.get(timeout=60)
            if item is None or isinstance(item, End):
                if item is None or item.error:
                    raise RuntimeError(f"{path}: {item.error if item else 'stalled'}")
                break
            n += 1
    finally:
        dec.stop()
        dec.join(10)
    return 1000 * (time.process_time() - c0) / max(n, 1), n


def _ffmpeg(path: Path, frames: int, deep: bool) -> float:
    """ffmpeg's CPU ms per frame for the same work: decode, scale, RGB (48-bit when deep)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf",
                    f"scale={SCREEN[0]}:{SCREEN[1]}", "-pix_fmt",
                    "rgb48le" if deep else "rgb24", "-f", "null", "-"],
                   check=True, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 1000 * cpu / max(frames, 1)


def run() -> list[dict]:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg not installed: no peer to compare with")
    results = []
    with tempfile.TemporaryDirectory() as d:
        for name, size, pix_fmt, seconds in SOURCES:
            path = Path(d) / f"{name}.mp4"
            _make(path, size, pix_fmt, seconds)
            ours, n = _ours(path)
            theirs = _ffmpeg(path, n, "10" in pix_fmt)
            results.append({"name": f"decode_{name}_to_1080p_cpu_per_frame", "value": ours,
                            "unit": "ms CPU", "peer": "ffmpeg decode+scale+RGB",
                            "peer_value": theirs, "ratio": ours / theirs})
    return results


if __name__ == "__main__":
    for e in run():
        print(e)
