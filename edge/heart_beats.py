"""What the beat detector returns (`Beats`), and the few small helpers all its parts share.

Kept apart so that the detector's parts (heart_stream, heart_gates, heart_refine) and its
batch entry points (edge/heart.py) agree on one result type and one empty result without
importing each other.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np


class Beats(NamedTuple):
    idx: np.ndarray  # sample index of each beat from the start of the stream (int64)
    sqi: np.ndarray  # 0..1 shape quality of each beat
    peak: np.ndarray  # where it peaked in the filtered signal (the detector's own index)


# the reductions themselves: ndarray.max() and .min() add a Python wrapper's microseconds,
# and the gates ask them of a few dozen samples several times a beat
_max, _min = np.maximum.reduce, np.minimum.reduce


def _median(values) -> float:
    """statistics.median for a handful of floats, without its generality's cost."""
    v = sorted(values)
    h = len(v) >> 1  # (called some 30,000 times an hour: a shift, one index each)
    return v[h] if len(v) & 1 else (v[h - 1] + v[h]) / 2


class Recent(deque):
    """The last few heights, intervals or steepnesses (a bounded deque) that keeps its
    median until it changes: the gates ask for it several times a beat, it changes once."""

    def __init__(self, maxlen: int):
        super().__init__(maxlen=maxlen)
        self.med: float | None = None

    def median(self) -> float:
        if self.med is None:
            self.med = _median(self)
        return self.med


def _forgets(name: str):
    change = getattr(deque, name)

    def changed(self, *args):
        self.med = None
        return change(self, *args)
    return changed


for _name in ("append", "appendleft", "extend", "extendleft", "pop", "popleft", "clear",
              "remove", "insert", "rotate", "reverse", "__setitem__", "__delitem__",
              "__iadd__", "__imul__"):
    setattr(Recent, _name, _forgets(_name))


def _array_median(w: np.ndarray) -> float:
    """np.median of a 1-d float array, the same bits, without its generality's cost."""
    n = len(w)
    h = n // 2
    if n % 2:
        return float(np.partition(w, h)[h])
    part = np.partition(w, (h - 1, h))
    return (float(part[h - 1]) + float(part[h])) / 2.0


_EMPTY = Beats(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
for _a in _EMPTY:
    _a.flags.writeable = False  # shared by every empty result


def _join(parts: list[Beats]) -> Beats:
    if not parts:
        return _EMPTY
    return Beats(*(np.concatenate([b[k] for b in parts]) for k in range(3)))
