"""Per-frame CSV log of what the audience saw, and its summary.

The log appends (a host restarted by systemd carries on where it was) and rolls over by size
and age (`empathy.rotate`): `frames.csv` is being written, `frames.csv.1` is the one before.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from empathy.rotate import RotatingFile, Rotation, end_cut_line, set_aside

log = logging.getLogger("empathy.host.player")
COLUMNS = ["index", "clip_id", "clip_t_s", "pts_s", "wall_s", "lut", "strength", "late"]


class FrameLog:
    """Appending CSV writer; flushed every second's worth of frames so a crash keeps most.
    Every file it starts (at first, after a rollover) begins with the column names.

    A disk that fails (full, gone read-only) never stops the picture: the rows are dropped
    and counted (`lost`), said once, and the file opened again every rotate.RETRY_S until it
    takes them (the player's thread died on the flush's OSError: the screen froze)."""

    def __init__(self, path: Path, flush_every: int = 25, rotation: Optional[Rotation] = None,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self._args = (rotation, clock)
        self._open()
        self._n = 0
        self._every = max(1, flush_every)
        self.lost = 0  # rows dropped while the disk failed
        self._retry_at: Optional[float] = None  # set while failing

    def _open(self) -> None:
        rotation, clock = self._args
        self._f = RotatingFile(self.path, rotation, header=",".join(COLUMNS) + "\n",
                               clock=clock, what="frame_log")
        self._w = csv.writer(self._f, lineterminator="\n")

    def write(self, index: int, clip_id: str, clip_t_s: float, pts_s: float, wall_s: float,
              lut: str, strength: float, late: bool) -> None:
        if self._retry_at is not None and not self._reopened():
            self.lost += 1
            return
        try:
            self._w.writerow([index, clip_id, f"{clip_t_s:.4f}", f"{pts_s:.4f}",
                              f"{wall_s:.6f}", lut, f"{strength:.4f}", int(late)])
            self._n += 1
            if self._n % self._every == 0:
                self._f.flush()
        except OSError as e:
            self._failed(e)

    def _failed(self, e: OSError) -> None:
        self.lost += self._every  # at most what the buffer held since the last flush
        if self._retry_at is None:
            log.error("frame log %s: cannot write (%s): the show goes on; its rows are "
                      "dropped until the disk takes them again", self.path, e.strerror or e)
        self._retry_at = set_aside(self._f)

    def _reopened(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        try:
            self._open()
            end_cut_line(self._f)
            self._f.flush()
        except OSError as e:
            self._failed(e)
            return False
        log.info("frame log %s: writing again (about %d rows lost)", self.path, self.lost)
        self._retry_at = None
        return True

    def close(self) -> None:
        try:
            self._f.close()
        except OSError as e:
            if self._retry_at is None:
                log.error("frame log %s: its last rows were lost: %s", self.path,
                          e.strerror or e)


def read(path: Path) -> list[dict]:
    """The log's whole rows (a row a full disk cut short is left out)."""
    with open(path, newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if all(r.get(c) for c in COLUMNS)]


def summarise(path: Path, fps: float | None = None) -> dict:
    """frames, dropped (index or PTS gaps), late, p99 lateness, and per-clip frame counts.

    Lateness is wall time against the schedule set by the first frame of its run (t0 + pts;
    a log appended by a restarted host holds several runs, each starting at index 0); with a
    non-realtime log it is meaningless and reported as 0.
    """
    rows = read(path)
    if not rows:
        return {"frames": 0, "dropped": 0, "late": 0, "p99_lateness_ms": 0.0, "clips": []}
    idx = np.array([int(r["index"]) for r in rows])
    pts = np.array([float(r["pts_s"]) for r in rows])
    wall = np.array([float(r["wall_s"]) for r in rows])
    if fps is None:
        d = np.diff(pts)
        fps = 1.0 / float(np.median(d)) if len(d) and np.median(d) > 0 else 25.0
    gaps = int(np.sum(np.maximum(np.diff(idx) - 1, 0))) if len(idx) > 1 else 0
    run = np.r_[0, np.cumsum(np.diff(idx) < 0)]  # which run each frame belongs to
    first = np.r_[0, np.flatnonzero(np.diff(run)) + 1][run]
    lateness = np.maximum((wall - wall[first]) - (pts - pts[first]), 0.0) * 1000.0
    clips: list[dict] = []
    for r in rows:
        if not clips or clips[-1]["id"] != r["clip_id"]:
            clips.append({"id": r["clip_id"], "frames": 0, "lut": r["lut"],
                          "first_index": int(r["index"])})
        clips[-1]["frames"] += 1
    return {
        "frames": len(rows),
        "dropped": gaps,
        "late": int(sum(int(r["late"]) for r in rows)),
        "p99_lateness_ms": round(float(np.percentile(lateness, 99)), 3),
        "fps": round(fps, 3),
        "clips": clips,
    }
