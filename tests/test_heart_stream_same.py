"""A seat streams its waveform (0.1-s chunks as the runtime feeds it), so its beats must be
the batch's: docs/signal-validation.md promises bit-identical beats for any chunking.
Thirty-fifth pass: swept over every corpus record in 0.1-s, 1-s, 10-s and random chunks,
two PPG records streamed lost beats the batch found (bidmc-41, every other pulse small: 3
of 326 in 0.1-s and 1-s chunks; bidmc-17: 1 of 285). _halved_pulse searches a gap twice
the rhythm's where the beat before the last was found by a search, and asked that of the
set of found beats not yet shaped: a stream shapes a beat once its samples are in, so the
answer turned on the chunking. Slices of those records, around the beats lost."""

import numpy as np
import pytest

from corpus_records import need
from empathy.edge.heart import BeatStream, ppg_peaks
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import record_data

# (record, first sample, end): each holds a beat a stream lost (bidmc-41 at 6708 and 7154,
# 17298; bidmc-17 at 11028, at 125 Hz)
SLICES = (("bidmc-41", 3000, 9000), ("bidmc-41", 14000, 19000), ("bidmc-17", 8000, 13000))


@pytest.mark.parametrize("name,a,b", SLICES)
@pytest.mark.parametrize("chunk_s", [0.1, 1.0])
def test_a_halved_rhythm_streamed_finds_the_batch_beats(name, a, b, chunk_s):
    x, fs = record_data(need(name))
    x = np.asarray(x, float)[a:b]
    batch = ppg_peaks(x, fs)
    k = int(round(chunk_s * fs))
    st = BeatStream(fs, "ppg")
    s = _join([st.push(x[i:i + k]) for i in range(0, len(x), k)] + [st.finish()])
    assert st.searched and len(batch.idx) > 40
    assert np.array_equal(s.idx, batch.idx), sorted(set(batch.idx) ^ set(s.idx))
    assert np.array_equal(s.sqi, batch.sqi) and np.array_equal(s.peak, batch.peak)
