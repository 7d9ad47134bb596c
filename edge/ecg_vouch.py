"""A seat's ECG: beats whose QRS it can't vouch for, so its HR is withheld (HR_OK off).

Electrode motion makes waves the detector takes for beats, and a seat's HR counts every
interval (heart_window.hr_bpm): one such beat in the 8-s HR window reads ~7 bpm high. Noise
in an arrhythmic lead can't be told by the detector's window contrast (a PVC lead's swings
as noise's does) nor by beat quality (PVCs' sqi 0.54-0.71, noise's 0.35-0.73; the
seventeenth pass's red team, tests/redteam/test_heart19.py). Two things can:

- a heart repeats its complexes, PVCs included (an ectopic focus fires the same way), while
  noise's waves are rarely alike: a beat is vouched for once its slope (ecg_ectopic's:
  a difference over SPAN_S, less its line) correlates at MATCH or more, at a lag up to
  ecg_ectopic.LAG, with another beat's within ROWS_S (before or after it);
- electrode motion's waves are rounded: their steepest raw slope is under ROUNDED of the
  vouched beats' median in the window, where a QRS's, even a small one's, is not.

A beat neither vouched for nor steep in the HR window withholds HR. Tuning records (seat,
an estimate a second, 20-180 s): see SHAPE_NOTE in the pass notes of this change.
"""

from __future__ import annotations

import numpy as np

from empathy.edge.ecg_ectopic import LAG, POST, PRE, _rows, _unit

MATCH = 0.9  # a slope correlation this high with another beat's: the same complex
ALIKE = 1  # ... with this many other beats
ROUNDED = 0.4  # a beat's steepest slope under this share of the vouched beats': rounded
_STEEP_S = 0.05  # the steepest raw slope is sought within this of the beat
# the slope is taken over this span, not one sample: at 360 Hz MIT-BIH 101's one-sample
# differences are mostly its ADC steps (its beats matched each other at 0.70 median)
SPAN_S = 0.01


class ShapeVouch:
    """Per ECG beat of a seat's last `keep_s`: its slope row, steepest slope, and whether
    another beat's slope matched it."""

    def __init__(self, fs: float, keep_s: float):
        s = lambda sec: int(round(sec * fs))  # noqa: E731
        self.pre, self.post, self.lag, self.steep = s(PRE), s(POST), s(LAG), max(1, s(_STEEP_S))
        self.span = max(1, s(SPAN_S))
        self.keep_us = keep_s * 1e6
        self.t_us, self.sharp, self.alike = np.zeros(0), np.zeros(0), np.zeros(0, int)
        self.rows = np.zeros((0, self.pre + self.post + 1))

    def add(self, x: np.ndarray, idx, ts_us) -> None:
        """Beats at x's indices idx (their stretch in x), stamped ts_us, in time order."""
        for i, t in zip(np.asarray(idx, int), np.asarray(ts_us, float)):
            a, z = i - self.pre - self.lag, i + self.post + self.lag + self.span + 1
            if a < 0 or z > len(x):
                continue
            w = x[a + self.span:z] - x[a:z - self.span]
            keep = self.t_us >= t - self.keep_us
            self.t_us, self.sharp = self.t_us[keep], self.sharp[keep]
            self.alike, self.rows = self.alike[keep], self.rows[keep]
            hit = (_rows(w, self.lag, self.rows) >= MATCH if len(self.rows)
                   else np.zeros(0, bool))
            self.alike = self.alike + hit
            d = np.abs(np.diff(x[max(0, i - self.steep):i + self.steep + 1]))
            self.t_us = np.append(self.t_us, t)
            self.sharp = np.append(self.sharp, d.max() if len(d) else 0.0)
            self.alike = np.append(self.alike, int(hit.sum()))
            self.rows = np.vstack((self.rows, _unit(w[self.lag:len(w) - self.lag][None])))

    def shift(self, step_us: float) -> None:
        self.t_us = self.t_us + step_us

    def doubt(self, at_us: float, window_s: float) -> bool:
        """A beat of the window (at_us - window_s, at_us] like no other and rounded."""
        w = (self.t_us > at_us - window_s * 1e6) & (self.t_us <= at_us)
        if not w.any():
            return False
        odd = (self.alike[w] < ALIKE) & (self.sharp[w] < ROUNDED * np.median(self.sharp[w]))
        return bool(odd.any())
