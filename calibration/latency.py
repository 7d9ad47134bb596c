"""Latency and clock check per seat: flashes on the screen, seen by the seat's camera.

The show player puts short white flashes on a dark screen at irregular moments (so a
camera's frame rate cannot alias with them) and notes on the host's clock when each went
out. The seat's camera readings carry timestamps on the host clock too (the edge maps its
own clock by clock sync); the moment the picture brightens in them is the flash as the seat
saw it. Per flash:

* stamp delay = seen (camera timestamp) - shown: display + exposure latency plus whatever
  error the unit's clock mapping has. The same on every flash for a good unit; it is what
  the unit should subtract. Its spread is timestamp jitter, its slope over the run is drift.
* delivery latency = arrived at the host - shown: how late the host can know.
"""

from __future__ import annotations

import numpy as np

from empathy.sensors.base import Frame, Reading

from .report import Check, Result
from .screen import FPS, render_clip

DARK, BRIGHT = 0.05, 0.95
FLASH_FRAMES = 3  # 120 ms at 25 fps: long enough for any camera to catch


def flash_times(count: int, seed: int = 0) -> np.ndarray:
    """Seconds into the clip: one flash every 0.8-1.4 s after a 1 s dark lead-in."""
    gaps = np.random.default_rng(seed).uniform(0.8, 1.4, count)
    return 1.0 + np.concatenate(([0.0], np.cumsum(gaps[:-1])))


def flash_clip(folder, count: int, seed: int = 0):
    from empathy.host.player.player import Clip

    starts = np.round(flash_times(count, seed) * FPS).astype(int)
    lit = set((starts[:, None] + np.arange(FLASH_FRAMES)).ravel().tolist())
    total = int(starts[-1]) + int(FPS)  # a second of dark after the last flash
    path = render_clip(folder / f"flashes_{count}_{seed}.mp4", total,
                       lambda n: BRIGHT if n in lit else DARK)
    return Clip("flashes", path, None)


def onsets(t_s: np.ndarray, level: np.ndarray, between: bool = True) -> np.ndarray:
    """Rising crossings of the midway level: interpolated between the samples either side
    (a camera's samples), or at the first bright sample (the player's own frames)."""
    if len(level) < 3:
        return np.zeros(0)
    lo, hi = np.percentile(level, [10, 99])
    mid = (lo + hi) / 2
    if hi - lo < 0.1 * max(hi, 1e-9):
        return np.zeros(0)  # no flash made it into the picture
    up = np.flatnonzero((level[:-1] < mid) & (level[1:] >= mid))
    if not between:
        return t_s[up + 1]
    frac = (mid - level[up]) / (level[up + 1] - level[up])
    return t_s[up] + frac * (t_s[up + 1] - t_s[up])


def match(shown_s: np.ndarray, seen_s: np.ndarray, max_offset_s: float = 2.0,
          tol_s: float = 0.1) -> np.ndarray:
    """For each flash, the index of the onset that is it (-1: missed). The common delay is
    found first, as the one most flash-onset pairs agree on (irregular gaps make it unique
    even when it exceeds a gap), then each flash takes the onset nearest that delay."""
    idx = np.full(len(shown_s), -1)
    d = (seen_s[None, :] - shown_s[:, None]).ravel()
    d = d[np.abs(d) <= max_offset_s]
    if not len(d):
        return idx
    ordered = np.sort(d)
    votes = (np.searchsorted(ordered, d + tol_s / 2, "right")
             - np.searchsorted(ordered, d - tol_s / 2))
    delay = float(np.median(d[votes == votes.max()]))
    for k, t in enumerate(shown_s):
        err = np.abs(seen_s - (t + delay))
        j = int(np.argmin(err))
        if err[j] <= tol_s:
            idx[k] = j
    return idx


