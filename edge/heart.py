"""Heartbeats from a raw PPG or ECG waveform, streaming: chunks in, beats out.

`BeatStream(fs_hz, kind).push(samples)` returns the beats it is sure of so far;
`ppg_peaks` / `ecg_peaks` run the very same code over a whole recording in one call, so
batch and streaming give bit-identical beats whatever the chunk sizes.

How (Elgendi's two-moving-average detector, made causal):
1. band-pass (causal Butterworth, state carried between chunks; ECG: 5-20 Hz, or 20-45 Hz
   where the stream's first CAL_S show narrow-band interference hiding the QRS, ecg_band),
2. square the positive part (ECG: of the rectified signal, so QRS complexes of either sign and
   wide ventricular or bundle-branch complexes count), average it over a peak-wide and a
   beat-wide window,
3. a "block of interest" is where the short average beats the long one plus an offset
   (a slow running mean of the energy, so quiet and loud stretches both work),
4. one beat per block wide enough and not within the refractory time of the last one,
   placed on the filtered maximum, then moved back by the filter's delay and refined on
   the raw waveform (so beat times match the tools that filter forwards and backwards).
   A candidate under 40 % of the recent beats' height is a dicrotic or T wave, not a beat,
   and one whose raw maximum sits on the edge of the search window is a slope, not a peak.
   Of two candidates within the refractory time the taller stays (a small wave just before
   a pulse must not shut the pulse out). A gap of 1.66-4.5 beats in a steady rhythm is
   searched again, one beat at a time where the rhythm puts it, for smaller pulses the
   energy blocks or the height gate missed (Pan-Tompkins' search-back; pulses weakened
   while a hand moves, under heights that motion inflated). PPG: a pulse under the height
   gate where the rhythm puts the next beat needs only `rhythm_height` of the heights.
   A stream's first beat, whose block starts while the averages are still filling, is
   found by a look-back once the first beat after it is. A PPG beat must rise to its peak
   (at least RISE_MIN of the recent pulses' rise, and RISE_STEPS of the ADC's smallest
   step): ripples on a trough and a flat line's flicker are not pulses.
5. a quality per beat: how much its shape matches the previous few beats' (motion
   artefacts don't look like pulses), halved when the top is clipped flat.

Latency: a beat comes out at most `latency_s` after it happened (the longest block we
accept plus the shape window after the peak or the refractory time, whichever is longer:
until then a taller candidate may still replace it), except that a stream's first FIRST_JUDGED
beats are held until the last of them is found (so a stray wave before the first full pulse
can be judged by height), an ECG stream's first CAL_S wait for its band to be chosen,
and a beat found by search-back comes out with the beat after it. Memory is a fixed
history of that length.
"""

from __future__ import annotations

from collections import deque
import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import signal

from empathy.edge.ecg_band import ALT_MIN_FS, CAL_S, noisy_low_band

# lfilter's own kernel: lfilter adds ~3 us of argument checks per call, and a streamed
# chunk makes four calls
try:
    from scipy.signal._sigtools import _linear_filter
except ImportError:  # a SciPy that moved it: the public function gives the same numbers
    _linear_filter = None


def _lfilter(b: np.ndarray, a: np.ndarray, x: np.ndarray, zi: np.ndarray):
    """lfilter(b, a, x, zi=zi) for float64 1-D input with a[0] == 1."""
    if _linear_filter is not None:
        return _linear_filter(b, a, x, -1, zi)
    return signal.lfilter(b, a, x, zi=zi)

TEMPLATE_BEATS = 5  # a beat's shape is compared with these many before it (see _shape)
MIN_HEIGHT = 0.4  # of the recent beats' median height
FIRST_JUDGED = 8  # a stream's first beats are judged together (see _judge_first)
CLIP_FRAC = 0.02  # a beat within 2 % of its top for 60 ms is clipped (ADCs jitter)
PLATEAU_FRAC = 0.005  # the flat top whose middle is the beat: within 0.5 % of the maximum
SEARCH_GAP = (1.66, 4.5)  # gaps (in recent beat intervals) that are searched for missed beats
RHYTHM_GAP = (0.85, 1.4)  # where the rhythm puts the next beat, in them (see _tall_enough)
LOOK_BACK_GAP = 0.6  # a beat found by _look_back comes at least this many beats before the next
RISE_MIN = 0.2  # of the recent pulses' median rise (see BeatStream._rises)
RISE_STEPS = 10  # a pulse rises at least this many of the ADC's steps (see _rises)
RISE_CAP = 2.0  # what one beat's rise may count for in that reference, of its median
SEARCH_REACH_S = 2.0  # history kept for _search_back beyond one block's needs
SEARCH_SLACK = 0.3  # a missed beat lies within this many beats of where the rhythm puts it
SLICE = 1 << 16  # samples processed at once: bounds memory on hour-long batch input


