"""The estimator's variants on the TUNING seeds without the real-time demo.

`empathy bench estimate` runs real demos, whose edge units starve on a loaded machine and
whose figure then says more about the machine than the estimator. Here the demo's simulated
people (`sim/viewer.py`) watch the sample story through the real `SeatFeatures` (the FER
model on their rendered faces) at simulated time: 8 per seed, a 30-s rest, then 60 s of
film, the seeds 101-105 (never the reported one). Several estimator variants read the same
readings side by side: signals aligned on their response times (`fusion.Aligner`) and
judged against the truth at the latency they declare, or fused as they come and judged at
0 s; and heart-rate windows (`HR_WINDOW_S`). Per seed, each seat's estimate (and each
channel alone, and all but each) is fused over seats with the host's trimmed mean and
correlated with the seats' mean hidden arousal; then the mean r over seeds with a 95 %
interval across seeds, as `bench estimate` gives it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from empathy.bench.bench_estimate import (DURATION_S, REPORTED_SEEDS, SEATS, TUNING_SEEDS,
                                          _fig, across_seeds)

OFFLINE_VARIANTS = (("unaligned", 5.0), ("aligned", 3.0), ("aligned", 5.0), ("aligned", 8.0))
OFFLINE_KEYS = ("arousal", "heart", "pupil", "face", "no_heart", "no_pupil", "no_face")
OFFLINE_RATE_HZ = 2.0


class _SharedModel:
    """One inference per face crop however many estimator variants read it."""

    def __init__(self, model):
        self.inner, self.image, self.probs = model, None, None

    def predict(self, image):
        if image is not self.image:
            self.image, self.probs = image, self.inner.predict(image)
        return self.probs


def _offline_seat(seed: int, story, impacts, model, variants) -> tuple:
    """One simulated person: (truth t_s and arousal, per sample (t_s, per variant channels))."""
    from empathy.edge.features import SeatFeatures
    from empathy.host.audience import SIGNAL
    from empathy.host.policy_measure import REST_S, TICK_S, _film
    from empathy.sim.faces import render_face
    from empathy.sim.impact import Impact
    from empathy.sim.viewer import SimViewer

    person = SimViewer(seed, 0, 0, render_face)
    feats = [SeatFeatures(REST_S, model, hr_window_s=w, aligned=mode == "aligned")
             for mode, w in variants]
    rng = np.random.default_rng([seed, 7])
    rest = ((i * TICK_S, "", 0.0, 0.3) for i in range(int(REST_S / TICK_S)))
    film = ((REST_S + t, sg, ts, lum) for t, sg, ts, lum in _film(story, rng, DURATION_S))
    out, truth, rows = [], [], []
    every = int(1 / (TICK_S * OFFLINE_RATE_HZ))
    for n, (t, sg, ts, lum) in enumerate((*rest, *film), 1):
        t_us = n * int(TICK_S * 1e6)
        person.step(t_us, TICK_S, (sg, ts, lum), impacts.get(sg, Impact()), 0.0, out)
        for f in feats:
            f.luminance = lum
            for r in out:
                f.add(r)
        out.clear()
        truth.append((t, person.arousal))
        if n % every == 0:
            row = []
            for f in feats:
                good = bool(f.estimate(t_us)["flags"] & SIGNAL)
                c = f.channels()
                row.append([c.get(k) if good else None for k in OFFLINE_KEYS])
            if t >= REST_S:
                rows.append((t, row))
    return np.array(truth), rows, [f.aligner.lag_s for f in feats]


def offline_seed(seed: int, model, variants=OFFLINE_VARIANTS, viewers: int = SEATS) -> dict:
    """(mode, hr window, channel) -> r against the audience's truth at the declared latency."""
    from empathy.host.audience import trimmed_mean
    from empathy.host.evaluate import agreement
    from empathy.host.story import load
    from empathy.sim import SAMPLE_IMPACT
    from empathy.sim.impact import story_impacts

    story = load(Path(__file__).resolve().parents[1] / "host/sample/neon_rain.toml",
                 check_files=False)
    impacts = story_impacts(story, SAMPLE_IMPACT)
    seats = [_offline_seat(seed * 1000 + i, story, impacts, model, variants)
             for i in range(viewers)]
    t_s = np.array([r[0] for r in seats[0][1]])
    truth_t = seats[0][0][:, 0]
    truth = np.mean([s[0][:, 1] for s in seats], axis=0)
    res = {}
    for v, (mode, w) in enumerate(variants):
        at = np.interp(t_s - seats[0][2][v], truth_t, truth)
        for j, key in enumerate(OFFLINE_KEYS):
            fused = []
            for i in range(len(t_s)):
                col = [s[1][i][1][v][j] for s in seats if s[1][i][1][v][j] is not None]
                fused.append(trimmed_mean(np.array(col)) if col else np.nan)
            res[(mode, w, key)] = agreement(np.array(fused), at, OFFLINE_RATE_HZ)["r"]
    return res


def run(seeds=TUNING_SEEDS, variants=OFFLINE_VARIANTS) -> list[dict]:
    """Mean r over seeds (95 % interval across seeds) per variant and channel."""
    from empathy.edge.expression import ExpressionModel

    if set(seeds) & set(REPORTED_SEEDS):
        raise ValueError("the reported seeds are not for tuning")
    model = _SharedModel(ExpressionModel())
    rs: dict = {}
    for seed in seeds:
        for k, r in offline_seed(seed, model, variants).items():
            if r is not None:
                rs.setdefault(k, []).append(r)
    out = []
    for (mode, w, key), vals in rs.items():
        m, lo, hi = across_seeds(vals)
        name = f"offline r: {mode}, HR window {w:g} s, {key} ({len(vals)} seeds)"
        out.append(_fig(name, m, "r"))
        out.append(_fig(f"{name}, 95 % low", lo, "r"))
        out.append(_fig(f"{name}, 95 % high", hi, "r"))
    return out
