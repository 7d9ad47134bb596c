"""Kiosk soak: a week of a kiosk's life in simulated time, watching memory and disk.

One process holds what the kiosk host holds: the kiosk show (receiver, fusion, policy,
GStreamer player with a frame log that rolls over, a session recorder and report per visit,
retention) fed over real UDP by a simulated edge unit: the edge's own `SeatFeatures`
(baseline per visitor, CALIBRATED flag) turning a visitor's heartbeats into wire packets.
Visitors come from 10:00 to 18:00, one at a time, each with a resting heart rate of their
own, staying long enough for the whole film or leaving early; the attract loop plays
through every night.

Time is simulated: the show's clock is its film clock (frames shown / fps) and the player
runs as fast as it can (`realtime=False`, 1 frame a second of film, 160x96, no display), in
lockstep with the visitors' packets, so a week passes in tens of minutes. Every simulated
hour we note RSS (and after malloc_trim: what is in use), open files, threads and the disk
used by sessions, frame logs and logs; the budget is what the config allows them.

EMPATHY_KIOSK_DAYS (default 7) sizes it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

FPS = 1.0
SIZE = (160, 96)
OPEN_H = (10.0, 18.0)
BASELINE_S = 20.0
RATE_HZ = 2.0  # the simulated unit's sample rate: presence and baselines need no more
CLIPS = {"attract": 600, "opening": 90, "calm": 60, "storm": 60}  # seconds at FPS
STORY = """title = "Soak"
start = "opening"
[segments.opening]
media = "opening.mp4"
lut = "warm.cube"
duration_s = 90.0
target = { arousal = 0.2 }
[segments.calm]
media = "calm.mp4"
duration_s = 60.0
target = { arousal = -0.2 }
[segments.storm]
media = "storm.mp4"
duration_s = 60.0
target = { arousal = 0.7 }
[decisions.turn]
after = "opening"
window_s = [20.0, 80.0]
default = "calm"
options = { calm = -0.3, storm = 0.5 }
"""


def film(folder: Path) -> Path:
    """Long clips at 1 fps (a decoder per loop of the attract clip would dominate)."""
    from empathy.host.player.cube import identity_cube, write_cube
    from empathy.host.player.outputs import VideoWriter

    folder.mkdir(parents=True, exist_ok=True)
    for k, (name, seconds) in enumerate(CLIPS.items()):
        w = VideoWriter(f"file:{folder / f'{name}.mp4'}", SIZE[0], SIZE[1], FPS)
        for i in range(int(seconds * FPS)):
            f = np.full((SIZE[1], SIZE[0], 3), (40 + 50 * k, 90, 200 - 40 * k), np.uint8)
            f[40:48, : i % SIZE[0] + 1] = 255
            w.push(f, i / FPS, 1 / FPS)
        assert w.close()
    warm = identity_cube(9, "warm")
    warm.lut3d = np.ascontiguousarray(warm.lut3d * np.array([1.0, 0.85, 0.7], np.float32))
    write_cube(folder / "warm.cube", warm)
    (folder / "story.toml").write_text(STORY)
    return folder / "story.toml"


def visit_plan(days: float, seed: int = 7, start_h: float = 9.0) -> list[tuple]:
    """(arrive_s, leave_s, resting_bpm) for every visitor, opening hours only; time 0 is
    `start_h` o'clock on the first day."""
    rng, out = np.random.default_rng(seed), []
    for day in range(math.ceil(days) + 1):
        t = (day * 24 + OPEN_H[0] - start_h) * 3600
        close = (day * 24 + OPEN_H[1] - start_h) * 3600
        while True:
            t += rng.uniform(60, 900)  # the seat stays empty a while
            stay = rng.choice([rng.uniform(40, 120), rng.uniform(260, 420)])  # leaves early?
            if t + stay > min(close, days * 86400):
                break
            out.append((t, t + stay, float(np.clip(rng.normal(72, 9), 50, 100))))
            t += stay
    return out


