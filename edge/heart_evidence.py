"""Evidence from the waveform itself that its 'beats' are a heart's, where beat times and
shape quality can't tell noise from a real but poor or arrhythmic recording (`signal hr`'s
'no heartbeat', hrv.heart_summary's `evidence`).

ECG: random spikes band-pass into beats of one shape (the filter's impulse response), so
their shape quality is high and Poisson intervals now and then look regular; MIT-BIH 106's
V1 (bigeminy) reads the same quality. In the raw samples a spike is one sample that stands
alone, while a QRS has a slope on at least one side of its extreme.
PPG: a drifting empty sensor (a random walk as a board's counts) band-passes into 'pulses'
with a smooth spectrum, so the signal does not repeat at the beats' interval; a pulse does.
A seat (features._heart) asks the same of its streamed window: LoneBeats, PulseTail.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

LONE = 0.25  # an ECG beat whose raw extreme has no same-sign neighbour over this share of it
SPIKE_BEATS = 0.5  # ... in over this share of the beats: spikes, not QRS complexes
PULSE_CORR = 0.29  # a PPG's band-passed autocorrelation at its beat interval (see pulse_repeat)
_HALF_S = 0.06  # an ECG beat's raw extreme is sought within this of it
_BASE_S = 0.3  # ... about the median of the raw samples within this
_WINDOW_S = 10.0
# a seat's 30-s heart window of quality under this needs the evidence (features._heart): noise
# reached 0.39 there (random walks as PPG counts, seeds 0-39), while a clear PPG's 30 s can
# repeat little (pyphysio-bvp: 0.19 at quality 0.74)
SEAT_BELOW = 0.5
TAIL_S = 15.0  # a seat's ECG beat is given out up to ~10 s after its samples (LoneBeats)


def lone_beats(x, fs: float, idx) -> np.ndarray:
    """Per ECG beat: its raw extreme (about the local median, within 60 ms) stands alone,
    neither neighbour on its side over LONE of it (False where the samples don't reach)."""
    x = np.asarray(x, float)
    h, w = max(2, int(round(_HALF_S * fs))), int(_BASE_S * fs)
    idx = np.asarray(idx, int)
    lone = np.zeros(len(idx), bool)
    for k, i in enumerate(idx):
        a, z = max(1, i - h), min(len(x) - 1, i + h + 1)
        if z <= a:
            continue
        d = x[a - 1:z + 1] - np.median(x[max(0, i - w):i + w + 1])
        p = 1 + int(np.argmax(np.abs(d[1:-1])))
        s = np.sign(d[p])
        lone[k] = d[p] != 0 and max(s * d[p - 1], s * d[p + 1]) < LONE * abs(d[p])
    return lone


def lone_share(x, fs: float, idx) -> float:
    """Share of an ECG's beats that are `lone_beats`. Tuning ECG at its own rate: none of
    any record's beats; resampled to 100 Hz, at most 0.05 (MIT-BIH 101) but the paced
    stress case 0.43 (its pacing spikes; 0.39 at 130 Hz); random-spike noise 0.55-1.0."""
    return float(np.mean(lone_beats(x, fs, idx))) if len(idx) else 0.0


class LoneBeats:
    """`lone_beats` for a seat's streamed ECG: the last TAIL_S of raw samples, and each
    beat's verdict with its time over the last `keep_s`."""

    def __init__(self, fs: float, keep_s: float = 60.0):
        self.fs, self.keep_us = fs, keep_s * 1e6
        self.x, self.n = np.zeros(0), 0  # the tail, and samples pushed (its end's index)
        self.t_us, self.lone = np.zeros(0), np.zeros(0, bool)

    def push(self, samples, idx, ts_us) -> None:
        """A chunk's samples, and the beats (stream index, time) the detector gave out."""
        self.x = np.concatenate((self.x, np.asarray(samples, float)))[-int(TAIL_S * self.fs):]
        self.n += np.size(samples)
        local = np.asarray(idx, int) - (self.n - len(self.x))
        inside = local >= 0
        t = np.concatenate((self.t_us, np.asarray(ts_us, float)[inside]))
        lone = np.concatenate((self.lone, lone_beats(self.x, self.fs, local[inside])))
        keep = t >= t[-1] - self.keep_us if len(t) else np.zeros(0, bool)
        self.t_us, self.lone = t[keep], lone[keep]

    def no_heart(self, now_us: float, window_s: float) -> bool:
        """Over SPIKE_BEATS of the window's beats are lone: spikes, not QRS complexes."""
        w = self.lone[self.t_us >= now_us - window_s * 1e6]
        return bool(len(w)) and float(np.mean(w)) > SPIKE_BEATS


class PulseTail:
    """`pulse_repeat` for a seat's streamed PPG: the last `keep_s` + TAIL_S of raw samples
    and the beats given out in them."""

    def __init__(self, fs: float, keep_s: float = 60.0):
        self.fs, self.keep = fs, int((keep_s + TAIL_S) * fs)
        self.x, self.n, self.idx = np.zeros(0), 0, np.zeros(0, int)

    def push(self, samples, idx, ts_us=None) -> None:
        """A chunk's samples, and the beats (stream index) the detector gave out."""
        self.x = np.concatenate((self.x, np.asarray(samples, float)))[-self.keep:]
        self.n += np.size(samples)
        self.idx = np.concatenate((self.idx, np.asarray(idx, int)))
        self.idx = self.idx[self.idx >= self.n - len(self.x)]

    def no_heart(self, now_us: float, window_s: float) -> bool:
        """The window_s of samples up to the last beat given out (the newest seconds' beats
        are not out yet) don't repeat at the beats' interval (under PULSE_CORR)."""
        if len(self.idx) < 3:
            return False
        local = self.idx - (self.n - len(self.x))
        end = int(local[-1]) + 1
        start = max(0, end - int(window_s * self.fs))
        return pulse_repeat(self.x[start:end], self.fs, local[local >= start] - start) < PULSE_CORR


def pulse_repeat(x, fs: float, idx) -> float:
    """Median over 10-s windows of the PPG's band-passed (0.5-8 Hz) autocorrelation, at its
    highest within 0.8-1.25 of the window's median beat interval (0 where a window has under
    3 beats). Tuning PPG: 0.31 (a wrist on a bike, at the beats found after --acc's motion
    cancelling; 0.33 without) to 0.87; random walks, pink and white noise as board counts
    (40 seeds, 25-100 Hz) of quality over 0.12: at most 0.27."""
    x, idx = np.asarray(x, float), np.asarray(idx, int)
    if len(x) <= 30:
        return 0.0
    sos = signal.butter(2, [0.5, min(8.0, 0.45 * fs)], "bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, x - np.median(x))
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
