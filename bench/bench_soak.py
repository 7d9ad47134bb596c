"""Soak: a cinema's day of screenings back to back, watching for anything that grows.

One process holds what a host holds all day: an edge unit (simulated seats, real UDP) that
never stops, and a show per screening (receiver, fusion, policy, GStreamer player, session
recorder) opened and closed like `empathy host run` does. The film is played as fast as
the player can (realtime=False) at a low frame rate and size, so an 8-hour day of film
passes in minutes; packets, cues and audience states run at their real wall-clock rates.
After each screening we note the process's RSS (raw, and after glibc's malloc_trim: the
memory still in use), open file handles, threads and CPU time.

EMPATHY_SOAK_HOURS (film hours, default 8) and EMPATHY_SOAK_SCREENINGS (default 16) size it.
"""

from __future__ import annotations

import ctypes
import gc
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

FPS = 1.0  # film frames per film second: few frames, the same show logic per second
SIZE = (160, 96)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _edge_unit(folder: Path, keys, port: int, seats: int):
    from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig

    keys.for_unit(1).save(folder / "unit1.keys.toml")
    cfg = EdgeConfig(unit_id=1, uplink=f"udp://127.0.0.1:{port}", sync_hz=0, faces=False,
                     keystore=str(folder / "unit1.keys.toml"), baseline_s=5.0,
                     seq_file=str(folder / "unit1.seq"),
                     seats=[SeatConfig(100 + i, f"sim://seat?seed={i}") for i in range(seats)])
    return EdgeUnit(cfg)


def soak(film_hours: float = 8.0, screenings: int = 16, seats: int = 4, progress=None,
         folder: Path | None = None) -> list[dict]:
    """Run the day; one row per screening: rss_mb, live_mb, fds, threads, cpu_s, wall_s,
    frames, samples."""
    from empathy.host.cli import HostConfig, SessionConfig, attach
    from empathy.host.sample.render import ensure
    from empathy.host.show import Show, ShowConfig
    from empathy.host.story import load
    from empathy.keys import Keystore

    tmp = tempfile.TemporaryDirectory() if folder is None else None
    folder = Path(tmp.name if tmp else folder)
    media = ensure(folder / "media", SIZE[0], SIZE[1], FPS)
    story = load(Path(__file__).resolve().parents[1] / "host/sample/neon_rain.toml",
                 media_root=media)
    keys = Keystore.new([1])
    port = _free_port()
    unit = _edge_unit(folder, keys, port, seats)
    edge = threading.Thread(target=unit.run, name="edge-unit", daemon=True)
    edge.start()
    me, rows = psutil.Process(), []
    film_s = film_hours * 3600 / screenings
    try:
        for i in range(screenings):
            t0, c0 = time.monotonic(), me.cpu_times()
            cfg = ShowConfig(listen=f"udp://127.0.0.1:{port}",
                             output=f"file:{folder / 'screen.mp4'}", width=SIZE[0],
                             height=SIZE[1], fps=FPS, policy="arc")
            show = Show(story, cfg, keys.units, keys.cue_signing, folder / "frames.csv", realtime=False)
            closers = attach(show, HostConfig(story=str(story.path),
                                              session=SessionConfig(dir=str(folder / "sessions"))))
            try:
                s = show.run(film_s)
            finally:
                for c in closers:
                    c.close()
            gc.collect()
            c1 = me.cpu_times()
            rss = me.memory_info().rss / 2**20
            rows.append({"screening": i + 1, "rss_mb": rss, "live_mb": _live_mb(me),
                         "fds": me.num_fds(), "threads": me.num_threads(),
                         "cpu_s": (c1.user + c1.system) - (c0.user + c0.system),
                         "wall_s": time.monotonic() - t0, "frames": s["frames_rendered"],
                         "samples": s["packets_accepted"]})
            if progress:
                progress(i + 1, rows[-1])
    finally:
        unit.stop()
        edge.join(10)
        if tmp:
            tmp.cleanup()
    return rows


def _live_mb(me: psutil.Process) -> float:
    """RSS after glibc hands its free pages back: what is still in use. Raw RSS also holds
    freed memory kept in per-thread arenas (GStreamer's many threads fragment them), which
    looks like growth for the first hours and then levels off."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: raw RSS is all we have
        pass
    return me.memory_info().rss / 2**20


def growth(rows: list[dict], key: str, warmup: int = 2) -> float:
    """Growth of `key` per screening after the warm-up (least-squares slope)."""
    y = np.array([r[key] for r in rows[warmup:]], float)
    return float(np.polyfit(np.arange(len(y)), y, 1)[0]) if len(y) > 2 else 0.0


def run() -> list[dict]:
    from rich.progress import Progress

    hours = float(os.environ.get("EMPATHY_SOAK_HOURS", 8))
    n = int(os.environ.get("EMPATHY_SOAK_SCREENINGS", 16))
    with Progress(transient=True) as bar:
        task = bar.add_task(f"soak: {hours:g} h of film in {n} screenings", total=n)
        rows = soak(hours, n, progress=lambda k, _r: bar.update(task, completed=k))
    return figures(rows, hours)


def figures(rows: list[dict], hours: float) -> list[dict]:
    n = len(rows)
    wall = sum(r["wall_s"] for r in rows)
    first, last = rows[min(2, len(rows) - 1)], rows[-1]

    def row(name, value, unit):
        return {"name": f"soak {name}", "value": value, "unit": unit, "peer": None,
                "peer_value": None, "ratio": None}

    return [row("film hours", hours, "h"), row("screenings", n, "shows"),
            row("wall time", wall / 60, "min"),
            row("speed-up", hours * 3600 / wall, "x realtime"),
            row("frames shown", sum(r["frames"] for r in rows), "frames"),
            row("samples accepted", sum(r["samples"] for r in rows), "packets"),
            row("RSS after warm-up", first["rss_mb"], "MiB"),
            row("RSS at end", last["rss_mb"], "MiB"),
            row("RSS growth per screening", growth(rows, "rss_mb"), "MiB"),
            row("memory in use after warm-up", first["live_mb"], "MiB"),
            row("memory in use at end", last["live_mb"], "MiB"),
            row("memory in use growth per screening", growth(rows, "live_mb"), "MiB"),
            row("open files growth", last["fds"] - first["fds"], "fds"),
            row("threads growth", last["threads"] - first["threads"], "threads"),
            row("CPU per screening (mean)", float(np.mean([r["cpu_s"] for r in rows])), "s"),
            row("CPU first vs last screening", rows[-1]["cpu_s"] / max(rows[0]["cpu_s"], 1e-9),
                "ratio")]
