"""Anti-replay: per unit, the highest sequence number seen and a 64-bit bitmap below it.

As in IPsec/DTLS, a packet is taken once: ahead of the highest, or inside the 64 just below
it and not seen yet. Sequence numbers are 32 bits on the wire and wrap; the host keeps them
extended to 64 bits (like IPsec's extended sequence numbers): a wire number is read as the
value nearest the unit's highest so far, so a unit that has sent 2**32 packets is accepted
on the far side of the wrap and its old packets stay refused.

`tops()`/`restore()` carry the highest numbers over a host restart (host/intake_state.py):
a restored unit counts everything up to its highest as seen.
"""

from __future__ import annotations

import numpy as np

from empathy import wire

UNITS = 1 << 16
_VECTOR_ROUNDS = 4  # a unit with more packets than this in one batch: the rest one by one


class ReplayWindows:
    """Per unit: highest (extended) sequence seen plus a bitmap of the ones just below it."""

    SIZE = 64

    def __init__(self):
        self.top = np.full(UNITS, -1, np.int64)
        self.bits = np.zeros(UNITS, np.uint64)

    def extend(self, units: np.ndarray, seqs: np.ndarray) -> np.ndarray:
        """32-bit wire numbers -> 64-bit: the value nearest each unit's highest so far."""
        units = np.asarray(units, np.intp)
        seqs = np.asarray(seqs, np.int64)
        top = self.top[units]
        new = top < 0
        if new.any():  # a unit heard for the first time: its first number in this batch
            ids, first = np.unique(units[new], return_index=True)
            top = top.copy()
            top[new] = seqs[new][first[np.searchsorted(ids, units[new])]]
        return top + wire.seq_delta(seqs, top)

    def accept(self, unit: int, seq: int) -> bool:
        """One extended sequence number (see `extend`)."""
        top, bits = int(self.top[unit]), int(self.bits[unit])
        if seq > top:
            shift = seq - top
            full = (1 << self.SIZE) - 1
            self.bits[unit] = ((bits << shift) | 1) & full if shift < self.SIZE else 1
            self.top[unit] = seq
            return True
        back = top - seq
        if back >= self.SIZE or bits >> back & 1:
            return False
        self.bits[unit] = bits | 1 << back
        return True

    def accept_wire(self, unit: int, seq: int) -> bool:
        """One 32-bit wire sequence number."""
        return self.accept(unit, int(self.extend(np.array([unit]), np.array([seq]))[0]))

    def accept_batch(self, units: np.ndarray, seqs: np.ndarray) -> np.ndarray:
        """Same verdicts as `accept` in arrival order (extended numbers). Rounds keep units
        unique per step."""
        n = len(units)
        units, seqs = units.astype(np.intp), seqs.astype(np.int64)
        ok = np.zeros(n, bool)
        if n == 0:
            return ok
        order = np.argsort(units, kind="stable")
        su = units[order]
        first = np.r_[True, su[1:] != su[:-1]]
        rank = np.empty(n, np.intp)
        rank[order] = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
        for r in range(min(int(rank.max()) + 1, _VECTOR_ROUNDS)):
            idx = np.flatnonzero(rank == r)
            ok[idx] = self._round(units[idx], seqs[idx])
        for i in np.flatnonzero(rank >= _VECTOR_ROUNDS)[np.argsort(rank[rank >= _VECTOR_ROUNDS],
                                                                    kind="stable")].tolist():
            ok[i] = self.accept(int(units[i]), int(seqs[i]))
        return ok

    def _round(self, u: np.ndarray, s: np.ndarray) -> np.ndarray:
        top, bits = self.top[u], self.bits[u]
        ahead = s > top
        shift = np.clip(s - top, 0, self.SIZE - 1).astype(np.uint64)
        back = np.clip(top - s, 0, self.SIZE - 1).astype(np.uint64)
        one = np.uint64(1)
        fresh_behind = ~ahead & (top - s < self.SIZE) & ((bits >> back) & one == 0)
        self.bits[u] = np.where(ahead, np.where(s - top < self.SIZE, (bits << shift) | one, one),
                                np.where(fresh_behind, bits | (one << back), bits))
        self.top[u] = np.where(ahead, s, top)
        return ahead | fresh_behind

    # -- across restarts ---------------------------------------------------------------
    def tops(self) -> dict[int, int]:
        """unit -> highest extended sequence number seen."""
        seen = np.flatnonzero(self.top >= 0)
        return dict(zip(seen.tolist(), self.top[seen].tolist()))

    def restore(self, tops: dict[int, int]) -> None:
        """Highest numbers from before a restart: everything up to them counts as seen."""
        for unit, top in tops.items():
            if top > self.top[unit]:
                self.top[unit] = top
                self.bits[unit] = np.uint64((1 << self.SIZE) - 1)
