"""What a BLE device may send in one connection: no more heart than time has passed.

A device's RR intervals, and its raw ECG or accelerometer samples, since it connected may
cover the time since and AHEAD_S more (the first notification's began before it; BLE drops
a link silent 32 s at most); the rest are refused. A flood gave 5.5 hours of beats in 10 s,
a microsecond apart, and its seat took three cores; an H10-like device's measurement data
39 minutes of ECG in 10 s (tests/redteam/test_session21_red.py).
"""

from __future__ import annotations

import numpy as np

AHEAD_S = 60.0


class TimeBudget:
    """One connection's budget, from `since_us`, kept per kind ("rr", a PMD kind)."""

    def __init__(self, since_us: int):
        self.since_us = since_us
        self.used_s: dict = {}

    def take(self, kind, spans_s, t_us: int) -> int:
        """How many of `spans_s` (seconds each, in order) fit by `t_us`; those are taken."""
        used = self.used_s.get(kind, 0.0)
        room = (t_us - self.since_us) / 1e6 + AHEAD_S - used
        n = int(np.searchsorted(np.cumsum(spans_s), room, "right"))
        self.used_s[kind] = used + float(np.sum(spans_s[:n]))
        return n
