"""Pupil diameter from an IR eye-camera image (dark-pupil method).

``pupil_measure(grey, px_per_mm)`` -> (diameter_mm, confidence); (0, 0) means no pupil
(blink, look-away, lid closed). Steps, and why:

1. Glints (corneal reflections of the IR LEDs) are small bright specks on or near the
   pupil (a white top-hat finds them even when blur has taken them below saturation);
   edge points next to one are not used (a glint on the rim would bend the fit), and an
   edge must stay bright for 3 px so a speck inside the pupil is not taken for the rim.
2. The pupil is the darkest large blob: pixels within a few levels of the darkest, biggest
   roughly round component, the mask loosened step by step until the blob stands out
   from a ring around it, and then while it stays the same blob (a real dark iris is
   only a few levels lighter than its pupil). Its edge level is half-way between the
   pupil's own level and the iris just outside it (the ring). A blob whose inside sits
   well above the image's darkest is a dark iris around a pupil too small to measure: none.
3. Edge points: rays from the blob centre, the threshold crossing found with sub-pixel
   interpolation. Rays that run into the eyelid (a bright edge, lighter than the iris)
   or a glint are dropped: only the real pupil/iris boundary is fitted.
4. ``cv2.fitEllipse`` on the kept points, then again without the points well off that
   ellipse (a ray that ended on a lid no lighter than the iris, on fur, on an unmasked
   reflection); the major axis is the diameter (looking off axis foreshortens only the
   minor one).
5. Confidence = share of the rim seen x fit quality; a lid covering most of the pupil
   or a blob that is not elliptical gives a low confidence, no blob gives 0 (a blink).

``px_per_mm`` is the eye camera's scale from calibration (on a face camera the iris,
11.7 mm across, gives it).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

N_RAYS = 72
MIN_PUPIL_MM = 1.0
MAX_PUPIL_MM = 10.0
_SPECK = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))  # bigger than any glint
LADDER = (8, 12, 18, 25, 35)  # rough-mask steps above the darkest, tight to loose
GROW = 1.15  # a looser mask that grows the blob more than this has left the pupil
DARKEST_SHARE = 0.15  # of the contrast: how far a pupil's inside may sit above the darkest
MIN_CONTRAST = 15  # grey levels the iris ring must be above the pupil
OFF_RIM_PX = 1.5  # a fitted point this far from the others' ellipse is not on the rim
SUSTAIN = 6  # samples (3 px) an edge must stay bright past: a speck inside is not the rim


def _glints(grey: np.ndarray) -> np.ndarray:
    """Mask of glints: small specks much brighter than their surround (a white top-hat, so
    a blurred, unsaturated glint counts too), grown by the blur's reach."""
    hat = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, _SPECK)
    glint = (hat > 40).astype(np.uint8)
    return cv2.dilate(glint, np.ones((7, 7), np.uint8)) if glint.any() else glint


