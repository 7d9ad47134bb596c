"""Grading throughput: our OCIO CPU path vs ffmpeg's lut3d filter (tetrahedral) on the same
decoded RGB frames and the same .cube, plus how far apart the two results are.

CPU per frame is the process's CPU time (user+sys, every thread: the grade pool's too) over
the frames, steady and during a crossfade (a new table each frame, as the player does): on a
kiosk's one Pi the CPU, not the wall time, decides what else fits beside the player.

Both sides start from decoded RGB, so decode cost is left out. ffmpeg's figure is its filter
time: a lut3d run minus an identical run with the null filter (process start, raw I/O).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from empathy.host.player.cube import read_cube, write_cube
from empathy.host.player.decode import read_frames
from empathy.host.player.grade import Grade, crossfade
from empathy.host.player.gst import to_8bit
from empathy.host.player.outputs import VideoWriter
from empathy.host.sample import luts
from empathy.host.sample.render import _Scene

LOOK = "teal_night"


def _clip(path: Path, w: int, h: int, seconds: float, fps: float = 25.0) -> list[np.ndarray]:
    """Render a synthetic clip through our encoder and decode it back (real H.264 frames)."""
    scene = _Scene("chase", w, h, fps)
    writer = VideoWriter(f"file:{path}", w, h, fps)
    for i in range(int(seconds * fps)):
        writer.push(scene.frame(i), i / fps, 1 / fps)
    writer.close()
    return [f.rgb for f in read_frames(path)]


def _ours(cube, frames: list[np.ndarray]) -> tuple[float, float, list[np.ndarray]]:
    """Frames per second (wall), CPU ms per frame, and the graded frames."""
    g = Grade(cube)
    g.apply(frames[0])  # builds the 8-bit CPU processor outside the timing
    work = [f.copy() for f in frames]
    t0, c0 = time.perf_counter(), time.process_time()
    for f in work:
        g.apply(f, inplace=True)
    cpu_ms = 1000 * (time.process_time() - c0) / len(work)
    return len(work) / (time.perf_counter() - t0), cpu_ms, work


def _fade_cpu_ms(cube, frames: list[np.ndarray]) -> float:
    """CPU ms per frame of a crossfade from the look at full strength to it at half, over
    the clip: each frame a new blended table, built and applied."""
    a, b = Grade(cube, 1.0), Grade(cube, 0.5)
    work = [f.copy() for f in frames]
    c0 = time.process_time()
    for i, f in enumerate(work):
        crossfade(a, b, (i + 1) / (len(work) + 1)).apply(f, inplace=True)
    return 1000 * (time.process_time() - c0) / len(work)


def _deep_cpu_ms(cube, frames: list[np.ndarray]) -> float:
    """CPU ms per frame of a deep (16-bit) source as the player takes it: graded at 16 bits,
    then rounded to 8 for the output."""
    g = Grade(cube)
    work = [f.astype(np.uint16) * 257 for f in frames]
    g.apply(work[0])  # builds the 16-bit CPU processor outside the timing
    c0 = time.process_time()
    for f in work:
        to_8bit(g.apply(f, inplace=True))
    return 1000 * (time.process_time() - c0) / len(work)


def _ffmpeg(cube_path: Path, frames: list[np.ndarray], tmp: Path) -> tuple[float, np.ndarray]:
    h, w = frames[0].shape[:2]
    src, dst = tmp / f"in_{w}.rgb", tmp / f"out_{w}.rgb"
    src.write_bytes(b"".join(f.tobytes() for f in frames))

    def timed(vf: str) -> float:
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
               f"{w}x{h}", "-r", "25", "-i", str(src), "-vf", vf, "-f", "rawvideo",
               "-pix_fmt", "rgb24", str(dst)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=120)
        return time.perf_counter() - t0

    base = timed("null")  # process start + raw I/O, which our side does not pay
    total = timed(f"lut3d=file={cube_path}:interp=tetrahedral")
    fps = len(frames) / max(total - base, 1e-3)
    out = np.frombuffer(dst.read_bytes(), np.uint8).reshape(len(frames), h, w, 3)
    return fps, out


def run() -> list[dict]:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg not installed: no peer to compare with")
    results = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cube_path = tmp / f"{LOOK}.cube"
        write_cube(cube_path, luts.make(LOOK, 33))
        t0 = time.perf_counter()
        cube = read_cube(cube_path)
        parse_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        Grade(cube, 0.73)._cpu(np.dtype(np.uint8))  # strength not used elsewhere: no cache hit
        build_ms = (time.perf_counter() - t0) * 1000
        results += [
            {"name": "lut_parse_33", "value": parse_ms, "unit": "ms", "peer": None,
             "peer_value": None, "ratio": None},
            {"name": "grade_processor_build", "value": build_ms, "unit": "ms", "peer": None,
             "peer_value": None, "ratio": None},
        ]
        for w, h, secs in ((640, 360, 4.0), (1920, 1080, 2.0)):
            frames = _clip(tmp / f"clip_{w}.mp4", w, h, secs)
            ours_fps, cpu_ms, ours = _ours(cube, frames)
            fade_ms = _fade_cpu_ms(cube, frames)
            deep_ms = _deep_cpu_ms(cube, frames)
            ff_fps, theirs = _ffmpeg(cube_path, frames, tmp)
            diff = max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(ours, theirs))
            results += [
                {"name": f"grade_fps_{h}p", "value": ours_fps, "unit": "fps",
                 "peer": "ffmpeg lut3d tetrahedral (filter time)", "peer_value": ff_fps,
                 "ratio": ours_fps / ff_fps},
                {"name": f"grade_cpu_per_frame_{h}p", "value": cpu_ms, "unit": "ms CPU",
                 "peer": None, "peer_value": None, "ratio": None},
                {"name": f"grade_fade_cpu_per_frame_{h}p", "value": fade_ms, "unit": "ms CPU",
                 "peer": None, "peer_value": None, "ratio": None},
                {"name": f"grade_deep_cpu_per_frame_{h}p", "value": deep_ms,
                 "unit": "ms CPU", "peer": None, "peer_value": None, "ratio": None},
                {"name": f"grade_max_diff_vs_ffmpeg_{h}p", "value": float(diff),
                 "unit": "code values", "peer": None, "peer_value": None, "ratio": None},
            ]
    return results


if __name__ == "__main__":
    for e in run():
        print(e)
