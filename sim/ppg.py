"""A simulated photoplethysmogram (finger or ear clip), with the artefacts of a body that moves.

Pleth orientation (up = more blood), unit pulse amplitude. Each heartbeat's pulse reaches
the fingertip, at its foot, a pulse arrival time after the R wave: the pre-ejection period
(the ventricle's pressure rising to open the aortic valve, ~50-60 ms at rest by
echocardiography: Kortekaas et al. 2018, PLoS One 13:e0204105) plus the pressure wave's
travel down the arm, ~200-300 ms in all at rest (Mukkamala et al. 2015, IEEE TBME 62:1879;
Allen 2007, Physiol Meas 28:R1). The pulse is shaped as a fast systolic upstroke, a
dicrotic notch and a smaller diastolic wave (edge/signal_sims.ppg_pulse: a published pulse
decomposition, the validation's simulators' own, no estimator's); breathing
swings the baseline and the pulse height. Movement is the PPG's main error source (Tamura et
al. 2014): while the body moves, band-limited noise in the cardiac band several times the
pulse's size, and pressure changes that shift the baseline, both of which a beat detector
has to survive.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from empathy.edge.signal_sims import PULSE_LAST_S, ppg_pulse

PAT_S = (0.20, 0.30)  # pulse arrival time, R wave to the pulse's foot at the fingertip
ARTEFACT_AC = 3.0  # motion noise at full movement, in pulse amplitudes
NOISE_AC = 0.02  # sensor noise


class PulseWave:
    def __init__(self, fs_hz: float, rng: np.random.Generator, t_s: float):
        self.fs, self.rng = float(fs_hz), rng
        self.n = 0  # samples rendered so far; sample i is at t0 + i / fs
        self.t0 = t_s
        self.ptt = float(rng.uniform(*PAT_S))
        self.beats: list[tuple[float, float]] = []  # (arrival s, rr s)
        self.dc = 0.0
        self._band_zi = None
        self._band = None

    def add_beat(self, t_s: float, rr_ms: float) -> None:
        self.beats.append((t_s + self.ptt, rr_ms / 1000.0))

    def render(self, until_s: float, move: float, move_onset: bool, resp_phase: float) -> np.ndarray:
        """The samples from the last render up to until_s."""
        n = int((until_s - self.t0) * self.fs) - self.n
        if n <= 0:
            return np.zeros(0)
        t = self.t0 + (self.n + np.arange(n)) / self.fs
        self.n += n
        x = np.zeros(n)
        for at, rr in self.beats:
            on = (t >= at) & (t < at + PULSE_LAST_S)
            if on.any():
                x[on] += ppg_pulse(t[on] - at, rr)
        self.beats = [(at, rr) for at, rr in self.beats if t[-1] - at < PULSE_LAST_S]
        breath = math.sin(2 * math.pi * resp_phase)
        x *= 1 + 0.1 * breath
        x += 0.15 * breath
        if move_onset:
            self.dc += float(self.rng.normal(0, 2.0 * move))
        self.dc *= math.exp(-n / self.fs / 3.0)
        x += self.dc + self._artefact(n, move) + self.rng.normal(0, NOISE_AC, n)
        return x

    def _artefact(self, n: int, move: float) -> np.ndarray:
        if self._band is None:
            self._band = signal.butter(2, (0.5, 4.0), "bandpass", fs=self.fs)
            self._band_zi = np.zeros(max(len(self._band[0]), len(self._band[1])) - 1)
        w = self.rng.normal(0, 1, n) * (ARTEFACT_AC * 4.0 * move)  # ~unit gain in band
        y, self._band_zi = signal.lfilter(*self._band, w, zi=self._band_zi)
        return y


HAND_MG = 400.0  # RMS acceleration of a hand at full movement (a fidget, a gesture)
ACC_NOISE_MG = 6.0  # an accelerometer's noise at rest (LIS3DH, normal mode)


class HandAccel:
    """What an accelerometer on the same hand or board as the PPG reads (magnitude, mG): gravity,
    the same movement that corrupts the pulse (band-limited, 0.3-8 Hz), and sensor noise."""

    def __init__(self, fs_hz: float, rng: np.random.Generator, t_s: float):
        self.fs, self.rng, self.t0, self.n = float(fs_hz), rng, t_s, 0
        self._band = signal.butter(2, (0.3, 8.0), "bandpass", fs=fs_hz)
        self._zi = np.zeros((3, 4))  # one filter state per axis

    def render(self, until_s: float, move: float) -> np.ndarray:
        n = int((until_s - self.t0) * self.fs) - self.n
        if n <= 0:
            return np.zeros(0)
        self.n += n
        w = self.rng.normal(0, HAND_MG * 2.5 * move, (3, n))  # ~unit gain in band, 3 axes
        dyn, self._zi = signal.lfilter(*self._band, w, zi=self._zi)
        g = dyn + np.array([[0.0], [0.0], [1000.0]]) + self.rng.normal(0, ACC_NOISE_MG, (3, n))
        return np.linalg.norm(g, axis=0)
