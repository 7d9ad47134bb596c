"""RR artefact detection and correction, streaming: Lipponen & Tarvainen (2019), made causal.

Lipponen JA, Tarvainen MP. A robust algorithm for heart rate variability time series
artefact correction using novel beat classification. J Med Eng Technol 43(3), 2019.

Their method classifies each interval from (a) the successive difference dRR normalised by
5.2 quartile deviations of |dRR| around it, (b) the deviation from an 11-beat median, also
normalised, and (c) where the pair (dRR_j, its neighbours) falls in two decision planes:
an *ectopic* beat (early, then a compensatory pause, or the reverse: dRR negative-positive-
negative or positive-negative-positive), a *long or short* interval, a *missed* beat (an
interval twice the median) or an *extra* one (two intervals that add up to one). As in the
paper, ectopic is decided first (a pause next to an early beat is ectopic, never missed),
from the steps of the input series and their threshold: both were taken over intervals
already corrected, and a textbook ectopic pair, its first interval mended, read as two
long/short intervals, a bigeminy's pauses as missed beats; split, they lowered the median
until the early intervals were split too (400 intervals -> 783). The paper flags an
ectopic beat at the second interval of its pair, so each judgement asks that of the next
interval, while the pair can still be mended; a pair counts when its mean fits the rhythm
(a beat moved: no time lost or made). The median stays that of the intervals given out
(the paper's is of the input): under motion a PPG's run of missed beats became the input's
rhythm (tests/test_heart's motion window read quality 0.61 with it, 0.11 before). The
published method looks 45 beats both ways; here every window ends two intervals after the
one judged (its thresholds and median look back, not around), so an interval is decided
two beats after it ends (an ectopic pair's second, one: it goes out with the first) and
the correction never changes once given. Corrections: ectopic -> the beat moves halfway
between its neighbours (both of its intervals become their mean); missed -> the interval
(over MISSED_MIN of the median) is split in two; extra -> two intervals merge; long/short
-> the interval is replaced by the median.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import NamedTuple

import numpy as np

ALPHA = 5.2  # thresholds: ALPHA quartile deviations
C1, C2 = 0.13, 0.17  # the ectopic decision lines
WINDOW = 91  # beats over which the thresholds are taken
MEDIAN_N = 11
LOOKAHEAD = 2  # intervals after the judged one that must be known
MRR_LIMIT = 3.0  # |mRR| in thresholds beyond which an interval is long or short
KEEP = MEDIAN_N + LOOKAHEAD + 2  # intervals of history
MIN_HISTORY = 15  # |dRR| values before the first judgement: thresholds from fewer are noise
# thresholds from n < WINDOW values are 1 + FEW_K (1/n - 1/WINDOW) times the data's: the
# quartiles of a few |dRR| came out low, and a series' intervals 11-20 and 21-40 were
# flagged 0.77 % and 0.97 % of the time against 0.43 % once WINDOW is full (artefact-free
# real RR, bench/rr_warmup.py); now 0.19 % and 0.53 %. Injected artefacts there are found as
# before from interval 21 on (99.8 %), at 11-20 a little less (71 -> 67 %). A strap's first
# minute in a seat (tuning records' beats): |RMSSD error| p75 0.153 -> 0.119, p90 0.466 ->
# 0.487 (a real ectopic beat of little prematurity early on goes unflagged)
FEW_K = 6.0
# a missed beat's interval is over this many of the median (its halves nearer the rhythm
# than the whole): where th2 had taken in a change of rate (a heart speeding up) a 420-ms
# interval among ~400 was split, a beat made up
MISSED_MIN = 4 / 3
# ...and itself over this many th2 from the median, else it is kept as it is: th2 takes in an
# irregular rhythm's spread, so in atrial fibrillation (lognormal intervals, CV 0.15-0.3,
# seeds 100-149) 35-68 per 15,000 long intervals had a half within th2 and were split, beats
# made up (MIT-BIH 203's AF: 1 of 101); now 1-6 (203: none). A lost beat stands further
# out: of 492 injected into the RR series 480 are split, as before
MISSED_MRR = 1.5
MIN_TH_MS = 10.0  # floor of the thresholds: an almost metronomic rhythm isn't all artefact
TYPES = ("ectopic", "missed", "extra", "longshort")


class Corrected(NamedTuple):
    rr_ms: float  # the interval after correction
    label: str  # "" (normal) or one of TYPES: what was found and corrected here
    index: int  # which raw interval this is (0-based count of pushed intervals)


class _Window:
    """The last WINDOW values, in arrival order and sorted (kept sorted as they come: a
    sort per judgement was most of a stream's time)."""

    def __init__(self):
        self.order: deque = deque()
        self.sorted: list[float] = []

    def append(self, v: float) -> None:
        if len(self.order) == WINDOW:
            del self.sorted[bisect.bisect_left(self.sorted, self.order.popleft())]
        self.order.append(v)
        bisect.insort(self.sorted, v)


def _qd_threshold(w: _Window) -> float:
    v = w.sorted
    a, b, few = _AT[len(v)]
    return max(few * ALPHA * (_at(v, a) - _at(v, b)) / 2, MIN_TH_MS)


def _where(n: int, q: float) -> tuple:
    """Where np.percentile's default (linear) quantile q of n sorted floats lies: (low
    index, high index, weight, its complement), for _at (numpy's per-call cost, and then
    the same maths per call, were most of a stream's time)."""
    at = (n - 1) * q
    lo = int(at)
    return lo, min(lo + 1, n - 1), at - lo, 1 - (at - lo)


def _at(v: list, w: tuple) -> float:
    """The quantile at `w` (_where) of sorted floats v, np.percentile's float maths."""
    lo, hi, g, h = w
    a, b = v[lo], v[hi]
    return b - (b - a) * h if g >= 0.5 else a + (b - a) * g


# per window length: the quartiles' places and the thresholds' factor (see FEW_K)
_AT = {n: (_where(n, 0.75), _where(n, 0.25), 1 + FEW_K * (1 / n - 1 / WINDOW))
       for n in range(1, WINDOW + 1)}


def _median(values) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


class RRCorrector:
    """Push raw RR intervals (ms) as they come; get corrected ones back two beats later.
    Per beat in plain Python floats, the deques' ends only (numpy's per-call cost and the
    copies were most of an hour's summary)."""

    def __init__(self):
        self.rr: deque = deque(maxlen=KEEP)  # the last raw intervals (judged on these)
        self.idx: deque = deque(maxlen=KEEP)  # their raw indices
        self.drr_abs = _Window()  # |dRR| history for threshold 1
        self.mrr_abs = _Window()  # |mRR| history for threshold 2
        self.n = 0  # intervals pushed
        self.skip = 0  # intervals already given out by a two-interval correction
        self.found: list[tuple[int, str]] = []  # (raw index, type) of each artefact
        self.out: deque = deque(maxlen=MEDIAN_N - 1 - LOOKAHEAD)  # the last given out
        self.last: float | None = None  # the interval given out last, as _judge keeps it

    def push(self, rr_ms: float) -> list[Corrected]:
        if not math.isfinite(rr_ms):  # (a NaN in the sorted windows broke their removals)
            raise ValueError(f"RR interval {rr_ms}: not a finite number of ms")
        rr = self.rr
        rr.append(float(rr_ms))
        self.idx.append(self.n)
        self.n += 1
        if len(rr) >= 2:
            self.drr_abs.append(abs(rr[-1] - rr[-2]))
        if len(rr) < LOOKAHEAD + 1:
            return []
        return self._judge(len(rr) - 1 - LOOKAHEAD)

    def finish(self) -> list[Corrected]:
        """End of the series: the last intervals go out as they are (nothing after them)."""
        out = []
        for k in range(max(len(self.rr) - LOOKAHEAD, 0), len(self.rr)):
            if self.skip:
                self.skip -= 1
                continue
            out.append(Corrected(self.rr[k], "", self.idx[k]))
        return out

    def _judge(self, k: int) -> list[Corrected]:
        """Decide interval k of the history (the third newest: LOOKAHEAD after it)."""
        rr = self.rr
        j = self.idx[k]
        a, b, c = rr[-3], rr[-2], rr[-1]
        med = _median([*self.out, a, b, c])
        mrr = a - med
        mrr = 2 * mrr if mrr < 0 else mrr
        self.mrr_abs.append(abs(mrr))
        if self.skip:
            self.skip -= 1
            return []
        out = self._decide(k, j, med, mrr, (a, b, c))
        # (a guessed interval's next step is from its raw value: where the rhythm steps to
        # a new rate, a step from the guess made the next interval a guess too, a cascade)
        self.last = a if out[-1].label == "longshort" else out[-1].rr_ms
        self.out.extend(o.rr_ms for o in out)
        return out

    def _decide(self, k: int, j: int, med: float, mrr: float, abc: tuple) -> list[Corrected]:
        a, b, c = abc  # rr[k], rr[k + 1], rr[k + 2]
        if k < 1 or len(self.drr_abs.sorted) < MIN_HISTORY:  # too little history: trusted as is
            return [Corrected(a, "", j)]
        th1, th2 = _qd_threshold(self.drr_abs), _qd_threshold(self.mrr_abs)
        # the step into rr[k] is from what was given out before it: after a mended
        # artefact (a split pause, a moved beat) the jump from its raw value is the
        # artefact's, not rr[k]'s (noise then made rr[k] a long/short one)
        d0, dn, dnn = (a - self.last) / th1, (b - a) / th1, (c - b) / th1
        # the next interval ends an ectopic pair (rr[k], rr[k+1]) that adds up to two of
        # the rhythm's (else a run of irregular long intervals under motion read as pairs)
        rhythm = _median(self.out) if self.out else med
        if _ectopic(d0, dn, dnn) and abs((a + b) / 2 - rhythm) < th2:
            return self._fix(k, j, "ectopic", med)
        kind = self._kind(k, med, mrr / th2, (d0, dn, dnn), th2)
        return self._fix(k, j, kind, med) if kind else [Corrected(a, "", j)]

    def _kind(self, k: int, med: float, mrrs: float, d: tuple, th2: float) -> str:
        """The paper's rules after the ectopic one, for interval k ("" = normal)."""
        rr = self.rr
        d0, dn, dnn = d
        if abs(d0) <= 1:  # a step within the rhythm's own variability
            return ""
        s22 = min(dn, dnn) if d0 >= 0 else max(dn, dnn)
        long_, short = d0 > 1 and s22 < -1, d0 < -1 and s22 > 1
        if not (long_ or short or abs(mrrs) > MRR_LIMIT):
            return ""
        if short and abs(rr[k] + rr[k + 1] - med) < th2:
            return "extra"
        if long_ and abs(rr[k] / 2 - med) < th2 and rr[k] > MISSED_MIN * med:
            return "missed" if mrrs > MISSED_MRR else ""
        return "longshort"

    def _fix(self, k: int, j: int, kind: str, med: float) -> list[Corrected]:
        rr = self.rr
        self.found.append((j, kind))
        if kind == "ectopic":  # the beat between rr[k] and rr[k+1] moves to the middle
            mid = (rr[k] + rr[k + 1]) / 2
            self.skip = 1  # rr[k + 1] goes out now, not when its turn comes
            return [Corrected(mid, kind, j), Corrected(mid, kind, self.idx[k + 1])]
        if kind == "extra":  # the beat between rr[k] and rr[k+1] was not a beat
            self.skip = 1
            return [Corrected(rr[k] + rr[k + 1], kind, j)]
        if kind == "missed":  # a beat was lost in the middle of rr[k]
            return [Corrected(rr[k] / 2, kind, j), Corrected(rr[k] / 2, kind, j)]
        return [Corrected(med, kind, j)]


def _ectopic(dp: float, d0: float, dn: float) -> bool:
    """The paper's ectopic rule for the interval whose normalised dRR is d0: a jump beyond
    the threshold with its neighbours' jumps the other way (S11, S12 against c1, c2)."""
    if abs(d0) <= 1:  # a step within the rhythm's own variability
        return False
    if d0 > 0:
        return max(dp, dn) < -C1 * d0 - C2
    return min(dp, dn) > -C1 * d0 + C2


class RRCorrection(NamedTuple):
    rr_ms: np.ndarray  # corrected series
    label: np.ndarray  # per corrected interval: "" or the artefact type
    index: np.ndarray  # the raw interval each corrected one came from
    artefacts: list  # (raw index, type), once per artefact


def rr_correct(rr_ms) -> RRCorrection:
    """A whole series through the same streaming corrector."""
    c = RRCorrector()
    out: list[Corrected] = []
    for v in np.asarray(rr_ms, float):
        out.extend(c.push(v))
    out.extend(c.finish())
    return RRCorrection(np.array([o.rr_ms for o in out]), np.array([o.label for o in out]),
                        np.array([o.index for o in out], int), c.found)
