"""Evidence from the waveform itself that its 'beats' are a heart's, where beat times and
shape quality can't tell noise from a real but poor or arrhythmic recording (`signal hr`'s
'no heartbeat', hrv.heart_summary's `evidence`).

ECG: random spikes band-pass into beats of one shape (the filter's impulse response), so
their shape quality is high and Poisson intervals now and then look regular; MIT-BIH 106's
V1 (bigeminy) reads the same quality. In the raw samples a spike is one sample that stands
alone, while a QRS has a slope on at least one side of its extreme.
PPG: a drifting empty sensor (a random walk as a board's counts) band-passes into 'pulses'
with a smooth spectrum, so the signal does not repeat at the beats' interval; a pulse does.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

LONE = 0.25  # an ECG beat whose raw extreme has no same-sign neighbour over this share of it
SPIKE_BEATS = 0.5  # ... in over this share of the beats: spikes, not QRS complexes
PULSE_CORR = 0.3  # a PPG's band-passed autocorrelation at its beat interval (see pulse_repeat)
_HALF_S = 0.06  # an ECG beat's raw extreme is sought within this of it
_BASE_S = 0.3  # ... about the median of the raw samples within this
_WINDOW_S = 10.0


def lone_share(x, fs: float, idx) -> float:
    """Share of ECG beats whose raw extreme (about the local median, within 60 ms) stands
    alone: neither neighbour on its side over LONE of it. Tuning ECG at its own rate: none
    of any record's beats; resampled to 100 Hz, at most 0.05 (MIT-BIH 101) but the paced
    stress case 0.43 (its pacing spikes); random-spike noise 0.55-1.0."""
    x = np.asarray(x, float)
    h, w = max(2, int(round(_HALF_S * fs))), int(_BASE_S * fs)
    lone = []
    for i in np.asarray(idx, int):
        a, z = max(1, i - h), min(len(x) - 1, i + h + 1)
        if z <= a:
            continue
        d = x[a - 1:z + 1] - np.median(x[max(0, i - w):i + w + 1])
        p = 1 + int(np.argmax(np.abs(d[1:-1])))
        if d[p] == 0:
            continue
        s = np.sign(d[p])
        lone.append(max(s * d[p - 1], s * d[p + 1]) < LONE * abs(d[p]))
    return float(np.mean(lone)) if lone else 0.0


def pulse_repeat(x, fs: float, idx) -> float:
    """Median over 10-s windows of the PPG's band-passed (0.5-8 Hz) autocorrelation, at its
    highest within 0.8-1.25 of the window's median beat interval (0 where a window has under
    3 beats). Tuning PPG: 0.33 (a wrist on a bike) to 0.87; the noise grid's random walks,
    pink and white noise as board counts (40 seeds, 25-100 Hz) of quality over 0.12: at
    most 0.27."""
    x = np.asarray(x, float)
    sos = signal.butter(2, [0.5, min(8.0, 0.45 * fs)], "bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, x - np.median(x)) if len(x) > 30 else x * 0.0
    idx = np.asarray(idx, int)
    n = min(int(_WINDOW_S * fs), len(y))  # (a shorter recording is one window)
    vals = []
    for s in range(0, len(y) - n + 1, n):
        b = idx[(idx >= s) & (idx < s + n)]
        w = y[s:s + n] - np.mean(y[s:s + n])
        f = np.fft.rfft(w, 2 * n)
        c = np.fft.irfft(f * np.conj(f))[:n]
        lag = np.median(np.diff(b)) if len(b) >= 3 else 0
        lo, hi = int(0.8 * lag), min(int(1.25 * lag) + 1, n - 1)
        vals.append(float(np.max(c[lo:hi]) / c[0]) if hi > lo and c[0] > 0 else 0.0)
    return float(np.median(vals)) if vals else 0.0


def waveform_evidence(x, fs: float, idx, kind: str) -> bool:
    """Whether the waveform at the beats looks like a heart's (see the module's note)."""
    if kind == "ecg":
        return lone_share(x, fs, idx) <= SPIKE_BEATS
    return pulse_repeat(x, fs, idx) >= PULSE_CORR
