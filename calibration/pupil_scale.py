"""Pupil camera scale: a printed circle grid held where the eye will be -> millimetres per pixel.

The grid's circle centres are found with OpenCV (`findCirclesGrid`); a homography from the
grid's known millimetre layout to those centres gives the local scale at the grid's centre
(square root of the Jacobian's determinant), so a slightly tilted card still measures right.
The same picture tells whether the lens is focused (how many pixels a black-to-white edge
takes) and whether the IR exposure is usable (paper level, saturation, contrast).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .report import Check, Result

SIM_FOCAL_PX = 500.0  # the simulated eye camera's focal length


@dataclass(frozen=True)
class Target:
    """A printed symmetric circle grid: dark circles on white paper."""

    cols: int = 7
    rows: int = 5
    spacing_mm: float = 4.0
    circle_mm: float = 2.0

    def points_mm(self) -> np.ndarray:
        """Circle centres in row-major order, origin at the grid's centre."""
        j, i = np.meshgrid(np.arange(self.cols), np.arange(self.rows))
        pts = np.stack([j.ravel(), i.ravel()], axis=1) * self.spacing_mm
        return (pts - pts.mean(axis=0)).astype(np.float32)


@dataclass(frozen=True)
class Limits:
    max_edge_px: float = 3.0        # a black-to-white edge wider than this: out of focus
    max_saturated_pct: float = 1.0  # IR too strong: the paper burns out
    min_paper_level: float = 100.0  # IR too weak (0..255)
    min_contrast: float = 60.0
    max_fit_rms_px: float = 0.5     # circle centres off the fitted grid: a bad detection


def render_view(target: Target, distance_mm: float, focal_px: float = SIM_FOCAL_PX,
                size: tuple[int, int] = (640, 480), tilt_deg: tuple[float, float] = (4.0, -3.0),
                blur_px: float = 0.6, gain: float = 1.0, seed: int = 0) -> np.ndarray:
    """What an IR eye camera sees of the target at distance_mm (pinhole camera, grey uint8).
    True scale at the target's centre: focal_px / distance_mm pixels per millimetre."""
    ss = 4  # render 4x larger, then average down: anti-aliased edges like a real sensor
    w, h = size
    grid = target.points_mm()
    half = np.abs(grid).max(axis=0) + target.spacing_mm  # paper margin around the circles
    px_mm = 40.0
    cw, ch = (2 * half * px_mm).astype(int)
    card = np.full((ch, cw), 200, np.uint8)
    for x, y in grid:
        c = (int(round((x + half[0]) * px_mm * 16)), int(round((y + half[1]) * px_mm * 16)))
        cv2.circle(card, c, int(target.circle_mm / 2 * px_mm * 16), 30, -1, cv2.LINE_AA, shift=4)
    rx, ry = np.radians(tilt_deg)
    R = cv2.Rodrigues(np.array([rx, ry, 0.0]))[0]
    K = np.array([[focal_px * ss, 0, w * ss / 2], [0, focal_px * ss, h * ss / 2], [0, 0, 1]])
    card_to_mm = np.array([[1 / px_mm, 0, -half[0]], [0, 1 / px_mm, -half[1]], [0, 0, 1]])
    H = K @ np.column_stack([R[:, 0], R[:, 1], [0, 0, distance_mm]]) @ card_to_mm
    big = cv2.warpPerspective(card, H, (w * ss, h * ss), flags=cv2.INTER_LINEAR,
                              borderValue=120)
    img = cv2.resize(big, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_px)
    img = img * gain + np.random.default_rng(seed).normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _detect(grey: np.ndarray, target: Target) -> np.ndarray | None:
    params = cv2.SimpleBlobDetector_Params()
    params.minArea = 20
    params.maxArea = max(grey.size * 0.05, 21)  # OpenCV refuses max < min (a tiny picture)
    params.minThreshold = 10
    params.maxThreshold = 240
    detector = cv2.SimpleBlobDetector_create(params)
    found, centres = cv2.findCirclesGrid(grey, (target.cols, target.rows),
                                         flags=cv2.CALIB_CB_SYMMETRIC_GRID, blobDetector=detector)
    return centres.reshape(-1, 2) if found else None


