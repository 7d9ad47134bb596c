"""Image sequences as a VFX house or colourist delivers them (shot010/shot010.1001.dpx ...),
made here: numbered frames (tests/numbered.py) written as PNG by OpenCV, the other formats
converted from those by ffmpeg's own DPX/EXR/TIFF encoders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2

from numbered import numbered_frame

FORMATS = ("png", "tif", "dpx", "exr")


def make_sequence(folder: Path, name: str, frames: range, ext: str = "png",
                  start: int = 1001, pix_fmt: str | None = None) -> Path:
    """folder/name/name.NNNN.ext, numbered from `start`, showing frame numbers `frames`."""
    shot = folder / name
    shot.mkdir(parents=True, exist_ok=True)
    png = shot if ext == "png" else folder / f".{name}_png"
    png.mkdir(exist_ok=True)
    for k, i in enumerate(frames):
        cv2.imwrite(str(png / f"{name}.{start + k:04d}.png"), numbered_frame(i)[:, :, ::-1])
    if ext != "png":
        assert shutil.which("ffmpeg"), "ffmpeg makes the DPX/EXR/TIFF test sequences"
        fmt = ["-pix_fmt", pix_fmt] if pix_fmt else (["-pix_fmt", "gbrpf32le"] if ext == "exr"
                                                      else [])
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-start_number", str(start), "-i",
                        str(png / f"{name}.%04d.png"), *fmt, "-start_number", str(start),
                        str(shot / f"{name}.%04d.{ext}")], check=True, timeout=120)
        shutil.rmtree(png)
    return shot
