"""A waveform pushed through a BeatStream in random chunks: streaming must give the batch's
beats whatever the chunks (the tests of each detector stage check it)."""

import numpy as np

from empathy.edge.heart import BeatStream
from empathy.edge.heart_beats import Beats, _join


def streamed(x, fs: float, kind: str, seed: int, longest: int) -> Beats:
    """The beats a fresh stream gives for x pushed in random chunks of 1 to longest - 1
    samples (seeded), then finished."""
    st, rng, parts, i = BeatStream(fs, kind), np.random.default_rng(seed), [], 0
    while i < len(x):
        n = int(rng.integers(1, longest))
        parts.append(st.push(x[i:i + n]))
        i += n
    return _join(parts + [st.finish()])
