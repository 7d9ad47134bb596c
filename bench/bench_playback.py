"""1080p30 graded playback of a four-segment story: 3 branch switches, 2 live LUT crossfades.

The same story also plays at 720p30, to show where this machine's real-time limit lies, and
at 640x360 (the demos' and kiosk rehearsal's size), where grading is one band on the player
thread (grade.bands): its CPU per frame is the kiosk's figure.

Each branch is decided late on purpose, LEAD_S before the playing segment ends, by a
controller thread (as the show's loop does), so the figures show whether a decision that
late still lands on the exact next frame. Frames go to the `null` output (a display
stand-in headless) with sound. The peer is ffmpeg playing the same clips in real time (-re)
through lut3d tetrahedral into its null muxer: the CPU a plain graded playout costs, with
no switching, no crossfades and no sound.

The 1080p clips are rendered once and cached (like the sample media), so a rerun measures
playback only. Run it at normal priority: a real-time player under `nice` on a busy machine
measures the scheduler, not the player. The machine's load average is reported alongside.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from empathy.host.player import audio, framelog
from empathy.host.player.cube import write_cube
from empathy.host.player.decode import Decoder
from empathy.host.player.outputs import VideoWriter
from empathy.host.player.player import Clip, Player
from empathy.host.sample import luts
from empathy.host.sample import render
from empathy.host.sample.render import _Scene, soundtrack

SIZES = [(1920, 1080), (1280, 720), (640, 360)]
FPS = 30
CLIP_S = 4.0
LEAD_S = 0.1  # decisions arrive this long (plus one frame) before the segment ends
STORY = [("arrival", "orange_haze"), ("chase", "neon_magenta"), ("hideout", "teal_night"),
         ("rooftop", "bleach_bypass")]
FADES = [(1, "teal_night", 1.0), (2, "dawn_warm", 1.5)]  # (segment index, LUT, seconds)


def _render(name: str, path: Path, size: tuple[int, int]) -> None:
    scene, n = _Scene(name, *size, FPS), int(CLIP_S * FPS)
    sound = soundtrack(name, CLIP_S + 0.05, FPS)
    w = VideoWriter(f"file:{path}", *size, FPS, audio=True)
    for i in range(n):
        w.push(scene.frame(i), i / FPS, 1 / FPS)
        a, b = audio.chunk_bounds(i, FPS)
        w.push_audio(sound[a:b], a / audio.RATE)
    end = audio.chunk_bounds(n - 1, FPS)[1]
    w.push_audio(sound[end:], end / audio.RATE)
    if not w.close():
        raise RuntimeError(f"rendering {name} failed")


def clips_dir(size: tuple[int, int]) -> Path:
    """The story's clips, rendered on first use and cached under a hash of the code."""
    h = hashlib.sha256(repr((size, FPS, CLIP_S, STORY)).encode())
    h.update(Path(render.__file__).read_bytes())
    out = Path.home() / ".cache/empathy/bench_playback" / h.hexdigest()[:16]
    if not (out / "done").exists():
        out.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: _render(s[0], out / f"{s[0]}.mp4", size), STORY))
        (out / "done").write_text("ok")
    return out


def _control(p: Player, clips: list[Clip], luts_dir: Path, done: threading.Event) -> None:
    """As the show does: prepare both candidates early in each segment, decide each branch
    LEAD_S before the segment ends; start the crossfades mid-segment."""
    decided, faded, prepared = 0, 0, 0
    while not done.wait(0.005):
        seg, t = p.position()
        i = next((k for k, c in enumerate(clips) if c.id == seg), -1)
        if i == prepared and i + 1 < len(clips) and t >= 0.5:
            p.prepare([clips[i + 1], clips[(i + 2) % len(clips)]])  # chosen one + the other
            prepared += 1
        if i == decided and i + 1 < len(clips) and t >= CLIP_S - 1 / FPS - LEAD_S:
            p.set_next(clips[i + 1])
            decided += 1
        if faded < len(FADES) and i == FADES[faded][0] and t >= CLIP_S / 3:
            _, lut, secs = FADES[faded]
            p.set_grade(luts_dir / f"{lut}.cube", 1.0, fade_s=secs)
            faded += 1


def _ours(clips: list[Clip], luts_dir: Path, tmp: Path, size: tuple[int, int]) -> dict:
    log = tmp / f"frames_{size[1]}.csv"
    p = Player("null", *size, FPS, log, realtime=True)
    proc = psutil.Process()
    done = threading.Event()
    ctl = threading.Thread(target=_control, args=(p, clips, luts_dir, done), daemon=True)
    c0, t0 = proc.cpu_times(), time.monotonic()
    p.start(clips[0])
    ctl.start()
    p.wait(CLIP_S * len(clips) + 60)
    wall = time.monotonic() - t0
    c1 = proc.cpu_times()
    cpu_s = c1.user - c0.user + c1.system - c0.system
    done.set()
    ctl.join()
    s = framelog.summarise(log, FPS)
    return {"summary": s, "switches": p.switches, "dropped": p.frames_dropped + s["dropped"],
            "late": p.frames_late, "frames": p.frames_rendered,
            "cpu": 100 * cpu_s / wall, "cpu_ms": 1000 * cpu_s / max(1, p.frames_rendered),
            "wall": wall,
            "fades": _fades(framelog.read(log))}


