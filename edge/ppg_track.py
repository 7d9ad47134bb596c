"""The heart rate in a moving wrist's PPG, tracked in its spectrum with the accelerometer's.

Experimental: a side output beside the detector's headline (`signal hr --acc`'s
`motion.tracked`, the seat's motion report), since it did not generalise to the held-out
wrist records (docs/signal-validation.md).

While the hand moves, the PPG's tallest waves are the movement's, and a beat detector
(edge/heart.py) counts them. The rate can still be read where the detector fails: the
movement's frequencies are the accelerometer's, and the heart's rate changes little from
one second to the next. After the published spectral trackers (TROIKA, Zhang et al. 2015;
SpaMA, Salehizadeh et al. 2016; WFPV, Temko 2017), written from their descriptions:

1. every HOP_S, the last WINDOW_S of PPG and of each accelerometer axis (or the
   magnitude) is detrended, Hann-windowed and zero-padded to a fine grid (RES_BPM); the
   PPG's spectrum is scaled to its maximum in BAND_BPM,
2. each axis's power spectrum, scaled to its own maximum, is averaged over the axes that
   move (their in-band RMS over ACTIVE_MG); its peaks and their harmonics (twice and half
   the frequency, HARMONIC of the weight) mark where the PPG's power is the movement's,
   and the PPG's power there is divided down (a Wiener-like soft mask, 1 / (1 + SUPPRESS
   x the accelerometer's share): a heart that beats at the step rate is weakened, not gone),
3. the masked spectrum, averaged over the last windows (MEMORY, as WFPV does), is
   searched in BAND_BPM for the rate: the first estimate is its tallest peak; later ones
   its tallest peak weighted by a continuity prior, a Gaussian of SIGMA_BPM around the
   last estimate (the heart changes rate slowly, the steps' rate can jump),
4. each estimate also says whether the hand moved in its last hop (any axis's in-band
   RMS over that hop at least ACTIVE_MG): edge/ppg_guide.py guides the beats there.

Causal and streaming: each estimate reads only the samples up to its window's end, and
batch (`track_hr`) runs the same code. Nothing here is shared with the simulator (sim/).
"""

from __future__ import annotations

import math

import numpy as np

WINDOW_S = 8.0
HOP_S = 2.0
BAND_BPM = (42.0, 200.0)
ACC_BAND_BPM = (30.0, 240.0)  # where the accelerometer's movement is looked for
RES_BPM = 0.5  # spectral grid (zero-padded)
ACTIVE_MG = 15.0  # an axis with less in-band RMS than this is still: it masks nothing
SUPPRESS = 10.0
HARMONIC = 0.5
MEMORY = 0.5  # weight of the newest window's spectrum in the running average
SIGMA_BPM = 4.0
MOTION_SHARE = 0.3  # a peak where the accelerometer has this share of its maximum is the movement's
COMPARABLE = 0.7  # a still peak this tall beside a movement's peak is taken instead of it
AHEAD_S = 4.0  # the accelerometer may run this far ahead of the PPG


def _spectrum(x: np.ndarray, fs: float, nfft: int) -> np.ndarray:
    """Power spectrum of one window, detrended and Hann-windowed."""
    n = len(x)
    t = np.arange(n) - (n - 1) / 2
    x = x - x.mean() - t * (t @ x) / (t @ t)
    return np.abs(np.fft.rfft(x * np.hanning(n), nfft)) ** 2


def _in_band(x: np.ndarray, fs: float, band_bpm) -> float:
    """RMS of x's content in band_bpm (from its spectrum; Parseval, Hann's power taken)."""
    n = len(x)
    p = _spectrum(x, fs, n)
    f = np.fft.rfftfreq(n, 1 / fs) * 60
    sel = (f >= band_bpm[0]) & (f <= band_bpm[1])
    return math.sqrt(2 * p[sel].sum() / (n * n * 0.375))


