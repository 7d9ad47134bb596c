"""Pupil diameter: ours (edge/perception/pupil.py) beside Pupil Labs' open 2D detector
(`pupil-detectors`, Detector2D, as Pupil Core runs it) on the same rendered IR eye images
with a known pupil (sim/faces.py render_eye: glints, lids, blur, sensor noise, gaze up to
25 degrees; 15 px/mm, 320x240).

Figures (ratio = ours / Pupil Labs): median and 90th-percentile |measured - true| diameter
(mm; Pupil Labs' ellipse major axis in px / px_per_mm, as ours), images each could not
measure (ours: confidence 0; Pupil Labs: confidence < 0.6, its own default for a usable
2D datum), the median error over every image whatever the confidence (a lost one counts
as its whole diameter), and time per image. Both run on one core on the very same images.

    python -m empathy.bench.bench_pupil [--json] [--n 300]
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from empathy.cli import number_in
from empathy.edge.perception.pupil import pupil_measure
from empathy.sim.faces import render_eye

PX_PER_MM = 15.0
PL_MIN_CONFIDENCE = 0.6


def eye_images(n: int, seed: int = 7):
    """(image, true diameter mm) pairs drawn like bench_perception's, a different seed."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        d = rng.uniform(2.0, 8.0)
        img = render_eye(d, PX_PER_MM, rng, lid=rng.choice([0.0, 0.0, 0.2, 0.35]),
                         blur_px=rng.choice([0.0, 0.8, 1.5]), glints=int(rng.integers(0, 3)),
                         noise=rng.uniform(2, 8), gaze_deg=rng.uniform(0, 25))
        yield img, d


def pupil_labs():
    from pupil_detectors import Detector2D

    det = Detector2D()
    # the pupil's size range in px for our camera (2-8 mm at 15 px/mm, with margin)
    det.update_properties({"pupil_size_min": int(1.5 * PX_PER_MM),
                           "pupil_size_max": int(9 * PX_PER_MM)})

    def measure(img):
        r = det.detect(img)
        axes = r["ellipse"]["axes"]
        return max(axes) / PX_PER_MM, r["confidence"]
    return measure


def compare(n: int) -> dict:
    cv2.setNumThreads(1)
    pl = pupil_labs()
    err = {"ours": [], "pupil_labs": []}
    every = {"ours": [], "pupil_labs": []}  # whatever each said, however unsure
    lost = {"ours": 0, "pupil_labs": 0}
    secs = {"ours": 0.0, "pupil_labs": 0.0}
    for img, d in eye_images(n):
        for who, fn in (("ours", lambda im: pupil_measure(im, PX_PER_MM)), ("pupil_labs", pl)):
            t0 = time.perf_counter()
            m, conf = fn(img)
            secs[who] += time.perf_counter() - t0
            ok = conf > 0 if who == "ours" else conf >= PL_MIN_CONFIDENCE
            every[who].append(abs(m - d) if m > 0 else d)
            if ok:
                err[who].append(abs(m - d))
            else:
                lost[who] += 1
    out = {"images": n}
    for who in err:
        e = np.array(err[who]) if err[who] else np.array([np.nan])
        out[who] = {"median_err_mm": round(float(np.median(e)), 4),
                    "p90_err_mm": round(float(np.percentile(e, 90)), 4),
                    "median_err_every_image_mm": round(float(np.median(every[who])), 4),
                    "lost": lost[who], "ms_per_image": round(secs[who] / n * 1e3, 3)}
    return out


def run(n: int = 300) -> list[dict]:
    """`empathy bench pupil`: ours vs Pupil Labs' 2D detector, ratio = ours / theirs."""
    r = compare(n)
    o, p = r["ours"], r["pupil_labs"]
    rows = [("pupil_vs_pl_median_err", "median_err_mm", "mm"),
            ("pupil_vs_pl_p90_err", "p90_err_mm", "mm"),
            ("pupil_vs_pl_lost", "lost", f"of {n}"),
            ("pupil_vs_pl_median_err_every", "median_err_every_image_mm", "mm"),
            ("pupil_vs_pl_time", "ms_per_image", "ms")]
    return [{"name": name, "value": o[k], "unit": unit, "peer": "pupil-detectors Detector2D",
             "peer_value": p[k], "ratio": round(o[k] / p[k], 3) if p[k] else None}
            for name, k, unit in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=number_in(int, 1, 100_000), default=300, help="eye images")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.json:
        print(json.dumps(compare(args.n), indent=2))
        return 0
    for e in run(args.n):
        ratio = f"  ratio {e['ratio']}" if e["ratio"] is not None else ""
        print(f"{e['name']:<26} ours {e['value']:>9} {e['unit']:<7} Pupil Labs "
              f"{e['peer_value']:>9}{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
