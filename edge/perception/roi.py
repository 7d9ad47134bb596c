"""Rotated square regions of a frame: cut one out to a model's input, map points back.

A region is (cx, cy, size, angle) in frame pixels; angle (radians) is the direction of
the face's eye line in image coordinates (0 = eyes level), which the crop undoes. Cutting with an affine warp does
crop + rotate + resize in one pass, so no intermediate image is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Region:
    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def matrix(self, out: int) -> np.ndarray:
        """2x3 affine taking frame pixels to an ``out`` x ``out`` upright crop."""
        s = out / self.size
        c, n = math.cos(self.angle) * s, math.sin(self.angle) * s
        a = np.array([[c, n], [-n, c]])  # rotate by -angle: the eye line becomes level
        t = out / 2 - a @ np.array([self.cx, self.cy])
        return np.hstack([a, t[:, None]])

    def cut(self, frame: np.ndarray, out: int) -> np.ndarray:
        return cv2.warpAffine(frame, self.matrix(out), (out, out), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)

    def to_frame(self, pts: np.ndarray, out: int) -> np.ndarray:
        """Points (N x 2, crop pixels of an ``out`` crop) back to frame pixels."""
        inv = cv2.invertAffineTransform(self.matrix(out))
        return pts[:, :2] @ inv[:, :2].T + inv[:, 2]


def region_from_points(pts: np.ndarray, left_eye: np.ndarray, right_eye: np.ndarray,
                       scale: float) -> Region:
    """A square region around ``pts``, rotated so the eyes are level, ``scale`` x bigger."""
    dx, dy = left_eye - right_eye  # image-left is the viewer's right eye
    angle = math.atan2(dy, dx)
    c, s = math.cos(angle), math.sin(angle)
    centre = pts.mean(0)
    rel = pts - centre
    # extent in the face's own (upright) axes
    u = rel @ np.array([c, s])
    v = rel @ np.array([-s, c])
    size = max(u.max() - u.min(), v.max() - v.min()) * scale
    mid = np.array([(u.max() + u.min()) / 2, (v.max() + v.min()) / 2])
    centre = centre + mid[0] * np.array([c, s]) + mid[1] * np.array([-s, c])
    return Region(float(centre[0]), float(centre[1]), float(size), float(angle))
