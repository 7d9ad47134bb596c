"""A wrist device's own heart-rate figure: a moving average of known length and delay.

Watches and optical armbands report an HR figure averaged over several seconds (often
5-10 s) and sent a little after (their processing, a notification's cadence). This one is
exactly that, so a calibration's lag and bias can be judged against the truth: once every
`every_s`, the mean rate (beats over their time) of the intervals that ended within the
`window_s` ending `delay_s` before now, times `bias`, rounded to whole bpm. Nothing of
calibration/hr.py's (its grid, its search) is used.

Its lag behind the beats' own rates (each stamped at the beat that ends its interval) is
the centre of its average, delay_s + window_s / 2: `true_lag_s`.
"""

from __future__ import annotations

import numpy as np


def true_lag_s(window_s: float, delay_s: float) -> float:
    """How late the figure is behind the beat-to-beat rate: its average's centre."""
    return delay_s + window_s / 2.0


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
