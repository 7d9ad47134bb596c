"""Evidence from a PPG's waveform that its 'beats' are a heart's: time asymmetry.

A pulse rises fast (the systolic upstroke, ~0.1-0.2 s) and falls slowly; noise whose
'beats' pass every beat-time and shape test (an empty sensor drifting: a random walk as a
board's counts, band-passed white or pink noise) is time-reversible, as is any stationary
Gaussian process and any pointwise map of one (a clipped walk). The waveform's change over
LAG_S, band-passed zero-phase (a causal filter would bend a pulse's shape), is then skewed
one way for a heart (either way: an inverted pulse falls fast) and not for noise. The skew
is scaled to a z score by its standard error under time-reversible Gaussian noise (6/n, times
the change's own correlation over AC_S), so one bar serves a 30-s seat window and an hour's
file. Two such scores, the larger counting:
- `all`, every change: a wrist on a bike (wrist-s1-low-bike) reads its asymmetry in its
  few largest changes (-8.4; 5 % of them held at their percentile, +4.7);
- `bulk`, the changes held within their BULK_PCT percentiles, its standard error from their
  own moments: a finger PPG with a few large, symmetric swings (heartpy-data2: all -3.1,
  bulk -9.3).
Not the orientation's statistic: ppg_polarity reads the signed slope percentiles and the
signed skew of the level to turn a file over; this score is unsigned, so neither way of a
file (nor the flip) moves it.
Alone it is not enough: a finger PPG whose pulses fall as steeply as they rise reads as
reversible as noise over 30 s (heartpy-data3's excerpts 0.8-2.3, a seat's windows from 0.7).
Those repeat, beat after beat (`pulse_repeat`, branch wip/noiseheart's test): either sign
is a heart's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft
from scipy.signal import butter

from empathy.edge.ppg_polarity import BAND_HZ
from empathy.edge.sample_tail import Tail
from empathy.edge.zero_phase import filtfilt, plan

LAG_S = 0.05  # the change over this (about a third of a pulse's upstroke)
AC_S = 0.5  # the change's correlation summed over lags up to this (its standard error)
BULK_PCT = 5.0  # `bulk`: the changes held within this percentile at either end
# under this the waveform shows no heart's asymmetry (`signal hr`). Tuning, 60-s files: a
# random walk as a board's counts, raw and clipped, 25-100 Hz (seeds 0-39) read at most 4.2,
# band-passed white or pink noise and pink noise 3.6, a flat line's ADC flicker 2.3, a pupil's
# diameter 5.3 (mains hum as sampled and rounded reads up to 97: periodic, not reversible; its
# quality, ~0, says no heartbeat); the tuning PPG that need the evidence (quality under 0.6):
# heartpy-data2 9.3, wrist-s1-low-bike 8.4; every other tuning PPG from 6.0 (heartpy-data3)
ASYM_MIN = 7.0
MIN_S = 4.0  # a shorter waveform is not judged (no evidence)
# `pulse_repeat` from this is a heart's: the tuning PPG 0.33 (wrist-s1-low-bike) to 0.87, the
# 60-s noise files above of quality over 0.12 at most 0.23
PULSE_CORR = 0.29
REPEAT_S = 10.0  # ... judged per window this long, their median
# a seat's (PpgEvidence: its last 60 s, from its first seconds on), where its window's
# quality is under seat_heart.SEAT_BELOW. Estimates that reached HR_OK without it, tuning:
# random walks (seeds 0-39, 25-100 Hz) and band-passed white/pink noise (0-9) read asymmetry
# at most 3.5, repeat 0.37 (band-passed pink noise at 100 Hz, seed 8, 7-11 s in: narrow-band
# noise repeats over a few seconds); the tuning PPG's such estimates: asymmetry from 4.8
# (heartpy-data2) or, under that, repeat from 0.49 (heartpy-data3, whose pulses fall as
# steeply as they rise: asymmetry from 0.5), except bidmc-10's first 6-10 s (3.8-4.2, repeat
# 0-0.28 over its first few beats: its seat sends HR_OK in 224 estimates, not 227)
SEAT_ASYM, SEAT_CORR = 4.5, 0.42
# ... the repeat's bar over fewer beats than this (read in its windows): SEAT_CORR times
# sqrt(REPEAT_BEATS / beats), as a chance repeat's spread grows. Tuning noise through a seat
# (walks seeds 140-439, clipped walks and band-passed noise 140-239, 25-100 Hz) reached HR_OK
# on a repeat of 0.43-0.49 over its first 6-7 'beats' (walks 2 of 900 cases, clipped 2 of
# 300; none at 0.42 or more from 10 beats on); the tuning PPG read 0.55 over 8 (bidmc-10's
# first), 0.64 over 10, 0.71 over 7
REPEAT_BEATS = 12


@lru_cache(maxsize=8)
def _sos(fs: float) -> tuple:
    return plan(butter(3, (BAND_HZ[0], min(BAND_HZ[1], 0.45 * fs)), "bandpass", fs=fs,
                       output="sos"))


@lru_cache(maxsize=8)
def _sos2(fs: float) -> tuple:  # (pulse_repeat's, as it was tuned)
    return plan(butter(2, (BAND_HZ[0], min(BAND_HZ[1], 0.45 * fs)), "bandpass", fs=fs,
                       output="sos"))


def _z(d: np.ndarray, fs: float, moments: bool) -> float:
    """The skew of d over its standard error under time-reversible noise: Gaussian
    (moments False) or from d's own fourth and sixth moments."""
    d = d - d.mean()
    d2 = d * d  # (powers as products, the FFT padded to a fast length only as far as the
    n, s2 = len(d), float(np.mean(d2))  # lags read: a seat's CPU, the same numbers)
    if s2 <= 0:
        return 0.0
    m = min(int(AC_S * fs), n - 1)
    size = next_fast_len(n + m, real=True)
    f = rfft(d, size)
    ac = irfft(f.real ** 2 + f.imag ** 2, size)[1:m + 1] / (n * s2)
    # (|ac|: a pulse train's change swings negative within a beat, and its sum with sign
    # could leave a heart's standard error near nothing)
    corr = 1.0 + 2.0 * float(np.sum(np.abs(ac) ** 3))
    d4 = d2 * d2
    mom = (max(float(np.mean(d4 * d2)) / s2 ** 3 - 6.0 * float(np.mean(d4)) / s2 ** 2 + 9.0,
               1.0) if moments else 6.0)
    return float(np.mean(d2 * d)) / s2 ** 1.5 / np.sqrt(mom * corr / n)