@dataclass(frozen=True)
class Method:
    band_hz: tuple[float, float]
    peak_win_s: float  # about one systolic upstroke / QRS
    beat_win_s: float  # about one beat
    beta: float  # offset, as a fraction of the slow mean energy
    refractory_s: float  # no two beats closer than this (HR up to 200 bpm)
    max_block_s: float  # longer blocks are artefacts, not beats
    refine_s: float  # how far from the delay-corrected place the raw peak may be
    pre_s: float  # beat shape window, before and after the peak
    post_s: float
    delay_hz: float  # frequency at which the filter's group delay is taken
    smooth_s: float  # the raw waveform is averaged over this before its peak is taken
    min_fs: float
    both_signs: bool = False  # QRS complexes point either way (lead, PVCs): detect on |y|
    rise_check: bool = False  # a beat must rise to its peak (see BeatStream._rises)
    # what a missed beat must reach where _search_back looks, of recent beats' median height
    search_height: float = 0.1
    refine_back_s: float = 0.0  # how far before the delay-corrected place the raw peak may
    # be (0: refine_s)
    back_ratio: float = 1.0  # a raw peak only that far back (past refine_s) must stand this
    # many times the one in the usual window
    late_s: float = 0.0  # a candidate this long after the last beat is no T wave (0: never)
    late_height: float = MIN_HEIGHT  # and needs only this of the recent heights
    block_lead_s: float = 0.0  # past late_s, a block's height for the height gate is its
    # filtered peak from this long before it opens (0: inside it)
    rhythm_height: float = 0.0  # where the rhythm puts the next beat, a candidate needs only
    # this of the recent heights (0: MIN_HEIGHT there too; see _tall_enough)


METHODS = {
    # PPG: a pulse where the rhythm puts the next beat needs 0.15 of the recent heights, not
    # 0.4 (pulses weakened by breathing, or after motion under heights motion inflated; tuned
    # on the PPG tuning records, checked on ppg_artefacts and signal_validation's simulated
    # motion, where it and the gate's start-over it leaves alone mend the recovery after it)
    "ppg": Method((0.5, 8.0), 0.111, 0.667, 0.02, 0.3, 1.5, 0.12, 0.35, 0.15, 1.5, 0.03, 20.0,
                  rise_check=True, rhythm_height=0.15),
    # ECG: 5 Hz keeps wide (ventricular, bundle-branch) complexes, both signs count, and
    # the raw peak of a wide complex may lie up to 100 ms after where the filter puts it and
    # 150 ms before (a pacing spike and the R wave lead the wide complex's energy). Tuned on
    # the annotated MIT-BIH excerpts (heart_corpus, tuning): a search-back beat must reach
    # 0.2 of the recent heights (in bigeminy the pause after a premature beat looks like a
    # missed beat, and 0.1 found T waves there); past Pan-Tompkins' 360 ms T-wave window a
    # small premature complex needs only 0.3 of the recent heights, not 0.4. A peak in
    # the last 50 ms of that early reach must be 1.5 times the one in the usual window: a
    # pacing spike or an R wave stands that tall, motion spikes before the R wave do not
    # (tuned on the simulated motion ECG, seeds 1-8, with the MIT-BIH excerpts unchanged).
    # Past that T-wave window a block's height is its filtered peak from 48 ms (half the
    # peak-wide window) before it opens: a wide premature complex of modest energy opens
    # its block late (tuned on MIT-BIH 123's interpolated PVC, the other tuning excerpts
    # unchanged; inside the window too it cost the simulated motion ECG a beat on seeds 3, 7).
    # The beat-wide window is 0.5 s, not Elgendi's 0.611: a premature complex 0.5-0.6 s after
    # a wide paced one opened no block while the long average still held the paced complex
    # (MIT-BIH 107, lead V1: 4 of 14 PVCs; 0.48-0.52 s find all, the other tuning excerpts
    # unchanged)
    "ecg": Method((5.0, 20.0), 0.097, 0.5, 0.08, 0.25, 0.6, 0.1, 0.2, 0.2, 12.0, 0.0, 60.0,
                  both_signs=True, search_height=0.2, refine_back_s=0.15, back_ratio=1.5,
                  late_s=0.36, late_height=0.3, block_lead_s=0.048),
}


# ECG in a lead where narrow-band interference (tremor at ~8 Hz, MIT-BIH 101's V1) is as
# tall as the QRS in 5-20 Hz: the QRS's 20-45 Hz content, with a higher block offset (the
# interference leaves ripples of energy there too). Chosen per stream (ecg_band); tuned on
# MIT-BIH 101, the one tuning record that picks it
ECG_HIGH = dataclasses.replace(METHODS["ecg"], band_hz=(20.0, 45.0), delay_hz=30.0, beta=0.5)


