"""Image sequences against video and against ffmpeg: the same 1080p frames as a PNG, TIFF,
10-bit DPX and EXR (half float: ZIP and uncompressed by ffmpeg, PIZ and DWAA, which VFX
houses use and ffmpeg cannot write, by OpenEXR's bindings) sequence, and as ProRes 422 HQ and
H.264 files, each decoded by the player's Decoder to the 1080p screen at 24 fps; beside
each sequence, in the same run, ffmpeg decoding it to rawvideo (its peer). Prints per
source the speed (frames a wall-clock second, everything else in this process idle) and
CPU ms a frame (user+sys, every thread), and each sequence's speed as a ratio of ffmpeg's
on the same frames and of ProRes's. On a shared machine the wall figures move with the
load: run it twice and read the ratios and the CPU column.

--show S then plays the DPX sequence in a real show (host/show.py, as `empathy host run`
does: real time, the story's look graded on, a null output) for S seconds at 24 fps, and
the H.264 file the same way (the control: what the grade and output alone leave late), and
prints the player's own counts: frames rendered, dropped (nothing decoded in time: the
last one shown again) and late (shown over a frame after its time).

    .venv/bin/python bench/bench_imgseq.py [--frames 48] [--show 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from empathy.cli import number_in
from empathy.host.player.decode import read_frames

W, H, FPS = 1920, 1080, 24
SEQUENCES = [  # name, suffix, ffmpeg options, ffmpeg's rawvideo format (the player's depth)
    ("png", "png", [], "rgb24"),
    ("tiff", "tif", [], "rgb24"),
    ("dpx 10-bit", "dpx", ["-pix_fmt", "gbrp10le"], "rgb48le"),
    ("exr half zip", "exr", ["-pix_fmt", "gbrpf32le", "-format", "half", "-compression", "zip16"],
     "rgb48le"),
    ("exr half none", "exr", ["-pix_fmt", "gbrpf32le", "-format", "half"], "rgb48le"),
]
REWRITES = [("exr half piz", "PIZ"), ("exr half dwaa", "DWAA")]  # the ZIP frames, rewritten
VIDEOS = [("prores hq", "mov", ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"]),
          ("h264", "mp4", ["-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p"])]


def _ffmpeg(src: list[str], out: str, opts: list[str], frames: int) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *src, "-frames:v", str(frames), *opts, out],
                   check=True, timeout=600)


def _rewrite(src: Path, dst: Path, compression: str) -> None:
    import OpenEXR

    dst.mkdir()
    for f in sorted(src.iterdir()):
        with OpenEXR.File(str(f)) as exr:
            px = exr.channels()["RGB"].pixels
        OpenEXR.File({"compression": getattr(OpenEXR, f"{compression}_COMPRESSION"),
                      "type": OpenEXR.scanlineimage}, {"RGB": px}).write(str(dst / f.name))


def _decode(media: Path, rate: float | None) -> tuple[float, float, int]:
    """(frames a second, CPU ms a frame, frames) decoding to the 1080p screen."""
    c0, t0 = time.process_time(), time.perf_counter()
    n = sum(1 for _ in read_frames(media, W, H, FPS, rate=rate))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, 1000 * cpu / max(n, 1), n


def _peer(pattern: Path, pix_fmt: str, frames: int) -> tuple[float, float, int]:
    """ffmpeg (its own threads) decoding the sequence to rawvideo of the player's depth."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-framerate", str(FPS), "-start_number", "1001",
                    "-i", str(pattern), "-f", "rawvideo", "-pix_fmt", pix_fmt, "-y",
                    os.devnull], check=True, timeout=600)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    return frames / wall, 1000 * cpu / frames, frames


