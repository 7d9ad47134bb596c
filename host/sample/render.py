"""Render the sample story's media: five 10 s cyberpunk segments plus the show's LUTs.

Each segment has its own synthesized soundtrack (a chord pad in the segment's mood plus rain,
pulse or thunder), running TAIL_S past the picture so the player has real sound to crossfade
from at a switch.

Everything is drawn with OpenCV and encoded through our own GStreamer writer, so the repo
ships no third-party media. Results are cached under a hash of the renderer's source and
parameters; a file lock makes concurrent callers wait for one render instead of racing.

    python -m empathy.host.sample.render [DIR]
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from empathy.host.player import audio
from empathy.host.player.outputs import VideoWriter
from empathy.host.sample import luts

VERSION = 4  # 4: MP4s are 4:2:0 (outputs.py)
SEGMENTS = ("arrival", "chase", "hideout", "rooftop", "dawn")
SEGMENT_S = 10.0
TAIL_S = 0.05
# Mood per segment: chord (Hz), what rides on top, loudness.
SOUND = {"arrival": ((110.0, 164.8, 220.0), "rain", 0.20),
         "chase": ((98.0, 146.8, 196.0), "pulse", 0.25),
         "hideout": ((73.4, 87.3, 110.0), "hum", 0.12),
         "rooftop": ((82.4, 123.5, 164.8), "thunder", 0.22),
         "dawn": ((130.8, 164.8, 196.0, 261.6), "pad", 0.18)}


def _grad(h: int, w: int, top, bottom) -> np.ndarray:
    """Vertical BGR gradient."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    g = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return np.repeat(g, w, axis=1).astype(np.uint8)


