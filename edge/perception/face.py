"""Find the seat's viewer in a face-camera frame and cut an aligned face crop.

Stages (each a small function on timestamped data, MediaPipe-style):

``face_detect``     BlazeFace short range (``models/face_detection_short_range.tflite``):
                    letterboxed 128x128 RGB in [-1, 1] -> 896 anchors; we decode the anchors
                    (SSD, strides 8/16/16/16, 2+6 anchors per cell, fixed size) and boxes
                    ourselves and keep the best-scoring faces after weighted NMS.
``face_landmarks``  ``models/face_landmark.tflite``: a 192x192 RGB [0, 1] crop of a region
                    rotated so the eyes are level -> 468 (x, y, z) points and a presence
                    logit.
``FaceTracker``     keeps one face across frames: the next frame's region comes from this
                    frame's landmarks, so the detector runs only to (re)acquire the viewer.
                    Which face is the viewer: the largest at acquisition, then whichever
                    face the landmarks follow; other faces in the frame are never looked at.
``face_crop``       the aligned grey crop the expression model wants: upright, eyes level,
                    the landmarks' box plus a margin, like the FER-2013 crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from empathy.edge.infer import TFLiteModel
from empathy.edge.perception.roi import Region, region_from_points
from empathy.models import MODELS_DIR

DETECTOR = MODELS_DIR / "face_detection_short_range.tflite"
LANDMARKER = MODELS_DIR / "face_landmark.tflite"
MIN_SCORE = 0.5
MIN_PRESENCE = 0.5
# landmark indices: eye outer/inner corners (viewer's right eye = image left)
RIGHT_EYE = (33, 133)
LEFT_EYE = (362, 263)


def _anchors() -> np.ndarray:
    """896 x 2 anchor centres for BlazeFace short range (input 128)."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = 128 // stride
        ys, xs = np.mgrid[0:n, 0:n]
        c = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(c, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


@dataclass(frozen=True)
class Detection:
    """A face box in frame pixels, its 6 keypoints (viewer's right eye, left eye, nose,
    mouth, right ear, left ear) and score."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: np.ndarray  # 6 x 2
    score: float

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


class FaceDetector:
    def __init__(self, threads: int = 1):
        self.model = TFLiteModel(DETECTOR, threads=threads)
        self.anchors = _anchors()

    def __call__(self, rgb: np.ndarray, max_faces: int = 4) -> list[Detection]:
        h, w = rgb.shape[:2]
        side = max(h, w)
        # letterbox: keep aspect, pad to a square, as the model was trained
        box = Region(w / 2, h / 2, float(side))
        x = box.cut(rgb, 128).astype(np.float32) * np.float32(1 / 127.5) - 1.0
        reg, cls = self.model.run_all(x[None])
        reg, score = reg[0], 1.0 / (1.0 + np.exp(-np.clip(cls[0, :, 0], -80.0, 80.0)))
        keep = np.flatnonzero(score >= MIN_SCORE)
        if keep.size == 0:
            return []
        r = reg[keep] / 128.0
        a = self.anchors[keep]
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        boxes = np.stack([cx - r[:, 2] / 2, cy - r[:, 3] / 2, cx + r[:, 2] / 2, cy + r[:, 3] / 2], 1)
        kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
        # from the 128 letterbox back to frame pixels
        off = np.array([(w - side) / 2, (h - side) / 2])
        boxes = boxes * side + np.tile(off, 2)
        kps = kps * side + off
        return _weighted_nms(boxes, kps, score[keep], max_faces)


def _iou(b: np.ndarray, bs: np.ndarray) -> np.ndarray:
    x0 = np.maximum(b[0], bs[:, 0]); y0 = np.maximum(b[1], bs[:, 1])
    x1 = np.minimum(b[2], bs[:, 2]); y1 = np.minimum(b[3], bs[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda q: (q[..., 2] - q[..., 0]) * (q[..., 3] - q[..., 1])  # noqa: E731
    return inter / np.maximum(area(b) + area(bs) - inter, 1e-9)


def _weighted_nms(boxes, kps, scores, max_faces, iou=0.3) -> list[Detection]:
    """MediaPipe's blending NMS: overlapping boxes are averaged, weighted by score."""
    order = np.argsort(-scores)
    out = []
    while order.size and len(out) < max_faces:
        overlap = _iou(boxes[order[0]], boxes[order]) > iou
        grp = order[overlap]
        wts = scores[grp][:, None]
        b = (boxes[grp] * wts).sum(0) / wts.sum()
        k = (kps[grp] * wts[:, :, None]).sum(0) / wts.sum()
        out.append(Detection(tuple(float(v) for v in b), k, float(scores[order[0]])))
        order = order[~overlap]
    return out


class FaceLandmarker:
    def __init__(self, threads: int = 1):
        self.model = TFLiteModel(LANDMARKER, threads=threads)

    def __call__(self, rgb: np.ndarray, region: Region) -> tuple[np.ndarray, float]:
        """468 x 3 landmarks (x, y in frame pixels, z in crop pixels) and presence 0..1."""
        crop = region.cut(rgb, 192).astype(np.float32) * np.float32(1 / 255.0)
        pts, presence = self.model.run_all(crop[None])
        pts = pts.reshape(468, 3)
        xy = region.to_frame(pts[:, :2], 192)
        p = 1.0 / (1.0 + math.exp(-float(np.clip(presence.reshape(-1)[0], -80.0, 80.0))))
        return np.column_stack([xy, pts[:, 2]]), p


def region_from_detection(d: Detection) -> Region:
    """MediaPipe's detection -> landmark region: the box, 1.5x, eyes level."""
    x0, y0, x1, y1 = d.box
    pts = np.array([[x0, y0], [x1, y1]])
    return region_from_points(pts, d.keypoints[1], d.keypoints[0], 1.5)


def region_from_landmarks(lm: np.ndarray) -> Region:
    """The next frame's region from this frame's landmarks (tracking)."""
    right = lm[list(RIGHT_EYE), :2].mean(0)
    left = lm[list(LEFT_EYE), :2].mean(0)
    return region_from_points(lm[:, :2], left, right, 1.5)


def face_crop(grey: np.ndarray, lm: np.ndarray, size: int = 64, margin: float = 1.1) -> np.ndarray:
    """Upright grey face crop (size x size uint8) from landmarks."""
    right = lm[list(RIGHT_EYE), :2].mean(0)
    left = lm[list(LEFT_EYE), :2].mean(0)
    return region_from_points(lm[:, :2], left, right, margin).cut(grey, size)


@dataclass
class FaceResult:
    landmarks: np.ndarray  # 468 x 3, frame pixels
    presence: float
    detected: bool  # True when the detector ran for this frame


class FaceTracker:
    """One viewer's face across frames; the detector only runs when the track is lost."""

    def __init__(self, threads: int = 1):
        self.detect = FaceDetector(threads)
        self.landmarks = FaceLandmarker(threads)
        self.region: Region | None = None
        self.detections = 0

    def __call__(self, rgb: np.ndarray) -> FaceResult | None:
        detected = False
        if self.region is None:
            faces = self.detect(rgb)
            self.detections += 1
            if not faces:
                return None
            self.region = region_from_detection(max(faces, key=lambda d: d.area))
            detected = True
        lm, presence = self.landmarks(rgb, self.region)
        if presence < MIN_PRESENCE:
            self.region = None  # lost: re-detect next frame
            return None
        self.region = region_from_landmarks(lm)
        return FaceResult(lm, presence, detected)
