"""Face-camera and eye-camera frames through edge.perception, on real pretrained models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from empathy.edge.expression import ExpressionModel
from empathy.edge.perception import Perception
from empathy.edge.perception.face import FaceDetector, FaceTracker
from empathy.edge.perception.iris import IrisLandmarker
from empathy.edge.perception.roi import Region, region_from_points
from empathy.sensors.base import FaceCrop, Frame, Pupil
from empathy.sim.faces import render_eye

skdata = pytest.importorskip("skimage.data")


def _frame(face_w: int = 512, x0: int = 64, y0: int = 0) -> np.ndarray:
    """640x480 BGR frame with NASA's astronaut portrait (a real face) pasted in."""
    bgr = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    frame = np.full((480, 640, 3), 40, np.uint8)
    face = cv2.resize(bgr, (face_w, face_w * 480 // 512))
    frame[y0:y0 + face.shape[0], x0:x0 + face.shape[1]] = face
    return frame


def _two_people() -> np.ndarray:
    """The viewer (big, left) and someone behind her (smaller, right)."""
    bgr = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)[0:300, 100:340]
    frame = np.full((480, 640, 3), 40, np.uint8)
    big = cv2.resize(bgr, (288, 360))
    frame[60:420, 20:308] = big
    small = cv2.resize(bgr, (192, 240))
    frame[100:340, 420:612] = small
    return frame


def test_detector_finds_the_real_face():
    faces = FaceDetector()(cv2.cvtColor(_frame(), cv2.COLOR_BGR2RGB))
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    # the astronaut's face sits around x 250-340, y 65-165 in this frame
    assert 220 < x0 < 280 and 300 < x1 < 370 and 40 < y0 < 100 and 130 < y1 < 200
    right_eye, left_eye = faces[0].keypoints[:2]
    assert right_eye[0] < left_eye[0]  # viewer's right eye is on the image left


def test_no_face_in_an_empty_frame():
    p = Perception()
    assert p.process(Frame(1, "face", np.full((480, 640, 3), 90, np.uint8))) == []


def test_face_frame_becomes_an_aligned_crop_and_is_tracked():
    p = Perception()
    frame = _frame()
    out = [p.process(Frame(1000 * i, "face", frame)) for i in range(4)]
    assert all(len(o) == 1 and isinstance(o[0], FaceCrop) for o in out)
    crop = out[-1][0].image
    assert crop.shape == (64, 64) and crop.dtype == np.uint8
    assert p._face.detections == 1  # detected once, then followed by its landmarks
    probs = ExpressionModel().predict(crop)
    assert probs.argmax() == 3  # she is smiling: FER says happy


def test_rotated_face_crop_is_upright():
    frame = _frame()
    M = cv2.getRotationMatrix2D((320, 240), 20, 1.0)
    tilted = cv2.warpAffine(frame, M, (640, 480))
    t = FaceTracker()
    r0 = t(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    t2 = FaceTracker()
    r1 = t2(cv2.cvtColor(tilted, cv2.COLOR_BGR2RGB))
    assert r0 is not None and r1 is not None
    angle = np.degrees(t2.region.angle - t.region.angle)
    assert abs(angle + 20) < 4, angle  # image rotated 20 deg CCW -> eye line at -20 deg


def test_other_faces_are_ignored():
    p = Perception()
    frame = _two_people()
    assert len(FaceDetector()(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))) == 2
    out = p.process(Frame(1, "face", frame))
    assert len(out) == 1
    # the tracked face is the big one, on the left
    assert p._face.region.cx < 320
    for i in range(3):
        assert len(p.process(Frame(2 + i, "face", frame))) == 1
    assert p._face.region.cx < 320


def test_lost_face_is_redetected():
    p = Perception()
    p.process(Frame(1, "face", _frame()))
    assert p.process(Frame(2, "face", np.zeros((480, 640, 3), np.uint8))) == []
    assert len(p.process(Frame(3, "face", _frame(x0=100)))) == 1
    assert p._face.detections >= 2


def test_eye_frame_becomes_a_pupil_reading():
    rng = np.random.default_rng(3)
    p = Perception(eye_px_per_mm=15.0)
    out = p.process(Frame(5, "eye", render_eye(4.2, 15.0, rng)))
    assert len(out) == 1 and isinstance(out[0], Pupil)
    assert abs(out[0].diameter_mm - 4.2) < 0.1 and out[0].confidence > 0.8
    blink = p.process(Frame(6, "eye", render_eye(4.2, 15.0, rng, lid=1.0)))[0]
    assert blink.diameter_mm == 0.0 and blink.confidence == 0.0


def test_bad_role_and_scale_raise():
    with pytest.raises(ValueError, match="role"):
        Perception().process(Frame(1, "ear", np.zeros((8, 8), np.uint8)))
    with pytest.raises(ValueError, match="eye_px_per_mm"):
        Perception(eye_px_per_mm=0)


def test_region_round_trip():
    r = Region(100.0, 80.0, 50.0, 0.3)
    pts = np.array([[90.0, 70.0], [120.0, 95.0]])
    crop_pts = pts @ r.matrix(64)[:, :2].T + r.matrix(64)[:, 2]
    np.testing.assert_allclose(r.to_frame(crop_pts, 64), pts, atol=1e-9)
    reg = region_from_points(pts, np.array([110.0, 80.0]), np.array([90.0, 80.0]), 1.0)
    assert abs(reg.angle) < 1e-9


def test_iris_gives_a_millimetre_scale():
    frame = cv2.cvtColor(_frame(), cv2.COLOR_BGR2RGB)
    iris = IrisLandmarker()
    scales = []
    for f in (frame, cv2.resize(frame, (1280, 960))):
        face = FaceTracker()(f)
        s = iris(f, face.landmarks)
        assert 54 < s.ipd_mm < 74, s  # an adult's interpupillary distance
        scales.append(s.px_per_mm)
    assert abs(scales[1] / scales[0] - 2.0) < 0.1  # twice the pixels, twice the scale


def test_perception_keeps_the_face_scale():
    p = Perception()
    p.process(Frame(1, "face", _frame()))
    assert 0.4 < p.face_px_per_mm < 1.0  # ~0.68 px/mm for this portrait


def test_frames_are_not_kept():
    import gc
    import weakref

    p = Perception()
    refs = []
    for i, (role, img) in enumerate((("face", _frame()),
                                     ("eye", render_eye(4.0, 15.0, np.random.default_rng(1))))):
        frame = Frame(i, role, img)
        out = p.process(frame)
        assert out and all(isinstance(r, (FaceCrop, Pupil)) for r in out)
        refs.append(weakref.ref(img))
        del frame, img, out
    gc.collect()
    assert all(r() is None for r in refs)  # nothing in Perception holds on to a frame


def test_one_frame_flicker_does_not_change_the_sent_expression():
    """edge.features' smoothing (FACE_TAU_S) on real crops through the real FER model."""
    from empathy.edge.features import SeatFeatures
    from empathy.models.real_faces import real_face_crops
    from empathy.wire import EXPRESSIONS

    crops = real_face_crops("check", variants=False)
    model = ExpressionModel()
    happy, neutral = crops[0], crops[4]  # FER: happy 0.97, neutral 0.73
    assert model.predict(happy).argmax() == EXPRESSIONS.index("happy")
    assert model.predict(neutral).argmax() == EXPRESSIONS.index("neutral")
    seat = SeatFeatures(1.0, model)
    ts = 0
    for _ in range(30):  # one second of a smile at 30 fps
        ts += 33_333
        seat.add(FaceCrop(ts, happy))
    ts += 33_333
    seat.add(FaceCrop(ts, neutral))  # one odd frame
    assert EXPRESSIONS[seat.estimate(ts)["expression"]] == "happy"
    for _ in range(60):  # two seconds of a straight face
        ts += 33_333
        seat.add(FaceCrop(ts, neutral))
    assert EXPRESSIONS[seat.estimate(ts)["expression"]] == "neutral"