def latency_check(frames: np.ndarray, got: list[tuple[int, Reading]], seat_id: int,
                  expected: int, max_stamp_ms: float = 80.0, max_jitter_ms: float = 15.0,
                  max_delivery_ms: float = 250.0) -> Result:
    """frames: (wall_s, pts_s, luminance) as shown; got: (arrival_us, reading) from the seat."""
    res = Result("latency", f"Latency and clock of seat {seat_id}")
    cams = [(a, r) for a, r in got if isinstance(r, Frame)]
    res.figures.update({"seat": seat_id, "flashes_planned": expected, "camera_frames": len(cams)})
    if len(frames) < 2 or len(cams) < 10:
        res.errors.append(f"too little recorded: {len(frames)} frames shown, {len(cams)} camera "
                          "frames (is the camera running and facing the screen?)")
        return res
    shown = onsets(frames[:, 0], frames[:, 2], between=False)
    cam_t = np.array([r.ts_us for _, r in cams]) / 1e6
    arrive = np.array([a for a, _ in cams]) / 1e6
    bright = np.array([float(np.mean(r.image)) for _, r in cams])
    seen = onsets(cam_t, bright)
    k = match(shown, seen)
    hit = k >= 0
    res.figures.update({"flashes_shown": len(shown), "flashes_seen": int(hit.sum())})
    res.checks.append(Check("flashes seen", 100.0 * hit.sum() / max(expected, 1), 90.0, "%",
                            kind="min", hint="camera misses the screen: aim it, or raise exposure"))
    if hit.sum() < 3:
        res.errors.append("fewer than 3 flashes seen: nothing to measure")
        return res
    stamp = (seen[k[hit]] - shown[hit]) * 1000
    # Delivery: when the first camera frame past the onset reached the host.
    first = np.searchsorted(cam_t, seen[k[hit]])
    delivery = (arrive[np.minimum(first, len(arrive) - 1)] - shown[hit]) * 1000
    drift_ppm = drift_se = float("nan")  # a clock running off rate: the delay's slope
    if hit.sum() >= 4:
        coef, cov = np.polyfit(shown[hit], stamp / 1000, 1, cov=True)
        drift_ppm, drift_se = float(coef[0] * 1e6), float(np.sqrt(cov[0, 0]) * 1e6)
    res.figures.update({
        "stamp_delay_ms": round(float(np.median(stamp)), 2),
        "stamp_jitter_ms": round(float(np.std(stamp, ddof=1)), 2),
        "drift_ppm": round(drift_ppm, 1),
        "drift_se_ppm": round(drift_se, 1),  # short runs cannot tell small drifts apart
        "delivery_median_ms": round(float(np.median(delivery)), 2),
        "delivery_p95_ms": round(float(np.percentile(delivery, 95)), 2),
        "camera_fps": round((len(cam_t) - 1) / (cam_t[-1] - cam_t[0]), 1),
    })
    res.checks += [
        Check("|stamp delay|", abs(float(np.median(stamp))), max_stamp_ms, "ms",
              hint="camera timestamps far from the host clock: check clock sync"),
        Check("stamp jitter", float(np.std(stamp, ddof=1)), max_jitter_ms, "ms",
              hint="timestamps wander: unsteady camera rate or clock"),
        Check("delivery p95", float(np.percentile(delivery, 95)), max_delivery_ms, "ms",
              hint="readings reach the host late: busy unit or link"),
    ]
    res.plot = lambda: _plots(frames, cam_t, bright, shown, hit, stamp, delivery)
    return res


def _plots(frames, cam_t, bright, shown, hit, stamp, delivery) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    t0 = frames[0, 0]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 6))
    a1.step(frames[:, 0] - t0, frames[:, 2], where="post", color="#888", label="screen (host)")
    a1.plot(cam_t - t0, bright / max(bright.max(), 1e-9), ".", ms=3, color="#4e79a7",
            label="camera brightness (scaled)")
    a1.set(xlabel="seconds", ylabel="level")
    a1.legend(fontsize=8)
    a2.plot(shown[hit] - t0, stamp, "o-", color="#e15759", label="stamp delay")
    a2.plot(shown[hit] - t0, delivery, "s-", color="#59a14f", label="delivery latency")
    a2.set(xlabel="flash at (s)", ylabel="ms after the flash went out")
    a2.legend(fontsize=8)
    return {"Flashes shown and seen, and the delay of each": fig}