def band_alternative(kind: str, fs_hz: float) -> Method | None:
    """The other band a stream of this kind may choose (None: no choice)."""
    return ECG_HIGH if kind == "ecg" and fs_hz > ALT_MIN_FS else None


class Beats(NamedTuple):
    idx: np.ndarray  # sample index of each beat from the start of the stream (int64)
    sqi: np.ndarray  # 0..1 shape quality of each beat
    peak: np.ndarray  # where it peaked in the filtered signal (the detector's own index)


def _method(kind: str, fs_hz: float) -> Method:
    if kind not in METHODS:
        raise ValueError(f"unknown waveform kind {kind!r} (known: {', '.join(METHODS)})")
    m = METHODS[kind]
    if not (m.min_fs <= fs_hz <= 5000):
        raise ValueError(f"{kind} at {fs_hz:g} Hz: need {m.min_fs:g}..5000 Hz")
    return m


class BeatStream:
    """Streaming beat detector for one waveform. Push chunks, get `Beats` back."""

    def __init__(self, fs_hz: float, kind: str = "ppg"):
        m = _method(kind, fs_hz)
        self.fs, self.kind = float(fs_hz), kind
        # ECG: the band is chosen on the stream's first CAL_S (see ecg_band); until then the
        # raw samples wait here (None: chosen)
        self.cal: list | None = [] if band_alternative(kind, fs_hz) else None
        self._setup(m)

    def _setup(self, m: Method) -> None:
        """Everything that follows from the method (the detection band and windows)."""
        fs_hz, self.m = self.fs, m
        self.sos = signal.butter(3, m.band_hz, "bandpass", fs=fs_hz, output="sos")
        self.sections = [(np.ascontiguousarray(sec[:3]), np.ascontiguousarray(sec[3:]))
                         for sec in self.sos]
        b, a = signal.sos2tf(self.sos)
        gd = signal.group_delay((b, a), w=[m.delay_hz], fs=fs_hz)[1][0]
        s = lambda sec: max(1, int(round(sec * fs_hz)))  # noqa: E731
        self.delay, self.w1, self.w2 = int(round(gd)), s(m.peak_win_s), s(m.beat_win_s)
        self.min_block = max(1, self.w1 // 2)  # a premature pulse is narrow and short
        self.refr, self.max_block, self.refine = s(m.refractory_s), s(m.max_block_s), s(m.refine_s)
        self.back = s(m.refine_back_s) if m.refine_back_s else self.refine
        self.late = s(m.late_s) if m.late_s else 10**12
        self.lead = int(round(m.block_lead_s * fs_hz))
        self.pre, self.post = s(m.pre_s), s(m.post_s)
        self.smooth = int(m.smooth_s * fs_hz / 2)  # half-width, samples
        self.kernel = np.full(2 * self.smooth + 1, 1.0 / (2 * self.smooth + 1))
        # samples needed after p (a beat found by search-back looks twice as far: _refine)
        self.ahead = max(self.post, 2 * self.refine + self.smooth + 1)
        self.ema_a = 1 - np.exp(-1 / (8.0 * fs_hz))  # energy's slow mean: 8 s time constant
        self.ema_b, self.ema_den = np.array([self.ema_a]), np.array([1.0, self.ema_a - 1])
        self.flat_n = max(3, 0.06 * self.fs)  # samples at the top that make a beat clipped
        self.wait = max(self.ahead, self.refr)  # after a beat's peak (see _settled)
        self.latency_s = (self.max_block + self.wait) / fs_hz
        self.hist = self.max_block + self.pre + self.wait + self.delay + 2 * self.refine + 2
        self.hist += max(self.back - self.refine, 0)
        self.hist += s(SEARCH_REACH_S)
        # what refining and shaping a beat found late reads before its peak: from
        # block_end - hist + reach on, it is in history whatever the chunking
        self.reach = max(self.pre, self.delay + self.back + self.smooth) + 1
        self.n = 0  # samples consumed so far
        self.end = -1  # the recording's length once finish() carried it on (see there)
        self.x = np.zeros(0)  # raw and filtered history (the last `hist` samples)
        self.y = np.zeros(0)
        self.S = np.zeros(self.w2 + 1)  # running energy sums, last w2+1 values
        self.zi = self.ema_zi = None
        self.above = False
        self.block_start = -1  # start of a block still open at the end of the last chunk
        self.last_peak = -(10**12)  # filtered-signal index of the last beat
        self.last_beat = -(10**12)  # raw (refined) index of the last beat
        self.heights: deque = deque(maxlen=8)  # filtered heights of the last beats
        self.weak_since: int | None = None  # the last beat before those _in_rhythm found
        self.rr: deque = deque(maxlen=8)  # samples between the last beats' filtered peaks
        self.rises: deque = deque(maxlen=8)  # raw rises of the last PPG beats (_rises)
        self.searched = 0  # beats found by _search_back
        self.found: set[int] = set()  # their peaks, until shaped
        self.silence = s(2.0)
        self.pending: list[tuple[int, float]] = []  # (peak, height) waiting for its shape
        self.first: list[tuple[int, float]] = []  # the first FIRST_JUDGED candidates
        self.dropped: set[int] | None = None  # which of them failed the height gate, once known
        self.first_floor = 0.0  # that gate's height
        self.looked = -1  # the beat _look_back found, if any
        self.held: list[Beats] = []  # shaped beats waiting for that
        self.shapes = np.zeros((TEMPLATE_BEATS, self.pre + self.post))  # last ones, oldest first

    def push(self, samples) -> Beats:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size and not np.isfinite(x).all():
            raise ValueError("waveform has NaN or infinite samples")
        if self.cal is not None:
            self.cal.append(x)
            if sum(len(c) for c in self.cal) < CAL_S * self.fs:
                return _EMPTY
            x = self._calibrate()
        if x.size <= SLICE:
            return self._push(x) if x.size else _join([])
        return _join([self._push(x[i:i + SLICE]) for i in range(0, x.size, SLICE)])

    def finish(self) -> Beats:
        """End of recording. The last beat's QRS or pulse may be complete while its block of
        interest is still open and shorter than a beat's (the energy averages lag the raw
        waveform by the filter's delay and half the peak-wide window): the recording is
        carried on flat at its last value until any block could have closed, so that block
        is judged by the usual rules as if the signal had stopped there. Nothing is placed in
        the carried-on part: a raw peak must lie, with a sample after it, in the real
        recording (see _refine). Beats still waiting for their shape window come out now."""
        if self.cal is not None:  # shorter than CAL_S: the band is chosen on what came
            rest = self.push(self._calibrate())
            return _join([rest, self.finish()])
        if not len(self.x) or self.end >= 0:
            return _EMPTY
        self.end = self.n
        # longer than max_block: a block still open after it began in the flat part (the
        # filters ringing down), not in the recording, and is left open
        beats = [self._push(np.full(self.max_block + self.wait, self.x[-1]))]
        beats.append(self._emit([p for p, _ in self.pending], final=True))
        self.pending = []
        return _join(beats)

    def _calibrate(self) -> np.ndarray:
        """Choose the ECG band on the samples held so far (ecg_band.noisy_low_band) and
        return them, to be detected from the start in that band: the choice depends on the
        stream's first CAL_S only, so streaming and batch agree whatever the chunks."""
        x, self.cal = np.concatenate(self.cal) if self.cal else np.zeros(0), None
        alt = band_alternative(self.kind, self.fs)
        if noisy_low_band(x, self.fs, self.m.band_hz, alt.band_hz):
            self._setup(alt)
        return x

    def _push(self, x: np.ndarray) -> Beats:
        if self.zi is None:  # start the filters settled on the first sample, not from 0
            self.zi = signal.sosfilt_zi(self.sos) * x[0]
        y = x
        for k, (b, a) in enumerate(self.sections):  # = sosfilt, without its per-call checks
            y, self.zi[k] = _lfilter(b, a, y, self.zi[k])
        if self.m.both_signs:
            y = np.abs(y)
        e = np.maximum(y, 0.0)
        e *= e
        if self.ema_zi is None:
            self.ema_zi = np.array([e[0] * (1 - self.ema_a)])
        slow, self.ema_zi = _lfilter(self.ema_b, self.ema_den, e, self.ema_zi)
        # cumulative sums with the carried total: identical whatever the chunking
        k = len(self.S)
        SS = np.concatenate((self.S, e))
        np.cumsum(SS[k - 1:], out=SS[k - 1:])  # carried on from the last total
        short = (SS[k:] - SS[k - self.w1:-self.w1]) / self.w1
        long_ = (SS[k:] - SS[k - self.w2:-self.w2]) / self.w2
        self.S = SS[-(self.w2 + 1):]
        above = short > long_ + self.m.beta * slow

        base = self.n
        self.n += x.size
        self.x = np.concatenate((self.x, x))  # trimmed to `hist` once this chunk is done
        self.y = np.concatenate((self.y, y))
        h0 = self.n - len(self.y)  # stream index of history[0]

        edges = np.flatnonzero(above[1:] != above[:-1]) + 1  # where it flips, then the start
        flips_at_start = bool(above[0]) != self.above
        self.above = bool(above[-1])
        for j in ([0] if flips_at_start else []) + edges.tolist():
            if above[j]:  # rising: a block starts here
                self.block_start = base + j
                continue
            s, self.block_start = self.block_start, -1
            self._block(s, base + j, h0)
        if self.block_start >= 0 and self.n - self.block_start > self.max_block:
            self.block_start = -(10**12)  # too long to be a beat: drop it (bounded history)
        n_ready = sum(1 for p, _ in self.pending if self._settled(p))
        ready, self.pending = [p for p, _ in self.pending[:n_ready]], self.pending[n_ready:]
        beats = self._emit(ready, final=False)
        self.x, self.y = self.x[-self.hist:], self.y[-self.hist:]
        return beats

    def _block(self, s: int, e_: int, h0: int) -> None:
        """A block of interest from s to e_ (exclusive): its beat, if it is one."""
        if s < max(h0, self.w1) or not (self.min_block <= e_ - s <= self.max_block):
            return  # (a block from before the peak-wide average is full: the start)
        p = s + int(self.y[s - h0:e_ - h0].argmax())
        h = float(self.y[p - h0])
        if p - self.last_peak < self.refr:
            self._taller_wins(p, h)
            return
        late = self.lead and p - self.last_peak >= self.late
        tall = self._tall_enough(p, max(h, self._lead_height(s, h0)) if late else h)
        if not tall and not self._in_rhythm(p, h):
            return
        if self.dropped is None and not self.first:
            self._look_back(p, e_, h0)
        self._search_back(p, e_, h0)
        if p - self._heard() > self.silence:  # start the reference over (after artefacts)
            self.heights.clear()
        if tall:
            self.weak_since = None
        elif self.weak_since is None:
            self.weak_since = self.last_peak
        self._note_interval(p - self.last_peak)
        self.last_peak = p
        self.heights.append(h)
        self.pending.append((p, h))
        if self.dropped is None:
            self.first.append((p, h))
            self._judge_first(final=False)

    def _lead_height(self, s: int, h0: int) -> float:
        """ECG: the filtered peak in the `block_lead_s` before block s starts. The short
        energy average trails the signal, so the block of a wide complex of modest energy
        may open only after its band-passed peak, and hold just its tail."""
        lo = max(s - self.lead, h0)
        return float(self.y[lo - h0:s - h0].max()) if s > lo else 0.0

    def _settled(self, p: int) -> bool:
        """No later candidate can still replace beat p (see _taller_wins), and the samples
        its shape needs are here."""
        if self.n < p + self.wait:
            return False
        return not 0 <= self.block_start < p + self.refr  # a block open within p's reach

    def _note_interval(self, gap: int) -> None:
        """The rhythm reference for _search_back: recent peak-to-peak gaps, except those
        that span a dropout (they say nothing about the rhythm)."""
        if gap > self.silence:  # the first beat, or after a long dropout: start over
            self.rr.clear()
        elif not self.rr or gap <= SEARCH_GAP[1] * _median(self.rr):
            self.rr.append(gap)

    def _search_back(self, p: int, block_end: int, h0: int) -> None:
        """A gap of 1.66-4.5 beats in a steady rhythm means beats the energy blocks or the
        height gate missed (a small pulse on a falling baseline, pulses weakened while the
        hand moves and the heights are still motion's): look again between the two beats,
        as Pan-Tompkins does, one beat at a time where the rhythm puts it, for a filtered
        peak of at least `search_height` of recent ones."""
        if len(self.rr) < 4 or len(self.heights) < 3 or self.dropped is None:
            return  # no steady rhythm to go by yet (a stream's first beats are unsure)
        gap, med = p - self.last_peak, _median(self.rr)
        if not SEARCH_GAP[0] * med < gap <= SEARCH_GAP[1] * med:
            return
        floor = max(block_end - self.hist + self.reach, h0)  # (see __init__: reach)
        slack, least = SEARCH_SLACK * med, self.m.search_height * _median(self.heights)
        prev = self.last_peak
        while True:
            lo = max(int(prev + med - slack), self.last_peak + self.refr, floor)
            hi = min(int(prev + med + slack), int(p - med + slack), p - self.refr)
            if hi - lo < 3:
                return
            w = self.y[lo - h0:hi - h0]
            k = int(w.argmax())
            q, hq = lo + k, float(w[k])
            if not (0 < k < len(w) - 1 and hq >= least):
                prev = int(prev + med)  # none here: the next one is a beat further on
                continue
            self._note_interval(q - self.last_peak)
            self.last_peak = prev = q
            self.pending.append((q, hq))
            self.found.add(q)
            self.searched += 1

    def _look_back(self, p: int, block_end: int, h0: int) -> None:
        """The stream's first beat may come before the energy averages are full (its block
        starts in their warm-up and is dropped as the start transient): at the first beat
        found, the tallest filtered peak between the start and that beat becomes a
        candidate too. It is one of the first beats, judged with them once their heights
        and rhythm are known (_judge_first: tall enough, and not much sooner before the next
        beat than the rhythm puts it), so nothing is emitted later than it would be."""
        lo = max(block_end - self.hist + self.reach, h0, self.refine)
        hi = p - self.refr
        if hi - lo < 3:
            return
        w = self.y[lo - h0:hi - h0]
        k = int(w.argmax())
        if 0 < k < len(w) - 1:
            q = lo + k
            self.last_peak = q
            self.heights.append(float(w[k]))
            self.pending.append((q, float(w[k])))
            self.first.append((q, float(w[k])))
            self.looked = q

    def _taller_wins(self, p: int, h: float) -> None:
        """Two candidates within the refractory time: a small wave (a notch, a premature
        twitch) just before a pulse must not shut the pulse out, so the taller one stays.
        The earlier one is still pending: _settled holds a beat until this can't happen."""
        if not self.pending or self.pending[-1][0] != self.last_peak or h <= self.pending[-1][1]:
            return
        old = self.pending[-1][0]
        self.pending[-1] = (p, h)
        self.last_peak = p
        if self.rr:
            self.rr[-1] += p - old
        if self.heights:
            self.heights[-1] = h
        if self.first and self.first[-1][0] == old:
            self.first[-1] = (p, h)
            if self.dropped is not None and old in self.dropped:  # judged already
                self.dropped.discard(old)
                if h < self.first_floor:
                    self.dropped.add(p)

    def _judge_first(self, final: bool) -> None:
        """A stream's first beats are judged by height once FIRST_JUDGED are known (a
        stray wave before the first full pulse); until then what is found is held back."""
        if self.dropped is not None or (len(self.first) < FIRST_JUDGED and not final):
            return
        self.first_floor = MIN_HEIGHT * (_median([h for _, h in self.first]) if self.first else 0.0)
        self.dropped = {p for p, h in self.first if h < self.first_floor}
        peaks = [p for p, _ in self.first]
        if self.looked in peaks[:1] and len(peaks) >= 3:  # the look-back's must keep the rhythm
            gaps = [b - a for a, b in zip(peaks[1:], peaks[2:])]
            if peaks[1] - peaks[0] < LOOK_BACK_GAP * _median(gaps):
                self.dropped.add(peaks[0])

    def _emit(self, ready: list[int], final: bool) -> Beats:
        beats = self._shape(ready)
        if final:
            self._judge_first(final=True)
        if self.dropped is None:
            self.held.append(beats)
            return _join([])
        if self.held:
            beats, self.held = _join(self.held + [beats]), []
        if not self.dropped:
            return beats
        keep = ~np.isin(beats.peak, list(self.dropped))
        return Beats(beats.idx[keep], beats.sqi[keep], beats.peak[keep])

    def _tall_enough(self, p: int, height: float) -> bool:
        """A dicrotic wave or T wave is a fraction of a real beat's height. After a long
        silence (the pulse got weaker) any block counts again, so the gate can't lock out.
        ECG: a candidate later than `late_s` after the last beat is past its T wave, and a
        small premature complex there needs only `late_height`."""
        if p - self._heard() > self.silence or len(self.heights) < 3:
            return True  # (the reference starts over: see _block)
        least = MIN_HEIGHT if p - self.last_peak < self.late else self.m.late_height
        return height >= least * _median(self.heights)

    def _heard(self) -> int:
        """Where the silence before a candidate counts from (after it the height gate starts
        over): the last beat, or the last before a run of beats that only _in_rhythm let in."""
        return self.last_peak if self.weak_since is None else self.weak_since

    def _in_rhythm(self, p: int, height: float) -> bool:
        """PPG: a pulse under the height gate but RHYTHM_GAP after the last beat, where the
        rhythm puts the next one, is a beat if it reaches `rhythm_height` of the recent
        heights (weakened after motion while the heights are still motion's, or by
        breathing; a dicrotic or diastolic wave comes sooner). Such beats don't put off
        the gate's start-over (_heard): if the rhythm was motion's too, every other pulse
        would fit it."""
        if not self.m.rhythm_height or len(self.rr) < 4:
            return False
        med, gap = _median(self.rr), p - self.last_peak
        return (height >= self.m.rhythm_height * _median(self.heights)
                and RHYTHM_GAP[0] * med <= gap <= RHYTHM_GAP[1] * med)

    def _refine(self, p: int, h0: int, after: int) -> int:
        """Where the beat really is: the raw waveform's peak near the delay-corrected place
        (-1 when the raw maximum is on the window's edge: a slope, not a peak). Where the
        raw peak may lie further back than usual (ECG: a pacing spike, the R wave ahead of
        a wide complex's energy), a peak found only there must stand `back_ratio` times the
        usual window's, in the wide window's terms: motion spikes before an R wave do not."""
        r, _, _ = self._raw_peak(p, h0, after, self.refine)
        if self.back <= self.refine:
            return r
        e, w, lo = self._raw_peak(p, h0, after, self.back)
        if e < 0 or r < 0:
            return max(e, r)  # the one that is a peak, if either is
        return e if w[e - lo] > self.m.back_ratio * w[r - lo] else r

    def _raw_peak(self, p: int, h0: int, after: int, back: int) -> tuple[int, np.ndarray, int]:
        """The raw peak between p - delay - back and p + after (-1 on the window's edge),
        the window as it was judged and its first sample."""
        # a causal filter only delays: the raw peak lies between p - delay - refine and p,
        # give or take the refine margin for pulses sharper than the delay's frequency
        # real samples only (see finish), and a smoothed value needs its k samples after it
        # (the average of a slope cut off by the end turns down: not a peak)
        k = self.smooth
        n = (self.end if self.end >= 0 else self.n) - k
        lo, hi = max(p - self.delay - back, h0, 0), min(p + after + 1, n)
        a, b = max(lo - k, h0), min(hi + k, n + k)
        w = self.x[a - h0:b - h0]
        if k and len(w) > 2 * k:  # centred average: noise must not pick the peak
            w = np.convolve(w, self.kernel, "same")
        w = w[lo - a:len(w) - (b - hi)]
        if self.kind == "ecg":  # R waves point either way depending on the lead; on a
            # wandering baseline the window's own slope must not decide where the peak is
            # (unless the recording's end cuts the window: the line would flatten a QRS cut
            # off while rising, and a P wave before it would stand out)
            if len(w) > 1 and hi == p + after + 1:
                w = w - _line(float(w[0]), float(w[-1]), len(w))
            w = np.abs(w - _array_median(w))
        k = int(w.argmax()) if len(w) else 0
        if not 0 < k < len(w) - 1:
            return -1, w, lo
        # a clipped top: its middle, not its start (Python floats: numpy scalars are slow)
        wk = float(w[k])
        below = w[k:] < wk - PLATEAU_FRAC * (wk - float(w.min()))
        j = int(below.argmax())
        return lo + k + (j if below[j] else len(w) - k) // 2, w, lo

    def _shape(self, peaks: list[int]) -> Beats:
        """Refine each beat's time and grade its shape (all its samples are here now)."""
        h0 = self.n - len(self.y)
        idx, kept = [], []
        for p in peaks:
            # a small pulse found by search-back: its filtered peak may come well before
            # the raw one (the band-pass peaks on the upstroke of a slow, weak pulse)
            wide = p in self.found
            self.found.discard(p)
            r = self._refine(p, h0, 2 * self.refine if wide else self.refine)
            if r < 0 and not wide and self._back_from_floor(p, h0):
                r = self._refine(p, h0, 2 * self.refine)
            if r < 0 or r <= self.last_beat or not self._rises(r, h0):
                continue
            self.last_beat = r
            idx.append(r)
            kept.append(p)
        if not idx:
            return _EMPTY
        return Beats(np.array(idx, np.int64), self._quality(kept, h0), np.array(kept, np.int64))

    def _back_from_floor(self, p: int, h0: int) -> bool:
        """The signal sat flat at its floor (a logger's drop-out to 0) just before beat p:
        on the steep return the band-passed peak comes early, and the raw peak may lie past
        the refine window (a search-back beat's reach is looked at instead). Not a motion
        slope: those do not start from a flat floor."""
        a = max(p - self.delay - self.refine - self.pre, h0)
        w = self.x[a - h0:p - h0]
        if len(w) < self.flat_n:
            return False
        at_floor = np.flatnonzero(w == w.min())
        runs = np.split(at_floor, np.flatnonzero(np.diff(at_floor) > 1) + 1)
        return max(len(r) for r in runs) >= self.flat_n

    def _rises(self, r: int, h0: int) -> bool:
        """PPG: a pulse rises to its peak. A raw peak that stands under RISE_MIN of the
        recent pulses' rise above the 350 ms before it is a ripple on a trough or a slope
        (motion), whatever the band-passed energy said. As with heights, the reference
        starts over after a silence."""
        if not self.m.rise_check:
            return True
        # no pulse for a while (it got weaker, or the reference came from motion): start
        # over, so the gate can't lock out
        if r - self.last_beat > max(2 * self.silence, 4 * _median(self.rr) if self.rr else 0):
            self.rises.clear()
        a = max(r - self.pre, h0)  # (in history: see hist; h0 > 0 only once r - pre is in)
        w = self.x[a - h0:r - h0 + 1]
        rise = float(w[-1]) - float(np.minimum.reduce(w))
        # a flat line (no contact) still flickers by an ADC step or two, and the energy
        # detector is blind to scale: its smallest step, seen in the same window, sets a floor
        # (any step bounds the smallest from above: the peak's last one, near 0, usually
        # settles it without looking at them all)
        last = abs(float(w[-1]) - float(w[-2])) if len(w) > 1 else 0.0
        if not 0.0 < RISE_STEPS * last <= rise:
            steps = np.abs(np.diff(w))
            steps = steps[steps > 0]
            if steps.size and rise < RISE_STEPS * float(np.minimum.reduce(steps)):
                return False
        if len(self.rises) >= 3:
            med = _median(self.rises)
            if rise < RISE_MIN * med:
                return False
            rise = min(rise, RISE_CAP * med)  # a motion spike must not raise the bar at once
        self.rises.append(rise)
        return True

    def _quality(self, peaks: list[int], h0: int) -> np.ndarray:
        """How much each beat's shape matches the TEMPLATE_BEATS' before it (0..1), halved
        when its top is clipped flat. All of a call's beats at once (an hour's batch is
        thousands), in row-wise arithmetic that gives the same bits for one row as for many,
        so streaming still grades exactly like batch."""
        w = self.shapes.shape[1]
        rows = np.asarray(peaks, np.int64)[:, None] - (h0 + self.pre) + np.arange(w)
        # a beat right at the stream's start: its window is clipped at sample 0
        np.clip(rows, 0, len(self.y) - 1, out=rows)
        seg, raw = self.y[rows], self.x[rows]
        seg -= (np.add.reduce(seg, axis=1) / w)[:, None]
        norm = np.sqrt(np.add.reduce(seg * seg, axis=1))
        seg *= np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)[:, None]
        # the template of beat i: the sum of the TEMPLATE_BEATS shapes before it, oldest first
        past = np.concatenate((self.shapes, seg))
        n = len(seg)
        tmpl = past[:n].copy()
        for k in range(1, TEMPLATE_BEATS):
            tmpl += past[k:k + n]
        tn = np.sqrt(np.add.reduce(tmpl * tmpl, axis=1))
        q = np.divide(np.add.reduce(seg * tmpl, axis=1), tn, out=np.ones(n), where=tn > 0)
        np.clip(q, 0.0, 1.0, out=q)
        top, bottom = np.maximum.reduce(raw, axis=1), np.minimum.reduce(raw, axis=1)
        flat = np.count_nonzero(raw >= (top - CLIP_FRAC * (top - bottom))[:, None], axis=1)
        q[flat >= self.flat_n] *= 0.5  # a clipped top sits (near) flat at the maximum a while
        self.shapes = past[-TEMPLATE_BEATS:]
        return q


