"""PPG less what the wrist's accelerometer axes predict of it: adaptive noise cancelling.

The gate (edge/motion.py) can only leave beats out while the hand moves. Where a board
records the accelerometer's axes on the PPG's own clock (the Shimmer3 of the wrist
records: both at 256 Hz), the movement's share of the PPG can instead be estimated and
taken off, the classic adaptive noise canceller (Widrow et al. 1975; for PPG with MEMS
accelerometers, Asada et al. 2004; the accelerometer as the reference of TROIKA, Zhang et
al. 2015, and SpaMA-style trackers):

- the PPG and each axis go through the same causal band-pass (BAND_HZ: the cardiac band,
  where the movement's waves must be taken off),
- a recursive-least-squares filter (exponential memory MEMORY_S) fits the band-passed
  PPG from TAPS delayed samples of each band-passed axis, TAP_S apart (two taps per axis
  let the fit shift the phase of each axis's wave),
- the fit is the artefact; the PPG less it goes on to the beat detector (edge/heart.py).

Where the accelerometer is still (the band-passed axes' RMS, over RMS_TAU_S, under
STILL_MG) nothing is taken off and the filter does not learn: the output is the input,
bit for bit, and a filter that has no excitation to learn from cannot drift. Between
STILL_MG and ACTIVE_MG the fit is taken off in proportion, so switching makes no step.

What it cannot do (measured on the wrist records, docs/signal-validation.md): when the
heart beats at the step rate, the heart's wave is as well predicted by the accelerometer as
the movement's, and the filter takes both off. Streaming and batch are the same code: the
state carries every filter's memory, each sample is handled once, in order.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from empathy.edge.heart import METHODS

# chosen on the tuning wrist records among 36 combinations (docs/signal-validation.md)
BAND_HZ = METHODS["ppg"].band_hz  # the beat detector's own band
TAPS = 2
TAP_S = 0.0625
MEMORY_S = 10.0
STILL_MG = 20.0  # in-band RMS of a hand at rest: tremor and noise, a few mG
ACTIVE_MG = 50.0  # the level edge/motion.py's gate calls moving
RMS_TAU_S = 1.0
START_P = 100.0  # the RLS's starting inverse correlation (1/mG^2): large, so the first
# swing is learnt at once
MAX_MG = 20000.0  # beyond a +-16 g part's range: a broken reading


class MotionCanceller:
    """One PPG and its accelerometer's axes on one clock. `push(ppg, acc_mg)`: ppg of n
    samples, acc_mg of (n, axes) in mG; returns the n samples of PPG less the movement."""

    def __init__(self, fs_hz: float, axes: int = 3):
        if not (20.0 <= fs_hz <= 5000.0):
            raise ValueError(f"PPG with an accelerometer at {fs_hz:g} Hz: need 20..5000 Hz")
        if not 1 <= axes <= 3:
            raise ValueError(f"{axes} accelerometer axes: need 1..3")
        self.fs, self.axes = float(fs_hz), axes
        self.sos = signal.butter(3, BAND_HZ, "bandpass", fs=fs_hz, output="sos")
        self.zi = None  # band-pass state: PPG first, then each axis
        self.stride = max(1, round(TAP_S * fs_hz))
        self.span = (TAPS - 1) * self.stride
        self.hist = np.zeros((axes, self.span))  # the band-passed axes' last samples
        m = axes * TAPS
        self.w = np.zeros(m)
        self.P = np.eye(m) * START_P
        self.lam = 1.0 - 1.0 / (MEMORY_S * fs_hz)
        self.rms_a = 1.0 - math.exp(-1.0 / (RMS_TAU_S * fs_hz))
        self.ms = 0.0  # mean square of the band-passed axes (mG^2)
        self.active_s = 0.0  # time with something taken off

    def push(self, ppg, acc_mg) -> np.ndarray:
        x = np.asarray(ppg, dtype=np.float64).ravel()
        a = np.asarray(acc_mg, dtype=np.float64)
        a = a.reshape(len(a), -1) if a.size else np.zeros((0, self.axes))
        if len(a) != len(x):
            raise ValueError(f"{len(a)} accelerometer samples for {len(x)} PPG samples: "
                             "the canceller needs both on one clock")
        if a.shape[1] != self.axes:
            raise ValueError(f"accelerometer chunk has {a.shape[1]} axes, expected {self.axes}")
        if not x.size:
            return x
        if not np.isfinite(x).all():
            raise ValueError("waveform has NaN or infinite samples")
        if not np.isfinite(a).all() or np.abs(a).max() > MAX_MG:
            raise ValueError(f"accelerometer sample outside +-{MAX_MG:g} mG or not a number")
        both = np.vstack((x, a.T))  # PPG, then each axis: one band-pass, one state each
        if self.zi is None:  # settled on the first samples: no start-up swing
            self.zi = signal.sosfilt_zi(self.sos)[:, None, :] * both[:, 0][None, :, None]
        f, self.zi = signal.sosfilt(self.sos, both, axis=1, zi=self.zi)
        d, r = f[0], f[1:]
        rp = np.concatenate((self.hist, r), axis=1)
        self.hist = rp[:, len(rp[0]) - self.span:]
        return x - self._artefact(d, rp)

    def _artefact(self, d: np.ndarray, rp: np.ndarray) -> np.ndarray:
        """The fit of each band-passed PPG sample from the axes' taps, scaled by how much the
        hand moves (0 where still); learns only while it moves."""
        taps = np.arange(TAPS) * self.stride
        energy = np.sum(rp * rp, axis=0)
        out = np.zeros(len(d))
        w, P, lam, ra, ms = self.w, self.P, self.lam, self.rms_a, self.ms
        for i in range(len(d)):
            ms += ra * (energy[i + self.span] - ms)
            g = (math.sqrt(ms) - STILL_MG) / (ACTIVE_MG - STILL_MG)
            if g <= 0.0:
                continue
            u = rp[:, i + self.span - taps].ravel()
            y = float(w @ u)
            Pu = P @ u
            k = Pu / (lam + float(u @ Pu))
            w = w + k * (d[i] - y)
            P = (P - np.outer(k, Pu)) / lam
            out[i] = min(g, 1.0) * y
            self.active_s += 1.0 / self.fs
        self.w, self.P, self.ms = w, P, ms
        return out


def cancel_motion(ppg, acc_mg, fs_hz: float) -> np.ndarray:
    """A whole recording's PPG less the movement (the same code and output as streaming)."""
    a = np.asarray(acc_mg, dtype=np.float64)
    c = MotionCanceller(fs_hz, 1 if a.ndim == 1 else a.shape[1])
    return c.push(ppg, a)