def asymmetry(x, fs: float, still=None) -> float:
    """How far the waveform's rises and falls differ, as a z score (module note): the larger
    of |all| and |bulk|; 0.0 for a waveform under MIN_S or flat. `still`: a mask of the
    samples to read (`still_samples`), None for all."""
    x = np.asarray(x, float)
    k = max(1, int(round(LAG_S * fs)))
    if len(x) < MIN_S * fs or len(x) <= 3 * k or np.ptp(x) == 0:
        return 0.0
    y = filtfilt(_sos(fs), x - np.median(x))
    d = y[k:] - y[:-k]
    if still is not None:
        still = np.asarray(still, bool)
        d = d[still[k:] & still[:-k]]
        if len(d) < MIN_S * fs:
            return 0.0
    lo, hi = np.percentile(d, [BULK_PCT, 100.0 - BULK_PCT])
    return float(max(abs(_z(d, fs, False)), abs(_z(np.clip(d, lo, hi), fs, True))))


def pulse_repeat(x, fs: float, idx) -> float:
    """Median over REPEAT_S windows of the band-passed (0.5-8 Hz) waveform's autocorrelation,
    at its highest within 0.8-1.25 of the window's median beat interval (0 where a window
    has under 3 beats)."""
    r = repeat_windows(x, fs, idx)
    return float(np.median(r[:, 0])) if len(r) else 0.0


def repeat_windows(x, fs: float, idx) -> np.ndarray:
    """`pulse_repeat`'s windows: rows of (its repeat, the beats in it)."""
    x, idx = np.asarray(x, float), np.asarray(idx, int)
    if len(x) <= 30:
        return np.zeros((0, 2))
    y = filtfilt(_sos2(fs), x - np.median(x))
    n = min(int(REPEAT_S * fs), len(y))  # (a shorter recording is one window)
    rows = []
    for s in range(0, len(y) - n + 1, n):
        b = idx[(idx >= s) & (idx < s + n)]
        w = y[s:s + n] - np.mean(y[s:s + n])
        size = next_fast_len(2 * n - 1, real=True)
        f = rfft(w, size)
        c = irfft(f.real ** 2 + f.imag ** 2, size)[:n]
        if len(b) < 3 or c[0] <= 0:  # (wip/noiseheart's read lag 0 here: 1.0, not 0)
            rows.append((0.0, len(b)))
            continue
        lag = float(np.median(np.diff(b)))
        lo, hi = max(int(0.8 * lag), 1), min(int(1.25 * lag) + 1, n - 1)
        rows.append((float(np.max(c[lo:hi]) / c[0]) if hi > lo else 0.0, len(b)))
    return np.array(rows, float).reshape(-1, 2)


