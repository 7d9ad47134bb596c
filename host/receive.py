"""Receive: packets -> verified seat samples, rejects counted by reason.

Authentication happens in `wire.decode`; on top, each unit has a 64-packet sliding
anti-replay window (as in IPsec/DTLS) so a captured packet sent again is dropped.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Iterable

from empathy import wire

HISTORY = 6000  # samples kept per seat for fusion and the report (10 min at 10 Hz)


class ReplayWindow:
    """Highest sequence seen plus a 64-bit bitmap of the ones just below it."""

    SIZE = 64

    def __init__(self):
        self.top = -1
        self.bits = 0

    def accept(self, seq: int) -> bool:
        if seq > self.top:
            shift = seq - self.top
            self.bits = ((self.bits << shift) | 1) & ((1 << self.SIZE) - 1) if shift < self.SIZE else 1
            self.top = seq
            return True
        back = self.top - seq
        if back >= self.SIZE or self.bits >> back & 1:
            return False
        self.bits |= 1 << back
        return True


@dataclass
class SeatTrack:
    seat_id: int
    unit_id: int
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def last(self) -> wire.SeatSample:
        return self.history[-1]


class Intake:
    """Verifies packets and keeps every seat's recent samples."""

    def __init__(self, keys: dict[int, bytes]):
        self.keys = keys
        self.seats: dict[int, SeatTrack] = {}
        self.windows: dict[int, ReplayWindow] = {}
        self.received = 0
        self.accepted = 0
        self.rejected: Counter = Counter()

    def feed(self, packets: Iterable[bytes]) -> list[wire.SeatSample]:
        """Verify a batch; returns the samples accepted (rejects are counted by reason)."""
        keys, seats, accepted = self.keys, self.seats, []
        for p in packets:
            self.received += 1
            try:
                s = wire.decode(p, keys)
            except wire.WireError as e:
                self.rejected[e.reason] += 1
                continue
            win = self.windows.get(s.unit_id)
            if win is None:
                win = self.windows[s.unit_id] = ReplayWindow()
            if not win.accept(s.seq):
                self.rejected["replayed"] += 1
                continue
            self.accepted += 1
            track = seats.get(s.seat_id)
            if track is None:
                track = seats[s.seat_id] = SeatTrack(s.seat_id, s.unit_id)
            track.history.append(s)
            accepted.append(s)
        return accepted
