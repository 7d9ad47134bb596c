"""Where exactly each beat is, and how much it looks like one.

A candidate's filtered peak is moved back by the filter's delay and refined on the raw
waveform (ECG: a pacing spike or R wave may lead a wide complex's energy, the early reach;
a PPG pulse back from a drop-out to the floor is looked for further on), dropped when its
raw maximum is a slope rather than a peak or (PPG) when it does not rise like a pulse, and
graded by how much its shape matches the beats before it. A mixin of `BeatStream`: it reads
the stream's history and state (see heart_stream).
"""

from __future__ import annotations

import numpy as np

from empathy.edge.heart_beats import _EMPTY, Beats, _median
from empathy.edge.heart_method import (CLIP_FRAC, CLIP_PPG, PLATEAU_FRAC, RISE_CAP,
                                       RISE_MIN, RISE_FEW_STEPS, RISE_REGULAR, RISE_RHYTHM,
                                       RISE_SMOOTH, RISE_STEPS, TEMPLATE_BEATS,
                                       pulse_in_rhythm)


class BeatRefiner:
    """Placing and grading `BeatStream`'s beats (see the module's docstring)."""

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

    def _refine_rows(self, peaks: list[int], h0: int) -> np.ndarray | None:
        """_refine(p, h0, self.refine) of all of a call's beats at once (an hour's batch is
        thousands, and each alone costs a window's worth of small numpy calls), -2 for
        those whose window the history's start or the recording's end cuts (those go one
        at a time). Row-wise arithmetic: the same bits as one at a time."""
        if not peaks:
            return None
        if self.kind != "ecg":  # (the usual reach only: a wider one goes one at a time;
            # a streamed second's one or two beats are cheaper one at a time too)
            return self._smooth_rows(peaks, h0) if self.back <= self.refine and len(
                peaks) > 2 else None
        if self.smooth or self.back <= self.refine:
            return None
        p = np.asarray(peaks, np.int64)
        lo = p - (self.delay + self.back)
        ok = (lo >= max(h0, 0)) & (p + self.refine < (self.end if self.end >= 0 else self.n))
        out = np.full(len(p), -2, np.int64)
        if not ok.any():
            return out
        lo, cut = lo[ok], self.back - self.refine  # the usual window: the wide one's tail
        raw = self.x[(lo - h0)[:, None] + np.arange(self.delay + self.back + self.refine + 1)]
        wide = _judged(raw)
        e, r = _peaks(wide), _peaks(_judged(raw[:, cut:]))
        r = np.where(r >= 0, r + cut, -1)  # in the wide window's terms
        rows = np.arange(len(lo))
        taller = wide[rows, e] > self.m.back_ratio * wide[rows, r]
        pick = np.where((e < 0) | (r < 0), np.maximum(e, r), np.where(taller, e, r))
        out[ok] = np.where(pick >= 0, lo + pick, -1)
        return out

    def _smooth_rows(self, peaks: list[int], h0: int) -> np.ndarray:
        """PPG's _refine_rows: each window smoothed as _raw_peak does, and its peak (_peaks)."""
        k, p = self.smooth, np.asarray(peaks, np.int64)
        lo = p - (self.delay + self.refine)
        n = (self.end if self.end >= 0 else self.n) - k
        ok = (lo - k >= max(h0, 0)) & (p + self.refine < n)
        out = np.full(len(p), -2, np.int64)
        if not ok.any():
            return out
        lo, m = lo[ok], self.delay + 2 * self.refine + 1
        raw = self.x[(lo - k - h0)[:, None] + np.arange(m + 2 * k)]
        if k:  # (one convolution of the rows end to end: a row's middle m samples are
            # each the same products summed in the same order as its window's alone)
            raw = np.convolve(raw.ravel(), self.kernel, "same").reshape(raw.shape)[:, k:k + m]
        pk = _peaks(raw)
        out[ok] = np.where(pk >= 0, lo + pk, -1)
        return out

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
        if self.kind == "ecg" and len(w):  # (less the line: unless the recording's end
            # cuts the window, see _judged)
            w = _judged(w[None], detrend=len(w) > 1 and hi == p + after + 1)[0]
        k = int(w.argmax()) if len(w) else 0
        if not 0 < k < len(w) - 1:
            return -1, w, lo
        # a clipped top: its middle, not its start (Python floats: numpy scalars are slow;
        # _peaks is the same for many windows at once)
        wk = float(w[k])
        below = w[k:] < wk - PLATEAU_FRAC * (wk - float(w.min()))
        j = int(below.argmax())
        return lo + k + (j if below[j] else len(w) - k) // 2, w, lo

    def _shape(self, peaks: list[int]) -> tuple[Beats, np.ndarray]:
        """Refine each beat's time and cut out its shape (all its samples are here now):
        the beats, their sqi only the clipped top's factor so far, and their shapes, to be
        graded (_grade) once the stream's first beats are judged (a dropped stray wave's
        shape must not enter the template the next beats are graded by)."""
        h0 = self.n - len(self.y)
        idx, kept = [], []
        rows = self._refine_rows(peaks, h0)
        rows = rows.tolist() if rows is not None else [-2] * len(peaks)
        for i, p in enumerate(peaks):
            # a small pulse found by search-back: its filtered peak may come well before
            # the raw one (the band-pass peaks on the upstroke of a slow, weak pulse); so may
            # a pulse under motion (`edge_reach`) or back from a drop-out to the floor, where
            # the usual window ends on its upstroke
            wide = p in self.found
            self.found.discard(p)
            r = rows[i] if rows[i] > -2 and not wide else \
                self._refine(p, h0, 2 * self.refine if wide else self.refine)
            if r < 0 and not wide and (self.m.edge_reach or self._back_from_floor(p, h0)):
                r = self._refine(p, h0, 2 * self.refine)
            if r < 0 or r <= self.last_beat or not self._rises(r, h0):
                continue
            if r - self.last_beat <= self.silence:
                self.gaps.append(r - self.last_beat)
            self.last_beat = r
            idx.append(r)
            kept.append(p)
        if not idx:
            return _EMPTY, self.shapes[:0]
        seg, clipped = self._cut(kept, h0, idx)
        return Beats(np.array(idx, np.int64), clipped, np.array(kept, np.int64)), seg

    def _back_from_floor(self, p: int, h0: int) -> bool:
        """The signal sat flat at its floor (a logger's drop-out to 0) just before beat p:
        on the steep return the band-passed peak comes early, and the raw peak may lie past
        the refine window (a search-back beat's reach is looked at instead). Not a motion
        slope: those do not start from a flat floor."""
        return self._floor_run(max(p - self.delay - self.refine - self.pre, h0), p, h0)

    def _floor_run(self, a: int, b: int, h0: int) -> bool:
        """The raw signal sat flat at its lowest between a and b for `flat_n` samples."""
        w = self.x[a - h0:b - h0]
        if len(w) < self.flat_n:
            return False
        edges = np.flatnonzero(np.diff(np.concatenate(([0], (w == w.min()).view(np.int8), [0]))))
        return int((edges[1::2] - edges[::2]).max()) >= self.flat_n  # its longest run

    def _rises(self, r: int, h0: int) -> bool:
        """PPG: a pulse rises to its peak. A raw peak that stands under RISE_MIN of the
        recent pulses' rise above the 350 ms before it is a ripple on a trough or a slope
        (motion), whatever the band-passed energy said; where the rhythm puts the next beat
        (pulse_in_rhythm) RISE_RHYTHM will do (pulses weakened after motion, whose rises
        still set the bar, or by breathing). As with heights, the reference
        starts over after a silence."""
        if not self.m.rise_check:
            return True
        # no pulse for a while (it got weaker, or the reference came from motion): start
        # over, so the gate can't lock out (in the intervals between the beats placed so
        # far, as below)
        rr = _median(self.gaps) if self.gaps else 0.0
        if r - self.last_beat > max(self.rise_silence, 4 * rr):
            self.rises.clear()
        a = max(r - self.pre, h0)  # (in history: see hist; h0 > 0 only once r - pre is in)
        w = self.x[a - h0:r - h0 + 1]
        rise = float(w[-1]) - float(np.minimum.reduce(w))
        # a flat line (no contact) still flickers by an ADC step or two, and the energy
        # detector is blind to scale: its smallest step, seen in the same window, sets a floor
        # (any step bounds the smallest from above: the peak's last one, near 0, usually
        # settles it without looking at them all)
        last = abs(float(w[-1]) - float(w[-2])) if len(w) > 1 else 0.0
        if not 0.0 < RISE_STEPS * last <= rise and self._flicker(w, r, rise):
            return False
        if len(self.rises) >= 3:
            med = _median(self.rises)
            # (the rhythm of the beats placed so far: the gates' rr may have run ahead by as
            # much as the chunking lets them, and streaming must place beats as batch does)
            if rise < (RISE_RHYTHM if pulse_in_rhythm(r - self.last_beat, rr) else RISE_MIN) * med:
                return False
            rise = min(rise, RISE_CAP * med)  # a motion spike must not raise the bar at once
        self.rises.append(rise)
        if not self.heard or self.heard[-1] != r:  # (a pulse placed keeps _regular's rhythm)
            self.heard.append(r)
        return True

    def _regular(self, r: int) -> bool:
        """r and the small rises or beats placed before it come at even intervals (each
        within RISE_REGULAR of the one before): a noisy weak pulse keeps its rhythm, a flat
        line's flicker does not (heartpy-data2's: 0.4-1.8 s apart). The beats placed count
        (_rises notes them): in a weak noisy pulse those whose rise cleared RISE_STEPS came
        between the small rises, and their gaps read as two intervals, no rhythm."""
        t = self.heard
        t.append(r)
        if len(t) < t.maxlen:
            return False
        iv = np.diff(np.asarray(t))
        return bool(self.refr <= iv[0] <= self.silence
                    and np.all(np.abs(np.diff(iv)) <= RISE_REGULAR * iv[:-1]))

    def _flicker(self, w: np.ndarray, r: int, rise: float) -> bool:
        """A rise under RISE_STEPS of the window's smallest step is a flat line's flicker,
        not a pulse, unless it climbs smoothly (RISE_SMOOTH: a weak pulse's few codes on a
        10-bit board rise as a staircase, flicker zig-zags) or keeps a rhythm (_regular: a
        noisy weak pulse); under RISE_FEW_STEPS it is a slow drift's staircase."""
        steps = np.abs(np.diff(w))
        steps = steps[steps > 0]
        if not steps.size:
            return False
        step = float(np.minimum.reduce(steps))
        if rise >= RISE_STEPS * step:
            return False
        if rise < RISE_FEW_STEPS * step:
            return True
        regular = self._regular(r)
        zigzag = float(np.abs(np.diff(w, 2)).mean()) if len(w) > 2 else np.inf
        return not regular and rise < RISE_SMOOTH * zigzag

    def _cut(self, peaks: list[int], h0: int, at: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Each beat's filtered shape, centred and of unit norm (rows), and the clipped
        top's factor where its top is clipped flat (ECG 0.5, PPG CLIP_PPG), 1 elsewhere (`at`:
        the beats' raw peaks)."""
        w = self.shapes.shape[1]
        rows = np.asarray(peaks, np.int64)[:, None] - (h0 + self.pre) + np.arange(w)
        # a beat right at the stream's start: its window is clipped at sample 0
        np.clip(rows, 0, len(self.y) - 1, out=rows)
        seg, raw = self.y[rows], self.x[rows]
        seg -= (np.add.reduce(seg, axis=1) / w)[:, None]
        norm = np.sqrt(np.add.reduce(seg * seg, axis=1))
        seg *= np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)[:, None]
        top, bottom = np.maximum.reduce(raw, axis=1), np.minimum.reduce(raw, axis=1)
        tol = (CLIP_FRAC * (top - bottom))[:, None]
        if self.kind == "ecg":  # a QRS points either way: its clipped top is flat on its
            # raw peak's side, near it (not a broad T wave at the window's maximum: MIT-BIH
            # 109's downward QRS read as clipped in 65 of 251 beats at 360 Hz, 142 at 130)
            at = np.asarray(at, np.int64) - h0
            near = np.abs(rows - at[:, None]) <= 2 * self.flat_n
            up = self.x[at] >= _row_median(raw)
            flat = np.count_nonzero(near & np.where(up[:, None], raw >= top[:, None] - tol,
                                                    raw <= bottom[:, None] + tol), axis=1)
        else:
            flat = np.count_nonzero(raw >= top[:, None] - tol, axis=1)
        # a clipped top sits (near) flat at the maximum a while
        clip = 0.5 if self.kind == "ecg" else CLIP_PPG
        return seg, np.where(flat >= self.flat_n, clip, 1.0)

    def _grade(self, beats: Beats, seg: np.ndarray) -> Beats:
        """The beats (their shapes seg, from _cut) with their sqi: how much each shape
        matches the TEMPLATE_BEATS' before it (0..1), times the clipped top's factor. All
        of a call's beats at once (an hour's batch is thousands), in row-wise arithmetic
        that gives the same bits for one row as for many, so streaming still grades
        exactly like batch."""
        n = len(seg)
        if not n:
            return _EMPTY
        # the template of beat i: the sum of the TEMPLATE_BEATS shapes before it, oldest first
        past = np.concatenate((self.shapes, seg))
        tmpl = past[:n].copy()
        for k in range(1, TEMPLATE_BEATS):
            tmpl += past[k:k + n]
        tn = np.sqrt(np.add.reduce(tmpl * tmpl, axis=1))
        q = np.divide(np.add.reduce(seg * tmpl, axis=1), tn, out=np.ones(n), where=tn > 0)
        np.clip(q, 0.0, 1.0, out=q)
        q *= beats.sqi
        self.shapes = past[-TEMPLATE_BEATS:]
        return Beats(beats.idx, q, beats.peak)


