"""Fuse the audience: many noisy seats -> one arousal/valence estimate with uncertainty.

Robust to missing seats (stale or flagged seats are left out, and the estimate says how
many it rests on), to one wild seat (a trimmed mean, not a plain mean) and to one unit
speaking for more seats than it carries: given each unit's entitlement (its seats in the
seat map, host/ownership.py), a unit's seats together weigh at most that many seats, so
no unit moves the estimate by more than its share of the room. Over the window
it also tells sustained tension (`rise`: where the audience ended up against where it
started) from a shock that has already faded (`spike`: the peak above where it ended up).
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np

from empathy.wire import Flag

STALE_US = 2_000_000
SIGNAL = Flag.HR_OK | Flag.FACE_OK
STATE_HZ = 2.0  # the show's audience states (its timeline) per second
WINDOW_S = 5.0  # each state's trailing window (rise, spike)
# Synchrony's trailing window, and the sd of the seats' shared arousal movement that counts
# as full synchrony (1.0) on the -1..1 arousal scale; why, see `synchrony`. Both chosen on
# the policy simulator's tuning seed (100), docs/story.md "Audience state".
SYNC_WINDOW_S = 10.0
SYNC_FULL_SD = 0.2
# The span over which a seat's slope is read where its estimate's lag is undone per seat
# (`lag_undone_trace`): one sample's step is mostly its sensors' noise, times the lag.
# Chosen on the policy simulator's tuning seeds (100-104), docs/story.md "Synchrony after
# the chase".
UNLAG_SPAN_S = 15.0


@dataclass(frozen=True)
class AudienceState:
    ts_us: int
    arousal: float
    arousal_se: float  # standard error across seats
    valence: float
    valence_se: float
    seats_total: int
    seats_good: int
    synchrony: float  # 0..1: the seats' shared arousal movement over SYNC_WINDOW_S, less a
    # shared fall (`trailing_synchrony`)
    rise: float = 0.0  # audience arousal, last second minus first second of the window
    spike: float = 0.0  # the window's peak above its last second: a faded shock
    # The same synchrony of the seats' traces with each seat's estimate lag undone
    # (`lag_undone_trace`): what the measured reward reads (None: not computed)
    synchrony_unlagged: Optional[float] = None
    # The good seats' mean declared estimate lag, seconds (None: no unit declared one)
    lag_s: Optional[float] = None

    @property
    def good_fraction(self) -> float:
        return self.seats_good / self.seats_total if self.seats_total else 0.0


def trimmed_mean(x, cut: float = 0.1):
    """Mean without the top and bottom `cut` of seats: a float for one value per seat, one
    per column for a (seats x samples) array."""
    x = np.sort(np.asarray(x, float), axis=0)
    k = int(len(x) * cut)
    m = np.mean(x[k:len(x) - k] if len(x) > 2 * k else x, axis=0)
    return float(m) if m.ndim == 0 else m


def has_signal(last, now_us: int) -> bool:
    """A seat counts (is "good") when its latest sample is fresh and carries a heart or face
    signal. The dashboard's dead seats and the metrics' good seats use this same rule."""
    return now_us - last.ts_us <= STALE_US and bool(last.flags & SIGNAL)


def weighted_trimmed_mean(x, w, cut: float = 0.1) -> float:
    """`trimmed_mean` where seat i counts w[i] seats: `cut` of the total weight is taken off
    each end (the seat on the edge partly). With every weight 1 it is `trimmed_mean`."""
    order = np.argsort(np.asarray(x, float), kind="stable")
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    total = w.sum()
    k = int(total * cut)
    if total <= 2 * k:
        k = 0
    upper = np.cumsum(w)
    kept = np.clip(np.minimum(upper, total - k) - np.maximum(upper - w, k), 0, None)
    return float((kept * x).sum() / kept.sum())


def unit_weights(units, entitled: Callable[[int], int]) -> np.ndarray:
    """Per good seat: 1, or less where its unit has more good seats than it is entitled to
    (then that unit's seats share its entitlement equally)."""
    units = np.asarray(units, np.int64)
    ids, idx, n = np.unique(units, return_inverse=True, return_counts=True)
    cap = np.array([entitled(int(u)) for u in ids], float)
    return np.minimum(1.0, cap / n)[idx]


def audience_state(seats: dict, now_us: int, window_s: float = WINDOW_S,
                   entitled: Optional[Callable[[int], int]] = None,
                   lag_of: Optional[Callable[[int], float]] = None) -> AudienceState:
    """`seats`: seat_id -> SeatTrack (see receive.py); `entitled(unit)`: how many seats a
    unit may speak for (none: every seat counts one); `lag_of(unit)`: the estimate lag a
    unit declared, seconds (none: the state holds no synchrony with the lag undone)."""
    now_a, now_v, traces, sync_traces, units, unlagged, lags = [], [], [], [], [], [], []
    span_s = max(window_s, SYNC_WINDOW_S + (UNLAG_SPAN_S if lag_of else 0.0))
    for track in seats.values():
        if not track.history:
            continue
        last = track.last
        if not has_signal(last, now_us):
            continue
        now_a.append(last.arousal)
        now_v.append(last.valence)
        units.append(last.unit_id)
        recent = _since(track.history, now_us - span_s * 1e6)
        if lag_of:
            lags.append(lag_of(last.unit_id))
        if len(recent) >= 10:
            a = list(map(_AROUSAL, recent))
            sync_traces.append(a[-int(SYNC_WINDOW_S * 10):])
            traces.append(a[-int(window_s * 10):])
            if lag_of:
                ts = (np.fromiter(map(_TS_US, recent), np.int64, len(recent)) - now_us) / 1e6
                unlagged.append(lag_undone_trace(ts, a, lags[-1])[-int(SYNC_WINDOW_S * 10):])
    weights = unit_weights(units, entitled) if entitled and units else None
    state = fuse(now_us, now_a, now_v, traces, len(seats), weights, sync_traces)
    if not lag_of:
        return state
    return replace(state, synchrony_unlagged=synchrony(unlagged),
                   lag_s=float(np.mean(lags)) if lags else None)


_AROUSAL, _TS_US = operator.attrgetter("arousal"), operator.attrgetter("ts_us")


def _since(history, since_us: float) -> list:
    """A seat's samples from since_us on, found from the newest end: a seat keeps minutes
    of history and a state needs seconds of it, and a deque's items near its ends are quick
    to reach. How many: bisected on the count from the end. History is in arrival order,
    which is time order up to the link's reordering (packets a few ms apart), so only a
    sample reordered right at the window's far edge may fall on the other side of it."""
    n = len(history)
    lo, hi = 0, 1  # the last `lo` samples are all recent enough; the last `hi` may not be
    while hi <= n and history[-hi].ts_us >= since_us:
        lo, hi = hi, 2 * hi
    hi = min(hi, n + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if history[-mid].ts_us >= since_us:
            lo = mid
        else:
            hi = mid
    out = list(itertools.islice(reversed(history), lo))
    out.reverse()
    return out


def fuse(now_us: int, arousal, valence, traces: list, seats_total: int,
         weights=None, sync_traces: Optional[list] = None) -> AudienceState:
    """Seats' latest arousal/valence (good seats only) and their recent arousal traces ->
    the audience; `weights`: how many seats each counts for (`unit_weights`);
    `sync_traces`: the traces over synchrony's longer window (default `traces`). The
    simulator calls this too, so policies see the same estimate."""
    n = len(arousal)
    sync = synchrony(traces if sync_traces is None else sync_traces)
    if n == 0:
        return AudienceState(now_us, 0.0, 1.0, 0.0, 1.0, seats_total, 0, 0.0)
    a, v = np.asarray(arousal, float), np.asarray(valence, float)
    if weights is not None and np.any(np.asarray(weights) != 1.0):
        w = np.asarray(weights, float)
        n_eff = w.sum() ** 2 / (w ** 2).sum()  # Kish's effective number of seats
        wse = lambda x: (float(np.sqrt(np.cov(x, aweights=w)) / np.sqrt(n_eff))
                         if n_eff > 1 else 1.0)
        return AudienceState(now_us, weighted_trimmed_mean(a, w), wse(a),
                             weighted_trimmed_mean(v, w), wse(v), seats_total,
                             int(round(w.sum())), sync, *rise_and_spike(traces))
    se = lambda x: float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 1.0
    return AudienceState(now_us, trimmed_mean(a), se(a), trimmed_mean(v), se(v), seats_total, n,
                         sync, *rise_and_spike(traces))


def synchrony_term(synchrony: float) -> float:
    """Engagement's first half, 0..0.5: the audience reacting together."""
    return 0.5 * min(1.0, max(0.0, synchrony))


def arousal_term(arousal: float, target_arousal: float) -> float:
    """Engagement's second half, 0..0.5: the audience where the screenplay wants it."""
    return 0.5 * (1 - min(1.0, abs(arousal - target_arousal)))


def engagement(arousal: float, synchrony: float, target_arousal: float) -> float:
    """How well a moment landed, 0..1: the audience reacting together (synchrony) and
    sitting where the screenplay wants it (arousal near the target), half each."""
    return synchrony_term(synchrony) + arousal_term(arousal, target_arousal)


def segment_reward(arousal, synchrony, target_arousal: float) -> float:
    """THE reward for a segment, the one place it is defined: `engagement` of the median
    audience arousal and the mean synchrony of the audience states through the segment.
    The show rewards what it estimated through `measured_segment_reward`; a simulator
    scores how a segment really landed from the hidden states (`trace_states` of whole
    traces, computed as the show's timeline is)."""
    return engagement(float(np.median(arousal)), float(np.mean(synchrony)), target_arousal)


# The ends of a reward window whose levels give the estimate's mean slope through it.
LAG_ENDS_S = 1.0


def mean_slope(ts_s, x, ends_s: float = LAG_ENDS_S) -> float:
    """x's mean rate of change (per second) through a window sampled at ts_s: the mean of
    its last `ends_s` less that of its first, over the time between them (0 where the
    window is too short to tell its ends apart)."""
    ts, x = np.asarray(ts_s, float), np.asarray(x, float)
    if len(ts) < 2:
        return 0.0
    first, last = ts <= ts[0] + ends_s, ts >= ts[-1] - ends_s
    span_s = float(ts[last].mean() - ts[first].mean())
    return float(x[last].mean() - x[first].mean()) / span_s if span_s >= 2 * ends_s else 0.0


def measured_segment_reward(ts_s, arousal, synchrony, target_arousal: float,
                            lag_s: float) -> float:
    """THE reward (`segment_reward`) from the audience states the show estimated through a
    segment's reward window (at ts_s, seconds), the arousal corrected for the estimate's
    lag: the reward the show learns from, live (`policy.segment_engagement`) and simulated.

    The edge's estimate answers the body late and smoothly: a rise shows over seconds, and
    where the audience stood before the segment fades out of it only slowly (a crowd left
    hot by a chase reads hot into whatever follows, and "arousal near the target" credited
    the option whose target was hot, whatever the audience did: docs/story.md "The
    measured reward after the chase"). Read as a first-order lag whose mean delay is the
    estimate's declared latency `lag_s` (est' = (body - est) / lag_s), the body is
    est + lag_s * est', and over a window the body's mean level is the estimate's plus
    lag_s times its mean slope: the fading carry-over and its own decay cancel
    (`lag_undone`)."""
    return segment_reward(lag_undone(ts_s, arousal, lag_s), synchrony, target_arousal)


def lag_undone(ts_s, arousal, lag_s: float) -> np.ndarray:
    """The window's estimated arousal states (at ts_s, seconds) shifted by lag_s times
    their mean slope (`measured_segment_reward`), each within arousal's range: the median
    moves with the shift."""
    a = np.asarray(arousal, float)
    return np.clip(a + lag_s * mean_slope(ts_s, a), -1.0, 1.0)


def lag_undone_trace(ts_s, x, lag_s: float, span_s: Optional[float] = None) -> np.ndarray:
    """A seat's estimated arousal (x: samples, or seats x samples, at ts_s seconds) read as
    a first-order lag of lag_s: the body is x + lag_s * x' (`measured_segment_reward`),
    x' read over the trailing span_s (default UNLAG_SPAN_S; over what there is at the
    start), kept within arousal's range as the body's is (unclipped, a shared rise read
    through the lag overshoots it).

    Why per seat: through the edge's lag a crowd cooling off after a scene shows as a
    shared, slow, near-linear fall, which synchrony's detrending takes out whole, while
    the bodies fell fast and then moved together (docs/story.md "Synchrony after the
    chase"); undone on the fused arousal it would not reach the seats' covariances."""
    ts, x = np.asarray(ts_s, float), np.asarray(x, float)
    if not lag_s or ts.size < 2:
        return x.copy()
    span_s = UNLAG_SPAN_S if span_s is None else span_s
    j = np.maximum(np.searchsorted(ts, ts - span_s, side="right") - 1, 0)
    dt = ts - ts[j]
    slope = (x - x[..., j]) / np.where(dt > 0, dt, 1.0)
    return np.clip(x + lag_s * np.where(dt > 0, slope, 0.0), -1.0, 1.0)


def trace_states(traces, rate_hz: float, window_s: float = SYNC_WINDOW_S,
                 state_hz: float = STATE_HZ,
                 lag_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Audience arousal (trimmed mean of the seats) and synchrony (over the trailing
    window, seats with 10+ samples in it) at the show's state times through traces of
    seats x samples at rate_hz: what the show's timeline would hold; with `lag_s` the
    synchrony is the one with each seat's lag undone (`synchrony_unlagged`). No seats:
    zeros."""
    x = np.asarray(traces, float)
    n = x.shape[1] if x.ndim == 2 else 0
    step, w = max(1, round(rate_hz / state_hz)), max(1, round(window_s * rate_hz))
    idx = np.arange(min(step, max(n, 1)) - 1, n, step)
    if not len(x) or not len(idx):
        return np.zeros(1), np.zeros(1)
    arousal = np.atleast_1d(trimmed_mean(x[:, idx]))
    if lag_s:
        x = lag_undone_trace(np.arange(n) / rate_hz, x, lag_s)
    return arousal, trailing_synchrony(x, idx, w, min_samples=10)


def rise_and_spike(traces: list, rate_hz: float = 10.0) -> tuple[float, float]:
    """Sustained rise and faded spike of the seats' mean trace (see AudienceState)."""
    if not traces:
        return 0.0, 0.0
    m = min(len(t) for t in traces)
    mean = np.mean([t[-m:] for t in traces], axis=0)
    k = max(1, min(int(rate_hz), m // 3))
    end = float(np.mean(mean[-k:]))
    return end - float(np.mean(mean[:k])), max(0.0, float(np.max(mean)) - end)


def synchrony(traces: list) -> float:
    """How much the seats move together: the shared part of their arousal over the traces'
    last m samples (m: the shortest trace), 0..1 (`trailing_synchrony`)."""
    if len(traces) < 2:
        return 0.0
    m = min(len(t) for t in traces)
    x = np.array([t[-m:] for t in traces], float)
    return float(trailing_synchrony(x, [m - 1], m)[0]) if m else 0.0


def trailing_synchrony(x: np.ndarray, ends, window: int, min_samples: int = 1) -> np.ndarray:
    """Synchrony of the seats' traces x (seats x samples) over the trailing `window` samples
    ending at each index in `ends` (fewer at the start; 0 where fewer than `min_samples`),
    every window in one pass of cumulative sums.

    It is the seats' mean pairwise covariance C (the variance of the response they share),
    as an sd against SYNC_FULL_SD: min(1, sqrt(max(C, 0)) / SYNC_FULL_SD). Not the
    inter-subject correlation (ISC: mean pairwise Pearson r; Hasson et al. 2004, Science
    303; Dmochowski et al. 2012, Front. Hum. Neurosci. 6:112), whose denominator, each
    seat's own variance, grows with its sensors' noise: every correlation is attenuated by
    the reliability of what it correlates (Spearman 1904, Am. J. Psychol. 15); with the
    edge's per-seat noise (sd ~0.3 as `empathy policy measure` fits it) the ISC of 30 seats
    read a tenth of the audience's true one, too flat to tell options apart. Noise
    independent between seats adds nothing to their covariance in expectation, so C is
    unbiased where the ISC is not (Dmochowski's between-subject covariance, not divided by
    the noise-inflated within-subject one). The price: a seat's own wander is as invisible
    as its noise. C = (n^2 var(mean trace) - sum_i var_i) / (n (n - 1)). The 10-s window
    (SYNC_WINDOW_S) holds a scene's shared build-up that 5 s cut short.

    Less the audience's falling trend: where the mean trace falls over the window, the
    variance of its linear trend (cov(t, mean)^2 / var(t), times n / (n - 1) as in C) is
    taken out. A crowd that deflates together (the film turned to a mood it does not want)
    moves together but is not reacting together; counted, it made a contrasting ending
    "land" with every crowd (Two Crowds: a dark crowd's arousal after the storm fell from
    0.68 to 0.40 under the bright ending while its synchrony rose from 0.35 to 0.63, so the
    reward called the two endings equal), and a learner taught by the edge's late, smoothed
    estimate could not see it. A shared rise, and a shock's jump, still count in full."""
    x = np.asarray(x, float)
    ends = np.asarray(ends, int)
    out = np.zeros(len(ends))
    n = len(x) if x.ndim == 2 else 0
    if n < 2 or not len(ends):
        return out
    x = x - x.mean(axis=1, keepdims=True)  # centred per seat: the cumulative sums lose less
    lo = np.maximum(0, ends + 1 - window)
    m = (ends + 1 - lo).astype(float)

    def windowed_var(y):  # variance of each row of y over every window
        c1 = np.concatenate([np.zeros((len(y), 1)), np.cumsum(y, axis=1)], axis=1)
        c2 = np.concatenate([np.zeros((len(y), 1)), np.cumsum(y * y, axis=1)], axis=1)
        mean = (c1[:, ends + 1] - c1[:, lo]) / m
        return np.maximum((c2[:, ends + 1] - c2[:, lo]) / m - mean ** 2, 0.0)

    mean = x.mean(axis=0)
    shared = (n * n * windowed_var(mean[None])[0] - windowed_var(x).sum(axis=0)) / (n * (n - 1))
    # The audience's falling trend, taken out: a crowd losing interest together is not
    # reacting together. Its share of the shared variance is cov(t, mean)^2 / var(t).
    k = np.arange(x.shape[1], dtype=float)
    ck = np.concatenate([[0.0], np.cumsum(k * mean)])
    cm = np.concatenate([[0.0], np.cumsum(mean)])
    t_mean = (ends + lo) / 2
    cov_t = (ck[ends + 1] - ck[lo]) / m - t_mean * (cm[ends + 1] - cm[lo]) / m
    var_t = np.maximum((m * m - 1) / 12, 1e-9)
    shared -= np.where(cov_t < 0, cov_t ** 2 / var_t, 0.0) * n / (n - 1)
    ok = m >= min_samples
    out[ok] = np.minimum(1.0, np.sqrt(np.maximum(shared[ok], 0.0)) / SYNC_FULL_SD)
    return out
