"""A tiny film of an artist's own, made in a test: three clips, two looks, one story.

The clips are encoded through GStreamer like any editor's export (H.264 in MP4, with a
tone for sound); the looks are .cube files written the way a colourist's tool writes them
(a title, LUT_3D_SIZE, red varying fastest). Names are the artist's, not the sample's, so a
test can see them come through every output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

W, H, FPS = 160, 96, 25
CLIPS = {"first_light": (4.0, (40, 90, 200)), "still_water": (3.0, (60, 170, 120)),
         "undertow": (3.0, (200, 50, 60))}

STORY = """\
title = "Tidewater"
start = "first_light"

[segments.first_light]
media = "clips/first_light.mp4"
lut = "luts/amber.cube"
duration_s = 4.0
target = { arousal = 0.1, valence = 0.3 }

[segments.still_water]
media = "clips/still_water.mp4"
lut = "luts/steel.cube"
duration_s = 3.0
target = { arousal = -0.3, valence = 0.4 }

[segments.undertow]
media = "clips/undertow.mp4"
duration_s = 3.0
target = { arousal = 0.7, valence = -0.5 }

[decisions.the_turn]
after = "first_light"
window_s = [1.0, 3.2]
default = "still_water"
options = { still_water = -0.3, undertow = 0.5 }
"""


def make_clip(path: Path, seconds: float, rgb: tuple[int, int, int]) -> Path:
    from empathy.host.player.audio import RATE, CHANNELS, chunk_bounds
    from empathy.host.player.outputs import VideoWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    w = VideoWriter(f"file:{path}", W, H, FPS, audio=True)
    n = int(round(seconds * FPS))
    for i in range(n):
        f = np.empty((H, W, 3), np.uint8)
        f[:] = rgb
        f[H // 3:H // 3 + 8, : (i * 3) % W + 1] = 250  # a moving bar: the frames differ
        w.push(f, i / FPS, 1 / FPS)
        a, b = chunk_bounds(i, FPS)
        t = np.arange(a, b) / RATE
        tone = (0.1 * np.sin(2 * np.pi * (220 + sum(rgb)) * t)).astype(np.float32)
        w.push_audio(np.repeat(tone[:, None], CHANNELS, axis=1), a / RATE)
    assert w.close(), path
    return path


def write_look(path: Path, title: str, gain: tuple[float, float, float], n: int = 9) -> Path:
    """A .cube as a grading tool writes it: each channel scaled and clipped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0.0, 1.0, n)
    lines = [f'TITLE "{title}"', f"LUT_3D_SIZE {n}"]
    for b in ramp:
        for g in ramp:
            for r in ramp:
                lines.append(" ".join(f"{min(1.0, v * k):.6f}" for v, k in zip((r, g, b), gain)))
    path.write_text("\n".join(lines) + "\n")
    return path


def make_film(folder: Path, story: bool = True) -> Path:
    """my-film/ with clips/, luts/ (and story.toml unless story=False); returns the folder."""
    for name, (seconds, rgb) in CLIPS.items():
        make_clip(folder / "clips" / f"{name}.mp4", seconds, rgb)
    write_look(folder / "luts" / "amber.cube", "Amber", (1.0, 0.8, 0.55))
    write_look(folder / "luts" / "steel.cube", "Steel", (0.75, 0.9, 1.0))
    if story:
        (folder / "story.toml").write_text(STORY)
    return folder
