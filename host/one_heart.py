"""Two seats that send one heart: the same strap read by two seats (a Polar H10 takes two
connections; two units given one address, or each `ble://?name=Polar`, tests/redteam/
test_ops21.py). Each seat's HR is the mean of its own window's intervals, sent to 0.01 bpm,
and moves at nearly every beat: two hearts move from one value to one value at a moment
about never, one heart read twice at most moments (across two units whose estimates fall
0-0.1 s apart too). The intake reports such pairs as health events; the operator's to fix
(a seat's data is another viewer's, and its own viewer is unread).
"""

from __future__ import annotations

import itertools
from collections import Counter
from operator import attrgetter

import numpy as np

from empathy.host.audience import _since
from empathy.wire import Flag

WINDOW_S = 60.0  # the moments compared: one a second over the last minute
SAME_SHARE = 0.5  # of the moments both seats' HR moved, the share it moved alike: one heart
MIN_MOMENTS = 20  # fewer moments at which both moved say nothing
CHECK_S = 5.0  # how often the pairs are looked for
_TS = attrgetter("ts_us")
_HR_OK = int(Flag.HR_OK)  # (an IntFlag's & is slow on the show loop)


def hr_at(history, moments_us: np.ndarray) -> np.ndarray:
    """The seat's HR (0.01 bpm, an int) in its last sample at each moment; 0 where that
    sample had none (no HR_OK) or is over a second old. `history` is in arrival order."""
    recent = _since(history, moments_us[0] - 1e6)
    out = np.zeros(len(moments_us), np.int64)
    if not recent:
        return out
    t = np.fromiter(map(_TS, recent), np.int64, len(recent))
    i = np.searchsorted(t, moments_us, "right") - 1
    for k in np.flatnonzero((i >= 0) & (moments_us - t[np.maximum(i, 0)] <= 1e6)):
        s = recent[i[k]]
        out[k] = round(s.hr_bpm * 100) if s.flags & _HR_OK else 0
    return out


def same_heart(ids: list[int], hr: np.ndarray) -> dict[tuple[int, int], float]:
    """{(seat a, seat b): of the moments both seats' HR moved, the share at which both moved
    from one value to one value}, for the pairs at SAME_SHARE or over. `hr`: per seat in
    `ids`, its hr_at row over WINDOW_S + 1 moments. Only moves count: a watch's whole-bpm
    figure may stand for 30 s (edge/device_hr.py), and two viewers' can stand on one."""
    moved = (hr[:, 1:] > 0) & (hr[:, 1:] != hr[:, :-1])
    # seats that moved alike at a moment: runs of equal (moment, from, to) keys once sorted
    seat, moment = np.nonzero(moved)
    key = (moment.astype(np.int64) << 40 | hr[seat, moment] << 20) | hr[seat, moment + 1]
    order = np.argsort(key, kind="stable")
    key, seat = key[order], seat[order]
    same: Counter = Counter()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    runs = np.diff(np.r_[starts, len(key)])
    for a, n in zip(starts[runs > 1], runs[runs > 1]):
        same.update(itertools.combinations(sorted(seat[a:a + n].tolist()), 2))
    out = {}
    for (a, b), n in same.items():
        if n >= SAME_SHARE * MIN_MOMENTS:  # (chance pairs of a large room stop here)
            both = int(np.sum(moved[a] & moved[b]))
            if both >= MIN_MOMENTS and n >= SAME_SHARE * both:
                out[(ids[a], ids[b])] = round(n / both, 3)
    return out


class OneHeart:
    """Health events for seats that start or stop sending one heart. Each seat's HR at the
    whole seconds of the host clock is read once, as they pass (the show loop must not
    stall: 1,000 seats read whole every check took 0.15 s)."""

    def __init__(self):
        self.pairs: dict[tuple[int, int], float] = {}
        self.next_us = 0
        self.end_us = 0  # the newest moment read
        self.rows: dict[int, np.ndarray] = {}  # seat -> its HR at the moments to end_us

    def check(self, seats: dict, now_us: int) -> list[dict]:
        if now_us < self.next_us:
            return []
        self.next_us = now_us + int(CHECK_S * 1e6)
        n = int(WINDOW_S) + 1  # (the moment before the window: a move into its first)
        end = now_us // 1_000_000 * 1_000_000
        new = int(min(n, max(0, (end - self.end_us) // 1_000_000)))
        moments = end - np.arange(new - 1, -1, -1, dtype=np.int64) * 1_000_000
        self.end_us = end
        rows = {}
        for sid, track in seats.items():
            old = self.rows.get(sid, np.zeros(n, np.int64))
            fresh = (hr_at(track.history, moments) if new and track.history
                     else np.zeros(new, np.int64))
            rows[sid] = np.concatenate((old[new:], fresh))
        self.rows = rows
        ids = [sid for sid, r in rows.items() if r.any()]
        found = same_heart(ids, np.stack([rows[i] for i in ids])) if len(ids) > 1 else {}
        events = [{"event": "one_heart", "seats": list(p), "share": found[p],
                   "units": [seats[s].unit_id for s in p],
                   "why": "two seats send one heart: one strap read by both?"}
                  for p in sorted(found.keys() - self.pairs.keys())]
        events += [{"event": "one_heart_gone", "seats": list(p)}
                   for p in sorted(self.pairs.keys() - found.keys())]
        self.pairs = found
        return events