def _fades(rows: list[dict]) -> int:
    """Runs of frames shown at a strength strictly between 0 and 1: live crossfades."""
    mixing = [0.0 < float(r["strength"]) < 1.0 for r in rows]
    return sum(1 for a, b in zip([False] + mixing, mixing) if b and not a)


def _cold_open_ms(clip: Clip, size: tuple[int, int]) -> float:
    """Decision -> first decoded frame when the clip was NOT prepared: a new decoder."""
    t0 = time.monotonic()
    dec = Decoder(clip.media, *size, FPS)
    try:
        while dec.first_frame_at is None and time.monotonic() - t0 < 30:
            time.sleep(0.002)
        return (dec.first_frame_at - t0) * 1000
    finally:
        dec.stop()


def _ffmpeg(clips: list[Clip], tmp: Path) -> tuple[float, float]:
    """CPU % (of one core) and wall seconds of ffmpeg playing the same clips in real time
    through lut3d."""
    listing = tmp / "list.txt"
    listing.write_text("".join(f"file '{c.media}'\n" for c in clips))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(["ffmpeg", "-v", "error", "-re", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-vf", f"lut3d=file={clips[0].lut}:interp=tetrahedral",
                    "-f", "null", "-"], check=True, timeout=CLIP_S * len(clips) + 60)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 100 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall, wall


def _row(name, value, unit, peer=None, peer_value=None, ratio=None) -> dict:
    return {"name": name, "value": float(value), "unit": unit, "peer": peer,
            "peer_value": peer_value, "ratio": ratio}


def _story(size: tuple[int, int], luts_dir: Path, tmp: Path) -> tuple[list[Clip], dict]:
    media = clips_dir(size)
    clips = [Clip(seg, media / f"{seg}.mp4", luts_dir / f"{lut}.cube") for seg, lut in STORY]
    load = os.getloadavg()[0]
    ours = _ours(clips, luts_dir, tmp, size)
    sw = ours["switches"]
    if len(sw) != len(STORY) - 1:
        raise RuntimeError(f"expected {len(STORY) - 1} switches, saw {len(sw)}")
    tag = f"playback_{size[1]}p30"
    rows = [
        _row(f"{tag}_frames", ours["frames"], "frames"),
        _row(f"{tag}_dropped", ours["dropped"], "frames"),
        _row(f"{tag}_late", ours["late"], "frames"),
        _row(f"{tag}_p99_lateness", ours["summary"]["p99_lateness_ms"], "ms"),
        _row(f"{tag}_switches_on_time", sum(s["on_time"] for s in sw), "of 3"),
        _row(f"{tag}_switches_prepared", sum(s["prepared"] for s in sw), "of 3"),
        _row(f"{tag}_crossfades_seen", ours["fades"], "of 2"),
        _row(f"{tag}_decision_to_first_frame_max",
             max(s["decision_to_frame_ms"] for s in sw), "ms"),
        _row(f"{tag}_decision_to_frame_ready_max", max(s["ready_ms"] for s in sw), "ms"),
        _row(f"{tag}_unprepared_open_to_first_frame_max",
             max(_cold_open_ms(c, size) for c in clips), "ms"),
        _row(f"{tag}_cpu_per_frame", ours["cpu_ms"], "ms CPU"),
        _row(f"{tag}_machine_load_1min_at_start", load, "runnable tasks (2 cores)"),
    ]
    return clips, {"rows": rows, "cpu": ours["cpu"], "wall": ours["wall"]}


def run() -> list[dict]:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg not installed: no peer to compare with")
    results = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        luts_dir = tmp / "luts"
        luts_dir.mkdir()
        for name in luts.LOOKS:
            write_cube(luts_dir / f"{name}.cube", luts.make(name, 33))
        for size in SIZES:
            clips, got = _story(size, luts_dir, tmp)
            peer_cpu, peer_wall = _ffmpeg(clips, tmp)
            peer = "ffmpeg -re lut3d to null (no switches, fades or sound)"
            content_s = CLIP_S * len(clips)
            ours_x, peer_x = content_s / got["wall"], content_s / peer_wall
            results += got["rows"] + [
                _row(f"playback_{size[1]}p30_speed", ours_x, "x real time", peer, peer_x,
                     ours_x / peer_x),
                _row(f"playback_{size[1]}p30_cpu", got["cpu"], "% of a core", peer, peer_cpu,
                     got["cpu"] / max(peer_cpu, 1e-9))]
    return results


if __name__ == "__main__":
    for e in run():
        print(e)