def _judged(w: np.ndarray, detrend: bool = True) -> np.ndarray:
    """ECG windows (rows) as the raw peak is looked for in them: R waves point either way
    depending on the lead, so |w - its median|; on a wandering baseline the window's own
    slope must not decide where the peak is, so less the line between its ends first
    (detrend; not where the recording's end cuts the window: the line would flatten a QRS
    cut off while rising, and a P wave before it would stand out)."""
    if detrend:  # np.linspace(first, last, n) per row, the same bits, without its cost
        first, last, n = w[:, 0], w[:, -1], w.shape[1]
        line = np.arange(n, dtype=float) * ((last - first) / (n - 1))[:, None]
        line += first[:, None]
        line[:, -1] = last
        w = w - line
    return np.abs(w - _row_median(w)[:, None])


def _row_median(w: np.ndarray) -> np.ndarray:
    """np.median(w, axis=1) of finite rows (the stream takes no NaN): its bits, without its
    generality's cost."""
    n = w.shape[1]
    h = n // 2
    if n % 2:
        return np.partition(w, h, axis=1)[:, h]
    part = np.partition(w, (h - 1, h), axis=1)
    return (part[:, h - 1] + part[:, h]) / 2.0


def _peaks(w: np.ndarray) -> np.ndarray:
    """Each row's peak as _raw_peak finds one window's (-1 where its maximum is on the
    edge: a slope, not a peak; of a clipped top, its middle), for many windows at once."""
    n = w.shape[1]
    k = w.argmax(axis=1)
    rows = np.arange(len(w))
    top = w[rows, k]
    below = (w < (top - PLATEAU_FRAC * (top - w.min(axis=1)))[:, None]) & (
        np.arange(n) >= k[:, None])
    j = below.argmax(axis=1)
    out = k + (np.where(below[rows, j], j, n) - k) // 2
    out[(k == 0) | (k == n - 1)] = -1
    return out
