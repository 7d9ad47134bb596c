"""On-device perception: camera frames in, numbers-to-be out; the frames are dropped.

``Perception(threads=1).process(frame)`` is what the edge runtime calls for every
``Frame`` reading:

* role "face": ``FaceTracker`` (BlazeFace detect -> 468 landmarks -> track) and an aligned
  grey crop -> one ``FaceCrop`` (the expression model runs on it in ``edge.features``,
  where its probabilities are smoothed over time so a one-frame flicker does not count);
  every ``IRIS_EVERY`` tracked face frames the iris landmarks refresh ``face_px_per_mm``
  (the face camera's scale from the 11.7 mm iris; see ``iris.py``), which changes only
  when the viewer moves nearer or further, so it need not cost time on every frame;
* role "eye": ``pupil_measure`` -> one ``Pupil`` (diameter_mm, confidence); a blink or a
  lost pupil is ``Pupil(ts, 0, 0)``, as the feature stage expects.

Nothing here keeps a frame: each is processed in memory and released when ``process``
returns; only crops (which stay on the unit) and numbers come out.
"""

from __future__ import annotations

import cv2

from empathy.edge.perception.face import DETECTOR, LANDMARKER, FaceTracker, face_crop
from empathy.edge.perception.iris import IRIS_MODEL, IrisLandmarker
from empathy.edge.perception.pupil import pupil_measure
from empathy.sensors.base import FaceCrop, Frame, Pupil, Reading

# Eye-camera scale until calibration says otherwise: a 640x480 IR eye camera ~3 cm from
# the eye sees about 15 pixels per millimetre.
EYE_PX_PER_MM = 15.0
CROP_SIZE = 64  # the expression model's input (models/expression_fer.md)
IRIS_EVERY = 30  # face frames between iris measurements (1 s at 30 fps)
MODELS = (DETECTOR, LANDMARKER, IRIS_MODEL)  # what a face camera's frames load, checked at start

__all__ = ["Perception", "EYE_PX_PER_MM", "MODELS"]


class Perception:
    def __init__(self, threads: int = 1, eye_px_per_mm: float = EYE_PX_PER_MM):
        if eye_px_per_mm <= 0:
            raise ValueError(f"eye_px_per_mm must be > 0, not {eye_px_per_mm}")
        self.threads = threads
        self.eye_px_per_mm = float(eye_px_per_mm)
        self._face: FaceTracker | None = None  # models load on the first face frame
        self._iris: IrisLandmarker | None = None
        self.face_px_per_mm = 0.0  # 0 until the iris has been measured
        self.faces_seen = 0
        self.frames = 0

    def process(self, frame: Frame) -> list[Reading]:
        self.frames += 1
        if frame.role == "eye":
            d, conf = pupil_measure(frame.image, self.eye_px_per_mm)
            return [Pupil(frame.ts_us, d, conf)]
        if frame.role != "face":
            raise ValueError(f"unknown frame role {frame.role!r} (face, eye)")
        img = frame.image
        if img.ndim == 2:
            grey, rgb = img, cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        else:
            grey, rgb = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if self._face is None:
            self._face = FaceTracker(self.threads)
        face = self._face(rgb)
        if face is None:
            return []
        if self.faces_seen % IRIS_EVERY == 0:
            if self._iris is None:
                self._iris = IrisLandmarker(self.threads)
            self.face_px_per_mm = self._iris(rgb, face.landmarks).px_per_mm
        self.faces_seen += 1
        return [FaceCrop(frame.ts_us, face_crop(grey, face.landmarks, CROP_SIZE))]
