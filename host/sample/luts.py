"""The sample show's looks, computed analytically and written as 33^3 .cube files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from empathy.host.player.cube import Cube, identity_cube, write_cube

_W = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec.709 luma


def _luma(x: np.ndarray) -> np.ndarray:
    return (x @ _W)[..., None]


def _sat(x: np.ndarray, s: float) -> np.ndarray:
    y = _luma(x)
    return y + (x - y) * s


def _scurve(x: np.ndarray, k: float) -> np.ndarray:
    """Contrast around mid-grey: blend toward smoothstep (monotonic for 0<=k<=1)."""
    c = np.clip(x, 0.0, 1.0)
    return (1.0 - k) * x + k * c * c * (3.0 - 2.0 * c)


def orange_haze(x: np.ndarray) -> np.ndarray:
    """Blade Runner 2049 haze: low saturation, lifted blacks, everything pushed orange."""
    y = _sat(x, 0.45)
    y = 0.07 + 0.9 * y                                  # milky, lifted blacks
    y = y * np.array([1.12, 0.92, 0.62], np.float32)    # amber cast
    return y + (1 - _luma(x)) * np.array([0.04, 0.015, -0.02], np.float32)


def teal_night(x: np.ndarray) -> np.ndarray:
    """Teal shadows, orange highlights (the blockbuster split)."""
    l = _luma(x)
    y = _scurve(x, 0.25)
    y = y + (1 - l) * np.array([-0.07, 0.03, 0.08], np.float32) \
        + l * np.array([0.08, 0.01, -0.08], np.float32)
    return _sat(y, 1.1)


def bleach_bypass(x: np.ndarray) -> np.ndarray:
    """Silver retained: mostly desaturated, hard contrast."""
    return _scurve(_sat(x, 0.35), 0.6)


def neon_magenta(x: np.ndarray) -> np.ndarray:
    """Club light: magenta highlights, cyan-ish blue shadows, extra saturation."""
    y = _sat(x, 1.35) * np.array([1.12, 0.82, 1.12], np.float32)
    return y + (1 - _luma(x)) * np.array([0.0, 0.02, 0.05], np.float32)


def dawn_warm(x: np.ndarray) -> np.ndarray:
    """Early sun: warm gain, gently lifted shadows, a touch brighter."""
    y = np.power(np.clip(x, 0, 1), 0.88) * np.array([1.08, 1.0, 0.84], np.float32)
    return 0.03 + 0.97 * y


LOOKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "orange_haze": orange_haze,
    "teal_night": teal_night,
    "bleach_bypass": bleach_bypass,
    "neon_magenta": neon_magenta,
    "dawn_warm": dawn_warm,
}


def make(name: str, n: int = 33) -> Cube:
    lat = identity_cube(n).lut3d
    table = np.clip(LOOKS[name](lat), 0.0, 1.0).astype(np.float32)
    return Cube(title=name, lut3d=table, name=name)


def write_all(out_dir: Path, n: int = 33) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in LOOKS:
        paths[name] = out_dir / f"{name}.cube"
        write_cube(paths[name], make(name, n))
    return paths
