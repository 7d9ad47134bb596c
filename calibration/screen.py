"""What a calibration shows on the screen, through the show's own player, and what a seat's
source sees meanwhile.

Clips are rendered once (plain frames from a function) and played back to back by the real
`Player`; every frame's luminance is measured on the graded frame as it goes out, with the
moment it went out. A source read at the same time is told the luminance on screen
(`ScreenTrace`: now, or as of a past moment; simulated viewers react to it, real cameras
simply look), and each reading is kept with the moment it reached us, so both timestamps
and delivery can be judged on one clock.
"""

from __future__ import annotations

import bisect
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from empathy.clock import now_us
from empathy.sensors.base import Reading, Source

SIZE = (320, 180)
FPS = 25.0


class ScreenTrace:
    """What the screen has shown, for a source that watches it. Called, it gives the screen
    now, `(name, 0.0, luminance)` like the edge's screen cues; `at(ts_us)` gives it as of a
    moment already past, so a simulated eye or camera that steps through its own ticks
    after the fact sees each tick with the picture of that tick (as a real camera's
    exposure does), however late its thread got to run."""

    def __init__(self, name: str = "calibration"):
        self.name = name
        self.shown: list[tuple[int, float]] = []  # (went out, host clock µs; luminance)

    def add(self, wall_s: float, luminance: float) -> None:
        self.shown.append((int(wall_s * 1e6), luminance))  # one append: readers see it whole

    def __call__(self) -> tuple[str, float, float]:
        return self.name, 0.0, self.shown[-1][1] if self.shown else 0.0

    def at(self, ts_us: int, before: Optional[float] = 0.0) -> tuple[str, float, Optional[float]]:
        """before: the luminance given for a moment before the first frame, which the trace
        cannot know (None: let the watcher keep its own idea of the screen)."""
        shown = self.shown
        i = bisect.bisect_right(shown, ts_us, hi=len(shown), key=lambda f: f[0]) - 1
        return self.name, 0.0, shown[i][1] if i >= 0 else before


def render_clip(path: Path, frames: int, level_at: Callable[[int], float], size=SIZE,
                fps: float = FPS) -> Path:
    """A clip of plain frames; frame n is grey level_at(n) (0..1). Skipped if it exists."""
    from empathy.host.player.outputs import VideoWriter

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    w = VideoWriter(f"file:{tmp}", *size, fps)
    for n in range(frames):
        w.push(np.full((size[1], size[0], 3), int(round(level_at(n) * 255)), np.uint8),
               n / fps, 1 / fps)
    if not w.close():
        raise RuntimeError(f"could not render {path.name}")
    tmp.replace(path)
    return path


def play_and_record(clips: list, output: str, open_seat: Optional[Callable[..., Source]],
                    workdir: Path, size=SIZE, fps: float = FPS, realtime: bool = True,
                    timeout_s: float = 120.0, convert: Optional[Callable] = None
                    ) -> tuple[np.ndarray, list[tuple[int, Reading]]]:
    """Play the clips back to back. Returns the frames shown, rows of (wall_s, pts_s,
    luminance), and [(arrival_us, reading)] from the source `open_seat(screen=...)` opens,
    each batch passed through `convert` first when given (camera frames -> pupils)."""
    from empathy.host.player.player import Player

    frames: list[tuple[float, float, float]] = []
    screen = ScreenTrace()
    queue = list(clips[1:])
    on_screen = [-1]  # the play (FrameInfo.play) of the last frame shown

    def on_frame(f):
        screen.add(f.wall_s, f.luminance)
        frames.append((f.wall_s, f.pts_s, f.luminance))
        on_screen[0] = f.play

    # Asked only when a clip has ended, the next one's decoder starts then, and the last
    # frame is held meanwhile: 0.1-0.5 s more of a level at each change on a busy machine.
    # So each clip is queued as soon as the one before is on screen (it pre-rolls); this
    # stays the fallback.
    player = Player(output, *size, fps, workdir / f"{clips[0].id}_frames.csv", on_frame=on_frame,
                    on_need_next=lambda _c: queue.pop(0) if queue else None, realtime=realtime)
    src = open_seat(screen=screen) if open_seat else None  # first: cameras take time
    got: list[tuple[int, Reading]] = []
    try:
        player.start(clips[0])
        end = time.monotonic() + timeout_s
        queued_after = -1
        while not player.wait(0 if src else 0.01) and time.monotonic() < end:
            play = on_screen[0]
            if queue and play != queued_after:
                # refused if that play ended meanwhile: then on_need_next took the clip
                if player.set_next(queue[0], after=play):
                    queue.pop(0)
                queued_after = play
            if src:
                batch = src.read(timeout_s=0.01)
                t = now_us()
                batch = convert(batch) if convert else batch
                got += [(t, r) for r in batch]
    finally:
        player.stop()
        player.wait(10)
        if src:
            src.close()
    if player.error:
        raise RuntimeError(f"player failed: {player.error}")
    return np.array(frames, float).reshape(-1, 3), got
