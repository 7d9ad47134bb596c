"""Test media whose frames say their own number (8 black/white blocks, survives x264), and
whose sound says it too (a level of n/256): what a player shows can be read back exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from empathy.host.player.outputs import VideoWriter

W, H, FPS, BITS = 160, 96, 25, 8


def numbered_frame(i: int) -> np.ndarray:
    f = np.full((H, W, 3), 30, np.uint8)
    for b in range(BITS):
        if i >> b & 1:
            f[24:72, b * 20 + 2: b * 20 + 18] = 230
    return f


def frame_number(rgb: np.ndarray) -> int:
    return sum(1 << b for b in range(BITS) if rgb[30:66, b * 20 + 5: b * 20 + 15].mean() > 128)


def make_numbered(path: Path, frames: range, audio: bool = True) -> Path:
    """A clip of the numbered frames `frames` (at FPS, from t=0)."""
    w = VideoWriter(f"file:{path}", W, H, FPS, audio=audio)
    for k, i in enumerate(frames):
        w.push(numbered_frame(i), k / FPS, 1 / FPS)
        if audio:
            a, b = round(k * 48000 / FPS), round((k + 1) * 48000 / FPS)
            w.push_audio(np.full((b - a, 2), i / 256, np.float32), a / 48000)
    assert w.close()
    return path
