"""`empathy policy measure`: derive the simulated audience's measurement model.

Simulated people (`sim/viewer.py`: the demo seats' bodies, nuisances and sensors) watch the
sample story offline, their readings go through the real edge estimator
(`edge.features.SeatFeatures`, with the FER model on the rendered faces, exactly as an edge
unit runs it), and the fit says how the edge's per-seat arousal and valence follow the
hidden ones (`sim/measurement.py` has the model's form). The result is written as TOML,
with the command and seeds, to where `empathy policy simulate` reads it.

    empathy policy measure [--viewers 16] [--minutes 3] [--seed 0] [--no-faces]
                           [--out sim/measurement.toml] [--json]
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


RATE_HZ = 10.0
TICK_S = 0.02
REST_S = 30.0  # the resting baseline before the film, as a show should take it
LAGS_S = np.round(np.arange(0.0, 15.01, 0.25), 2)  # the aligned edge answers ~9 s late


@dataclass
class SeatRecord:
    truth_a: np.ndarray
    truth_v: np.ndarray
    est_a: np.ndarray
    est_v: np.ndarray
    good: np.ndarray  # the host would fuse this seat at this moment


def _film(story, rng, seconds: float):
    """A walk through the story (options at random), with shots of varying brightness:
    yields (t into the film, segment, t into the segment, luminance) every tick."""
    seg, t, variables = story.start, 0.0, dict(story.variables)
    while t < seconds:
        dur = story.segments[seg].duration_s
        base, shot_end, lum = rng.uniform(0.15, 0.6), 0.0, 0.3
        for i in range(int(dur / TICK_S)):
            ts = i * TICK_S
            if ts >= shot_end:  # a cut: a new shot, a new brightness
                shot_end = ts + rng.uniform(2.0, 5.0)
                lum = float(np.clip(base + rng.normal(0, 0.12), 0.02, 0.95))
            yield t + ts, seg, ts, lum
        t += dur
        d = story.decision_after(seg)
        if d is None:
            seg = story.segments[seg].next or story.start
            continue
        d = d.offer(variables)
        seg = str(rng.choice(list(d.options)))
        variables = d.take(seg, variables)


def record_seat(seed: int, story, impacts, minutes: float, faces_model=None) -> SeatRecord:
    """One simulated person through the real edge estimator, sampled at the send rate."""
    from empathy.edge.features import SeatFeatures
    from empathy.host.audience import SIGNAL
    from empathy.sim.faces import render_face
    from empathy.sim.impact import Impact
    from empathy.sim.viewer import SimViewer

    person = SimViewer(seed, 0, 0, render_face if faces_model else None)
    feats = SeatFeatures(REST_S, faces_model)
    rng = np.random.default_rng([seed, 7])
    rest = ((i * TICK_S, "", 0.0, 0.3) for i in range(int(REST_S / TICK_S)))
    film = ((REST_S + t, seg, ts, lum) for t, seg, ts, lum in _film(story, rng, minutes * 60))
    rows, out, n = [], [], 0
    for t, seg, ts, lum in (*rest, *film):
        n += 1
        t_us = n * int(TICK_S * 1e6)
        person.step(t_us, TICK_S, (seg, ts, lum), impacts.get(seg, Impact()), 0.0, out)
        feats.luminance = lum
        for r in out:
            feats.add(r)
        out.clear()
        if n % int(1 / (TICK_S * RATE_HZ)) == 0:
            e = feats.estimate(t_us)  # the edge learns its baseline in these calls
            if t < REST_S:
                continue
            rows.append((person.arousal, person.valence, e["arousal"], e["valence"],
                         bool(e["flags"] & SIGNAL)))
    a, v, ea, ev, g = (np.array(c) for c in zip(*rows))
    return SeatRecord(a, v, ea, ev, g.astype(bool))


def _lag(x: np.ndarray, lag_s: float) -> np.ndarray:
    from scipy import signal

    if lag_s <= 0:
        return x
    k = 1 - np.exp(-1 / RATE_HZ / lag_s)
    return signal.lfilter([k], [1, -(1 - k)], x, zi=[(1 - k) * x[0]])[0]


def fit(records: list[SeatRecord]) -> tuple[dict, dict]:
    """The measurement model's numbers, and how well it fits."""
    best = None
    for lag in LAGS_S:
        xs, ys = [], []
        for r in records:
            x, y = _lag(r.truth_a, lag)[r.good], r.est_a[r.good]
            if len(x) > 10:
                xs.append(x - x.mean())
                ys.append(y - y.mean())
        x, y = np.concatenate(xs), np.concatenate(ys)
        gain = float(x @ y / (x @ x))
        sse = float(((y - gain * x) ** 2).sum())
        if best is None or sse < best[0]:
            best = (sse, float(lag), gain, float(1 - sse / (y @ y)))
    _, lag, gain, r2 = best
    offsets, resid, pairs = [], [], []
    for r in records:
        x, y, g = _lag(r.truth_a, lag), r.est_a, r.good
        if g.sum() <= 10:
            continue
        off = float(np.mean(y[g] - gain * x[g]))
        offsets.append(off)
        e = np.where(g, y - gain * x - off, np.nan)
        resid.append(e[g])
        k = int(RATE_HZ)  # autocorrelation at 1 s, over pairs that both had signal
        both = g[:-k] & g[k:]
        pairs.append(np.stack([e[:-k][both], e[k:][both]]))
    e_all, p = np.concatenate(resid), np.concatenate(pairs, axis=1)
    v_true = np.concatenate([r.truth_v[r.good] for r in records])
    v_est = np.concatenate([r.est_v[r.good] for r in records])
    v_gain = float(v_true @ v_est / max(v_true @ v_true, 1e-9))
    model = {"gain": gain, "lag_s": lag, "offset_sd": float(np.std(offsets, ddof=1)),
             "noise_sd": float(np.std(e_all)),
             "noise_rho_1s": float(max(0.0, min(0.999, np.corrcoef(p)[0, 1]))),
             "valence_gain": v_gain, "valence_noise_sd": float(np.std(v_est - v_gain * v_true)),
             "good": float(np.mean(np.concatenate([r.good for r in records])))}
    return model, {"r2_within_seat": round(r2, 4), "seats": len(records),
                   "samples": int(sum(len(r.good) for r in records))}


