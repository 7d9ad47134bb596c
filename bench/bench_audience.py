"""The audience's timeline state at cinema scale: `audience_state` over 1,000 seats, each
with ten minutes of 10 Hz history (what the host keeps), with and without each seat's
declared lag undone for the reward's synchrony; beside it the same statistics on arrays
already laid out seats x samples (`trace_states`, the simulator's path, its states over a
25-s stretch per call, amortised): roughly the floor a host would reach if it kept its
histories as arrays instead of the packets it received.

The show takes STATE_HZ states a second; `share of a core` says what that costs."""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from empathy import wire
from empathy.host.audience import STATE_HZ, audience_state, trace_states
from empathy.host.receive import HISTORY, SeatTrack

SEATS = 1000
RATE_HZ = 10
LAG_S = 9.0


def _seats(now_us: int) -> tuple[dict, np.ndarray]:
    """Seats sharing a slow wave (so synchrony has something to find) plus their own
    noise; also their arousal as a seats x samples array."""
    rng = np.random.default_rng(0)
    n = min(HISTORY, 600 * RATE_HZ)
    ts = now_us - (n - 1 - np.arange(n)) * (1_000_000 // RATE_HZ)
    x = (0.6 * np.sin(ts[None, :] / 3e6 + np.arange(SEATS)[:, None] % 3)
         + 0.3 * rng.uniform(-1, 1, (SEATS, n)))
    seats = {}
    for sid in range(SEATS):
        track = SeatTrack(sid, sid // 4 + 1, deque(maxlen=HISTORY))
        track.history.extend(wire.SeatSample(sid // 4 + 1, sid, k, int(ts[k]),
                                             arousal=float(x[sid, k]), flags=0xFF)
                             for k in range(n))
        seats[sid] = track
    return seats, x


def _per_s(fn, repeat: int = 7) -> float:
    fn()
    return 1.0 / min(_timed(fn) for _ in range(repeat))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run() -> list[dict]:
    now = 10**12
    seats, x = _seats(now)
    tail = x[:, -25 * RATE_HZ:]  # the seconds a state reads (synchrony's window + the lag's span)
    states = len(trace_states(tail, RATE_HZ, lag_s=LAG_S)[0])  # one every 1 / STATE_HZ s
    floor = states * _per_s(lambda: trace_states(tail, RATE_HZ, lag_s=LAG_S))
    out = []
    for name, lag_of in (("plain", None), ("each seat's lag undone", lambda unit: LAG_S)):
        rate = _per_s(lambda: audience_state(seats, now, lag_of=lag_of))
        out += [{"name": f"audience state, {SEATS} seats, {name}", "value": rate,
                 "unit": "states/s", "peer": "arrays, amortised (trace_states)",
                 "peer_value": floor, "ratio": rate / floor},
                {"name": f"  share of a core at {STATE_HZ:g} states/s, {name}",
                 "value": STATE_HZ / rate, "unit": "core", "peer": None, "peer_value": None,
                 "ratio": None}]
    return out