def _show(media: str, seconds: float, tmp: Path) -> dict:
    """A real show of one clip (looped), real time, graded by a sample look, to null."""
    from empathy.host.player.cube import write_cube
    from empathy.host.sample import luts
    from empathy.host.show import Show, ShowConfig
    from empathy.host.story import load
    from empathy.keys import Keystore

    look = next(iter(luts.LOOKS))
    write_cube(tmp / "look.cube", luts.make(look, 33))
    story = tmp / "show.toml"
    rate = f"fps = {FPS}\n" if "#" in media else ""
    story.write_text(f'title = "bench"\nstart = "a"\n[segments.a]\nmedia = "{media}"\n{rate}'
                     f'duration_s = 1.5\nlut = "{tmp}/look.cube"\n')
    keys = Keystore.new([1])
    show = Show(load(story), ShowConfig(listen="udp://127.0.0.1:0", output="null", loop=True,
                                        width=W, height=H, fps=FPS, policy="default"),
                keys.units, keys.cue_signing, tmp / "frames.csv", realtime=True)
    c0 = time.process_time()
    s = show.run(seconds)
    s["cpu_ms"] = 1000 * (time.process_time() - c0) / max(1, s["frames_rendered"])
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=number_in(int, 1, 10_000), default=48)
    ap.add_argument("--show", type=number_in(float, 1, 3600), default=None,
                    help="then play the DPX sequence in a real-time show this long (s)")
    args = ap.parse_args()
    if not shutil.which("ffmpeg"):
        raise SystemExit("bench_imgseq: needs ffmpeg to make its media")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        src = ["-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}"]
        rows, peers = {}, {}
        for name, ext, opts in VIDEOS:
            _ffmpeg(src, str(d / f"v.{ext}"), opts, args.frames)
            rows[name] = _decode(d / f"v.{ext}", None)
        for name, ext, opts, raw in SEQUENCES + [(n, "exr", c, "rgb48le") for n, c in REWRITES]:
            shot = d / name.replace(" ", "_")
            if isinstance(opts, str):
                _rewrite(d / "exr_half_zip", shot, opts)
            else:
                shot.mkdir()
                _ffmpeg(src, str(shot / f"s.%04d.{ext}"), ["-start_number", "1001", *opts],
                        args.frames)
            size = sum(f.stat().st_size for f in shot.iterdir()) / args.frames / 1e6
            key = f"{name} ({size:.1f} MB/frame)"
            rows[key] = _decode(shot / f"s.####.{ext}", FPS)
            peers[key] = _peer(shot / f"s.%04d.{ext}", raw, args.frames)
        print(f"1080p, {args.frames} frames, to a 1080p {FPS} fps screen; {os.cpu_count()} "
              f"cores, load {os.getloadavg()[0]:.1f}")
        print(f"{'source':<30}{'fps':>7}{'CPU ms/f':>10}{'ffmpeg fps':>11}{'ffmpeg CPU':>11}"
              f"{'x ffmpeg':>9}{'x ProRes':>9}  keeps up at {FPS}")
        pr = rows["prores hq"][0]
        for name, (fps, cpu, n) in rows.items():
            pf, pc, _ = peers.get(name, (0.0, 0.0, 0))
            peer = f"{pf:11.1f}{pc:11.1f}{fps / pf:9.2f}" if pf else f"{'':31}"
            print(f"{name:<30}{fps:7.1f}{cpu:10.1f}{peer}{fps / pr:9.2f}  "
                  f"{'yes' if fps >= FPS * 1.25 else 'NO' if fps < FPS else 'barely'}")
        if args.show:
            for name, media in (("DPX 10-bit", f"{d}/dpx_10-bit/s.####.dpx"),
                                ("H.264 (control)", f"{d}/v.mp4")):
                s = _show(media, args.show, d)
                print(f"show: {name} 1080p at {FPS} fps, graded, {args.show:g} s real time: "
                      f"{s['frames_rendered']} frames rendered, {s['frames_dropped']} dropped, "
                      f"{s['frames_late']} late, {s['cpu_ms']:.1f} CPU ms a frame (whole "
                      f"process); load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
