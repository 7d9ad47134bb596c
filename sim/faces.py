"""A simulated camera: schematic grey face crops drawn from an expression and an intensity.

The foundation stage of on-device perception has no camera yet, so the simulated viewer's
face is *rendered*: a 48x48 grey crop like the aligned crops a face detector would hand the
expression model (``FaceCrop.image``). The drawing is a cartoon (face oval, eyes, eyebrows,
nose, mouth, nasolabial wrinkles), but each feature moves the way the corresponding facial
action units do:

============  =====================================================================
class         what changes as intensity goes 0 -> 1
============  =====================================================================
angry         brows lowered and drawn together (V), eyes narrowed, lips pressed down
disgust       brows lowered, eyes squinted, nose wrinkles, upper lip raised on one side
fear          brows raised and pulled together, eyes wide, mouth stretched and open
happy         smile (mouth corners up, slightly open), cheeks raise -> eyes narrow
sad           inner brow corners raised, eyelids droop, mouth corners down
surprise      brows raised high, eyes wide, jaw dropped (round open mouth)
neutral       nothing (intensity is ignored)
============  =====================================================================

Geometry is a deterministic function of ``(expression, intensity)``: intensity 0 draws the
neutral face for every class, intensity 1 the full expression, linearly in between. On top
of that the ``rng`` adds nuisance variation, as a real camera and real people would: the
viewer's own face shape (width, eye spacing, resting brow and mouth), position jitter,
scale, small in-plane rotation, skin/background tone, a lighting gradient, gaussian sensor
noise and occasional blur. At low intensity the expression change is comparable to the
identity variation, so weak expressions are genuinely ambiguous, as they are in real crops.

Class indices follow ``empathy.wire.EXPRESSIONS`` (imported: the wire is the one list).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from empathy.wire import EXPRESSIONS

NEUTRAL = EXPRESSIONS.index("neutral")

# Feature parameters, as offsets from the neutral face at intensity 1.
#   eye_open   eye height, fraction of the eye width (neutral 0.45)
#   brow_h     brow height (+ up), in units of eye width
#   brow_tilt  inner end of the brow raised (+) or lowered (-), in units of eye width
#   brow_in    brows drawn together (+), in units of eye width
#   curve      mouth corners up (+) / down (-), in units of mouth half-width
#   open       mouth opening, in units of mouth half-width
#   width      mouth width factor offset (neutral 1.0)
#   lip_raise  upper lip raised on one side (disgust), in units of mouth half-width
#   wrinkle    nose wrinkle / nasolabial line strength 0..1
_NEUTRAL = dict(eye_open=0.45, brow_h=0.0, brow_tilt=0.0, brow_in=0.0, curve=0.0, open=0.0,
                width=0.0, lip_raise=0.0, wrinkle=0.0)
_DELTA = {  # by the wire's class names, so the order lives in one place
    "angry": dict(eye_open=-0.17, brow_h=-0.30, brow_tilt=-0.45, brow_in=0.15, curve=-0.25,
                  open=0.0, width=-0.15, wrinkle=0.35),
    "disgust": dict(eye_open=-0.22, brow_h=-0.25, brow_tilt=-0.15, curve=-0.30, open=0.08,
                    width=-0.05, lip_raise=0.35, wrinkle=1.0),
    "fear": dict(eye_open=0.40, brow_h=0.35, brow_tilt=0.30, brow_in=0.12, curve=-0.15,
                 open=0.35, width=0.25),
    "happy": dict(eye_open=-0.15, brow_h=0.05, curve=0.65, open=0.18, width=0.25, wrinkle=0.45),
    "sad": dict(eye_open=-0.15, brow_h=0.05, brow_tilt=0.45, brow_in=0.05, curve=-0.55,
                width=-0.10),
    "surprise": dict(eye_open=0.45, brow_h=0.60, brow_tilt=0.05, open=0.90, width=-0.30),
    "neutral": dict(),
}
if set(_DELTA) != set(EXPRESSIONS):  # the wire gained or renamed a class: draw it first
    raise ImportError(f"sim faces draw {sorted(_DELTA)}, the wire has {sorted(EXPRESSIONS)}")


def face_params(expression: int, intensity: float) -> dict:
    """The deterministic feature geometry for a class at an intensity in [0, 1]."""
    if not 0 <= int(expression) < len(EXPRESSIONS):
        raise ValueError(f"expression index {expression} outside 0..{len(EXPRESSIONS) - 1}")
    k = float(np.clip(intensity, 0.0, 1.0))
    delta = _DELTA[EXPRESSIONS[int(expression)]]
    return {name: base + k * delta.get(name, 0.0) for name, base in _NEUTRAL.items()}


def _pts(xy) -> np.ndarray:
    return np.round(np.asarray(xy, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)


def render_face(expression: int, intensity: float, rng: np.random.Generator,
                size: int = 48, identity: int | None = None,
                light: float | None = None, shaded: bool = False) -> np.ndarray:
    """Render one grey face crop (uint8, ``size`` x ``size``).

    ``expression`` indexes ``EXPRESSIONS``; ``intensity`` in [0, 1] (0 = neutral face).
    All randomness (identity, pose, lighting, noise) comes from ``rng``, so a fixed seed
    gives identical crops. ``identity`` (a seed) keeps one person's face, tones and hair
    from crop to crop, as a seat's camera sees them; ``light`` (exposure, 1 = a well-lit
    face) sets how bright the crop is, and a dark crop is noisier, as a camera's gain makes it.
    """
    p = face_params(expression, intensity)
    S = 4 * size  # draw supersampled, then downscale (anti-aliasing)
    u = S / 48.0  # drawing unit: one pixel of a 48-pixel crop
    idr = rng if identity is None else np.random.default_rng(identity)

    # --- identity: this viewer's face, independent of expression ---------------------
    face_w = u * idr.uniform(15.0, 18.5)
    face_h = face_w * idr.uniform(1.15, 1.35)
    eye_dx = u * idr.uniform(7.0, 8.6)           # half distance between eye centres
    eye_w = u * idr.uniform(5.2, 6.6)            # eye width
    eye_y = -face_h * idr.uniform(0.12, 0.22)    # eyes above centre
    mouth_y = face_h * idr.uniform(0.42, 0.55)
    mouth_hw = u * idr.uniform(5.0, 6.5)
    nose_len = u * idr.uniform(5.0, 7.5)
    brow_gap = eye_w * idr.uniform(0.45, 0.65)
    # resting-face quirks: a little of someone's neutral already looks like something
    eye_open = p["eye_open"] + rng.normal(0, 0.05)
    brow_h = p["brow_h"] + rng.normal(0, 0.06)
    brow_tilt = p["brow_tilt"] + rng.normal(0, 0.06)
    curve = p["curve"] + rng.normal(0, 0.07)
    mouth_open = max(0.0, p["open"] + rng.normal(0, 0.03))
    width = 1.0 + p["width"] + rng.normal(0, 0.05)
    thick = max(1, int(round(u * rng.uniform(0.9, 1.4))))

    # --- tones --------------------------------------------------------------------------
    bg = idr.uniform(20, 200)
    skin = idr.uniform(110, 215)
    if abs(skin - bg) < 35:
        bg = skin - 60 if skin > 120 else skin + 60
    ink = max(0.0, skin - idr.uniform(75, 120))   # features darker than skin
    hair = idr.uniform(10, 90)

    img = np.full((S, S), bg, np.float32)
    cx, cy = S / 2, S / 2 + u * 1.0

    # hair / head top (sometimes), then the face oval
    if idr.random() < 0.7:
        cv2.ellipse(img, (int(cx), int(cy - face_h * 0.15)),
                    (int(face_w * 1.08), int(face_h * 1.0)), 0, 180, 360, hair, -1,
                    cv2.LINE_AA)
    if shaded:
        for side in (-1, 1):  # ears, half behind the face
            cv2.ellipse(img, (int(cx + side * face_w * 0.97), int(cy + eye_y + u * 2)),
                        (int(u * 2.2), int(u * 4.0)), 0, 0, 360, skin * 0.88, -1, cv2.LINE_AA)
    cv2.ellipse(img, (int(cx), int(cy)), (int(face_w), int(face_h)), 0, 0, 360, skin, -1,
                cv2.LINE_AA)
    if shaded:
        _round_face(img, cx, cy, face_w, face_h)
        for side in (-1, 1):  # eye sockets in shadow under the brow
            cv2.ellipse(img, (int(cx + side * eye_dx), int(cy + eye_y - u * 0.8)),
                        (int(eye_w * 0.85), int(eye_w * 0.55)), 0, 0, 360, skin * 0.8, -1,
                        cv2.LINE_AA)

    # --- eyes (eyelid opening) ----------------------------------------------------------
    eh = max(0.06, eye_open) * eye_w
    for side in (-1, 1):
        ex, ey = cx + side * eye_dx, cy + eye_y
        # sclera lighter than skin, eyelid outline, iris
        cv2.ellipse(img, (int(ex), int(ey)), (int(eye_w / 2), max(1, int(eh / 2))), 0, 0,
                    360, min(255.0, skin + 35), -1, cv2.LINE_AA)
        iris_r = int(min(eye_w * 0.22, max(1.0, eh / 2)))
        cv2.circle(img, (int(ex), int(ey)), iris_r, ink * 0.5, -1, cv2.LINE_AA)
        cv2.ellipse(img, (int(ex), int(ey)), (int(eye_w / 2), max(1, int(eh / 2))), 0, 0,
                    360, ink, thick, cv2.LINE_AA)

        # --- eyebrow: a short thick segment, inner end tilted -----------------------
        base_y = ey - eh / 2 - brow_gap - brow_h * eye_w
        inner_x = ex - side * eye_w * (0.55 - p["brow_in"])
        outer_x = ex + side * eye_w * 0.65
        inner_y = base_y - brow_tilt * eye_w
        outer_y = base_y + 0.1 * eye_w
        mid = ((inner_x + outer_x) / 2, (inner_y + outer_y) / 2 - 0.12 * eye_w)
        cv2.polylines(img, [_pts([(inner_x, inner_y), mid, (outer_x, outer_y)])], False,
                      ink * 0.7, thick + max(1, int(u * 0.8)), cv2.LINE_AA)

    # --- nose and wrinkles ----------------------------------------------------------------
    ny = cy + eye_y + nose_len * 0.3
    cv2.polylines(img, [_pts([(cx, ny), (cx - u * 1.2, ny + nose_len),
                              (cx + u * 0.8, ny + nose_len)])], False, ink * 0.8 + skin * 0.2,
                  thick, cv2.LINE_AA)
    w = p["wrinkle"]
    if w > 0.05:
        tone = skin - w * (skin - ink) * 0.9
        for side in (-1, 1):  # nasolabial folds
            cv2.polylines(img, [_pts([(cx + side * u * 2.8, ny + nose_len * 0.8),
                                      (cx + side * u * (3.5 + 1.5 * w), mouth_y * 0.55 + cy),
                                      (cx + side * mouth_hw * width * 1.05,
                                       cy + mouth_y - curve * mouth_hw * 0.5)])],
                          False, tone, thick, cv2.LINE_AA)
        if p["lip_raise"] > 0.02 or w > 0.7:  # bridge wrinkles (disgust)
            for k in range(2):
                yy = cy + eye_y + u * (1.0 + 1.6 * k)
                cv2.line(img, (int(cx - u * 1.6), int(yy)), (int(cx + u * 1.6), int(yy)),
                         tone, max(1, thick - 1), cv2.LINE_AA)

    # --- mouth -----------------------------------------------------------------------------
    mx, my = cx, cy + mouth_y
    hw = mouth_hw * width
    corner_dy = -curve * mouth_hw          # corners up for positive curve
    raise_dy = -p["lip_raise"] * mouth_hw  # one side of upper lip up
    op = mouth_open * mouth_hw
    n = 17
    t = np.linspace(-1.0, 1.0, n)
    xs = mx + t * hw
    # upper lip: corners at corner_dy, middle at 0, opening pulls it up a little
    upper = my + corner_dy * t ** 2 - op * 0.35 * (1 - t ** 2) + raise_dy * np.clip(t, 0, 1) * (1 - t ** 2) * 3
    lower = my + corner_dy * t ** 2 + op * (1 - t ** 2) ** 0.8
    if op > u * 0.6:
        poly = np.concatenate([np.stack([xs, upper], 1), np.stack([xs[::-1], lower[::-1]], 1)])
        cv2.fillPoly(img, [_pts(poly)], ink * 0.35, cv2.LINE_AA)
        if expression == 3 and op > u * 1.2:  # teeth in a smile
            teeth = np.stack([xs[3:-3], upper[3:-3] + op * 0.25], 1)
            cv2.polylines(img, [_pts(teeth)], False, min(255.0, skin + 30),
                          max(1, int(op * 0.35)), cv2.LINE_AA)
        cv2.polylines(img, [_pts(poly)], True, ink, thick, cv2.LINE_AA)
    else:
        cv2.polylines(img, [_pts(np.stack([xs, upper], 1))], False, ink, thick + 1,
                      cv2.LINE_AA)

    # --- pose: scale, rotation, translation ----------------------------------------------
    angle = rng.normal(0, 6.0)
    scale = rng.uniform(0.88, 1.1)
    shift = rng.normal(0, 1.4, size=2) * u
    M = cv2.getRotationMatrix2D((S / 2, S / 2), angle, scale)
    M[:, 2] += shift
    img = cv2.warpAffine(img, M, (S, S), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=float(bg))

    # --- lighting gradient ---------------------------------------------------------------
    theta = rng.uniform(0, 2 * math.pi)
    strength = rng.uniform(0.0, 0.45)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / S - 0.5
    gain = 1.0 + strength * (xx * math.cos(theta) + yy * math.sin(theta)) * 2.0
    exposure = rng.uniform(0.8, 1.15)
    img = img * gain * (exposure if light is None else exposure * light)

    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)

    # --- camera: occasional blur, sensor noise ---------------------------------------------
    if rng.random() < 0.25:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.1))
    noise = rng.uniform(2.0, 9.0) / (1.0 if light is None else math.sqrt(max(light, 0.05)))
    img = img + rng.normal(0, noise, size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _round_face(img: np.ndarray, cx: float, cy: float, face_w: float, face_h: float) -> None:
    """Darken the face towards its edge, as light falls off a rounded face."""
    y0, y1 = int(max(0, cy - face_h)), int(min(img.shape[0], cy + face_h))
    x0, x1 = int(max(0, cx - face_w)), int(min(img.shape[1], cx + face_w))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    r2 = ((xx - cx) / face_w) ** 2 + ((yy - cy) / face_h) ** 2
    inside = r2 <= 1.0
    patch = img[y0:y1, x0:x1]
    patch[inside] *= 1.0 - 0.3 * r2[inside] ** 2


def render_dataset(n: int, seed: int, size: int = 48,
                   intensity_range: tuple[float, float] = (0.2, 1.0)
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` crops with balanced labels: (images uint8 NxHxW, labels int64, intensities).

    Non-neutral intensities are uniform in ``intensity_range``; neutral faces get 0.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(EXPRESSIONS)
    rng.shuffle(labels)
    lo, hi = intensity_range
    intens = np.where(labels == NEUTRAL, 0.0, rng.uniform(lo, hi, size=n))
    images = np.empty((n, size, size), np.uint8)
    for i in range(n):
        images[i] = render_face(int(labels[i]), float(intens[i]), rng, size)
    return images, labels.astype(np.int64), intens


IRIS_MM = 11.7  # visible iris diameter of an adult eye (the mm scale the iris gives)


def render_eye(pupil_mm: float, px_per_mm: float, rng: np.random.Generator,
               size: tuple[int, int] = (320, 240), lid: float = 0.0, glints: int = 2,
               blur_px: float = 0.0, noise: float = 4.0, gaze_deg: float = 0.0) -> np.ndarray:
    """One IR eye-camera image (grey uint8, ``size`` = (w, h)) with a known pupil.

    Dark-pupil IR look: skin bright, iris mid-grey with texture, pupil near black. The pupil
    is a circle of ``pupil_mm`` seen ``gaze_deg`` off axis (an ellipse whose major axis is
    the true diameter); ``lid`` in [0, 1] is how far the upper eyelid comes down over the
    pupil (0 = clear of it, 1 = closed); ``glints`` corneal reflections of the IR LEDs sit
    on or near the pupil edge; optional blur and sensor noise. Drawn 4x supersampled.
    """
    w, h = size
    S = 4
    cx = w / 2 + rng.uniform(-0.1, 0.1) * w
    cy = h / 2 + rng.uniform(-0.1, 0.1) * h
    skin, iris_tone, pupil_tone = rng.uniform(150, 200), rng.uniform(75, 110), rng.uniform(8, 30)
    img = np.full((h * S, w * S), skin, np.float32)
    ctr = (int(round(cx * S)), int(round(cy * S)))
    r_iris = IRIS_MM / 2 * px_per_mm * S
    cv2.circle(img, ctr, int(round(r_iris)), iris_tone, -1, cv2.LINE_AA)
    # iris texture: radial streaks, weaker than the pupil edge
    for a in rng.uniform(0, 2 * math.pi, 40):
        p0 = (int(ctr[0] + 0.45 * r_iris * math.cos(a)), int(ctr[1] + 0.45 * r_iris * math.sin(a)))
        p1 = (int(ctr[0] + 0.95 * r_iris * math.cos(a)), int(ctr[1] + 0.95 * r_iris * math.sin(a)))
        cv2.line(img, p0, p1, iris_tone + rng.uniform(-15, 15), S, cv2.LINE_AA)
    r = pupil_mm / 2 * px_per_mm * S
    tilt = rng.uniform(0, 180)
    axes = (r, r * math.cos(math.radians(gaze_deg)))
    cv2.ellipse(img, (ctr, (2 * axes[0], 2 * axes[1]), tilt), pupil_tone, -1, cv2.LINE_AA)
    for _ in range(glints):  # small saturated dots, on the pupil rim or just inside
        a, d = rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 1.05) * r
        cv2.circle(img, (int(ctr[0] + d * math.cos(a)), int(ctr[1] + d * math.sin(a))),
                   int(rng.uniform(1.5, 3.0) * S * px_per_mm / 15), 255.0, -1, cv2.LINE_AA)
    # upper eyelid: skin above a gentle arc; lid=1 closes past the pupil's bottom
    top = cy * S - r - 0.2 * r_iris
    lid_y = top + np.clip(lid, 0, 1) * (2 * r + 0.4 * r_iris)
    xs = np.arange(w * S, dtype=np.float32)
    arc = lid_y - 0.15 * r_iris * (1 - ((xs - cx * S) / (w * S / 2)) ** 2)
    yy = np.arange(h * S, dtype=np.float32)[:, None]
    img = np.where(yy < arc[None, :], skin * 0.92, img)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_px)
    img = img + rng.normal(0, noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
