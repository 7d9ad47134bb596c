"""PPG pulses after premature beats (issue 19, thirty-third pass: most of the fresh BIDMC
records' misses follow a short R-R interval, their pulse small and late on the last pulse's
downslope). Reproduced on tuning material only: clean tuning BIDMC finger PPG with
premature beats laid on from the record's own pulses (tests/ppg_early_model.py, a model
that shares no constant with the detector), scored by the corpus scorer's functions inside
the ECG reference's trusted spans."""

import numpy as np
import pytest

from empathy.edge.beat_score import beat_match, in_spans
from empathy.edge.heart import BeatStream, ppg_peaks
from empathy.edge.heart_beats import _join
from ppg_early_model import pulses, with_premature
from ppg_laid_score import laid_scored

RECORDS = ("bidmc-02", "bidmc-10", "bidmc-12")  # tuning records, a steady sinus rhythm
# (where the pulse starts, of the interval; its size, of the pulse it copies): the short
# intervals the fresh set's misses followed (0.74-0.91 of the median R-R) and, as the pulse
# travels slower after a short filling, a little earlier at the finger
CASES = ((0.72, 0.4), (0.76, 0.4))


def test_the_model_makes_small_early_pulses_followed_by_a_pause():
    x, fs, spans, truth, early = with_premature("bidmc-02", *CASES[0])
    i = np.flatnonzero(np.isin(truth, early))
    med = np.median(np.diff(truth))
    assert len(i) >= 30
    assert np.all(np.diff(truth)[i - 1] < 0.85 * med)  # early
    assert np.all(truth[i + 1] - truth[i - 1] > 1.8 * med)  # then a pause


def test_pulses_after_premature_beats_are_found():
    """Pooled over the three records and both cases, at most one in nine may be missed:
    before this pass ours missed 35 of the 224 laid on, now 15 (NeuroKit2: 9)."""
    missed = total = 0
    for name in RECORDS:
        for frac, scale in CASES:
            m, n, _ = laid_scored(name, frac, scale)
            missed, total = missed + m, total + n
    assert total >= 200
    assert missed <= total / 9, (missed, total)


@pytest.mark.parametrize("name", RECORDS)
def test_no_extra_beat_where_none_was_laid(name):
    """The search that finds them adds no beat elsewhere: at most one extra beat more than
    ours places on the clean record (a laid pulse placed over the match window off its top
    counts a miss and an extra: bidmc-10 at 0.76 before this pass too)."""
    x, fs, spans, tops, _ = pulses(name)
    clean = beat_match(in_spans(tops / fs, spans), in_spans(ppg_peaks(x, fs).idx / fs, spans)).fp
    for frac, scale in CASES:
        assert laid_scored(name, frac, scale)[2].fp <= clean + 1


def test_streamed_in_chunks_they_are_the_same_beats():
    """The early search reads history only where it holds the same samples whatever the
    chunking: streamed 37 samples at a time, every beat as in one call."""
    x, fs, _, _, _ = with_premature("bidmc-02", *CASES[0])
    st = BeatStream(fs, "ppg")
    beats = _join([st.push(x[i:i + 37]) for i in range(0, len(x), 37)] + [st.finish()])
    assert np.array_equal(beats.idx, ppg_peaks(x, fs).idx)
