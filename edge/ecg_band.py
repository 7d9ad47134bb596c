"""Which band an ECG stream detects its beats in, re-chosen on every 10 s of it.

The detector's 5-20 Hz band holds most of a QRS's energy in most leads, and what usually
spoils ECG there (baseline wander, motion, muscle noise above 20 Hz) is outside it. Not
narrow-band interference at 5-15 Hz: MIT-BIH 101 (lead V1) carries an ~8 Hz oscillation
(tremor-like) as tall as its 0.15 mV QRS in that band, and the detector counted half its
cycles as beats (F1 0.763, HR +29 bpm), while its QRS stands 2-5 times over it at 20-45 Hz.

`contrast` says how far beats stand out of a band: the median of the band-passed signal's
maxima over beat-long windows (about one QRS each) over the median of its magnitude (what
lies between beats). In 5-20 Hz it is 6.8-67 on every 10-s window (at 1-s steps) of the
other tuning excerpts and stress cases (the lowest: paced and bundle-branch-wide complexes,
MIT-BIH 104 and 107) and 2.4-8.2 on 101's (`python -m empathy.bench.ecg_band` shows the
windows a stream judges). A window whose low band stays under LOW_CONTRAST while the high
band shows its beats at least ALT_GAIN times as clearly calls for the high band
(heart.ECG_HIGH): muscle noise, which fills 20-150 Hz, keeps the low band. Once there, a
stream goes back only on clear evidence (hysteresis): a window whose low-band contrast
reaches LEAVE_CONTRAST (8.2 at most over 101's windows), or whose high band shows beats
less clearly than the low one; a window with the lead off (a
flat beat-long stretch) keeps the band either way. Nothing on the tuning set tells
101's quieter stretches (6.4-8.2) from paced and bundle-branch complexes (6.8-10.7) on
their first window, so a stream that starts in one waits in 5-20 Hz for a clear window
(from 50 s on: until 120 s; F1 0.93 there against 0.75 when the choice was made once).

Electrode motion is the other thing that spoils 5-20 Hz and spares 20-45 Hz: mostly under
20 Hz, it makes QRS-like waves in the low band (NSTDB 118e12: 6 extra beats, F1 0.988, HR
+2.0 bpm, where py-ecg-detectors' SWT, whose level-3 wavelet band is 22-45 Hz at 360 Hz,
found 1). It lowers the low band's contrast only to 6.7-11 there, as wide paced and
bundle-branch complexes do, and fills the low band's magnitude over the height gate 11-21 %
of the time, as those complexes do too (MIT-BIH 104, 107: 7-19 %; the simulated ECG of
`empathy bench heart`: 15 %, at contrast 31-36), and in 20-45 Hz those complexes lose
beats. So a noisy window (NOISE_FRAC at contrast under NOISE_CONTRAST) is settled by the
rhythm: a fresh detector in each band on it, and the high band is taken where its beats
are fewer, with no gap, and the low band's break the rhythm (`high_keeps_rhythm`; a
stream leaves the high band as above, or once that no longer holds). On the
tuning set it chose 20-45 Hz on NSTDB 118e12, e06 and e00 only (from 50, 40, 50 s), and no
window of a paced, PVC, bundle-branch or muscle-noise record or stress case.

`BandSwitch` runs the choice: the stream's first CAL_S are held and choose its starting
band on themselves (then go through from the start); every later CAL_S window is judged
once it is complete and sets the band from its end on. A switch starts a detector in the
new band on the window just judged (so its averages and height gates are warm at the
seam); the old one carries on until it has given out every beat before the seam, and the
new one's beats count from one refractory time after the old one's last (they wait for
that: after a switch, beats may come out up to one window late). Windows sit at
fixed places from the stream's start, so streaming still equals batch whatever the chunks.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import numpy as np
from scipy import signal

from empathy.edge.ecg_ectopic import shared_shape
from empathy.edge.heart_beats import Beats, _array_median, _join, _median

try:  # sosfilt's own kernel: sosfilt's argument checks cost as much as the filtering here
    from scipy.signal._sosfilt import _sosfilt
except ImportError:  # a SciPy that moved it: the public function gives the same numbers
    _sosfilt = None

CAL_S = 10.0  # the band is chosen on a stream's first 10 s, then on every 10 s after
MIN_CAL_S = 3.0  # a shorter stream keeps the usual band
WINDOW_S = 1.5  # about one beat at 40 bpm and up: most windows hold one QRS
SETTLE_S = 0.5  # the filter's start, left out
LOW_CONTRAST = 6.0
ALT_GAIN = 2.0
LEAVE_CONTRAST = 9.0  # in the high band, a window this clear in the low one goes back
ALT_MIN_FS = 100.0  # a 45 Hz band edge needs more than 90 Hz
FLAT = 0.01  # a beat-long window whose band-passed peak is under 1 % of the usual is flat
NOISE_HEIGHT = 0.4  # the height gate (heart_method.MIN_HEIGHT)
NOISE_FRAC = 0.12  # a window over it this much of the time in 5-20 Hz is noisy
NOISE_CONTRAST = 12.0  # and its contrast there is under this (noise lifts the floor)
EARLY, LATE = 0.7, 1.5  # intervals (of their median) that mean an extra beat, a missed one
# how far back "the clearest window this lead has shown" (BandSwitch.clearest) looks: a
# noise burst (NSTDB's electrode-motion segments last 2 min) is judged against the lead
# before it, while a lead whose beats shrank for good (an electrode re-seated, a posture
# changed) is judged against itself this long after, not against its start for ever
CLEAREST_S = 180.0


@lru_cache(maxsize=16)
def _sos(band: tuple[float, float], fs: float) -> np.ndarray:
    return signal.butter(3, band, "bandpass", fs=fs, output="sos")


def _bandpass(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """signal.sosfilt(sos, x) from rest, for a fresh float64 1-D x (filtered in place)."""
    if _sosfilt is None:
        return signal.sosfilt(sos, x)
    y = x.reshape(1, -1)
    _sosfilt(sos, y, np.zeros((1, len(sos), 2)))
    return x


def contrast(x: np.ndarray, fs: float, band: tuple[float, float]) -> float:
    """Median of the beat-long windows' maxima of |band-passed x| over its median (inf
    where a beat-long window is flat: a lead off says nothing about the band, and would
    lower the median)."""
    return band_stats(x, fs, band)[0]


def band_stats(x: np.ndarray, fs: float, band: tuple[float, float]) -> tuple[float, float]:
    """(`contrast`, noise): how much of the time |band-passed x| stands over NOISE_HEIGHT of
    the beat-long windows' median maximum, as the height gate sees it (0 where contrast is
    inf)."""
    y = np.abs(_bandpass(np.asarray(x - x[0], np.float64), _sos(band, fs)))[int(SETTLE_S * fs):]
    n = int(WINDOW_S * fs)
    k = len(y) // n
    floor = _array_median(y) if len(y) else 0.0
    if k == 0 or floor <= 0:
        return float("inf"), 0.0  # no window, or a flat line: nothing to say against the band
    peaks = y[:k * n].reshape(k, n).max(axis=1).tolist()
    top = _median(peaks)
    if min(peaks) < FLAT * top:
        return float("inf"), 0.0
    return top / floor, int(np.count_nonzero(y >= NOISE_HEIGHT * top)) / len(y)


def wants_high_band(x: np.ndarray, fs: float, low: tuple[float, float],
                    high: tuple[float, float], in_high: bool = False, rhythm=None,
                    low_stats: tuple[float, float] | None = None) -> bool:
    """Whether the window x calls for `high` rather than `low`, for a stream now in
    `high` (in_high) or in `low` (the hysteresis: see the module's docstring). With
    `rhythm` (x -> whether the high band's beats there keep the rhythm the low band's
    break: high_keeps_rhythm), a noisy window (NOISE_FRAC, NOISE_CONTRAST) asks it too.
    `low_stats`: band_stats(x, fs, low), where the caller has them."""
    if len(x) < MIN_CAL_S * fs:
        return in_high
    c_low, noise = low_stats or band_stats(x, fs, low)
    if c_low == float("inf"):  # a lead off (flat): no evidence either way
        return in_high
    if in_high:
        clear = c_low < LEAVE_CONTRAST and contrast(x, fs, high) >= c_low
    else:
        clear = c_low < LOW_CONTRAST and contrast(x, fs, high) >= ALT_GAIN * c_low
    return clear or (rhythm is not None and noise >= NOISE_FRAC and c_low < NOISE_CONTRAST
                     and rhythm(x))


def _odd_intervals(idx: np.ndarray) -> tuple[int, int]:
    """How many of the intervals between beats idx are under EARLY and over LATE times
    their median (an extra beat, a missed one)."""
    d = np.diff(idx)
    if len(d) < 3:
        return 0, 0
    med = _median(d.tolist())
    return int(np.count_nonzero(d < EARLY * med)), int(np.count_nonzero(d > LATE * med))


def high_keeps_rhythm(x: np.ndarray, make, methods: tuple) -> bool:
    """Each band's detector (`make(method)`, see BandSwitch), fresh on the noisy window x:
    the high band finds fewer beats and misses none (no interval over LATE of their
    median), while the low band's extra ones break its rhythm (more intervals under EARLY
    or over LATE than the high band's under EARLY). Electrode motion, mostly under 20 Hz,
    makes QRS-like waves in 5-20 Hz and leaves 20-45 Hz to the QRS (NSTDB 118e12-e00, as
    py-ecg-detectors' SWT finds in its 22-45 Hz wavelet band); wide PVCs and paced
    complexes, short of 20-45 Hz content, leave gaps there, and muscle noise fills it."""
    dets = [make(m) for m in methods]
    low, high = (_join([d.push(x), d.finish()]).idx for d in dets)
    short_high, long_high = _odd_intervals(high)
    return (len(low) > len(high) and long_high == 0 and sum(_odd_intervals(low)) > short_high
            and not shared_shape(x, dets[0].fs, low, high))  # (ecg_ectopic: PVCs, not noise)


def _shift(b: Beats, origin: int, keep=None) -> Beats:
    """A detector's beats in stream indices (it started at `origin`), those in `keep`."""
    if keep is not None:
        b = Beats(b.idx[keep], b.sqi[keep], b.peak[keep])
    return Beats(b.idx + origin, b.sqi, b.peak + origin) if origin else b


class BandSwitch:
    """An ECG stream's detection, in the band its latest CAL_S window calls for.

    `make(method)` gives a detector fixed to one band (a heart_stream.BeatStream);
    `methods` are the usual and the alternative band's settings."""

    def __init__(self, make, fs: float, methods: tuple):
        self.make, self.fs, self.methods = make, fs, methods
        self.size = int(round(CAL_S * fs))  # samples per window
        self.win: list[np.ndarray] = []  # the window being filled (the first: held)
        self.held = 0
        self.n = 0  # samples of the windows completed (a switch is decided at their ends)
        self.cur: tuple | None = None  # (detector, its first sample, in the high band)
        self.old: tuple | None = None  # the band switched away from, until its beats are out
        self.seam = 0  # where the switch took effect
        self.waiting: list[Beats] = []  # the new band's beats until then
        self.joining = False  # the new band's beats not yet past the old one's last
        self.last = -(10**12)  # the last beat given out
        self.refr = 1
        self.switches: list[int] = []  # where the band changed (sample indices)
        self.contrasts: list[float] = []  # each window's low-band contrast, judged in order
        self.clearest: list[float] = []  # the highest finite one of the CLEAREST_S up to each
        self.memory = max(1, int(round(CLEAREST_S / CAL_S)))  # (in windows)
        # the windows that may yet be a later one's clearest, (window, contrast) with the
        # contrasts falling: a sliding maximum, amortised O(1) per window (the beats read it)
        self.peaks: deque = deque()

    def push(self, x: np.ndarray) -> Beats:
        out, fed, i = [], 0, 0  # x[:fed] has gone to the detectors
        while i < x.size:
            k = min(self.size - self.held, x.size - i)
            self.win.append(x[i:i + k])
            self.held, i = self.held + k, i + k
            if self.held < self.size:
                break
            w = np.concatenate(self.win)
            self.win, self.held = [], 0
            start, self.n = self.n, self.n + len(w)
            if self.cur is None:  # the first: the stream starts in the band it calls for
                out.append(self._start(w, start, self._wants_high(w, False)))
                fed = i
                continue
            high = self.cur[2]
            switch = self._wants_high(w, high) != high
            if self.old is None and not switch:
                continue  # (the detectors take the samples in one go: see below)
            out.append(self._feed(x[fed:i]))  # to the window's end, exactly
            fed = i
            if self.old is not None:  # a window on, whatever the old band still holds is out
                out.append(self._from_old(self._old(self.old[0].finish()), done=True))
            if switch:
                self.old, self.seam = self.cur, self.n
                self.switches.append(self.n)
                self.waiting.append(self._start(w, start, not high))
        if self.cur is not None and fed < x.size:
            out.append(self._feed(x[fed:]))
        return _join(out)

    def finish(self) -> Beats:
        out = []
        if self.cur is None:  # shorter than CAL_S: the band is chosen on what came
            x = np.concatenate(self.win) if self.win else np.zeros(0)
            out.append(self._start(x, 0, x.size > 0 and self._wants_high(x, False)))
        if self.old is not None:
            out.append(self._from_old(self._old(self.old[0].finish()), done=True))
        det, origin, _ = self.cur
        out.append(self._give(_shift(det.finish(), origin)))
        return _join(out)

    def last_candidate(self) -> int | None:
        """The latest beat candidate of the detectors running (their own streams' index
        shifted by where each began); None before the first window chose a band."""
        if self.cur is None:
            return None
        running = [d for d in (self.cur, self.old) if d is not None]
        return max(det.last_candidate() + origin for det, origin, _ in running)

    def _bands(self) -> tuple:
        return tuple(m.band_hz for m in self.methods)

    def _wants_high(self, x: np.ndarray, in_high: bool) -> bool:
        stats = band_stats(x, self.fs, self._bands()[0])
        k, c = len(self.contrasts), stats[0]
        self.contrasts.append(c)
        if np.isfinite(c):
            while self.peaks and self.peaks[-1][1] <= c:
                self.peaks.pop()
            self.peaks.append((k, c))
        if self.peaks and self.peaks[0][0] <= k - self.memory:
            self.peaks.popleft()
        self.clearest.append(self.peaks[0][1] if self.peaks else 0.0)
        return wants_high_band(x, self.fs, *self._bands(), in_high=in_high, low_stats=stats,
                               rhythm=lambda w: high_keeps_rhythm(w, self.make, self.methods))

    def contrast_before(self, i: int) -> float:
        """The low band's contrast on the last window complete before sample i (the first
        window for a beat in it: it is judged before any beat comes out), so the same
        whatever the chunks; 0 if that window has not been judged."""
        k = max(i // self.size - 1, 0)
        return self.contrasts[k] if k < len(self.contrasts) else 0.0

    def clearest_before(self, w: int) -> float:
        """The highest finite low-band contrast of the CLEAREST_S of windows judged before
        window w (0 if none): how clearly this lead has shown its beats lately."""
        w = min(w, len(self.clearest))
        return self.clearest[w - 1] if w > 0 else 0.0

    def _old(self, b: Beats) -> Beats:
        return _shift(b, self.old[1])

    def _start(self, x: np.ndarray, origin: int, high: bool) -> Beats:
        """A detector in the chosen band, fed x (which starts at `origin`) at once."""
        det = self.make(self.methods[high])
        self.cur, self.refr = (det, origin, high), det.refr
        b = _shift(det.push(x), origin)
        return b if self.old is not None else self._give(b)

    def _feed(self, part: np.ndarray) -> Beats:
        det, origin, _ = self.cur
        b = _shift(det.push(part), origin)
        if self.old is None:
            return self._give(b)
        self.waiting.append(b)
        return self._from_old(self._old(self.old[0].push(part)), done=False)

    def _from_old(self, b: Beats, done: bool) -> Beats:
        """The old band's beats before the seam; once it has given one past it (its beats
        come out in order) or is done, the new band's waiting beats follow."""
        out = self._give(_shift(b, 0, b.idx < self.seam))
        if not done and not (b.idx.size and b.idx[-1] >= self.seam):
            return out
        self.old, waiting, self.waiting, self.joining = None, _join(self.waiting), [], True
        return _join([out, self._give(waiting)])

    def _give(self, b: Beats) -> Beats:
        """Beats out. After a switch, the new band's count from one refractory time after
        the old one's last: a beat both found near the seam comes out once."""
        if self.joining and b.idx.size:
            b = _shift(b, 0, b.idx > self.last + self.refr)
            self.joining = not b.idx.size
        if b.idx.size:
            self.last = int(b.idx[-1])
        return b