class HrTracker:
    """Push the PPG's samples (`push`) and the accelerometer's (`add_acc`, in mG, one
    or more axes, at their own rate); every HOP_S of PPG gives one (end sample, HR bpm,
    moving) estimate for the window that ends there."""

    def __init__(self, fs_hz: float):
        if not (10.0 <= fs_hz <= 5000.0):
            raise ValueError(f"PPG at {fs_hz:g} Hz: need 10..5000 Hz")
        self.fs = float(fs_hz)
        self.win, self.hop = round(WINDOW_S * fs_hz), round(HOP_S * fs_hz)
        self.nfft = 1 << math.ceil(math.log2(60.0 * fs_hz / RES_BPM))
        self.f_bpm = np.fft.rfftfreq(self.nfft, 1 / fs_hz) * 60.0
        self.band = (self.f_bpm >= BAND_BPM[0]) & (self.f_bpm <= BAND_BPM[1])
        self.in_band = np.flatnonzero(self.band)
        self.x = np.zeros(0)
        self.n = 0  # PPG samples consumed
        self.next_end = self.win  # sample at which the next window ends
        self.acc = np.zeros((0, 1))
        self.acc_fs = 0.0
        self.acc_end_s = 0.0  # the time (on the PPG's clock) after the last acc sample
        self.avg: np.ndarray | None = None
        self.hr: float | None = None

    def add_acc(self, samples, fs_hz: float) -> None:
        a = np.asarray(samples, dtype=np.float64)
        if not len(a):  # (before the reshape: an empty chunk has no axes to count)
            return
        a = a.reshape(len(a), -1)
        if not np.isfinite(a).all():
            raise ValueError("accelerometer sample is not a number")
        if fs_hz != self.acc_fs or a.shape[1] != self.acc.shape[1]:  # (re)starts now
            self.acc, self.acc_fs = np.zeros((0, a.shape[1])), float(fs_hz)
            self.acc_end_s = self.n / self.fs
        self.acc_end_s += len(a) / fs_hz
        keep = round((WINDOW_S + AHEAD_S) * fs_hz)
        self.acc = np.concatenate((self.acc, a))[-keep:]

    def _acc(self, span_s: float) -> np.ndarray:
        """The accelerometer's last span_s before the PPG's newest sample (what came ahead
        of the PPG waits: the same estimates whatever the chunking)."""
        ahead = max(0, round((self.acc_end_s - self.n / self.fs) * self.acc_fs))
        a = self.acc[:len(self.acc) - ahead]
        return a[-round(span_s * self.acc_fs):] if self.acc_fs else a

    def push(self, samples) -> list[tuple[int, float, bool]]:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if not np.isfinite(x).all():
            raise ValueError("waveform has NaN or infinite samples")
        out = []
        while x.size:
            take = min(x.size, self.next_end - self.n)
            self.x = np.concatenate((self.x, x[:take]))[-self.win:]
            self.n += take
            x = x[take:]
            if self.n == self.next_end:
                out.append((self.n, *self._estimate()))
                self.next_end += self.hop
        return out

    def _moving(self) -> bool:
        """Whether the accelerometer moved in the last hop (in-band RMS of any axis)."""
        a = self._acc(HOP_S)
        return len(a) > 8 and any(_in_band(a[:, k], self.acc_fs, ACC_BAND_BPM) >= ACTIVE_MG
                                  for k in range(a.shape[1]))

    def _acc_mask(self) -> np.ndarray:
        """The accelerometer's share of each frequency (0..1) over the window."""
        a, fs = self._acc(WINDOW_S), self.acc_fs
        if not fs or len(a) < round(WINDOW_S * fs) // 2:
            return np.zeros(len(self.f_bpm))
        nfft = 1 << math.ceil(math.log2(60.0 * fs / RES_BPM))
        f = np.fft.rfftfreq(nfft, 1 / fs) * 60.0
        sel = (f >= ACC_BAND_BPM[0]) & (f <= ACC_BAND_BPM[1])
        share, moving = np.zeros(len(f)), 0
        for k in range(a.shape[1]):
            if _in_band(a[:, k], fs, ACC_BAND_BPM) < ACTIVE_MG:
                continue
            p = _spectrum(a[:, k], fs, nfft)
            share += np.where(sel, p / p[sel].max(), 0.0)
            moving += 1
        if not moving:
            return np.zeros(len(self.f_bpm))
        share /= moving
        # on the PPG's grid, with the movement's harmonics (twice and half its frequency)
        on = lambda g: np.interp(g, f, share, right=0.0)  # noqa: E731
        g = self.f_bpm
        return np.maximum(on(g), HARMONIC * np.maximum(on(g / 2), on(g * 2)))

    def _estimate(self) -> tuple[float, bool, bool]:
        """(HR, moving, confident): confident where the followed rate is a true peak of the
        spectrum (not the band's edge), not the movement's, and near the tallest still one."""
        p = _spectrum(self.x, self.fs, self.nfft)
        p = p / max(p[self.band].max(), 1e-300)
        mask = self._acc_mask()
        p = p / (1.0 + SUPPRESS * mask)
        self.avg = p if self.avg is None else (1 - MEMORY) * self.avg + MEMORY * p
        s = np.where(self.band, self.avg, 0.0)
        # true peaks only: a spectrum still rising at the band's edge is no rate
        k = np.flatnonzero((s[1:-1] > s[:-2]) & (s[1:-1] >= s[2:]) & self.band[:-2]
                           & self.band[2:]) + 1
        still = k[mask[k] < MOTION_SHARE]
        # argmax in the band only: a flat PPG's all-zero spectrum put the rate at 0 bpm
        in_band = lambda w: self.in_band[np.argmax(w[self.in_band])]  # noqa: E731
        top = k[np.argmax(s[k])] if len(k) else in_band(s)
        best = still[np.argmax(s[still])] if len(still) else top
        if self.hr is None:  # the first: the tallest peak that is not the movement's
            i = best
        else:
            i = int(in_band(s * np.exp(-0.5 * ((self.f_bpm - self.hr) / SIGMA_BPM) ** 2)))
        self.hr = float(self.f_bpm[i])
        j = k[np.argmin(np.abs(k - i))] if len(k) else i  # the peak the rate sits on
        confident = bool(s[j] > 0 and abs(self.f_bpm[j] - self.hr) <= SIGMA_BPM / 2 and
                         mask[j] < MOTION_SHARE and s[j] >= COMPARABLE * s[best])
        return self.hr, self._moving(), confident


def track_hr(ppg, fs_hz: float, acc=None, acc_fs_hz: float | None = None):
    """A whole recording's estimates, fed hop by hop as a stream would be (the same code):
    arrays of window end (s), HR (bpm) and moving. `acc` starts with the PPG."""
    x = np.asarray(ppg, dtype=np.float64).ravel()
    t, afs, est = HrTracker(fs_hz), acc_fs_hz or fs_hz, []
    for i in range(0, len(x), t.hop):
        if acc is not None:
            t.add_acc(acc[round(i / fs_hz * afs):round((i + t.hop) / fs_hz * afs)], afs)
        est += t.push(x[i:i + t.hop])
    e = np.array([(n / fs_hz, hr, m, c) for n, hr, m, c in est]).reshape(-1, 4)
    return e[:, 0], e[:, 1], e[:, 2].astype(bool), e[:, 3].astype(bool)
