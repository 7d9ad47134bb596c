"""How much of the screen's light the edge leaves in a seat's residual pupil (its arousal
signal), with a viewer's light response as `calibrate light` measures it: the one
symmetric lag (tau_s) against the two-phase reflex (latency, constriction, redilation),
both on the log of the light; `code`, the two-phase reflex fitted on the frame's code value
(before pass 29).

Each simulated viewer (sim/physiology.py: delayed, two-stage, asymmetric reflex, arousal
and hippus on top) is calibrated in-process on the grey steps of `calibrate light`
(calibration/light.py light_fit), then watches a film-like screen: cuts and fades between
random levels, with its own slow arousal. The pupil is sampled at the sim eye camera's
30 Hz; the edge's residual (edge.pupil.pupil_residual) is compared with the simulator's
non-light pupil (arousal + hippus + offset): the RMS of their difference after its mean
(a constant does not matter to z-scores; much of it is the static map, light to
diameter, that a linear gain misses either way), its transient part after cuts and fades
(`transient`: what the lag's shape decides), and the residual's correlation with the
screen. Medians over viewers; two_better: viewers whose transient error the reflex cut.

`--online`: the same viewers uncalibrated, as most seats are (a kiosk's visitor, a
cinema's audience): the seat's stream (edge.pupil.PupilStream, one reading at a time)
assumes a reflex and fits only the gain online: now the typical eye's two-phase reflex
(`UNCALIBRATED`) on the log of the light (`light_drive`); `one` is the stream before, one
symmetric 0.4-s lag on the code value; `two`, now. Scored from 30 s on (the fit's first
stretch), the stream's residual against the non-light pupil over the same 1-s window.

    python -m empathy.bench.light_residual [--seeds 0:20] [--online] [--json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from empathy.calibration.light import LEVELS, STEP_S, light_fit
from empathy.edge.pupil import (DARK_CODE, UNCALIBRATED, LightResponse, PupilStream,
                                pupil_residual)
from empathy.sim.physiology import BodyTraits, Pupil

DT = 0.02  # the simulator's step (sim/viewer.py)
PUPIL_HZ = 30.0  # the sim eye camera's (sim/viewer.py), on the simulator's steps
FILM_S = 120.0
NOISE_MM = 0.02


def _run(pupil: Pupil, lum: np.ndarray, arousal: np.ndarray):
    light, mm = np.empty(len(lum)), np.empty(len(lum))
    for i, (v, a) in enumerate(zip(lum, arousal)):
        mm[i] = pupil.step(DT, v, 0.0, a)
        light[i] = pupil.light2
    return mm, mm - light


def film(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list]:
    """Cuts and fades between random levels, each shot 1.5-8 s; and where shots start."""
    out, level, i, starts = np.empty(n), float(rng.uniform(0.05, 0.9)), 0, []
    while i < n:
        starts.append(i)
        nxt = float(rng.uniform(0.02, 0.95))
        fade = int(rng.uniform(0.5, 3.0) / DT) if rng.random() < 0.4 else 0
        hold = int(rng.uniform(1.5, 8.0) / DT)
        seg = np.concatenate([np.linspace(level, nxt, fade + 1)[1:], np.full(hold, nxt)])
        out[i:i + len(seg)] = seg[:n - i]
        i += len(seg)
        level = nxt
    return out, starts + [n]


def transient(t: np.ndarray, err: np.ndarray, starts: list) -> np.ndarray:
    """The error in each shot's first 3 s less the same shot's settled error (its last
    second; shots of 4 s or more): the part the lag's shape makes, not the static map."""
    out = []
    for a, b in zip(starts, starts[1:]):
        t0, t1 = a * DT, b * DT
        if t1 - t0 >= 4.0:
            settled = np.median(err[(t >= t1 - 1.0) & (t < t1)])
            out.append(err[(t >= t0) & (t < t0 + 3.0)] - settled)
    return np.concatenate(out)


def _undrive(code: np.ndarray) -> np.ndarray:
    """What light_drive takes to give back `code`."""
    return (10.0 ** np.asarray(code, float) - 1.0) * DARK_CODE


