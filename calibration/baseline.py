"""Resting baseline: a minute of the viewer at rest before the film, stored for normalisation.

Heart rate and HRV (edge.hrv's normal-interval rules), the pupil (edge.pupil's cleaning)
and the face at rest (the mean of the expression model's probabilities, so a face that
looks a little sad when relaxed is not read as sadness all film). The seat is then entered
in the store's seat register, which is how the host knows which seats are calibrated.
"""

from __future__ import annotations

import numpy as np

from empathy.edge.hrv import hrv_time, rr_normal
from empathy.edge.pupil import pupil_clean
from empathy.sensors.base import FaceCrop, Pupil, Reading
from empathy.wire import EXPRESSIONS

from .recording import RecordingError, trace_from_readings
from .report import Check, Result

HR_RANGE_BPM = (40.0, 120.0)  # at rest; outside it, something is wrong with viewer or sensor


def baseline(readings: list[Reading], duration_s: float, viewer_id: str, seat_id: int,
             face_model=None) -> Result:
    """Figures of one viewer's resting baseline, judged for usability."""
    res = Result("baseline", f"Resting baseline of viewer {viewer_id} in seat {seat_id}")
    res.figures.update({"viewer": viewer_id, "seat": seat_id, "duration_s": round(duration_s, 1)})
    try:
        heart = trace_from_readings("heart", readings)
    except RecordingError as e:
        heart = None
        res.errors.append(f"no usable heartbeats ({e}): check the sensor's contact")
    if heart is not None:
        rr = 60000.0 / heart.hr_bpm
        normal = rr_normal(rr, np.ones_like(rr))
        hrv = hrv_time(rr, normal)
        hr = 60000.0 / float(np.mean(rr[normal])) if normal.any() else float("nan")
        res.figures.update({
            "beats": len(heart.beat_s),
            "hr_bpm": round(hr, 2),
            "hr_sd_bpm": round(float(np.std(heart.hr_bpm[normal])), 2) if normal.any() else None,
            "rmssd_ms": round(hrv["rmssd_ms"], 2),
            "sdnn_ms": round(hrv["sdnn_ms"], 2),
            "normal_beats_pct": round(100.0 * float(np.mean(normal)), 1),
        })
        covered = 100.0 * float(np.sum(rr)) / 1000.0 / duration_s
        res.checks += [
            Check("heartbeats covered", covered, 70.0, "%", kind="min",
                  hint="beats missing: check the sensor's contact"),
            Check("normal beats", 100.0 * float(np.mean(normal)), 80.0, "%", kind="min",
                  hint="many ectopic or artefact beats: ask the viewer to sit still"),
            Check("resting HR (low)", hr, HR_RANGE_BPM[0], "bpm", kind="min"),
            Check("resting HR (high)", hr, HR_RANGE_BPM[1], "bpm",
                  hint="not at rest yet: wait a minute and repeat"),
        ]
    pupils = [r for r in readings if isinstance(r, Pupil)]
    # a board's first frames late, then one on time: its clock's offset drops and later
    # stamps fall before earlier ones (sensors/serial/board.py BoardClock): put in order
    pupils = sorted(pupils, key=lambda p: p.ts_us)
    pupils = [p for i, p in enumerate(pupils) if i == 0 or p.ts_us > pupils[i - 1].ts_us]
    clean = None
    if len(pupils) >= 3:
        clean = pupil_clean(np.array([p.ts_us for p in pupils]) / 1e6,
                            [p.diameter_mm for p in pupils], [p.confidence for p in pupils])
        good = np.isfinite(clean.mm) & ~clean.bridged
        valid = 100.0 * float(np.mean(good))
        res.figures.update({"pupil_mm": round(float(np.nanmean(clean.mm)), 3),
                            "pupil_sd_mm": round(float(np.nanstd(clean.mm)), 3),
                            "pupil_valid_pct": round(valid, 1), "blinks": clean.blinks})
        res.checks.append(Check("valid pupil", valid, 60.0, "%", kind="min",
                                hint="the eye camera keeps losing the pupil"))
    else:
        res.notes.append("no eye camera: pupil baseline not taken")
    faces = [r for r in readings if isinstance(r, FaceCrop)]
    probs = None
    if faces and face_model is not None:
        probs = face_model.predict_batch([f.image for f in faces]).mean(axis=0)
        res.figures["face_frames"] = len(faces)
        res.figures["resting_expression"] = {k: round(float(p), 3)
                                             for k, p in zip(EXPRESSIONS, probs)}
        res.figures["resting_neutral"] = round(float(probs[EXPRESSIONS.index("neutral")]), 3)
    else:
        res.notes.append("no face camera: resting expression not taken")
    res.plot = lambda: _plots(heart, clean, probs)
    return res


def stored_figures(res: Result) -> dict:
    """What the edge needs to normalise this viewer (goes into the viewer's profile)."""
    keys = ("hr_bpm", "hr_sd_bpm", "rmssd_ms", "sdnn_ms", "pupil_mm", "pupil_sd_mm",
            "resting_expression", "seat")
    return {k: res.figures[k] for k in keys if res.figures.get(k) is not None}


def _plots(heart, clean, probs) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    if heart is not None:
        axes[0].plot(heart.t_s - heart.t_s[0], heart.hr_bpm, ".-", ms=3, color="#e15759")
    axes[0].set(xlabel="seconds", ylabel="heart rate (bpm)", title="heart rate per beat")
    if clean is not None:
        axes[1].plot(clean.t_s - clean.t_s[0], clean.mm, color="#4e79a7")
    axes[1].set(xlabel="seconds", ylabel="pupil (mm)", title="pupil, blinks bridged")
    if probs is not None:
        axes[2].barh(EXPRESSIONS, probs, color="#59a14f")
    axes[2].set(xlabel="mean probability", title="face at rest")
    return {"Baseline: heart, pupil and resting face": fig}
