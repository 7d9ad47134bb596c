"""Pupil diameter on real IR eye images with hand-drawn pupil masks: ours
(edge/perception/pupil.py) beside Pupil Labs' 2D detector (`pupil-detectors` Detector2D),
as bench_pupil does on rendered images.

The set: the 32 labelled frames of `mouse-pupil-analysis` 0.3.0's sdist (MIT, Yue Zhao;
sample_data/labeled_frames, 10 recording sessions of 8 mice, head-fixed under an IR
camera, each frame with a hand-curated binary pupil mask). Real camera noise, whiskers,
fur, lids cutting the pupil, glints of several LEDs, dim and bright sessions; but mouse
eyes, not human ones. scripts/install.sh puts the archive in cache/pupil-corpus/; nothing
is fetched here.

Split by the package's own session folds, fixed before ours was run on any of it:
folds cv1 + cv2 (4 sessions, 16 frames) are the tuning split, cv3 + cv4 (6 sessions, 16
frames) the held-out one; nothing is tuned on held-out.

Truth: the major axis of the ellipse fitted to the mask's outline (what both detectors
report). No mm scale ships with the frames: both detectors are given a nominal 20 px/mm
(the set's pupils, 12-185 px, then span 0.6-9 mm) and the same size window, 1-10 mm; the
error is in px and relative to the true diameter. Confidence bars as bench_pupil: ours >
0, Pupil Labs >= 0.6. The 95 % intervals come from resampling sessions (a session's frames
share an animal, a camera set-up and its light).

    python -m empathy.bench.pupil_real [--json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tarfile
import time
from pathlib import Path

import cv2
import numpy as np

from empathy.cached_dist import CorpusMissing, cache_folder, checked_dist
from empathy.edge.perception.pupil import MAX_PUPIL_MM, MIN_PUPIL_MM, pupil_measure

MOUSE = "mouse_pupil_analysis-0.3.0.tar.gz"
EYELINK = "eyelinkio-0.3.0-py3-none-any.whl"  # real pupil recordings: bench/pupil_series_real.py
DISTS = {MOUSE: "mouse-pupil-analysis==0.3.0 --no-binary :all:",
         EYELINK: "eyelinkio==0.3.0 --only-binary :all:"}
SHA256 = {MOUSE: "32b94ad36cfcd421faeb395a45227fccdbfd6480722dc982ad361f2efcfff0ce",
          EYELINK: "cabc6059c99746dea2184d85844f7ea78ed3070d8cde4a12e4bde9fbfd795e33"}
TUNING_FOLDS = ("cv1", "cv2")
PX_PER_MM = 20.0
PL_MIN_CONFIDENCE = 0.6
BOOT = 2000


def corpus_dir() -> Path:
    return cache_folder("pupil-corpus", "EMPATHY_PUPIL_CORPUS")


def dist_path(name: str) -> Path:
    """The cached archive, its sha256 checked."""
    return checked_dist(corpus_dir(), name, SHA256[name], DISTS[name])


def truth_px(mask: np.ndarray) -> float:
    """Major axis (px) of the ellipse fitted to the mask's largest outline."""
    cs, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(cs, key=cv2.contourArea)
    return float(max(cv2.fitEllipse(c)[1]))


def eye_frames() -> list[dict]:
    """Every labelled frame: session, fold, split, grey image, true diameter (px)."""
    out = []
    with tarfile.open(dist_path(MOUSE)) as t:
        root = t.getnames()[0].split("/")[0]

        def read(member: str) -> bytes:
            f = t.extractfile(f"{root}/{member}")
            if f is None:
                raise CorpusMissing(f"{MOUSE}: {member} is not a file")
            return f.read()

        rows = csv.DictReader(io.StringIO(read("sample_data/provenance.csv").decode()))
        for row in rows:
            if not row["mask_path"]:
                continue
            grey = cv2.imdecode(np.frombuffer(read(row["image_path"]), np.uint8),
                                cv2.IMREAD_GRAYSCALE)
            mask = cv2.imdecode(np.frombuffer(read(row["mask_path"]), np.uint8),
                                cv2.IMREAD_GRAYSCALE)
            if grey is None or mask is None or grey.shape != mask.shape or not mask.any():
                raise CorpusMissing(f"{MOUSE}: {row['image_path']}: unreadable frame or mask")
            out.append({"session": row["session"], "fold": row["fold"],
                        "split": "tuning" if row["fold"] in TUNING_FOLDS else "held_out",
                        "grey": grey, "truth_px": truth_px(mask > 0)})
    return out


def pupil_labs():
    from pupil_detectors import Detector2D

    det = Detector2D()
    det.update_properties({"pupil_size_min": int(MIN_PUPIL_MM * PX_PER_MM),
                           "pupil_size_max": int(MAX_PUPIL_MM * PX_PER_MM)})

    def measure(grey):
        r = det.detect(np.ascontiguousarray(grey))
        return max(r["ellipse"]["axes"]) / PX_PER_MM, r["confidence"]
    return measure


