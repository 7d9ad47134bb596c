"""Stream = batch on the whole corpus: every waveform record through `BeatStream` in 0.1-s,
1-s and 10-s chunks and one random chunking (1 sample to 3 s), each bit-identical to the
batch beats (docs/signal-validation.md promises it for any chunking). The thirty-fifth
pass found two PPG records that lost beats streamed (tests/test_heart_stream_same.py keeps
their slices in the suite); this is the sweep that found them, kept for detector changes.
~50 CPU-s: marked slow (scripts/test.sh -m slow)."""

import zlib

import numpy as np
import pytest

from corpus_records import need
from empathy.edge.heart import BeatStream, waveform_peaks
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import RECORDS, record_data


def _streamed(x, fs, kind, cuts):
    st = BeatStream(fs, kind)
    return _join([st.push(x[a:b]) for a, b in zip(cuts[:-1], cuts[1:])] + [st.finish()])


@pytest.mark.slow
@pytest.mark.parametrize("name", [r.name for r in RECORDS if r.kind != "rr"])
def test_every_record_streamed_in_any_chunks_finds_the_batch_beats(name):
    rec = need(name)
    x, fs = record_data(rec)
    x = np.asarray(x, float)
    n = len(x)
    batch = waveform_peaks(x, fs, rec.kind)
    chunkings = {f"{s} s": list(range(0, n, max(1, round(s * fs)))) + [n] for s in (0.1, 1, 10)}
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # (the same cuts every run)
    cuts = [0]
    while cuts[-1] < n:
        cuts.append(min(n, cuts[-1] + int(rng.integers(1, int(3 * fs)))))
    chunkings["random"] = cuts
    for how, cuts in chunkings.items():
        s = _streamed(x, fs, rec.kind, cuts)
        assert np.array_equal(s.idx, batch.idx), (how, sorted(set(batch.idx) ^ set(s.idx))[:10])
        assert np.array_equal(s.sqi, batch.sqi) and np.array_equal(s.peak, batch.peak), how