def measure(args) -> int:
    import tomli_w
    from rich.progress import Progress

    from empathy.host.story import load
    from empathy.sim import SAMPLE_IMPACT
    from empathy.sim.impact import story_impacts
    from empathy.sim.measurement import DEFAULT, MeasurementModel

    sample = Path(__file__).resolve().parent / "sample" / "neon_rain.toml"
    story = load(sample, check_files=False)
    impacts = story_impacts(story, SAMPLE_IMPACT)
    model = None
    if not args.no_faces:
        from empathy.edge.expression import ExpressionModel
        model = ExpressionModel()  # the FER model, as every edge unit loads it
    seeds = [args.seed * 1000 + i for i in range(args.viewers)]
    records = []
    with Progress(disable=args.json) as bar:
        task = bar.add_task("simulated people through the edge", total=len(seeds))
        for s in seeds:
            records.append(record_seat(s, story, impacts, args.minutes, model))
            bar.advance(task)
    numbers, quality = fit(records)
    out = Path(args.out or DEFAULT)
    cmd = (f"empathy policy measure --viewers {args.viewers} --minutes {args.minutes:g} "
           f"--seed {args.seed}" + (" --no-faces" if args.no_faces else ""))
    doc = {"source": {"command": cmd, "viewers": args.viewers, "minutes": args.minutes,
                      "seeds": f"{seeds[0]}..{seeds[-1]}", "faces": not args.no_faces,
                      "story": "host/sample/neon_rain.toml with sim/neon_rain_impact.toml",
                      "edge": "edge.features.SeatFeatures" + ("" if args.no_faces else
                                                              " + the FER int8 model")},
           "model": {k: round(v, 4) for k, v in numbers.items()}, "fit": quality}
    try:
        out.write_text("# Written by `empathy policy measure` (host/policy_measure.py); see "
                       "sim/measurement.py.\n" + tomli_w.dumps(doc))
        MeasurementModel.load(out)  # what we wrote must read back
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**doc, "out": str(out)}))
    else:
        print(f"{out}: " + ", ".join(f"{k} {v:.3f}" for k, v in numbers.items())
              + f"; within-seat R² {quality['r2_within_seat']:.3f}")
    return 0
