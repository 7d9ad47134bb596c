"""Clock sync: keep a unit's clock mapped onto the host's, NTP-style, over any transport.

Each exchange gives four timestamps: t1 (unit sends), t2 (host receives), t3 (host
replies), t4 (unit receives). With a symmetric path the host-minus-unit offset at the
unit's moment (t1 + t4) / 2 is ((t2 - t1) + (t3 - t4)) / 2, and the round trip is
(t4 - t1) - (t3 - t2). Queueing only ever lengthens a round trip and skews its offset, so
we keep the recent exchanges, trust the quickest ones, and fit offset AND drift as a
straight line through them: a unit whose crystal runs 100 ppm fast stays within a few
microseconds between exchanges instead of walking off by 100 us every second.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable

import numpy as np

from empathy import wire
from empathy.clock import HostClock, now_us

log = logging.getLogger("empathy.clock")

WINDOW = 32  # exchanges kept (at 2 Hz: the last 16 s)
BEST = 0.5  # fraction of them, quickest round trips first, the fit rests on
# An exchange's offset is within half its round trip of the truth; one further than that
# plus this from the fitted line means the host's clock jumped (a rebooted host restarts
# its monotonic clock): the old exchanges describe a clock that is gone.
JUMP_US = 100_000


class ClockSync:
    """The unit side: makes requests, takes replies, keeps `clock` (a HostClock) fitted."""

    def __init__(self, unit_id: int, key: bytes, clock: HostClock | None = None,
                 local_us: Callable[[], int] = now_us, window: int = WINDOW):
        self.unit_id, self.key = unit_id, key
        self.clock = clock or HostClock()
        self.local_us = local_us
        self.exchanges: deque = deque(maxlen=window)  # (unit time, offset, round trip)
        self.pending: dict[int, int] = {}  # seq -> t1, for replies still out
        self.sent = 0
        self.answered = 0
        self.rejected = 0
        self.jumps = 0  # host clock jumps seen (each one restarts the fit)
        self.rtt_us = 0
        self.drift_se_ppm = float("inf")  # the fitted drift's standard error
        self._lock = threading.Lock()  # requests: the unit's loop; replies: its downlink thread

    def request(self, seq: int) -> bytes:
        t1 = self.local_us()
        with self._lock:
            self.pending[seq] = t1
            while len(self.pending) > 64:  # replies that never came
                self.pending.pop(next(iter(self.pending)))
            self.sent += 1
        return wire.encode_sync(wire.SyncRequest(self.unit_id, seq, t1), self.key)

    def on_packet(self, packet: bytes, t4: int | None = None) -> bool:
        """A packet from the host; True if it was a good reply and the clock moved."""
        t4 = self.local_us() if t4 is None else t4
        try:
            r = wire.decode_sync_reply(packet, self.key)
        except wire.WireError:
            self.rejected += 1
            return False
        with self._lock:
            t1 = self.pending.pop(r.seq, None)
        if r.unit_id != self.unit_id or t1 != r.t1_us:
            self.rejected += 1  # not ours, a duplicate, or a replay of an old exchange
            return False
        self.answered += 1
        rtt = (t4 - r.t1_us) - (r.t3_us - r.t2_us)
        self.rtt_us = rtt
        mid, offset = (r.t1_us + t4) / 2, ((r.t2_us - r.t1_us) + (r.t3_us - t4)) / 2
        jump = offset - (self.clock.to_host(int(mid)) - mid)
        if self.synced and abs(jump) > rtt / 2 + JUMP_US:
            # Kept, the old exchanges won the quickest-half choice for a window, then the
            # line through both clocks drifted by 1e10 ppm: ~17 s of samples refused.
            self.exchanges.clear()
            self.jumps += 1  # reported in the unit's run summary (clock.host_clock_jumps)
            log.warning("unit %d: the host's clock jumped %+.3f s (host restarted, or its "
                        "time was set); clock sync starts over", self.unit_id, jump / 1e6)
        self.exchanges.append((mid, offset, rtt))
        self._fit()
        return True

    def _best(self) -> np.ndarray:
        x = np.array(self.exchanges)
        return x[np.argsort(x[:, 2], kind="stable")[:max(2, int(len(x) * BEST))]]

    def _fit(self) -> None:
        best = self._best()
        ref = float(best[:, 0].mean())
        if len(best) >= 4 and np.ptp(best[:, 0]) > 0:
            (slope, offset), cov = np.polyfit(best[:, 0] - ref, best[:, 1], 1, cov=True)
            # the slope's standard error from the exchanges' scatter about the line: how
            # well this link's queueing lets the drift be known (a busy broker: tens of ppm)
            self.drift_se_ppm = float(np.sqrt(cov[0, 0]) * 1e6)
        else:  # too few, too close together: offset only
            slope, offset = 0.0, float(best[:, 1].mean())
            self.drift_se_ppm = float("inf")
        # A new object, swapped in whole: the sending thread never sees half an update.
        self.clock = HostClock(float(offset), float(slope) * 1e6, int(ref))

    @property
    def synced(self) -> bool:
        return len(self.exchanges) >= 4

    @property
    def loss_permille(self) -> int:
        """Requests not answered, of those sent (the unit's own view of the link)."""
        return int(1000 * (self.sent - self.answered) / self.sent) if self.sent else 0

    def residual_us(self) -> float:
        """How far the fitted line sits from the quickest exchanges (RMS), an error bound."""
        if len(self.exchanges) < 2:
            return float("inf")
        best = self._best()
        fitted = np.array([self.clock.to_host(int(t)) - int(t) for t in best[:, 0]])
        return float(np.sqrt(np.mean((fitted - best[:, 1]) ** 2)))