class SimClock:
    """The show's clock: film time, advanced by the frames shown. `frame()` (player thread)
    waits until the visitors' packets up to that time are sent and the show loop has taken
    them in, so neither the world nor the host's reading of it falls behind the film."""

    def __init__(self):
        from empathy.clock import now_us

        self.base_us = now_us()
        self.us = self.base_us
        self.fed_us = self.consumed_us = self.base_us
        self.cond = threading.Condition()

    def __call__(self) -> int:
        return self.us

    def frame(self, info) -> None:
        with self.cond:
            self.us = self.base_us + int((info.index + 1) * 1e6 / FPS)
            self.cond.notify_all()
            # Strict: the film never runs ahead of the visitors or of the show loop (either,
            # starved of CPU, would otherwise see an empty seat that is not); the timeout
            # only guards a dead feeder.
            step = int(1e6 / RATE_HZ)
            self.cond.wait_for(lambda: self.fed_us >= self.us
                               and self.consumed_us >= self.us - step, timeout=60.0)

    def taken_in(self, samples) -> None:
        """Show observer: the show loop has these samples."""
        with self.cond:
            self.consumed_us = max([self.consumed_us] + [s.ts_us for s in samples])
            self.cond.notify_all()

    def fed(self, t_us: int) -> None:
        with self.cond:
            self.fed_us = t_us
            self.cond.notify_all()

    def wait_past(self, t_us: int, stop: threading.Event) -> int:
        with self.cond:
            self.cond.wait_for(lambda: self.us > t_us or stop.is_set(), timeout=1.0)
            return self.us


class Visitors(threading.Thread):
    """The simulated edge unit: each visitor's heartbeats through the edge's SeatFeatures,
    a packet every 1/RATE_HZ s of simulated time, over UDP to the kiosk."""

    def __init__(self, clock: SimClock, plan, key: bytes, port: int):
        super().__init__(name="visitors", daemon=True)
        from empathy.edge.features import SeatFeatures

        self.clock, self.plan, self.key = clock, plan, key
        self.features = SeatFeatures(BASELINE_S, rebaseline_after_s=10.0, name="seat 1")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addr = ("127.0.0.1", port)
        self.stop = threading.Event()
        self.rng = np.random.default_rng(3)
        self.sent = 0

    def run(self) -> None:
        from empathy import wire
        from empathy.sensors.base import Beat, Health

        step_us, t = int(1e6 / RATE_HZ), self.clock.base_us
        next_beat, k, seated = t, 0, False
        while not self.stop.is_set():
            now = self.clock.wait_past(t, self.stop)
            while t + step_us <= now:
                t += step_us
                s = (t - self.clock.base_us) / 1e6
                while k < len(self.plan) and s >= self.plan[k][1]:
                    k += 1
                inside = k < len(self.plan) and self.plan[k][0] <= s
                if inside != seated:  # someone sat down, or got up
                    seated = inside
                    self.features.add(Health(t, "strap", contact=inside))
                    next_beat = t
                while inside and next_beat <= t:
                    rr = 60000.0 / self.plan[k][2] + self.rng.normal(0, 25)
                    self.features.add(Beat(next_beat, rr))
                    next_beat += int(rr * 1000)
                sample = wire.SeatSample(1, 1, self.sent, t & wire.TS_MASK,
                                         **self.features.estimate(t))
                self.sock.sendto(wire.encode(sample, self.key), self.addr)
                self.sent += 1
            self.clock.fed(t)
        self.sock.close()


def _live_mb(me: psutil.Process) -> float:
    from empathy.bench.bench_soak import _live_mb as live

    return live(me)


def _disk_mb(folder: Path) -> dict:
    def size(pattern):
        return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file()) / 1e6

    return {"sessions_mb": size("sessions/*"), "frames_mb": size("frames.csv*"),
            "logs_mb": size("kiosk.log*"), "sessions": len(list(folder.glob("sessions/*.db")))}