def _edge_px(roi: np.ndarray, contrast: float) -> float:
    """How many pixels a full black-to-white edge spans (contrast / steepest slope)."""
    f = roi.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3) / 8  # Sobel 3x3 is 8x the slope
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3) / 8
    steep = float(np.percentile(np.hypot(gx, gy), 99.5))
    return contrast / steep if steep > 0 else float("inf")


def pupil_scale(image: np.ndarray, target: Target, limits: Limits = Limits(),
                camera_id: str = "eye") -> Result:
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    res = Result("pupil-scale", f"Pupil camera scale: {camera_id}")
    res.figures.update({"image_w": grey.shape[1], "image_h": grey.shape[0]})
    centres = _detect(grey, target)
    if centres is None:
        res.errors.append(f"the {target.cols}x{target.rows} circle grid was not found: hold "
                          "the whole card in view, flat and lit")
        res.plot = lambda: _plots(grey, None, None)
        return res
    obj = target.points_mm()
    H, _ = cv2.findHomography(obj, centres, 0)
    fit = cv2.perspectiveTransform(obj[None], H)[0]
    rms = float(np.sqrt(np.mean(np.sum((fit - centres) ** 2, axis=1))))
    # d(image)/d(mm) at the grid centre (mm origin) from H = [[a b c] [d e f] [g h 1]]
    c = H[:, 2]
    J = (H[:2, :2] * c[2] - np.outer(c[:2], H[2, :2])) / c[2] ** 2
    px_per_mm = float(np.sqrt(abs(np.linalg.det(J))))
    x0, y0 = np.floor(centres.min(axis=0) - target.spacing_mm * px_per_mm).astype(int)
    x1, y1 = np.ceil(centres.max(axis=0) + target.spacing_mm * px_per_mm).astype(int)
    roi = grey[max(0, y0):y1, max(0, x0):x1]
    lo, hi = np.percentile(roi, [5, 90])
    contrast = float(hi - lo)
    edge = _edge_px(roi, contrast)
    saturated = 100.0 * float(np.mean(roi >= 250))
    res.figures.update({
        "px_per_mm": round(px_per_mm, 4),
        "mm_per_px": round(1 / px_per_mm, 5),
        "grid_fit_rms_px": round(rms, 3),
        "edge_px": round(edge, 2),
        "paper_level": round(float(hi), 1),
        "contrast": round(contrast, 1),
        "saturated_pct": round(saturated, 2),
    })
    res.checks += [
        Check("grid fit RMS", rms, limits.max_fit_rms_px, "px", hint="card bent or misdetected"),
        Check("edge width", edge, limits.max_edge_px, "px", hint="refocus the lens"),
        Check("saturated pixels", saturated, limits.max_saturated_pct, "%",
              hint="lower the IR illuminator or exposure"),
        Check("paper level", float(hi), limits.min_paper_level, "", kind="min",
              hint="raise the IR illuminator or exposure"),
        Check("contrast", contrast, limits.min_contrast, "", kind="min",
              hint="clean the lens; check the IR pass filter"),
    ]
    res.plot = lambda: _plots(grey, centres, px_per_mm)
    return res


def _plots(grey, centres, px_per_mm) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    a1.imshow(grey, cmap="gray", vmin=0, vmax=255)
    if centres is not None:
        a1.plot(centres[:, 0], centres[:, 1], "+", color="#e15759", ms=8)
        x, y = 20, grey.shape[0] - 20
        a1.plot([x, x + 10 * px_per_mm], [y, y], color="#59a14f", lw=3)
        a1.text(x, y - 8, "10 mm", color="#59a14f")
    a1.set_axis_off()
    a2.hist(grey.ravel(), bins=64, range=(0, 256), color="#4e79a7")
    a2.set_xlabel("pixel level")
    a2.set_ylabel("pixels")
    return {"Eye camera view with the detected grid, and its exposure histogram": fig}
