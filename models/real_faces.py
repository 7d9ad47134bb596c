"""Real face crops that ship inside a package, for calibrating and checking models offline.

scikit-image bundles ``lfw_subset.npy``: 100 grey face crops (25x25, from Labeled Faces in
the Wild) followed by 100 non-face patches. We take the faces only, split them in two
disjoint halves (``calib``: 0-49, ``check``: 50-99) and make a few photometric/geometric
variants of each (mirror, small rotation, gamma), as a camera and a head would. The crops
are tiny, so they are upscaled to the model's input size: blurrier than a live camera crop,
which makes them a hard case for the int8-vs-float comparison, not an easy one.

Used by ``models/build_fer.py`` (representative data: ``calib``) and by the tests and
benches (agreement: ``check``). Needs scikit-image only for the file's location.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def _lfw_path() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent / "lfw_subset.npy"


def _variants(img: np.ndarray) -> list[np.ndarray]:
    h, w = img.shape
    out = [img, img[:, ::-1]]
    for angle in (-8.0, 8.0):
        M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        out.append(cv2.warpAffine(img, M, (w, h), borderMode=cv2.BORDER_REFLECT))
    for gamma in (0.7, 1.4):
        out.append(np.clip(255.0 * (img / 255.0) ** gamma, 0, 255))
    return out


def real_face_crops(split: str = "check", size: int = 64, variants: bool = True) -> np.ndarray:
    """N x size x size uint8 grey face crops. ``split``: "calib" (faces 0-49) or "check"
    (faces 50-99); with ``variants`` each face gives 6 crops, else 1."""
    if split not in ("calib", "check"):
        raise ValueError(f"split must be 'calib' or 'check', not {split!r}")
    faces = np.load(_lfw_path())[:100]
    faces = faces[:50] if split == "calib" else faces[50:]
    crops = []
    for f in faces:
        img = np.clip(cv2.resize((f * 255.0).astype(np.float32), (size, size),
                                 interpolation=cv2.INTER_CUBIC), 0, 255)  # cubic overshoots
        for v in (_variants(img) if variants else [img]):
            crops.append(np.clip(np.round(v), 0, 255).astype(np.uint8))
    return np.stack(crops)