def _line(first: float, last: float, n: int) -> np.ndarray:
    """np.linspace(first, last, n) (n > 1), the same bits, without its generality's cost."""
    y = np.arange(n, dtype=float)
    y *= (last - first) / (n - 1)
    y += first
    y[-1] = last
    return y


def _array_median(w: np.ndarray) -> float:
    """np.median of a 1-d float array, the same bits, without its generality's cost."""
    n = len(w)
    h = n // 2
    if n % 2:
        return float(np.partition(w, h)[h])
    part = np.partition(w, (h - 1, h))
    return (float(part[h - 1]) + float(part[h])) / 2.0


def _median(values) -> float:
    """statistics.median for a handful of floats, without its generality's cost."""
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


_EMPTY = Beats(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
for _a in _EMPTY:
    _a.flags.writeable = False  # shared by every empty result


def _join(parts: list[Beats]) -> Beats:
    if not parts:
        return _EMPTY
    return Beats(*(np.concatenate([b[k] for b in parts]) for k in range(3)))


def waveform_peaks(x, fs_hz: float, kind: str) -> Beats:
    """All beats of a whole recording (same code and results as streaming it)."""
    st = BeatStream(fs_hz, kind)
    return _join([st.push(x), st.finish()])


def ppg_peaks(x, fs_hz: float) -> Beats:
    return waveform_peaks(x, fs_hz, "ppg")


def ecg_peaks(x, fs_hz: float) -> Beats:
    return waveform_peaks(x, fs_hz, "ecg")
