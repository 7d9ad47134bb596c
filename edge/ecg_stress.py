"""Real ECG made harder, with known beats: the tuning set for arrhythmia and noise.

The corpus's arrhythmic record (MIT-BIH 208) is held out, so what the ECG detector is
tuned on is a real, clean tuning record (Systole's lab ECG; its beats are the peers'
consensus) with known troubles laid on top: wide-QRS premature beats with a compensatory
pause, bundle-branch-block-wide complexes, pacing spikes, an inverted lead, baseline
wander, muscle noise and electrode-motion bursts. Each case returns the waveform and its
true beats, so a detector's F1 on it is exact.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def _smooth_bump(t, at, width):
    return np.exp(-0.5 * ((t - at) / width) ** 2)


def _blank(x: np.ndarray, i: int, fs: float) -> None:
    """Remove the beat at sample i (its QRS and T): a straight line across it."""
    a, b = max(i - int(0.12 * fs), 0), min(i + int(0.4 * fs), len(x) - 1)
    x[a:b] = np.linspace(x[a], x[b], b - a)


def stress_cases(x: np.ndarray, fs: float, beats_s: np.ndarray, seed: int = 0) -> dict:
    """name -> (waveform, true beats in s) for each trouble, from a clean real ECG."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(x)) / fs
    amp = float(np.percentile(np.abs(x - np.median(x)), 99.5))
    out = {"clean": (x, beats_s), "inverted lead": (-x, beats_s)}

    # wide premature ventricular beats: every 4th-7th beat comes 35 % early, wide (~160 ms),
    # opposite in sign and taller; the next normal beat is lost (compensatory pause)
    y, truth, k = x.copy(), list(beats_s), 3
    while k < len(beats_s) - 2:
        rr = beats_s[k] - beats_s[k - 1]
        at = beats_s[k - 1] + 0.65 * rr
        _blank(y, int(beats_s[k] * fs), fs)
        truth.remove(beats_s[k])
        sign = -1.0 if rng.random() < 0.7 else 1.0
        y += sign * 1.6 * amp * (_smooth_bump(t, at, 0.035) - 0.5 * _smooth_bump(t, at + 0.09, 0.05))
        truth.append(at)
        k += int(rng.integers(4, 8))
    out["wide PVCs"] = (y, np.sort(truth))
    # couplets: two premature beats in a row
    y, truth, k = x.copy(), list(beats_s), 5
    while k < len(beats_s) - 3:
        rr = beats_s[k] - beats_s[k - 1]
        for j, frac in ((k, 0.6), (k + 1, 1.2)):
            _blank(y, int(beats_s[j] * fs), fs)
            truth.remove(beats_s[j])
            at = beats_s[k - 1] + frac * rr
            y -= 1.4 * amp * (_smooth_bump(t, at, 0.04) - 0.4 * _smooth_bump(t, at + 0.1, 0.05))
            truth.append(at)
        k += int(rng.integers(8, 14))
    out["PVC couplets"] = (y, np.sort(truth))

    # bundle-branch block: every complex ~2.5x as wide (low-passed) with a notched top
    sos = signal.butter(2, 9.0, "lowpass", fs=fs, output="sos")
    out["bundle-branch block"] = (signal.sosfiltfilt(sos, x) * 1.5, beats_s)
    # paced rhythm: a 2-ms spike 3x the R wave 50 ms before each (widened) complex
    y = signal.sosfiltfilt(sos, x) * 1.5
    w = max(1, int(0.002 * fs))
    for b in beats_s:
        i = int((b - 0.05) * fs)
        y[max(i, 0):i + w] += 3 * amp
    out["paced"] = (y, beats_s - 0.0)

    wander = 2.0 * amp * (np.sin(2 * np.pi * 0.25 * t) + 0.5 * np.sin(2 * np.pi * 0.07 * t + 1))
    out["baseline wander"] = (x + wander, beats_s)
    sos_emg = signal.butter(4, (20, min(150, 0.45 * fs)), "bandpass", fs=fs, output="sos")
    emg = signal.sosfilt(sos_emg, rng.normal(0, 1, len(x)))
    out["muscle noise"] = (x + 0.25 * amp * emg / np.std(emg), beats_s)
    y = x.copy()  # electrode motion: 1-3 s bursts of large slow swings every ~15 s
    for start in np.arange(5.0, t[-1] - 5, 15.0):
        m = (t >= start) & (t < start + rng.uniform(1, 3))
        y[m] += 1.5 * amp * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t[m] + rng.uniform(0, 6))
    out["electrode motion"] = (y, beats_s)
    return out
