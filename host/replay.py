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
_ZERO, _ONE = np.uint64(0), np.uint64(1)


class ReplayWindows:
    """Per unit: highest (extended) sequence seen plus a bitmap of the ones just below it."""

    SIZE = 64

    def __init__(self):
        self.top = np.full(UNITS, -1, np.int64)
        self.bits = np.zeros(UNITS, np.uint64)
        self.behind = np.zeros(0, bool)  # the last batch's packets refused behind the window

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

    def accept_batch(self, units: np.ndarray, seqs: np.ndarray) -> np.ndarray:
        """Same verdicts as `accept` one by one in arrival order (extended numbers), on
        whole arrays however many packets a unit has in the batch. The window's top before
        a packet is the highest of the unit's top and its earlier packets in the batch (a
        packet past the top is always taken, one below moves nothing), so a packet is taken
        iff it is within SIZE of that, not set in the unit's bitmap before the batch, and
        the first of its number in the batch. `behind` is set to the refused ones that were
        SIZE or more below their unit's top when they came (not a link's duplicates)."""
        n = len(units)
        if n == 0:
            self.behind = np.zeros(0, bool)
            return self.behind
        order = np.argsort(units, kind="stable")
        u, s = units[order].astype(np.intp), seqs[order].astype(np.int64)
        head = np.r_[True, u[1:] != u[:-1]]
        heads = np.flatnonzero(head)
        g = np.cumsum(head) - 1  # each packet's unit, numbered in this batch
        top0, bits0 = self.top[u[heads]], self.bits[u[heads]]
        # highest so far within each unit: one running max over (unit, number) keys; a
        # unit's numbers span < 2**32 (extend: within 2**31 of one reference)
        lo = np.minimum.reduceat(s, heads)
        key = (g << 32) + (s - lo[g])
        high = np.maximum.accumulate(key) - (g << 32) + lo[g]
        before = np.r_[np.int64(-1), high[:-1]]
        before[heads] = -1
        top = np.maximum(before, top0[g])
        back0 = top0[g] - s
        seen0 = (back0 >= 0) & (back0 < self.SIZE) & (
            (bits0[g] >> np.clip(back0, 0, self.SIZE - 1).astype(np.uint64)) & _ONE > 0)
        by_num = np.lexsort((s, g))  # stable: a number's first arrival comes first
        first = np.empty(n, bool)
        first[by_num] = np.r_[True, (g[by_num][1:] != g[by_num][:-1])
                              | (s[by_num][1:] != s[by_num][:-1])]
        ok = first & ~seen0 & (top - s < self.SIZE)
        # the units' new windows: the old bitmap moved up to the new top, the numbers taken
        new_top = np.maximum(top0, np.maximum.reduceat(s, heads))
        shift = new_top - top0
        bits = np.where(shift < self.SIZE,
                        bits0 << np.minimum(shift, self.SIZE - 1).astype(np.uint64), _ZERO)
        back = new_top[g] - s
        mark = np.where(ok & (back < self.SIZE),
                        _ONE << np.clip(back, 0, self.SIZE - 1).astype(np.uint64), _ZERO)
        self.top[u[heads]] = new_top
        self.bits[u[heads]] = bits | np.bitwise_or.reduceat(mark, heads)
        verdict, self.behind = np.empty(n, bool), np.empty(n, bool)
        verdict[order], self.behind[order] = ok, top - s >= self.SIZE
        return verdict

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