def still_samples(n: int, idx, moving) -> np.ndarray:
    """A mask of n samples: False from the beat before each beat the accelerometer called
    moving to the beat after it. Motion's artefacts, band-limited noise several times a
    pulse's size, are as time-reversible as noise and would drown the pulses' asymmetry
    (a simulated viewer moving 4 s in 20: 0.7-3.3 over all of a minute, 15 still)."""
    idx, out = np.asarray(idx, int), np.ones(n, bool)
    for i in np.flatnonzero(np.asarray(moving, bool)):
        out[idx[i - 1] if i else 0:idx[i + 1] if i + 1 < len(idx) else n] = False
    return out


def heart_evidence(x, fs: float, idx, still=None) -> bool:
    """The waveform's rises and falls unlike (where `still`), or its pulses repeating: a
    heart's."""
    return bool(asymmetry(x, fs, still) >= ASYM_MIN or pulse_repeat(x, fs, idx) >= PULSE_CORR)


class PpgEvidence:
    """`heart_evidence` of a seat's streamed PPG over its last `keep_s` of samples and the
    beats in them (a seat asks at each estimate, only while its window's quality is under
    SEAT_BELOW), since the sensor's contact last changed (`restart`): read every EVERY_S
    while it fills, then every EVERY_FULL_S. A gap the stream bridges keeps them (the same
    finger after a board's stall); a longer one starts a new stream, and this afresh."""

    # (the unit's stats: a rate withheld by this. No pulse's shape nor repeat: no heart, or
    # artefacts over it; a viewer eating on a board with no accelerometer reads so, and its
    # rate then was 3.8 bpm off, median, where it was 0.2 still)
    WHY = "ppg_no_pulse"
    # (every 5 s from the start, systole-ppg and pyphysio-bvp lost their HR_OK at 7-9 s: the
    # scores of their first 5 s stood; read at 20 % of the kept span's growth, heartpy-data2
    # lost 2 estimates and band-passed pink noise came within 0.01 of SEAT_CORR)
    EVERY_S, EVERY_FULL_S = 1.0, 5.0

    def __init__(self, fs: float, keep_s: float = 60.0):
        self.fs = fs
        self.tail = Tail(int(keep_s * fs))
        self.idx = np.zeros(0, int)  # the beats' stream indices
        self.at = -np.inf  # the stream index the scores were read at
        self.seen = (0.0, 0.0, 0)  # (asymmetry, pulse_repeat, its beats; nan where not read)
        self.since = 0  # the stream index from which samples count (`restart`)

    def restart(self) -> None:
        """The sensor's contact changed: what it read before is no evidence of what is on
        it now (an empty sensor's minute would drown a returning finger's pulses)."""
        self.since, self.at, self.seen = self.tail.n, -np.inf, (0.0, 0.0, 0)

    def push(self, samples, idx, ts_us=None) -> None:
        """A chunk's samples and the beats (stream index) the detector gave out."""
        self.tail.push(samples)
        self.idx = np.concatenate((self.idx, np.asarray(idx, int)))
        self.idx = self.idx[self.idx >= self.tail.start()]

    def shift(self, step_us: float) -> None:
        """(No times held: a step of the clock leaves it as it is.)"""

    def doubt(self, at_us: float, window_s: float) -> bool:
        return False

    def scores(self) -> tuple[float, float, int]:
        """(asymmetry, pulse_repeat, the beats in its windows) of the kept samples; the
        repeat only where the asymmetry is under SEAT_ASYM (nan where not read)."""
        full = self.tail.n - self.since >= self.tail.size
        if self.tail.n - self.at >= (self.EVERY_FULL_S if full else self.EVERY_S) * self.fs:
            start = max(self.tail.start(), self.since)
            x = self.tail.x()[start - self.tail.start():]
            self.at = self.tail.n
            a = asymmetry(x, self.fs)
            r = (np.zeros((0, 2)) if a >= SEAT_ASYM
                 else repeat_windows(x, self.fs, self.idx[self.idx >= start] - start))
            self.seen = (a, float(np.median(r[:, 0])) if len(r) else float("nan"),
                         int(r[:, 1].sum()))
        return self.seen

    def no_heart(self, now_us: float, window_s: float) -> bool:
        """The kept samples show neither a heart's asymmetry nor its pulses repeating (the
        seat's bars: SEAT_ASYM, SEAT_CORR, higher over fewer than REPEAT_BEATS beats)."""
        a, r, beats = self.scores()
        return bool(a < SEAT_ASYM and not r >= SEAT_CORR * np.sqrt(REPEAT_BEATS / max(
            min(beats, REPEAT_BEATS), 1)))
