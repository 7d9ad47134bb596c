"""Heart devices worn over a real RR series, as a calibration sees them: a wrist device's
own figure (a moving average of known length and delay), a strap's HR field
(sim/hr_device.py) and a PPG seat's beats, each `bias` high. Nothing of
calibration/hr.py's (its grid, its search) is used.

Watches and optical armbands report an HR figure averaged over several seconds (often
5-10 s) and sent a little after (their processing, a notification's cadence). This one is
exactly that, so a calibration's lag and bias can be judged against the truth: once every
`every_s`, the mean rate (beats over their time) of the intervals that ended within the
`window_s` ending `delay_s` before now, times `bias`, rounded to whole bpm.

Its lag behind the heart (each interval's rate over the interval itself) is how far the
centre of what a figure counted lies behind when the figure is shown: `true_lag_s`.
"""

from __future__ import annotations

import numpy as np

from empathy.sim.hr_device import HrDevice

PULSE_ARRIVAL_S = 0.2  # ECG R wave to the pulse at a seat's finger sensor ...
PULSE_SWAY_S = 0.02  # ... swaying this much with breathing (a 4-s cycle) ...
PULSE_JITTER_S = 0.008  # ... and each foot found within this of where it is


def true_lag_s(rr_ms: np.ndarray, window_s: float, delay_s: float,
               every_s: float = 1.0) -> float:
    """How late the figure is behind the heart: the intervals it counts, those that ended
    in its window, span on average from half an interval before the window's start to half
    one before its end, centred delay_s + window_s / 2 + RR / 2 before the figure is sent;
    and a figure shown until the next is every_s / 2 older on average."""
    return delay_s + window_s / 2.0 + float(np.mean(rr_ms)) / 2000.0 + every_s / 2.0


def watch_figures(rr_ms: np.ndarray, window_s: float, delay_s: float, bias: float = 1.0,
                  every_s: float = 1.0, phase_s: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """(times s, figures bpm) of a device worn over beats `rr_ms` (the first beat at 0 s),
    every `every_s` from `phase_s` once its first window is full; 0 where a window holds no
    interval (the device's "no reading")."""
    if not (window_s > 0 and delay_s >= 0 and every_s > 0):
        raise ValueError("window_s > 0, delay_s >= 0, every_s > 0")
    rr = np.asarray(rr_ms, float)
    ends = np.cumsum(rr) / 1e3
    ticks = np.arange(phase_s, ends[-1], every_s)
    ticks = ticks[ticks >= ends[0] + window_s + delay_s]
    total = np.concatenate(([0.0], np.cumsum(rr)))  # ms of the intervals ended so far
    hi = np.searchsorted(ends, ticks - delay_s, "right")  # intervals ended by the window's end
    lo = np.searchsorted(ends, ticks - delay_s - window_s, "right")
    n, ms = hi - lo, total[hi] - total[lo]
    rate = np.where(n > 0, 60000.0 * n / np.where(ms > 0, ms, 1.0), 0.0)
    return ticks, np.round(rate * bias)


def strap_figures(rr_ms: np.ndarray, bias: float = 1.0,
                  every_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(times s, figures bpm) of a strap's own HR field (sim/hr_device.HrDevice) over beats
    `rr_ms` (the first ending at rr_ms[0]), its clock `bias` fast (intervals read short)."""
    rr = np.asarray(rr_ms, float)
    ends, dev, k, out = np.cumsum(rr) / 1e3, HrDevice(), 0, []
    for t in np.arange(0.3, ends[-1], every_s):
        while k < len(rr) and ends[k] <= t:
            dev.beat(ends[k], rr[k] / bias)
            k += 1
        out.append((t, dev.tick(t)[0]))
    t, fig = np.array(out).T
    return t, fig


def ppg_beats(rr_ms: np.ndarray, bias: float = 1.0,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(beat times s, intervals ms) of a PPG seat over beats `rr_ms`: each pulse found
    PULSE_ARRIVAL_S after its R wave (swaying with breathing, jittered), its intervals timed
    by the sensor's clock `bias` fast (read short)."""
    ends = np.cumsum(np.asarray(rr_ms, float)) / 1e3
    rng = np.random.default_rng(seed)
    feet = (ends + PULSE_ARRIVAL_S + PULSE_SWAY_S * np.sin(2 * np.pi * ends / 4.0)
            + rng.normal(0, PULSE_JITTER_S, len(ends)))
    return feet[1:], np.diff(feet) * 1e3 / bias
