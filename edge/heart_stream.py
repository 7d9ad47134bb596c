"""The streaming block detector: `BeatStream`, chunks of samples in, beats out.

This is the detector's core loop (edge/heart.py describes the method): band-pass the
chunk with its filter state carried on, find the blocks of interest in the energy averages,
hand each block's candidate to the gates (heart_gates), and once nothing later can replace
a beat, place and grade it (heart_refine) and emit it. It owns the stream's state and
history; an ECG stream that may choose its band hands its samples to ecg_band.BandSwitch,
which runs one such detector per band it chooses.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import signal

from empathy.edge.ecg_band import BandSwitch
from empathy.edge.ecg_ectopic import EctopicShapes
from empathy.edge.ecg_pair import ClosePair
from empathy.edge.ecg_rhythm import RhythmPick
from empathy.edge.ectopic_beats import beat_slopes
from empathy.edge.heart_beats import _EMPTY, Beats, Recent, _join, _max
from empathy.edge.heart_gates import BeatGates
from empathy.edge.heart_method import (NOISE_S, RAW_AFTER_FLOOR_S, RISE_SILENCE_S,
                                       SEARCH_REACH_S, SLICE, STEEP_S, STEP_RETURN_S, STEP_S,
                                       TEMPLATE_BEATS, Method, _method,
                                       band_alternative)
from empathy.edge.heart_refine import BeatRefiner
from empathy.edge.ppg_floor import FloorRestart

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


class BeatStream(BeatGates, BeatRefiner):
    """Streaming beat detector for one waveform. Push chunks, get `Beats` back."""

    def __init__(self, fs_hz: float, kind: str = "ppg", method: Method | None = None):
        m = method or _method(kind, fs_hz)
        self.fs, self.kind = float(fs_hz), kind
        # ECG: the band is chosen per window (ecg_band), each band's detector fixed to it
        alt = None if method else band_alternative(kind, fs_hz)
        self.bands = alt and BandSwitch(lambda b: BeatStream(fs_hz, kind, b), self.fs, (m, alt))
        # and its beats judged by the rhythm after, where the lead is noisy
        self.ecto = self.bands and EctopicShapes(self.fs)  # (keeping recurring ectopic shapes)
        self.pick = self.bands and RhythmPick(self.bands.contrast_before, self.ecto.recurs)
        self.pair = self.bands and ClosePair(self.bands, self.ecto.recurs)  # (and close pairs)
        self._setup(m)

    def _setup(self, m: Method) -> None:
        """Everything that follows from the method (the detection band and windows)."""
        fs_hz, self.m = self.fs, m
        self.sos = signal.butter(3, m.band_hz, "bandpass", fs=fs_hz, output="sos")
        self.sections = [(np.ascontiguousarray(sec[:3]), np.ascontiguousarray(sec[3:]))
                         for sec in self.sos]
        # The cascade's group delay is its sections' sum; one transfer function of a narrow
        # low band at a high rate is ill-conditioned (PPG at 700 Hz gave 634 samples for 84)
        gd = sum(signal.group_delay((sec[:3], sec[3:]), w=[m.delay_hz], fs=fs_hz)[1][0]
                 for sec in self.sos)
        s = lambda sec: max(1, int(round(sec * fs_hz)))  # noqa: E731
        self.delay, self.w1, self.w2 = int(round(gd)), s(m.peak_win_s), s(m.beat_win_s)
        self.min_block = max(1, self.w1 // 2)  # a premature pulse is narrow and short
        self.refr, self.max_block, self.refine = s(m.refractory_s), s(m.max_block_s), s(m.refine_s)
        self.back = s(m.refine_back_s) if m.refine_back_s else self.refine
        self.late = s(m.late_s) if m.late_s else 10**12
        self.lead = int(round(m.block_lead_s * fs_hz))
        self.after_floor = s(RAW_AFTER_FLOOR_S)
        self.noise_win, self.pre_qrs = s(NOISE_S), s(0.1)  # (pre_qrs: p's own QRS)
        self.step_win, self.step_back = s(STEP_S), s(STEP_RETURN_S)  # (_step)
        self.steep_d, self.steep_memo = s(STEEP_S), {}  # (_steepness)
        self.doubtful: dict[int, tuple[int, int]] = {}  # early beats in noise (_doubt)
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
        self.restart = FloorRestart(fs_hz) if m.floor_restart else None  # (PPG: ppg_floor)
        self.hist = max(self.hist, self.restart.history_n if self.restart else 0)
        self.above = False
        self.block_start = -1  # start of a block still open at the end of the last chunk
        self.last_peak = -(10**12)  # filtered-signal index of the last beat
        self.before_last = -(10**12)  # and of the beat before it (_in_rhythm)
        self.last_beat = -(10**12)  # raw (refined) index of the last beat
        self.heights = Recent(8)  # filtered heights of the last beats
        self.steeps = Recent(8)  # and their raw steepness (ECG: _gentle)
        self.weak_since: int | None = None  # the last beat before those _in_rhythm found
        self.rr = Recent(8)  # samples between the last beats' filtered peaks
        self.rises: deque = deque(maxlen=8)  # raw rises of the last PPG beats (_rises)
        self.gaps: deque = deque(maxlen=8)  # and the intervals between the last beats placed
        self.heard: deque = deque(maxlen=4)  # the last small rises and beats placed (_regular)
        self.searched = 0  # beats found by _search_back
        self.found: set[int] = set()  # their peaks, until shaped
        # and the last two, kept once shaped (_halved_pulse: when a beat is shaped depends
        # on the chunking)
        self.found_back: deque = deque(maxlen=2)
        self.silence, self.rise_silence = s(m.silence_s), s(RISE_SILENCE_S)
        self.pending: list[tuple[int, float]] = []  # (peak, height) waiting for its shape
        self.first: list[tuple[int, float]] = []  # the first FIRST_JUDGED candidates
        self.dropped: set[int] | None = None  # which of them failed the height gate, once known
        self.first_floor = 0.0  # that gate's height
        self.looked = -1  # the beat _look_back found, if any
        self.stepped = -(10**12)  # the last candidate the step gate refused (ECG: _step)
        self.jump = self.step_jump = (0, 0.0)  # the last step's jump (sample, size), and
        # the stepped candidate's
        self.first_steep: dict[int, float] = {}  # the first beats' raw steepness (_first_like)
        self.held: list[tuple[Beats, np.ndarray]] = []  # shaped beats (and shapes) waiting
        self.shapes = np.zeros((TEMPLATE_BEATS, self.pre + self.post))  # last ones, oldest first

    def push(self, samples) -> Beats:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size and not np.isfinite(x).all():
            raise ValueError("waveform has NaN or infinite samples")
        if self.bands:
            return self.pair.push(self.pick.push(self.ecto.push(x, self.bands.push(x))))
        if x.size <= SLICE:
            return self._push(x) if x.size else _join([])
        return _join([self._push(x[i:i + SLICE]) for i in range(0, x.size, SLICE)])

    def last_candidate(self) -> int | None:
        """The stream index of the latest beat candidate, before it is confirmed (None: an
        ECG stream's first band window is still being gathered, nothing is detected yet)."""
        return self.bands.last_candidate() if self.bands else self.last_peak

    def waiting(self) -> int | None:
        """The stream index of the first beat an ECG's close-pair stage holds back, waiting
        for the next beats or for its window's verdict (ecg_pair: up to a window, 10 s)."""
        return self.pair.waiting() if self.bands else None

    def slopes(self, idx) -> np.ndarray:
        """An ECG's beats' ectopic_beats.beat_slopes rows, from the raw samples it keeps
        (ecg_ectopic's HISTORY_S, or the detector's history): a seat's ectopic labels
        (edge/heart_window.py) take their shape from them (NaN: the window not kept)."""
        x, n = (self.ecto.x, self.ecto.n) if self.bands else (self.x, self.n)
        return beat_slopes(x, self.fs, np.asarray(idx, np.int64) - (n - len(x)))

    def finish(self) -> Beats:
        """End of recording. The last beat's QRS or pulse may be complete while its block of
        interest is still open and shorter than a beat's (the energy averages lag the raw
        waveform by the filter's delay and half the peak-wide window): the recording is
        carried on flat at its last value until any block could have closed, so that block
        is judged by the usual rules as if the signal had stopped there. Nothing is placed in
        the carried-on part: a raw peak must lie, with a sample after it, in the real
        recording (see _refine). Beats still waiting for their shape window come out now."""
        if self.bands:
            b = self.ecto.push(np.zeros(0), self.bands.finish(), final=True)
            b = _join([self.pick.push(b), self.pick.finish()])
            return _join([self.pair.push(b), self.pair.finish()])
        if not len(self.x) or self.end >= 0:
            return _EMPTY
        self.end = self.n
        # longer than max_block: a block still open after it began in the flat part (the
        # filters ringing down), not in the recording, and is left open
        beats = [self._push(np.full(self.max_block + self.wait, self.x[-1]))]
        after = self.stepped + int(self.rr.median()) if self.rr else -1
        if self._refused_qrs(after, self.n - len(self.y)):  # no next beat will search its
            # gap: search it as if one came an interval after the refused QRS
            self._search_back(after, self.n, self.n - len(self.y))
        beats.append(self._emit([p for p, _ in self.pending], final=True))
        self.pending = []
        return _join(beats)

    def _push(self, x: np.ndarray) -> Beats:
        y, jumps = (self.restart.filtered(self._band, x, self.x) if self.restart and self.end < 0
                   else (self._band(x, False), []))  # (not in finish's carried-on part)
        if self.m.both_signs:
            y = np.abs(y)
        e = np.maximum(y, 0.0)
        e *= e
        slow = self._slow(e, jumps)
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
        if self.doubtful:  # past its hold a doubtful beat is settled and can't be replaced
            self.doubtful = {q: v for q, v in self.doubtful.items() if v[1] > self.n}
        self.x, self.y = self.x[-self.hist:], self.y[-self.hist:]
        return beats

    def _slow(self, e: np.ndarray, cuts: list[int]) -> np.ndarray:
        """The energy's slow mean, started over (settled on the energy there, as at the
        stream's start) at each of `cuts`: a jump's energy is no pulse's (ppg_floor)."""
        out = []
        for i, j in zip([0] + cuts, cuts + [len(e)]):  # (slices: np.split cost a chunk 9 us)
            if j > i:
                if self.ema_zi is None or i in cuts:
                    self.ema_zi = np.array([e[i] * (1 - self.ema_a)])
                s, self.ema_zi = _lfilter(self.ema_b, self.ema_den, e[i:j], self.ema_zi)
                out.append(s)
        return np.concatenate(out) if len(out) > 1 else out[0]

    def _band(self, x: np.ndarray, restart: bool) -> np.ndarray:
        """x band-passed, the filters' state carried on (or started over: ppg_floor)."""
        if self.zi is None or restart:  # start the filters settled on the first sample, not 0
            self.zi = signal.sosfilt_zi(self.sos) * x[0]
        y = x
        for k, (b, a) in enumerate(self.sections):  # = sosfilt, without its per-call checks
            y, self.zi[k] = _lfilter(b, a, y, self.zi[k])
        return y

    def _block(self, s: int, e_: int, h0: int) -> None:
        """A block of interest from s to e_ (exclusive): its beat, if it is one."""
        if s < max(h0, self.w1) or not (self.min_block <= e_ - s <= self.max_block):
            return  # (a block from before the peak-wide average is full: the start)
        p = s + int(self.y[s - h0:e_ - h0].argmax())
        h = float(self.y[p - h0])
        if p - self.last_peak < self.refr:
            self._taller_wins(p, h)
            self._note_steep(p, h0, e_, replace=True)
            return
        late = self.lead and p - self.last_peak >= self.late
        tall = self._tall_enough(p, max(h, self._lead_height(s, h0)) if late else h)
        if not tall and not self._in_rhythm(p, h):
            return
        if self._step(p, h0):
            self.stepped, self.step_jump = p, self.jump  # (search-back may yet find it:
            # _refused_qrs)
            return
        if self._gentle(p, h0, e_):
            return
        if self._rhythm_wins(p, h):
            self._note_steep(p, h0, e_, replace=True)
            return
        if self.dropped is None and not self.first:
            self._look_back(p, e_, h0)
        self._search_back(p, e_, h0)
        if p - self._heard() > self.silence:  # start the reference over (after artefacts)
            self.heights.clear()
            self.steeps.clear()
        if tall:
            self.weak_since = None
        elif self.weak_since is None:
            self.weak_since = self.last_peak
        self._doubt(p, h0)
        self._note_interval(p - self.last_peak)
        self.before_last, self.last_peak = self.last_peak, p
        self.heights.append(h)
        self._note_steep(p, h0, e_)
        self.pending.append((p, h))
        if self.dropped is None:
            self.first.append((p, h))
            if self.m.first_like:  # (to the block's end: the same whatever the chunking)
                self.first_steep[p] = self._steepness(p, h0, e_)
            self._judge_first(final=False)

    def _note_steep(self, q: int, h0: int, end: int = 1 << 62, replace: bool = False) -> None:
        """ECG: beat q's raw steepness (to its block's end: the same whatever the chunking)
        joins the recent beats', as its height joins `heights`, or takes the place of the
        beat it replaced (only if q was taken): _gentle's reference."""
        if not self.m.min_slope or self.last_peak != q:
            return
        if replace and self.steeps:
            self.steeps.pop()
        self.steeps.append(self._steepness(q, h0, end))

    def _lead_height(self, s: int, h0: int) -> float:
        """ECG: the filtered peak in the `block_lead_s` before block s starts. The short
        energy average trails the signal, so the block of a wide complex of modest energy
        may open only after its band-passed peak, and hold just its tail."""
        lo = max(s - self.lead, h0)
        return float(_max(self.y[lo - h0:s - h0])) if s > lo else 0.0

    def _settled(self, p: int) -> bool:
        """No later candidate can still replace beat p (see _taller_wins), and the samples
        its shape needs are here."""
        if self.n < p + self.wait:
            return False
        if p in self.doubtful and self.n < self.doubtful[p][1]:
            return False
        return not 0 <= self.block_start < p + self.refr  # a block open within p's reach

    def _emit(self, ready: list[int], final: bool) -> Beats:
        beats, seg = self._shape(ready)
        if final:
            self._judge_first(final=True)
        self.held.append((beats, seg))
        if self.dropped is None:
            return _EMPTY
        if len(self.held) > 1:
            beats = _join([b for b, _ in self.held])
            seg = np.concatenate([s for _, s in self.held])
        self.held = []
        if self.dropped and len(beats.peak):  # graded after, so that no dropped wave's
            # shape is in the template (a set's lookups: np.isin cost a chunk ~40 us)
            keep = np.array([p not in self.dropped for p in beats.peak.tolist()], bool)
            beats, seg = Beats(beats.idx[keep], beats.sqi[keep], beats.peak[keep]), seg[keep]
        return self._grade(beats, seg)