def viewer(seed: int) -> dict:
    rng = np.random.default_rng([seed, 2806])
    body = BodyTraits.draw(rng)
    # calibration: from the room's light, the grey steps, pupil sampled with camera noise
    steps = np.repeat(LEVELS, int(round(STEP_S / DT)))
    eye = Pupil(body, rng, 0.3, DT)
    mm, _ = _run(eye, steps, np.zeros(len(steps)))
    t = np.arange(len(steps)) * DT
    frame_s = np.arange(len(LEVELS) + 1) * STEP_S
    frame_lum = np.append(LEVELS, LEVELS[-1])
    seen = mm + rng.normal(0, NOISE_MM, len(mm))
    two = light_fit(frame_s, frame_lum, t, seen).response
    one = replace(two, latency_s=None, constrict_s=None, dilate_s=None)
    # `code`: the two-phase fit as it was before the log (pass 29): on the code value, which
    # the fit's log turns back into exactly (`light_drive` of this is the code value)
    code = replace(light_fit(frame_s, _undrive(frame_lum), t, seen).response, log_light=False)
    t, mm, lum, rest, starts = _watch(rng, body)
    out = {"seed": seed}
    for name, model in (("code", code), ("one", one), ("two", two)):
        err = pupil_residual(t, mm, lum, model) - rest
        out[f"rms_{name}"] = float(np.std(err))
        out[f"trans_{name}"] = float(np.sqrt(np.mean(transient(t, err, starts) ** 2)))
        out[f"corr_{name}"] = float(np.corrcoef(pupil_residual(t, mm, lum, model), lum)[0, 1])
        out[f"truth_r_{name}"] = float(np.corrcoef(pupil_residual(t, mm, lum, model), rest)[0, 1])
    out["rest_sd"] = float(np.std(rest))
    return out


def _viewing(seed: int):
    """A viewer's body and a film they watch (`_watch`), uncalibrated."""
    rng = np.random.default_rng([seed, 2806])
    return _watch(rng, BodyTraits.draw(rng))


def _watch(rng: np.random.Generator, body: BodyTraits):
    """The film, with a slow arousal of its own (not tied to the light), sampled at the
    camera: t, pupil, light, the non-light pupil, and where shots start."""
    n = int(FILM_S / DT)
    lum, starts = film(rng, n)
    arousal = np.clip(np.cumsum(rng.normal(0, 0.02, n)), -0.5, 1.5)
    eye = Pupil(body, rng, float(lum[0]), DT)
    mm, rest = _run(eye, lum, arousal)
    k = np.unique((np.arange(0, FILM_S, 1 / PUPIL_HZ) / DT + 1e-9).astype(int))
    return (np.arange(n)[k] * DT, mm[k] + rng.normal(0, NOISE_MM, len(k)), lum[k], rest[k],
            starts)


def stream_residual(t, mm, lum, assumed: LightResponse) -> np.ndarray:
    """The uncalibrated seat's residual pupil at each reading (NaN before it has one)."""
    s, out = PupilStream(None, assumed=assumed), np.full(len(t), np.nan)
    for i, (ti, mi, li) in enumerate(zip(t, mm, lum)):
        us = int(ti * 1e6)
        s.add(us, float(mi), 1.0, float(li))
        out[i] = s.residual_mm(us) or np.nan
    return out


def online_viewer(seed: int) -> dict:
    t, mm, lum, rest, starts = _viewing(seed)
    # the truth as the stream reads the pupil: a median over its last second
    w = int(PUPIL_HZ)
    rest1 = np.array([np.median(rest[max(0, i - w + 1):i + 1]) for i in range(len(t))])
    out, late = {"seed": seed}, t >= 30.0
    for name, shape in (("one", LightResponse(0.0)), ("two", UNCALIBRATED)):
        res = stream_residual(t, mm, lum, shape)
        ok = late & np.isfinite(res)
        err = res[ok] - rest1[ok]
        out[f"rms_{name}"] = float(np.std(err))
        out[f"trans_{name}"] = float(np.sqrt(np.mean(
            transient(t[ok], err, [i for i in starts if i * DT >= 30.0]) ** 2)))
        out[f"corr_{name}"] = float(np.corrcoef(res[ok], lum[ok])[0, 1])
        out[f"truth_r_{name}"] = float(np.corrcoef(res[ok], rest1[ok])[0, 1])
    out["rest_sd"] = float(np.std(rest1[late]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0:20", help="FIRST:END, END excluded")
    ap.add_argument("--online", action="store_true",
                    help="uncalibrated viewers: the seat's stream with an assumed reflex")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    lo, hi = (int(x) for x in args.seeds.split(":"))
    rows = [(online_viewer if args.online else viewer)(s) for s in range(lo, hi)]
    summary = {k: float(np.median([r[k] for r in rows])) for k in rows[0] if k != "seed"}
    summary["two_better"] = sum(r["trans_two"] < r["trans_one"] for r in rows)
    summary["viewers"] = len(rows)
    if args.json:
        print(json.dumps({"summary": summary, "viewers": rows}))
    else:
        print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
