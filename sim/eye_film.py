"""A viewer's eye at the film, for tests and benches of the edge's pupil path: the
physiological eye (sim/physiology.py: a latency, two-stage constriction and slower
redilation, Watson & Yellott's size for the screen's luminance; none of the edge's
constants) watching cuts of 2-8 s with a slow arousal of its own, through a 30 Hz eye
camera with noise and blinks."""

from __future__ import annotations

import numpy as np

from empathy.sim.physiology import BodyTraits, Pupil

DT, CAMERA_HZ = 0.02, 30.0


def eye_film(duration_s: float, seed: int):
    """t (s), the screen's light (code value 0..1), pupil (mm, 0 in a blink), confidence,
    the hidden arousal; at the camera's rate."""
    rng = np.random.default_rng([seed, 29])
    n = int(duration_s / DT)
    cuts = np.cumsum(rng.uniform(2, 8, int(duration_s)))
    lum = rng.uniform(0.05, 0.95, len(cuts))[np.searchsorted(cuts, np.arange(n) * DT)]
    arousal = np.convolve(rng.normal(0, 1, n), np.ones(400) / 400, "same")  # over 8 s
    arousal = arousal / (np.std(arousal) or 1) * 0.4
    eye = Pupil(BodyTraits.draw(rng), rng, float(lum[0]), DT)
    mm = np.array([eye.step(DT, v, 0.0, a) for v, a in zip(lum, arousal)])
    k = np.unique((np.arange(0, duration_s, 1 / CAMERA_HZ) / DT + 1e-9).astype(int))
    t, mm = k * DT, mm[k] + rng.normal(0, 0.02, len(k))
    conf = np.full(len(k), 0.95)
    for start in rng.uniform(0, duration_s, int(duration_s * 0.25)):
        m = (t >= start) & (t < start + rng.uniform(0.1, 0.25))
        mm[m], conf[m] = 0.0, 0.0
    return t, lum[k], mm, conf, arousal[k]
