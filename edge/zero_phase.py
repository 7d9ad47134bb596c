"""scipy's sosfiltfilt without its per-call checks and steady-state solve: a seat's evidence
filters its kept samples again every second or beat (heart_evidence, ppg_evidence), and
those cost more than the filtering (sosfilt_zi ~0.2 ms a call)."""

from __future__ import annotations

import numpy as np
from scipy.signal import sosfilt_zi, sosfiltfilt

try:  # sosfilt's own kernel
    from scipy.signal._sosfilt import _sosfilt
except ImportError:  # a SciPy that moved it: the public function gives the same numbers
    _sosfilt = None


def plan(sos: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The filter, its steady-state conditions and sosfiltfilt's default padding."""
    zeros = min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum())
    return sos, sosfilt_zi(sos), 3 * (2 * len(sos) + 1 - int(zeros))


def filtfilt(p: tuple, x: np.ndarray) -> np.ndarray:
    """sosfiltfilt(sos, x) of 1-D float64 x (odd padding), step for step as scipy does it
    and so to the same numbers."""
    sos, zi, n = p
    if _sosfilt is None or len(x) <= n:  # (too short: scipy's own error, as before)
        return sosfiltfilt(sos, x)
    y = np.concatenate((2 * x[:1] - x[n:0:-1], x, 2 * x[-1:] - x[-2:-n - 2:-1]))[None, :]
    _sosfilt(sos, y, (zi * y[0, :1])[None])  # (in place, y and its conditions)
    y = np.ascontiguousarray(y[:, ::-1])
    _sosfilt(sos, y, (zi * y[0, :1])[None])
    return y[0, ::-1][n:-n]