def soak(days: float = 7.0, folder: Path | None = None, progress=None) -> dict:
    """Run the kiosk for `days` of simulated time; rows every simulated hour + totals."""
    from empathy.host.cli import HostConfig, SessionConfig, make_show
    from empathy.host.kiosk import KioskConfig
    from empathy.host.show import ShowConfig
    from empathy.host.story import load
    from empathy.keys import Keystore
    from empathy.rotate import Rotation, RotatingLogHandler

    tmp = tempfile.TemporaryDirectory() if folder is None else None
    folder = Path(tmp.name if tmp else folder)
    story = load(film(folder / "film"))
    keys = Keystore.new([1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    small = Rotation(max_mb=1.0, max_age_h=24, keep=3)
    cfg = HostConfig(story=str(story.path), mode="kiosk", frame_log=str(folder / "frames.csv"),
                     frame_log_rotate=small,
                     show=ShowConfig(listen=f"udp://127.0.0.1:{port}", output="null",
                                     width=SIZE[0], height=SIZE[1], fps=FPS, policy="bandit"),
                     kiosk=KioskConfig(attract="attract.mp4", settle_s=2.0, leave_s=10.0,
                                       baseline_timeout_s=90.0, idle_timeout_s=30.0),
                     session=SessionConfig(dir=str(folder / "sessions"), retention_days=3.0,
                                           max_mb=20.0))
    cfg.media_root = str(folder / "film")
    clock = SimClock()
    plan = visit_plan(days)
    from empathy.paths import STATE_ENV

    os.environ.setdefault(STATE_ENV, str(folder / "state"))  # the bandit's state
    show = make_show(cfg, story, keys, clock=clock, realtime=False)
    show.subscribe(lambda kind, data: clock.frame(data) if kind == "frame" else
                   clock.taken_in(data) if kind == "samples" else None)
    handler = RotatingLogHandler(folder / "kiosk.log", Rotation(max_mb=1.0, keep=3))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    visitors = Visitors(clock, plan, keys.units[1], port)
    me, rows, t_wall = psutil.Process(), [], time.monotonic()
    hour = [0]

    def every_hour(t_s: float) -> None:
        h = int(t_s // 3600)
        if h <= hour[0]:
            return
        hour[0] = h
        rows.append({"hour": h, "rss_mb": me.memory_info().rss / 2**20,
                     "live_mb": _live_mb(me) if h % 6 == 0 else None, "fds": me.num_fds(),
                     "threads": me.num_threads(), "visits": show.visits_total,
                     "wall_s": time.monotonic() - t_wall, **_disk_mb(folder)})
        if progress:
            progress(h, rows[-1])

    visitors.start()
    try:
        summary = show.run(days * 86400, progress=every_hour)
    finally:
        visitors.stop.set()
        visitors.join(10)
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    budget = {"sessions_mb": cfg.session.max_mb, "frames_mb": small.budget_bytes() / 1e6,
              "logs_mb": small.budget_bytes() / 1e6}
    out = {"rows": rows, "budget": budget, "planned_visits": len(plan),
           "visits": summary["visits_total"], "frames": summary["frames_rendered"],
           "baselines": sum(v["baseline_fallback"] is False for v in summary["visits"]),
           "wall_s": time.monotonic() - t_wall, "packets": visitors.sent,
           "plan": plan, "visit_records": summary["visits"]}
    if tmp:
        tmp.cleanup()
    return out


def growth_per_day(rows: list[dict], key: str, skip_h: int = 24) -> float:
    pts = [(r["hour"], r[key]) for r in rows if r["hour"] > skip_h and r[key] is not None]
    if len(pts) < 3:
        return 0.0
    h, y = np.array(pts, float).T
    return float(np.polyfit(h, y, 1)[0] * 24)


def run() -> list[dict]:
    from rich.progress import Progress

    days = float(os.environ.get("EMPATHY_KIOSK_DAYS", 7))
    with Progress(transient=True) as bar:
        task = bar.add_task(f"kiosk soak: {days:g} simulated days", total=days * 24)
        res = soak(days, progress=lambda h, _r: bar.update(task, completed=h))
    return figures(res, days)


def figures(res: dict, days: float) -> list[dict]:
    rows, budget = res["rows"], res["budget"]

    def row(name, value, unit):
        return {"name": f"kiosk {name}", "value": value, "unit": unit, "peer": None,
                "peer_value": None, "ratio": None}

    peak = {k: max(r[k] for r in rows) for k in budget}
    first = next(r for r in rows if r["hour"] >= min(24, rows[-1]["hour"]))
    live = [r for r in rows if r["live_mb"] is not None]

    def in_use_on(day: float) -> float:  # the sample nearest that day's morning
        return min(live, key=lambda r: abs(r["hour"] - day * 24))["live_mb"]
    return [row("simulated days", days, "days"), row("wall time", res["wall_s"] / 60, "min"),
            row("speed-up", days * 86400 / res["wall_s"], "x realtime"),
            row("visits served / planned", res["visits"], f"of {res['planned_visits']}"),
            row("frames shown", res["frames"], "frames"),
            row("RSS after day 1", first["rss_mb"], "MiB"),
            row("RSS at end", rows[-1]["rss_mb"], "MiB"),
            row("RSS growth per day after day 1", growth_per_day(rows, "rss_mb"), "MiB"),
            row("memory in use growth per day", growth_per_day(rows, "live_mb"), "MiB"),
            *[row(f"memory in use, day {d:g}", in_use_on(d), "MiB")
              for d in sorted({1, days / 2, days})],
            row("open files growth after day 1", rows[-1]["fds"] - first["fds"], "fds"),
            row("threads growth after day 1", rows[-1]["threads"] - first["threads"],
                "threads"),
            *[row(f"disk peak {k}", peak[k], f"MB of {budget[k]:.0f}") for k in budget]]