def _skyline(img: np.ndarray, rng, base: int, hmin: int, hmax: int, color, windows=0.0,
             wcolor=(80, 200, 255)) -> None:
    """Building silhouettes standing on row `base`, optionally with lit windows."""
    h, w = img.shape[:2]
    x = 0
    while x < w:
        bw = int(rng.integers(max(8, w // 40), max(12, w // 12)))
        bh = int(rng.integers(hmin, hmax))
        cv2.rectangle(img, (x, base - bh), (x + bw, base), color, -1)
        if windows > 0:
            step = max(4, h // 60)
            for wy in range(base - bh + step, base - step, step * 2):
                for wx in range(x + 2, x + bw - 3, step):
                    if rng.random() < windows:
                        c = tuple(int(v * rng.uniform(0.4, 1.0)) for v in wcolor)
                        cv2.rectangle(img, (wx, wy), (wx + step // 2, wy + step // 2), c, -1)
        x += bw + int(rng.integers(0, max(2, w // 80)))


def _neon(img: np.ndarray, text: str, org, color, scale: float) -> np.ndarray:
    """A neon sign on its own layer: crisp tube plus a wide blurred glow."""
    layer = np.zeros_like(img)
    th = max(1, int(scale * 2))
    cv2.putText(layer, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, th, cv2.LINE_AA)
    k = max(3, int(scale * 14) | 1)
    glow = cv2.GaussianBlur(layer, (k, k), 0)
    return cv2.add(cv2.addWeighted(glow, 1.6, layer, 1.0, 0), layer)


def _rain(frame: np.ndarray, rng, n: int, length: int, slant: int, color) -> None:
    h, w = frame.shape[:2]
    xs = rng.integers(0, w, n)
    ys = rng.integers(-length, h, n)
    for x, y in zip(xs.tolist(), ys.tolist()):
        cv2.line(frame, (x, y), (x + slant, y + length), color, 1, cv2.LINE_AA)


def _figure(img: np.ndarray, x: int, base: int, s: float, color=(8, 8, 10)) -> None:
    """A standing silhouette (head, coat) s pixels tall."""
    s = max(6, int(s))
    cv2.circle(img, (x, base - s + s // 10), max(2, s // 10), color, -1)
    pts = np.array([[x - s // 7, base - s + s // 5], [x + s // 7, base - s + s // 5],
                    [x + s // 5, base], [x - s // 5, base]], np.int32)
    cv2.fillPoly(img, [pts], color)


class _Scene:
    """Pre-drawn wide layers; frame(i) pans across them and adds the moving parts."""

    def __init__(self, name: str, w: int, h: int, fps: float):
        self.name, self.w, self.h, self.fps = name, w, h, fps
        self.rng = np.random.default_rng(SEGMENTS.index(name) + 7)
        self.W = int(w * 1.6)
        getattr(self, f"_setup_{name}")()

    def _pan(self, layer: np.ndarray, x: float) -> np.ndarray:
        x = int(x) % layer.shape[1]  # wraps around: pans never jump
        part = layer[:, x:x + self.w]
        if part.shape[1] == self.w:
            return part.copy()
        return np.concatenate([part, layer[:, : self.w - part.shape[1]]], axis=1)

    def _setup_arrival(self) -> None:
        h, W = self.h, self.W
        bg = _grad(h, W, (60, 20, 40), (120, 60, 90))
        _skyline(bg, self.rng, int(h * 0.75), h // 4, int(h * 0.7), (35, 18, 28), 0.25,
                 (90, 160, 240))
        base = int(h * 0.75)
        street = bg[2 * base - h:base][::-1]  # wet street mirrors the buildings above it
        bg[base:] = cv2.GaussianBlur((street * 0.45).astype(np.uint8), (9, 9), 0)
        for text, x, y, c in (("HOTEL", 0.1, 0.3, (255, 80, 255)), ("RAMEN", 0.55, 0.42,
                              (255, 230, 40)), ("NO EXIT", 1.05, 0.35, (80, 80, 255))):
            bg = cv2.add(bg, _neon(bg, text, (int(W * x), int(h * y)), c, h / 360 * 1.2))
        self.bg = bg

    def frame_arrival(self, i: int) -> np.ndarray:
        f = self._pan(self.bg, i * 0.6)
        _figure(f, int(self.w * 0.45 + i * 0.15), int(self.h * 0.82), self.h * 0.32)
        _rain(f, self.rng, 160, self.h // 12, 3, (200, 180, 170))
        return f

    def _setup_chase(self) -> None:
        h, W = self.h, self.W
        bg = _grad(h, W, (90, 30, 120), (40, 40, 200))
        _skyline(bg, self.rng, h, h // 3, h, (50, 25, 60), 0.45, (120, 220, 255))
        self.bg = bg
        self.signs = [_neon(bg, t, (int(W * x), int(h * y)), c, h / 360 * 1.6) for t, x, y, c in
                      (("RUN", 0.05, 0.3, (60, 255, 255)), ("24H", 0.45, 0.55, (255, 60, 200)),
                       ("CHASE", 0.9, 0.4, (60, 60, 255)))]

    def frame_chase(self, i: int) -> np.ndarray:
        layer = self.bg
        for k, s in enumerate(self.signs):  # strobing: each sign on a different beat
            if (i // (2 + k)) % 2 == 0:
                layer = cv2.add(layer, s)
        f = self._pan(layer, i * 9)
        f = cv2.blur(f, (21, 1))  # motion blur along the pan
        x = int((i * 7) % (self.w + 60)) - 30
        _figure(f, x, self.h - 4, self.h * 0.45, (5, 5, 5))
        if i % 12 < 2:  # police light sweep
            f = cv2.add(f, np.full_like(f, (60, 0, 0) if i % 24 < 12 else (0, 0, 60)))
        _rain(f, self.rng, 120, self.h // 6, 12, (230, 210, 200))
        return f

    def _setup_hideout(self) -> None:
        h, w = self.h, self.w
        bg = _grad(h, w, (18, 14, 14), (8, 8, 10))
        cv2.rectangle(bg, (int(w * 0.62), int(h * 0.18)), (int(w * 0.84), int(h * 0.5)),
                      (40, 28, 20), -1)  # window with city glow behind blinds
        for y in range(int(h * 0.18), int(h * 0.5), max(3, h // 60)):
            cv2.line(bg, (int(w * 0.62), y), (int(w * 0.84), y), (10, 8, 8), 1)
        cv2.rectangle(bg, (int(w * 0.1), int(h * 0.7)), (int(w * 0.5), int(h * 0.76)),
                      (20, 16, 14), -1)  # table
        _figure(bg, int(w * 0.35), int(h * 0.95), h * 0.5, (4, 4, 5))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cone = np.exp(-(((xx - w * 0.3) / (w * 0.18)) ** 2 + ((yy - h * 0.65) / (h * 0.35)) ** 2))
        self.lamp = (cone[..., None] * np.array([40, 90, 140], np.float32)).astype(np.uint8)
        self.bg = bg

    def frame_hideout(self, i: int) -> np.ndarray:
        flick = 0.75 + 0.25 * math.sin(i * 0.21) * math.sin(i * 0.057)
        f = cv2.addWeighted(self.bg, 1.0, self.lamp, flick, 0)
        for k in range(12):  # slow dust in the lamp light
            drift = self.w * 0.2 + k * 17 + i * 0.3 * (1 + k % 3)
            x = int(drift % (self.w * 0.25) + self.w * 0.18)
            y = int((self.h * 0.4 + k * 23 + i * 0.2) % (self.h * 0.5) + self.h * 0.3)
            cv2.circle(f, (x, y), 1, (90, 120, 140), -1, cv2.LINE_AA)
        return f

    def _setup_rooftop(self) -> None:
        h, W = self.h, self.W
        bg = _grad(h, W, (70, 50, 45), (110, 90, 100))
        _skyline(bg, self.rng, int(h * 0.85), h // 10, int(h * 0.45), (45, 35, 35), 0.35,
                 (120, 200, 255))
        cv2.rectangle(bg, (0, int(h * 0.85)), (W, h), (20, 18, 18), -1)  # our roof
        self.bg = bg

    def frame_rooftop(self, i: int) -> np.ndarray:
        f = self._pan(self.bg, i * 0.25)
        _figure(f, int(self.w * 0.7), int(self.h * 0.86), self.h * 0.3)
        phase = i % int(self.fps * 3.2)
        if phase < 4:  # lightning: flash plus a jagged bolt
            rng = np.random.default_rng(i // int(self.fps * 3.2))
            x, y = int(rng.integers(self.w // 5, self.w * 4 // 5)), 0
            pts = [(x, y)]
            while y < self.h * 0.6:
                x += int(rng.integers(-25, 26)); y += int(rng.integers(10, 30))
                pts.append((x, y))
            cv2.polylines(f, [np.array(pts, np.int32)], False, (255, 240, 230), 2, cv2.LINE_AA)
            f = cv2.add(f, np.full_like(f, 90 // (phase + 1)))
        _rain(f, self.rng, 60, self.h // 10, 5, (160, 150, 150))
        return f

    def _setup_dawn(self) -> None:
        h, W = self.h, self.W
        self.sky = _grad(h, W, (200, 140, 90), (120, 190, 255))
        self.city = np.zeros((h, W, 3), np.uint8)
        _skyline(self.city, self.rng, h, h // 6, int(h * 0.55), (255, 255, 255))
        self.mask = self.city[..., :1] > 0

    def frame_dawn(self, i: int) -> np.ndarray:
        f = self._pan(self.sky, i * 0.2)
        t = i / (self.fps * SEGMENT_S)
        sun = np.zeros_like(f)
        cy = int(self.h * (0.75 - 0.3 * t))
        cv2.circle(sun, (int(self.w * 0.4), cy), self.h // 10, (170, 230, 255), -1, cv2.LINE_AA)
        k = (self.h // 3) | 1
        f = cv2.add(f, cv2.add(sun, cv2.GaussianBlur(sun, (k, k), 0)))
        m = self._pan(self.mask.astype(np.uint8), i * 0.2)[..., :1] > 0
        return np.where(m, np.array([60, 40, 45], np.uint8), f)

    def frame(self, i: int) -> np.ndarray:
        bgr = getattr(self, f"frame_{self.name}")(i)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def soundtrack(name: str, seconds: float, fps: float) -> np.ndarray:
    """The segment's sound, (n, CHANNELS) float32 within -1..1, starting and ending softly."""
    chord, extra, level = SOUND[name]
    rng = np.random.default_rng(SEGMENTS.index(name) + 101)
    t = np.arange(int(round(seconds * audio.RATE))) / audio.RATE
    wave = sum(np.sin(2 * np.pi * f * t + k) * (1.0 / (k + 1)) for k, f in enumerate(chord))
    wave = wave * (0.8 + 0.2 * np.sin(2 * np.pi * 0.25 * t))  # slow swell
    if extra == "rain":
        wave += 0.6 * np.convolve(rng.standard_normal(len(t)), np.ones(8) / 8, "same")
    elif extra == "pulse":  # 140 bpm kick: decaying low thump on each beat
        beat = (t * 140 / 60) % 1.0
        wave += 2.0 * np.exp(-beat * 12) * np.sin(2 * np.pi * 55 * beat / (140 / 60))
    elif extra == "hum":
        wave += 0.5 * np.sin(2 * np.pi * 50 * t)
    elif extra == "thunder":  # a rumble after each lightning flash (see frame_rooftop)
        since = t % 3.2
        rumble = np.convolve(rng.standard_normal(len(t)), np.ones(64) / 8, "same")
        wave += 3.0 * rumble * np.exp(-since * 1.5) * (since > 0.3)
    wave = level * wave / max(1e-9, float(np.abs(wave).max()))
    edge = min(len(t) // 2, int(0.02 * audio.RATE))  # 20 ms fade in/out: no click at the ends
    ramp = np.linspace(0.0, 1.0, edge)
    wave[:edge] *= ramp
    wave[len(t) - edge:] *= ramp[::-1]
    pan = 0.15 * np.sin(2 * np.pi * 0.1 * t)
    return np.stack([wave * (1 - pan), wave * (1 + pan)], -1).astype(np.float32)


def render_segment(name: str, path: Path, width: int, height: int, fps: float) -> None:
    scene = _Scene(name, width, height, fps)
    frames = int(round(SEGMENT_S * fps))
    sound = soundtrack(name, frames / fps + TAIL_S, fps)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.mp4")
    w = VideoWriter(f"file:{tmp}", width, height, fps, audio=True)
    try:
        for i in range(frames):
            w.push(scene.frame(i), i / fps, 1 / fps)
            a, b = audio.chunk_bounds(i, fps)
            w.push_audio(sound[a:b], a / audio.RATE)
        end = audio.chunk_bounds(frames - 1, fps)[1]
        w.push_audio(sound[end:], end / audio.RATE)  # the tail past the last frame
    finally:
        ok = w.close()
    if not ok:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"encoding {name} failed")
    os.replace(tmp, path)


def params_hash(width: int, height: int, fps: float) -> str:
    h = hashlib.sha256(repr((VERSION, width, height, fps, SEGMENTS, SEGMENT_S, TAIL_S)).encode())
    for mod in (Path(__file__), Path(luts.__file__)):
        h.update(mod.read_bytes())  # any change to the drawing code re-renders
    return h.hexdigest()[:16]


def default_dir(width: int = 640, height: int = 360, fps: float = 25) -> Path:
    """The default render folder: ~/.cache/empathy/sample/HASH (HASH of the parameters and
    the drawing code, so a change re-renders)."""
    return Path.home() / ".cache/empathy/sample" / params_hash(width, height, fps)


def _captions(out: Path) -> None:
    """The sample's captions (its screenplay's dialogue, shipped as .srt beside this module)
    beside its media: the story names them from its media root, as an artist's would."""
    (out / "captions").mkdir(exist_ok=True)
    for src in sorted((Path(__file__).parent / "captions").glob("*.srt")):
        dst = out / "captions" / src.name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.write_bytes(src.read_bytes())


def ensure(cache_dir: Path | None = None, width: int = 640, height: int = 360,
           fps: float = 25) -> Path:
    """Render the sample media once; returns the dir with media/ and luts/."""
    key = params_hash(width, height, fps)
    out = Path(cache_dir) if cache_dir else default_dir(width, height, fps)
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "sample.json"
    with open(out / ".render.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits, then finds it done
        _captions(out)
        try:
            if stamp.exists() and json.loads(stamp.read_text()).get("hash") == key:
                return out
        except (OSError, ValueError):
            pass
        t0 = time.perf_counter()
        (out / "media").mkdir(exist_ok=True)
        luts.write_all(out / "luts")
        with ThreadPoolExecutor(2) as pool:
            futs = [pool.submit(render_segment, s, out / "media" / f"{s}.mp4", width, height,
                                fps) for s in SEGMENTS]
            for f in futs:
                f.result()
        stamp.write_text(json.dumps({"hash": key, "width": width, "height": height, "fps": fps,
                                     "segments": list(SEGMENTS), "render_s":
                                     round(time.perf_counter() - t0, 2)}))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    out = ensure(Path(argv[0]) if argv else None)
    print(f"{out} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
