"""Viewer light response: full-screen grey levels through the show player, pupil recorded, fit.

The edge unit takes the screen's light out of the pupil with `edge.pupil.LightResponse`
(pupil = base - gain_mm * reflex(luminance)). Here each viewer's own gain and lags are
measured (a latency, then constriction and redilation each with its own time constant;
tau_s sums them up as one symmetric lag): the real player shows a short sequence of
grey levels (what reaches the screen is measured from the graded frames, not assumed), the
eye source is read at the same time on the same clock, and the model is fitted to the
cleaned pupil.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from empathy.edge.profile import LIGHT_TAU_S
from empathy.edge.pupil import LightResponse, light_drive, pupil_clean, reflex
from empathy.sensors.base import Pupil, open_source

from .report import Check, Result
from .screen import FPS, render_clip

LEVELS = (0.05, 0.85, 0.25, 0.95, 0.45, 0.05)  # dark start; big and small steps both ways
STEP_S = 2.5  # ~6 time constants: each step settles
PLOT_S = 0.01  # the fitted model is drawn on this grid
TAU_RANGE_S = LIGHT_TAU_S  # the lags searched are the ones a viewer file may give the edge
LATENCY_RANGE_S = (0.0, 0.6)
LATENCY_STARTS_S = (0.05, 0.3, 0.55)  # spread over the range, not a prior


@dataclass(frozen=True)
class LightFit:
    response: LightResponse  # what the edge unit uses
    base_mm: float           # pupil in the dark (luminance 0)
    rmse_mm: float
    r2: float
    latency_s: float         # light to the start of the pupil's answer
    constrict_s: float       # time constant after the latency, light rising
    dilate_s: float          # the same, light falling


def _lum_at(frame_s: np.ndarray, frame_lum: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Luminance on screen at each time: each frame's value holds until the next frame."""
    i = np.clip(np.searchsorted(frame_s, t_s, side="right") - 1, 0, len(frame_s) - 1)
    return frame_lum[i]


def light_fit(frame_s, frame_lum, pupil_s, pupil_mm) -> LightFit:
    """Fit pupil = base - gain * reflex(light; latency, constrict, dilate) to a recorded
    pupil, the light being the log of each frame's (`edge.pupil.light_drive`: the size
    follows the log of luminance; on the code value a calibrated seat kept more of the
    screen in its residual than an uncalibrated one, 0.218 against 0.137 mm RMS).
    A pupil starts to answer ~0.19 s after the light ("The reaction time of the normal
    pupil", Arch. Ophthalmol. 1930s) and constricts and redilates through separate phases
    (Heller et al., IOVS 1990), redilation the slower: one time constant fitted neither, and
    its gain came out 0.48-1.09 of simulated viewers' settled slope. Base and gain (and how far
    from the first level the eye started) are solved exactly for each set of lags; the lags
    by a bounded search started from the best single time constant."""
    frame_s, frame_lum = np.asarray(frame_s, float), np.asarray(frame_lum, float)
    t, mm = np.asarray(pupil_s, float), np.asarray(pupil_mm, float)
    ok = np.isfinite(mm) & (t >= frame_s[0]) & (t <= frame_s[-1])
    t, mm = t[ok], mm[ok]
    if len(t) < 30:
        raise ValueError(f"only {len(t)} usable pupil samples while the sequence played")
    if np.std(_lum_at(frame_s, frame_lum, t)) < 0.05:
        raise ValueError("the screen's luminance barely changed: nothing to fit")

    drive = light_drive(frame_lum)

    def solve(p):
        latency, up, down = p
        x = reflex(frame_s, drive, t, latency, up, down)
        # The eye has not adapted to the first level yet when the sequence starts (it came
        # from the room's light): whatever it was adapted to fades at the redilation pace,
        # with an amplitude of its own, solved with base and gain.
        settle = np.exp(-(t - frame_s[0]) / down)
        a = np.column_stack([np.ones_like(x), -x, settle])
        coef = np.linalg.lstsq(a, mm, rcond=None)[0]
        return float(np.sum((a @ coef - mm) ** 2)), coef[:2]

    one = minimize_scalar(lambda s: solve((0.0, s, s))[0], bounds=TAU_RANGE_S,
                          method="bounded", options={"xatol": 1e-3}).x
    bounds = [LATENCY_RANGE_S, TAU_RANGE_S, TAU_RANGE_S]
    # From a few latencies across the range: started on its bound, the search stayed there.
    best = min((minimize(lambda p: solve(p)[0], [lag, one, one], method="Nelder-Mead",
                         bounds=bounds, options={"xatol": 1e-3, "fatol": 1e-9, "maxfev": 400})
                for lag in LATENCY_STARTS_S), key=lambda r: r.fun)
    latency, up, down = (float(v) for v in best.x)
    sse, (base, gain) = solve((latency, up, down))
    r2 = 1 - sse / float(np.sum((mm - mm.mean()) ** 2))
    # The one symmetric lag a file without the phases gives the edge: the geometric mean of
    # a constriction's and a redilation's (each latency plus its time constant).
    tau = math.sqrt((latency + up) * (latency + down))
    return LightFit(LightResponse(float(gain), tau, latency, up, down, log_light=True), float(base),
                    float(np.sqrt(sse / len(t))), float(r2), latency, up, down)