def _dark_blob(img: np.ndarray, px_per_mm: float):
    """(centre, radius_px, edge level, iris level) of the pupil blob, or None.

    Pupil pixels lie within noise of the darkest, but how far above it the iris starts
    varies: a real eye's iris can be only a few grey levels lighter than its pupil (a
    mask of everything within 25 of the darkest then takes the whole iris for the pupil).
    So the mask is tried from tight to loose; the first round blob whose ring is clearly
    lighter than its inside is the pupil (too tight a mask gives a fragment whose ring
    still lies in the pupil, so no contrast), grown while looser masks keep it the same
    blob."""
    half = img[::2, ::2]  # the rough search needs no full resolution
    k = max(1, half.size // 200)
    dark = float(np.partition(half, k, axis=None)[k])  # 0.5th percentile
    min_area = math.pi * (MIN_PUPIL_MM / 2 * px_per_mm / 2) ** 2 * 0.3
    first = found = None
    for step in LADDER:
        blob = _component(half < dark + step, min_area)
        if first is None:
            levels = _levels(img, *blob) if blob is not None else None
            if levels is None:
                continue  # nothing round yet, or a fragment of the pupil (no contrast)
            if levels[2] - dark > DARKEST_SHARE * (levels[1] - levels[2]):
                # its inside is well above the darkest: a dark iris around a pupil too
                # small to measure (the darkest pixels are that pupil's); looser masks
                # only grow the iris
                return None
            first = found = blob
        elif (blob is None or blob[1] > GROW * first[1]
              or math.dist(blob[0], first[0]) > first[1] / 2):
            break  # past the pupil's own edge: into the iris, a lid, a shadow
        else:
            found = blob  # the same pupil, more of it (a tight mask misses its noisy rim)
    if found is None:
        return None
    levels = _levels(img, *found)
    return (found[0], found[1], *levels[:2]) if levels else None


def _component(mask: np.ndarray, min_area: float):
    """(centre, radius) in full-image px of the mask's biggest roughly round component."""
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    # a disc fills pi/4 of its box; a lid-cut disc a bit more, lashes/shadows much less
    ok = (area >= min_area) & (area >= 0.5 * w * h)
    if not ok.any():
        return None
    best = 1 + int(np.argmax(np.where(ok, area, -1)))
    return tuple(cents[best] * 2 + 0.5), 2 * math.sqrt(stats[best][4] / math.pi)


def _levels(img: np.ndarray, centre, r0: float):
    """(edge level, iris level, inside level) around a pupil candidate, or None when its
    ring is not clearly lighter than its inside (no pupil there, or a fragment of one)."""
    cx, cy = centre
    pupil = _ring_values(img, cx, cy, 0, 0.7 * r0)
    # the iris is just outside the pupil; a low percentile skips lid skin in the ring
    ring = _ring_values(img, cx, cy, 1.2 * r0, 1.45 * r0)
    if pupil.size == 0 or ring.size == 0:
        return None
    pupil_level, iris = float(np.median(pupil)), float(np.percentile(ring, 30))
    if iris - pupil_level < MIN_CONTRAST:
        return None
    return (pupil_level + iris) / 2, iris, pupil_level


def _ring_values(img: np.ndarray, cx: float, cy: float, r_in: float, r_out: float) -> np.ndarray:
    """Pixels whose centre lies in the ring, from a window around it only."""
    x0, y0 = max(int(cx - r_out), 0), max(int(cy - r_out), 0)
    x1, y1 = min(int(cx + r_out) + 2, img.shape[1]), min(int(cy + r_out) + 2, img.shape[0])
    yy, xx = np.ogrid[y0:y1, x0:x1]
    d2 = (xx - cx) ** 2 + (yy - cy) ** 2
    return img[y0:y1, x0:x1][(d2 >= r_in ** 2) & (d2 <= r_out ** 2)]


def pupil_measure(grey: np.ndarray, px_per_mm: float) -> tuple[float, float]:
    """(diameter_mm, confidence) of the pupil in one grey IR eye image; (0, 0) if none."""
    if grey.ndim == 3:
        grey = cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY)
    glint = _glints(grey)
    img = cv2.GaussianBlur(grey, (0, 0), 1.0).astype(np.float32)
    found = _dark_blob(img, px_per_mm)
    if found is None:
        return 0.0, 0.0
    (cx, cy), r0, level, iris = found
    angles = np.linspace(0, 2 * math.pi, N_RAYS, endpoint=False, dtype=np.float32)
    radii = np.arange(0, 3.0 * r0 + 4, 0.5, dtype=np.float32)
    xs = (cx + np.cos(angles)[:, None] * radii).astype(np.float32)
    ys = (cy + np.sin(angles)[:, None] * radii).astype(np.float32)
    prof = cv2.remap(img, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    glint_prof = cv2.remap(glint, xs, ys, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    above = prof >= level
    # first sample that starts a run of SUSTAIN samples at or past the edge level, per ray
    run = np.lib.stride_tricks.sliding_window_view(
        np.pad(above, ((0, 0), (0, SUSTAIN - 1)), constant_values=True), SUSTAIN, axis=1).all(-1)
    j = run.argmax(1)
    above = run
    ok = above[np.arange(N_RAYS), j] & (j > 0)
    jj = np.maximum(j, 1)
    rows = np.arange(N_RAYS)
    a, b = prof[rows, jj - 1], prof[rows, jj]
    t = np.where(b != a, (level - a) / np.where(b != a, b - a, 1), 0.0)  # sub-pixel crossing
    rr = radii[jj - 1] + t * (radii[1] - radii[0])
    # what lies just outside: iris (keep) or lid / glint (drop)
    outside = prof[rows, np.minimum(jj + 4, len(radii) - 1)]
    near = np.arange(len(radii))[None, :]
    by_glint = (glint_prof.astype(bool) & (near >= jj[:, None] - 2) & (near < jj[:, None] + 6)).any(1)
    ok &= (outside <= iris + 25) & ~by_glint
    pts = np.stack([cx + rr * np.cos(angles), cy + rr * np.sin(angles)], 1)[ok]
    if len(pts) < 8:
        return 0.0, 0.0
    pts = pts.astype(np.float32)
    fit = cv2.fitEllipse(pts)
    # rays that ended on something else (a lid no lighter than the iris, lashes, fur, an
    # unmasked reflection) lie off the ellipse the rest agree on: drop them, fit again
    res = _point_residuals(pts, *fit)
    keep = res <= max(OFF_RIM_PX, 3 * float(np.median(res)))
    if 8 <= keep.sum() < len(pts):
        pts = pts[keep]
        fit = cv2.fitEllipse(pts)
        res = _point_residuals(pts, *fit)
    (ex, ey), (a1, a2), tilt = fit
    major, minor = max(a1, a2), min(a1, a2)
    d_mm = major / px_per_mm
    if not MIN_PUPIL_MM <= d_mm <= MAX_PUPIL_MM or minor < 0.4 * major:
        return 0.0, 0.0
    # fit quality: RMS distance of the points from the ellipse, relative to its size
    rel = float(np.sqrt(np.mean(res ** 2))) / max(major, 1.0)
    coverage = len(pts) / N_RAYS
    conf = float(np.clip(coverage * 1.25, 0, 1) * np.clip(1 - rel * 20, 0, 1))
    return float(d_mm), conf


def _point_residuals(pts, centre, axes, angle_deg) -> np.ndarray:
    """Each point's distance from the ellipse (px, approximately: radial, scaled)."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    d = pts - np.array(centre, np.float32)
    u = (d[:, 0] * c + d[:, 1] * s) / (axes[0] / 2)
    v = (-d[:, 0] * s + d[:, 1] * c) / (axes[1] / 2)
    return np.abs(np.sqrt(u * u + v * v) - 1) * (axes[0] + axes[1]) / 4


def pupil_threshold_baseline(grey: np.ndarray, px_per_mm: float) -> float:
    """The plain method the bench compares with: Otsu threshold, biggest dark contour,
    ellipse fit, major axis. No glint, lid or sub-pixel handling."""
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # Otsu on the whole image splits skin from iris+pupil; a second pass inside that
    # splits the pupil off the iris
    inner = grey[mask > 0]
    if inner.size < 10:
        return 0.0
    t, _ = cv2.threshold(inner.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = (grey < t).astype(np.uint8)
    cs, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cs = [c for c in cs if len(c) >= 5]
    if not cs:
        return 0.0
    (_, _), (a1, a2), _ = cv2.fitEllipse(max(cs, key=cv2.contourArea))
    return max(a1, a2) / px_per_mm
