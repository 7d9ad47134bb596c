"""The last samples of a streamed waveform, for a seat's stages that read them only now and
then (at a beat): appending a chunk is cheap, and they are joined when read (copying a
seat's 15-30 s of kept samples at every 0.1-s chunk cost more than the stages' own work)."""

from __future__ import annotations

import numpy as np


class Tail:
    """The last `size` samples of a stream: those of `x()` are the same as a copy trimmed
    to `size` at every push would be."""

    def __init__(self, size: int):
        self.size, self.n = size, 0  # n: samples pushed (the tail's end's stream index)
        self.parts: list[np.ndarray] = [np.zeros(0)]
        self.held = 0  # samples in parts

    def push(self, samples) -> None:
        x = np.array(samples, float).ravel()
        self.parts.append(x)
        self.n += x.size
        self.held += x.size
        if self.held > 2 * self.size:  # (bounded, read or not)
            self.x()

    def start(self) -> int:
        """The stream index of the tail's first sample."""
        return self.n - min(self.n, self.size)

    def x(self) -> np.ndarray:
        if len(self.parts) > 1:
            self.parts = [np.concatenate(self.parts)[-self.size:]]
            self.held = len(self.parts[0])
        return self.parts[0]
