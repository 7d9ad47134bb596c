"""A phone's HDR clips made here (test_player29_hdr.py): one synthetic scene (a grey ramp,
colour bars, a skin patch) encoded the way each format says, by ffmpeg's libx265.

The scene is reflectance in linear light, Rec.709 primaries (every colour inside both
gamuts). The formats' own definitions of where a reflectance goes, not our converter's:
  SDR: the BT.709 OETF, BT.709 primaries, 8 bits.
  HLG: BT.2100's HLG OETF of scene light in BT.2020 primaries, 100 % reflectance at HLG 75 %
       (ITU-R BT.2408 Table 1: HDR reference white; 18 % grey then lands at 38 %, as the
       table says).
  PQ:  the same scene as a 1000 cd/m² HLG display shows it (BT.2100's HLG OOTF, gamma 1.2),
       PQ-encoded: BT.2408's reference white at 203 cd/m² (PQ 58 %), 18 % grey at 26.
None of these constants are the converter's: they are written out here from the standards.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

W, H, FPS, FRAMES = 320, 64, 25, 3
PATCH_W, PATCH_H = 40, 32
GREYS = (0.0, 0.02, 0.05, 0.09, 0.18, 0.35, 0.6, 0.9)  # top row: reflectance
_BAR = 0.5
COLOURS = {"yellow": (_BAR, _BAR, 0), "cyan": (0, _BAR, _BAR), "green": (0, _BAR, 0),
           "magenta": (_BAR, 0, _BAR), "red": (_BAR, 0, 0), "blue": (0, 0, _BAR),
           # ColorChecker "light skin", sRGB (194, 150, 130) in linear light
           "skin": (0.539, 0.305, 0.223), "white": (1.0, 1.0, 1.0)}

# BT.2087 (Rec.709 -> Rec.2020, linear light), as printed there
_709_TO_2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114],
                         [0.0164, 0.0880, 0.8956]])
_HLG_A, _HLG_B, _HLG_C = 0.17883277, 0.28466892, 0.55991073  # BT.2100 Table 5
_PQ = dict(m1=2610 / 16384, m2=2523 / 4096 * 128, c1=3424 / 4096, c2=2413 / 4096 * 32,
           c3=2392 / 4096 * 32)  # BT.2100 Table 4


def scene() -> np.ndarray:
    """H x W x 3 linear reflectance, Rec.709 primaries."""
    img = np.zeros((H, W, 3))
    for i, g in enumerate(GREYS):
        img[:PATCH_H, i * PATCH_W:(i + 1) * PATCH_W] = g
    for i, c in enumerate(COLOURS.values()):
        img[PATCH_H:, i * PATCH_W:(i + 1) * PATCH_W] = c
    return img


def patch(frame: np.ndarray, row: int, col: int) -> np.ndarray:
    """Mean RGB of a patch's middle (away from 4:2:0 chroma at its edges)."""
    y, x = row * PATCH_H, col * PATCH_W
    return frame[y + 8:y + PATCH_H - 8, x + 10:x + PATCH_W - 10].reshape(-1, 3).mean(0)


def _oetf709(e):
    return np.where(e < 0.018, 4.5 * e, 1.099 * np.power(e, 0.45) - 0.099)


def _oetf_hlg(e):
    e = np.maximum(e, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _HLG_A * np.log(np.maximum(12 * e - _HLG_B, 1e-12)) + _HLG_C
    return np.where(e <= 1 / 12, np.sqrt(3 * e), log)


def _inv_eotf_pq(nits):
    y = np.power(np.clip(nits / 10000, 0, 1), _PQ["m1"])
    return np.power((_PQ["c1"] + _PQ["c2"] * y) / (1 + _PQ["c3"] * y), _PQ["m2"])


def _hlg_white() -> float:
    """Scene light E with HLG(E) = 0.75 (BT.2408's reference white), inverting the log arm."""
    return (np.exp((0.75 - _HLG_C) / _HLG_A) + _HLG_B) / 12


def signal(kind: str) -> tuple[np.ndarray, tuple[float, float]]:
    """Non-linear R'G'B' of the scene in `kind`, and its Y'CbCr matrix's (Kr, Kb)."""
    lin = scene()
    if kind == "sdr":
        return _oetf709(lin), (0.2126, 0.0722)
    e = (lin @ _709_TO_2020.T) * _hlg_white()
    if kind == "hlg":
        return _oetf_hlg(e), (0.2627, 0.0593)
    ys = e @ np.array([0.2627, 0.6780, 0.0593])
    nits = 1000 * np.power(np.maximum(ys, 1e-12), 0.2)[..., None] * e  # BT.2100 HLG OOTF
    return _inv_eotf_pq(nits), (0.2627, 0.0593)


def _ycbcr(rgb: np.ndarray, k: tuple[float, float], bits: int) -> np.ndarray:
    """Narrow-range Y'CbCr 4:4:4 planes (BT.709 / BT.2020 non-constant luminance)."""
    kr, kb = k
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb, cr = (rgb[..., 2] - y) / (2 - 2 * kb), (rgb[..., 0] - y) / (2 - 2 * kr)
    s = 1 << (bits - 8)
    return np.stack([np.rint((16 + 219 * y) * s), np.rint((128 + 224 * cb) * s),
                     np.rint((128 + 224 * cr) * s)])


TAGS = {"sdr": ("bt709", "bt709", "bt709"), "hlg": ("bt2020", "arib-std-b67", "bt2020nc"),
        "pq": ("bt2020", "smpte2084", "bt2020nc")}


def make(kind: str, path: Path, tagged: bool = True) -> Path:
    """The scene as a clip of `kind` (sdr, hlg, pq): lossless H.265, 4:2:0 like a phone's;
    untagged: no colour description at all (an HLG signal the player cannot tell)."""
    rgb, k = signal(kind)
    bits = 8 if kind == "sdr" else 10
    planes = _ycbcr(rgb, k, bits).astype(np.uint8 if bits == 8 else "<u2")
    prim, trc, space = TAGS[kind]
    tags = ["-color_primaries", prim, "-color_trc", trc, "-colorspace", space] if tagged else []
    cmd = [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "yuv444p" if bits == 8 else "yuv444p10le",
           "-s", f"{W}x{H}", "-r", str(FPS), "-i", "-", "-c:v", "libx265",
           "-x265-params", "lossless=1:log-level=error",
           "-pix_fmt", "yuv420p" if bits == 8 else "yuv420p10le", *tags, str(path)]
    subprocess.run(cmd, input=planes.tobytes() * FRAMES, check=True, timeout=60)
    return path