def measure_all(frames: list[dict]) -> list[dict]:
    """Each frame with each detector's diameter (px, 0 = not measured) and seconds."""
    cv2.setNumThreads(1)
    pl = pupil_labs()
    detectors = (("ours", lambda g: pupil_measure(g, PX_PER_MM), lambda c: c > 0),
                 ("pupil_labs", pl, lambda c: c >= PL_MIN_CONFIDENCE))
    for f in frames:
        for who, fn, usable in detectors:
            t0 = time.perf_counter()
            mm, conf = fn(f["grey"])
            f[f"{who}_s"] = time.perf_counter() - t0
            f[f"{who}_px"] = mm * PX_PER_MM if usable(conf) and mm > 0 else 0.0
    return frames


def _stats(frames: list[dict], who: str, rng: np.random.Generator) -> dict:
    sessions = sorted({f["session"] for f in frames})
    rel = {s: [] for s in sessions}  # per session: relative error of each measured frame
    for f in frames:
        if f[f"{who}_px"] > 0:
            rel[f["session"]].append(abs(f[f"{who}_px"] - f["truth_px"]) / f["truth_px"])
    every = np.concatenate([np.array(v) for v in rel.values()] + [np.empty(0)])
    measured = len(every)
    out = {"measured": measured, "frames": len(frames),
           "ms_per_image": round(1e3 * float(np.mean([f[f"{who}_s"] for f in frames])), 2)}
    if not measured:
        return out
    boots = {"median": [], "p90": []}
    for _ in range(BOOT):  # resample whole sessions
        pick = rng.choice(len(sessions), len(sessions))
        e = np.concatenate([np.array(rel[sessions[i]]) for i in pick] + [np.empty(0)])
        if len(e):
            boots["median"].append(np.median(e))
            boots["p90"].append(np.percentile(e, 90))
    for name, q in (("median", 50), ("p90", 90)):
        lo, hi = np.percentile(boots[name], [2.5, 97.5])
        out[f"{name}_rel_pct"] = round(100 * float(np.percentile(every, q)), 1)
        out[f"{name}_rel_ci_pct"] = [round(100 * float(lo), 1), round(100 * float(hi), 1)]
    px = [abs(f[f"{who}_px"] - f["truth_px"]) for f in frames if f[f"{who}_px"] > 0]
    out["median_err_px"] = round(float(np.median(px)), 2)
    return out


def compare(frames: list[dict] | None = None) -> dict:
    frames = measure_all(eye_frames() if frames is None else frames)
    out = {}
    for split in ("tuning", "held_out"):
        part = [f for f in frames if f["split"] == split]
        if not part:
            continue
        rng = np.random.default_rng(11)
        out[split] = {"sessions": len({f["session"] for f in part}),
                      "below_window": sum(f["truth_px"] < MIN_PUPIL_MM * PX_PER_MM for f in part),
                      **{who: _stats(part, who, rng) for who in ("ours", "pupil_labs")}}
    return out


def markdown(r: dict) -> str:
    lines = ["| split | detector | measured | median \\|error\\| (95 % CI) | 90th percentile "
             "(95 % CI) | median error | time per image |", "|---|---|---|---|---|---|---|"]
    for split in (k for k in ("tuning", "held_out") if k in r):
        s = r[split]
        name = f"{split.replace('_', '-')} ({s['sessions']} sessions)"
        for who, label in (("ours", "ours"), ("pupil_labs", "Pupil Labs 2D")):
            o = s[who]
            if not o["measured"]:
                lines.append(f"| {name} | {label} | 0 of {o['frames']} | | | | "
                             f"{o['ms_per_image']} ms |")
                continue
            m, p = o["median_rel_ci_pct"], o["p90_rel_ci_pct"]
            lines.append(
                f"| {name} | {label} | {o['measured']} of {o['frames']} | "
                f"{o['median_rel_pct']} % ({m[0]}-{m[1]}) | {o['p90_rel_pct']} % ({p[0]}-{p[1]})"
                f" | {o['median_err_px']} px | {o['ms_per_image']} ms |")
    below = sum(r[k]["below_window"] for k in r)
    return "\n".join(lines) + (f"\n\n{below} frames' pupils are under the 1 mm window "
                               f"({MIN_PUPIL_MM * PX_PER_MM:g} px) at this scale.")


def run_cli(prog: str, doc: str, compare_fn, markdown_fn, argv=None) -> int:
    """The benches' shared command line: the docs' table, or --json; a missing corpus is
    one line and exit 1."""
    ap = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        r = compare_fn()
    except CorpusMissing as e:
        print(f"{prog}: {e}")
        return 1
    print(json.dumps(r, indent=2) if args.json else markdown_fn(r))
    return 0


def main(argv=None) -> int:
    return run_cli("pupil_real", __doc__, compare, markdown, argv)


if __name__ == "__main__":
    raise SystemExit(main())