def grey_clips(folder: Path, levels=LEVELS, step_s: float = STEP_S) -> list:
    """One plain grey clip per level (rendered once, reused)."""
    from empathy.host.player.player import Clip

    return [Clip(f"grey{i}", render_clip(folder / f"grey_{int(round(v * 255)):03d}_{step_s:g}s.mp4",
                                         int(round(step_s * FPS)), lambda _n, v=v: v), None)
            for i, v in enumerate(levels)]


def eye_source(url: str):
    """Opener for `play_and_record`: the eye source, told what is on screen."""
    return lambda screen: open_source(url, screen=screen, faces=False)


def light_calibrate(frames: np.ndarray, pupils: list[Pupil], viewer_id: str,
                    expected_s: float, max_constrict_s: float = 1.5, min_r2: float = 0.8,
                    min_gain_mm: float = 0.3) -> Result:
    """Clean the pupil, fit the response, judge it. frames: rows of (wall_s, pts_s, lum)."""
    pupils = [p for p in pupils if isinstance(p, Pupil)]
    res = Result("light", f"Light response of viewer {viewer_id}")
    res.figures["frames_shown"] = len(frames)
    res.figures["pupil_samples"] = len(pupils)
    if len(frames) < 2 or len(pupils) < 30:
        res.errors.append(f"too little recorded: {len(frames)} frames, {len(pupils)} pupil "
                          "samples (is the eye camera running and the viewer in place?)")
        return res
    t = np.array([p.ts_us for p in pupils]) / 1e6
    # No outlier test against the recording's median: the sequence drives the pupil across
    # its range on purpose, and that test cut the widest pupil, before the first bright
    # step, the more so the longer the eye sat in the dark (24 of 255 samples, gain 2.69 ->
    # 1.52 mm in one loaded run). Spikes are still caught by their speed, as blinks are.
    clean = pupil_clean(t, [p.diameter_mm for p in pupils], [p.confidence for p in pupils],
                        outliers=False)
    # Blinks found by the cleaner are left out; its smoothing is not used, because
    # averaging over 150 ms would make the reflex look slower than it is.
    good = np.isfinite(clean.mm) & ~clean.bridged
    valid_pct = 100.0 * float(np.mean(good))
    raw = np.array([p.diameter_mm for p in pupils])
    fit = light_fit(frames[:, 0], frames[:, 2], t[good], raw[good])
    shown_s = float(frames[-1, 0] - frames[0, 0])
    res.figures.update({
        "base_mm": round(fit.base_mm, 3),
        "gain_mm": round(fit.response.gain_mm, 3),
        "scale": "log10",  # the gain is per log10 of the light (edge.pupil.light_drive)
        "tau_s": round(fit.response.tau_s, 3),
        "latency_s": round(fit.latency_s, 3),
        "constrict_s": round(fit.constrict_s, 3),
        "dilate_s": round(fit.dilate_s, 3),
        "rmse_mm": round(fit.rmse_mm, 3),
        "r2": round(fit.r2, 4),
        "blinks": clean.blinks,
        "valid_pupil_pct": round(valid_pct, 1),
        "played_s": round(shown_s, 2),
    })
    res.checks += [
        Check("fit R²", fit.r2, min_r2, kind="min", hint="the viewer moved or looked away"),
        Check("light gain", fit.response.gain_mm, min_gain_mm, "mm", kind="min",
              hint="the pupil hardly answered the light: check the eye camera"),
        # A constriction this slow is a fit gone wrong (or no reflex); redilation is slow by
        # nature (seconds), so the one-lag tau is judged only against what the edge takes.
        Check("constriction", fit.latency_s + fit.constrict_s, max_constrict_s, "s",
              hint="implausibly slow: check the eye camera and that the viewer faced the screen"),
        Check("time constant", fit.response.tau_s, LIGHT_TAU_S[1], "s",
              hint="beyond what the edge's light model takes"),
        Check("valid pupil", valid_pct, 60.0, "%", kind="min", hint="too many blinks or losses"),
        Check("sequence shown", shown_s, 0.9 * expected_s, "s", kind="min",
              hint="the player stopped early"),
    ]
    res.plot = lambda: _plots(frames, clean, fit)
    return res


def _plots(frames, clean, fit: LightFit) -> dict:
    from empathy.plots import pyplot

    plt = pyplot()

    t0 = frames[0, 0]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                 gridspec_kw={"height_ratios": [1, 2]})
    a1.step(frames[:, 0] - t0, frames[:, 2], where="post", color="#888")
    a1.set_ylabel("screen luminance")
    grid = np.arange(frames[0, 0], clean.t_s[-1], PLOT_S)
    model = fit.base_mm - fit.response.gain_mm * reflex(
        frames[:, 0], light_drive(frames[:, 2]), grid, fit.latency_s, fit.constrict_s,
        fit.dilate_s)
    a2.plot(clean.t_s - t0, clean.mm, ".", ms=3, color="#4e79a7",
            label="pupil (blinks bridged, smoothed)")
    a2.plot(grid - t0, model, color="#e15759", lw=1.5,
            label=f"fit: {fit.base_mm:.2f} mm - {fit.response.gain_mm:.2f} mm x reflex(log light; "
                  f"latency {fit.latency_s:.2f} s, constrict {fit.constrict_s:.2f} s, "
                  f"redilate {fit.dilate_s:.2f} s)")
    a2.set_ylabel("pupil diameter (mm)")
    a2.set_xlabel("seconds")
    a2.legend(fontsize=8)
    return {"Light-response fit": fig}
