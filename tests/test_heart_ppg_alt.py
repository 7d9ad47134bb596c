"""PPG pulses of alternating height (issue 19, thirty-fourth pass: on bidmc-41, seen, every
other R peak sends only a small bump to the finger soon after a full pulse, and ours counted
half the beats, its HR 30.6 bpm low). No unused BIDMC record whose patient is in no held-out
record holds such a stretch (at the ECG reference's R peaks, a rise under half of both
neighbours' at most 12 times in 4 min, 6 in a row at most; bidmc-41: 76, 72 in a row), so
it is reproduced on tuning material only: clean tuning BIDMC finger PPG with every other
pulse made small and early from the record's own pulses (tests/ppg_early_model.py,
`every=2`: bigeminy with weak pulses; a model that shares no constant with the detector),
scored inside the ECG reference's trusted spans. Thirty-fifth pass: bidmc-41's heart ran at
~101 bpm where it alternated, its halved rhythm 1.18-1.22 s; the tuning records' hearts run
at 82-92 bpm, so the model also plays them at 101 bpm (`bpm=`)."""

import numpy as np
import pytest

from empathy.edge.beat_score import beat_match, in_spans
from empathy.edge.heart import ppg_peaks
from ppg_early_model import pulses, with_premature
from ppg_laid_score import laid_scored

RECORDS = ("bidmc-02", "bidmc-10", "bidmc-12")  # tuning records, a steady sinus rhythm
# (where the small pulse starts, of the interval; its size, of the pulse it copies):
# bidmc-41's bump 0.45 s after a full pulse, its R peak 0.6 s after the last (of ~0.73 s)
CASE = (0.8, 0.3)
FAST = 101  # bidmc-41's rate where its pulses alternate (ECG R peaks 0.59-0.6 s apart)


def test_the_model_alternates_small_early_pulses():
    x, fs, spans, truth, small = with_premature("bidmc-02", *CASE, every=2)
    i = np.flatnonzero(np.isin(truth, small))
    iv = np.diff(truth)
    assert len(i) >= 150 and np.count_nonzero(np.diff(i) == 2) >= 0.9 * len(i)
    assert np.all(iv[i - 1] < 0.9 * np.median(iv[i]))  # early, then a longer interval


def test_alternating_small_pulses_are_found():
    """Pooled over the three records, at most one in five small pulses may be missed: before
    this pass ours missed 378 of the 498 (F1 over all 1037 beats 0.767), then 90 (0.9467),
    73 (0.9556) since a broken chain restarts at once (thirty-fifth pass); NeuroKit2's beats
    miss 99 beats in all (F1 0.9465), MSPTDfast's 273 (0.845) (beat_score.peer_beats on the
    same signals)."""
    missed = total = 0
    for name in RECORDS:
        m, n, _ = laid_scored(name, *CASE, every=2)
        missed, total = missed + m, total + n
    assert total >= 450
    assert missed <= total / 5, (missed, total)


def test_the_model_plays_a_record_at_a_faster_heart_rate():
    x0, fs0, _, truth0, small0 = with_premature("bidmc-02", *CASE, every=2)
    x, fs, spans, truth, small = with_premature("bidmc-02", *CASE, every=2, bpm=FAST)
    speed = len(x0) / len(x)
    assert fs == fs0 and 1.05 < speed < 1.2 and len(small) == len(small0)
    assert np.allclose(truth, truth0 / speed, atol=0.02)  # (speed from the lengths)
    assert abs(np.median(truth[2:] - truth[:-2]) * FAST / 120 - 1) < 0.02  # (full to full)
    assert np.all(spans[:, 1] <= len(x) / fs + 1 / fs)


def test_alternating_small_pulses_of_a_faster_heart_are_found():
    """At 101 bpm the halved rhythm's gaps (1.15-1.22 s) fell under the search's 1.2-s
    floor at one gap in two: ours missed 391 of the 498 small pulses (F1 0.757; bidmc-41
    missed 76 -> 51 after the thirty-fourth pass). Now at most one in five, as at the
    records' own rates."""
    missed = total = 0
    for name in RECORDS:
        m, n, _ = laid_scored(name, *CASE, every=2, bpm=FAST)
        missed, total = missed + m, total + n
    assert total >= 450
    assert missed <= total / 5, (missed, total)


@pytest.mark.parametrize("name", RECORDS)
def test_no_extra_beat_where_none_was_laid(name):
    """The search that finds them adds no beat elsewhere: no more extra beats than ours
    places on the clean record (3-4 each: laid pulses' tops off the match window)."""
    x, fs, spans, tops, _ = pulses(name)
    clean = beat_match(in_spans(tops / fs, spans), in_spans(ppg_peaks(x, fs).idx / fs, spans)).fp
    assert laid_scored(name, *CASE, every=2)[2].fp <= clean + 1
