"""Two seats that send one heart: the same strap read by two seats (a Polar H10 takes two
connections; two units given one address, or each `ble://?name=Polar`, tests/redteam/
test_ops21.py). Each seat's HR is the mean of its own window's intervals, sent to 0.01 bpm:
two hearts agree to that at a moment about once in a few hundred, one heart read twice
nearly always (0.8 of the moments across two units whose estimates fall 0-0.1 s apart,
0.99 on one unit). The intake reports such pairs as health events; the operator's to fix
(a seat's data is another viewer's, and its own viewer is unread).
"""

from __future__ import annotations

import numpy as np

from empathy.host.audience import _since
from empathy.wire import Flag

WINDOW_S = 60.0  # the moments compared: one a second over the last minute
SAME_SHARE = 0.5  # of the moments both seats had HR, the share with one value: one heart
MIN_MOMENTS = 20  # fewer moments with HR on both seats say nothing
CHECK_S = 5.0  # how often the pairs are looked for


def hr_at(history, moments_us: np.ndarray) -> np.ndarray:
    """The seat's last HR (0.01 bpm, an int) at each moment; 0 where it had none then (no
    HR_OK, or its last sample over a second old). `history` is in arrival order."""
    rows = [(s.ts_us, round(s.hr_bpm * 100)) for s in _since(history, moments_us[0] - 1e6)
            if s.flags & Flag.HR_OK]
    if not rows:
        return np.zeros(len(moments_us), np.int64)
    t, v = np.array(rows, np.int64).T
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    i = np.searchsorted(t, moments_us, "right") - 1
    ok = (i >= 0) & (moments_us - t[np.maximum(i, 0)] <= 1e6)
    return np.where(ok, v[np.maximum(i, 0)], 0)


def same_heart(seats: dict, now_us: int) -> dict[tuple[int, int], float]:
    """{(seat a, seat b): share of moments their HR was one value} for the pairs over
    SAME_SHARE. `seats`: seat id -> SeatTrack (host/receive.py)."""
    moments = now_us - np.arange(int(WINDOW_S), 0, -1, dtype=np.int64) * 1_000_000
    ids = [s for s, track in seats.items() if track.history]
    if len(ids) < 2:
        return {}
    hr = np.stack([hr_at(seats[s].history, moments) for s in ids])  # seats x moments
    has = hr > 0
    # seats that share a value at a moment: sort (moment, value) keys, equal neighbours
    seat, moment = np.nonzero(has)
    key = moment.astype(np.int64) << 32 | hr[seat, moment]
    order = np.argsort(key, kind="stable")
    key, seat = key[order], seat[order]
    same: dict[tuple[int, int], int] = {}
    for k in np.flatnonzero(key[1:] == key[:-1]):
        pair = (ids[seat[k]], ids[seat[k + 1]])
        pair = (min(pair), max(pair))
        same[pair] = same.get(pair, 0) + 1
    out = {}
    index = {s: i for i, s in enumerate(ids)}
    for (a, b), n in same.items():
        both = int(np.sum(has[index[a]] & has[index[b]]))
        if both >= MIN_MOMENTS and n / both >= SAME_SHARE:
            out[(a, b)] = round(n / both, 3)
    return out


class OneHeart:
    """Health events for seats that start or stop sending one heart."""

    def __init__(self):
        self.pairs: dict[tuple[int, int], float] = {}
        self.next_us = 0

    def check(self, seats: dict, now_us: int) -> list[dict]:
        if now_us < self.next_us:
            return []
        self.next_us = now_us + int(CHECK_S * 1e6)
        found = same_heart(seats, now_us)
        events = [{"event": "one_heart", "seats": list(p), "share": found[p],
                   "units": [seats[s].unit_id for s in p],
                   "why": "two seats send one heart: one strap read by both?"}
                  for p in sorted(found.keys() - self.pairs.keys())]
        events += [{"event": "one_heart_gone", "seats": list(p)}
                   for p in sorted(self.pairs.keys() - found.keys())]
        self.pairs = found
        return events
