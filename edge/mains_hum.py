"""Mains hum, not a heart: an ECG input whose raw power is mostly at 50/60 Hz.

An electrode off leaves the front end's input floating, and a floating input picks up the
room's mains. The beat detector's band-pass and its candidates can't tell that from a heart:
noise's candidates came every few seconds, so a source with no lead-off reading (a strap's
ECG, a board without LO pins) kept CONTACT on in 77 of 83 estimates
(tests/redteam/test_heart20). A heart's power is spread over 0.5-40 Hz; hum's is in narrow
lines at the mains frequency and its harmonics. Judged on the raw samples (no notch yet).

Share of the power above 0.5 Hz within MAINS_BW_HZ of 50 or 60 Hz or a harmonic of either
below Nyquist, over the newest WINDOW_S: every tuning ECG record (all 38, 2-s windows each 1 s
over their first 600 s, at their own rate and at an H10's 130 Hz) reached at most 0.17
(mitdb-101; all others 0.09 and under); a floating input in hum three times its noise's rms
0.76 and over. HUM_SHARE sits between.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 2.0  # 0.5-Hz bins: the mains lines stand apart from a heart's spread
MAINS_HZ = (50.0, 60.0)
MAINS_BW_HZ = 1.0  # a grid's frequency stays within 0.5 Hz of its nominal; the window leaks
HUM_SHARE = 0.5
FLOOR_HZ = 0.5  # below: baseline wander, a moving cable: neither heart nor hum


class MainsHum:
    """Push the raw samples as they come; `hum()` judges the newest WINDOW_S."""

    def __init__(self, fs_hz: float):
        self.n = int(WINDOW_S * fs_hz)
        self.buf = np.zeros(self.n)
        self.filled = 0
        f = np.fft.rfftfreq(self.n, 1.0 / fs_hz)
        lines = [h * base for base in MAINS_HZ for h in range(1, int(fs_hz / base) + 1)
                 if h * base < fs_hz / 2 - MAINS_BW_HZ]
        self.band = f >= FLOOR_HZ
        self.mains = np.zeros(len(f), bool)
        for hz in lines:
            self.mains |= self.band & (np.abs(f - hz) <= MAINS_BW_HZ)
        self.taper = np.hanning(self.n)
        self.judged = 0  # samples pushed when last judged, and its verdict
        self.pushed = 0
        self.verdict = False

    def push(self, x) -> None:
        x = np.asarray(x, np.float64)[-self.n:]
        self.buf = np.roll(self.buf, -len(x))
        self.buf[-len(x):] = x
        self.filled = min(self.n, self.filled + len(x))
        self.pushed += len(x)

    def share(self) -> float:
        """The mains' share of the newest window's power above FLOOR_HZ (0 till it's full)."""
        if self.filled < self.n or not self.mains.any():
            return 0.0
        p = np.abs(np.fft.rfft((self.buf - self.buf.mean()) * self.taper)) ** 2
        total = p[self.band].sum()
        return float(p[self.mains].sum() / total) if total > 0 else 0.0

    def hum(self) -> bool:
        """Is the newest window mains hum, not a heart? (judged again each 0.5 s at most)"""
        if self.pushed - self.judged >= self.n // 4:
            self.judged, self.verdict = self.pushed, self.share() >= HUM_SHARE
        return self.verdict
