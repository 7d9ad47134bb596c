"""Iris landmarks: a millimetre scale for the face camera.

``models/iris_landmark.tflite`` (MediaPipe) takes a 64x64 RGB [0, 1] crop around one eye
(the region MediaPipe uses: centred on the eye corners, 2.3x their distance, eye line
level; the viewer's left eye mirrored, as the model was trained on right eyes) and gives
71 eye-contour points and 5 iris points (centre, then 4 on the rim).

The visible iris is about 11.7 mm across in adults with little spread (HVID, horizontal
visible iris diameter), so its size in pixels gives the camera's px/mm at the face:
``iris_measure`` returns it with the interpupillary distance in mm as a sanity figure
(adults: about 54-74 mm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from empathy.edge.infer import TFLiteModel
from empathy.edge.perception.face import LEFT_EYE, RIGHT_EYE
from empathy.edge.perception.roi import Region
from empathy.models import MODELS_DIR

IRIS_MODEL = MODELS_DIR / "iris_landmark.tflite"
IRIS_MM = 11.7
EYE_SCALE = 2.3


@dataclass(frozen=True)
class IrisScale:
    px_per_mm: float
    ipd_mm: float  # distance between the iris centres, in mm
    centres: np.ndarray  # 2 x 2 frame pixels: viewer's right eye, left eye


class IrisLandmarker:
    def __init__(self, threads: int = 1):
        self.model = TFLiteModel(IRIS_MODEL, threads=threads)

    def _eye(self, rgb: np.ndarray, corners: np.ndarray, mirror: bool):
        a, b = corners
        d = b - a
        region = Region(float((a[0] + b[0]) / 2), float((a[1] + b[1]) / 2),
                        float(np.hypot(*d) * EYE_SCALE), float(np.arctan2(d[1], d[0])))
        crop = region.cut(rgb, 64)
        if mirror:
            crop = crop[:, ::-1]
        _, iris = self.model.run_all(crop[None].astype(np.float32) * np.float32(1 / 255.0))
        pts = iris.reshape(5, 3)[:, :2].copy()
        if mirror:
            pts[:, 0] = 64 - pts[:, 0]
        return region.to_frame(pts, 64)

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray) -> IrisScale:
        # corners ordered image-left -> image-right for both eyes, so the eye line is level
        right = self._eye(rgb, landmarks[list(RIGHT_EYE), :2], mirror=False)
        left = self._eye(rgb, landmarks[list(LEFT_EYE), :2], mirror=True)
        diam = [np.mean([np.linalg.norm(e[1] - e[3]), np.linalg.norm(e[2] - e[4])])
                for e in (right, left)]
        px_per_mm = float(np.mean(diam)) / IRIS_MM
        centres = np.stack([right[0], left[0]])
        ipd = float(np.linalg.norm(centres[1] - centres[0])) / px_per_mm
        return IrisScale(px_per_mm, ipd, centres)
