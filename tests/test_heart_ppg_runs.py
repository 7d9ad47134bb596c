"""PPG pulses in runs of premature beats (issue 19, thirty-fourth pass: on the first fresh
BIDMC set a premature beat's pulse was missed where another short interval followed it, no
pause, so the gap it left, 1.47-1.86 intervals, was too short for search-back). Reproduced
on tuning material only: bidmc-53 (a tuning record chosen by its ECG's runs of premature
beats) and clean tuning BIDMC finger PPG with runs of two premature beats laid on from the
record's own pulses (tests/ppg_early_model.py, a model that shares no constant with the
detector), scored inside the ECG reference's trusted spans."""

import numpy as np
import pytest

from empathy.edge.beat_score import beat_match, in_spans, lagged_match, shown_rate, t_wave_free
from empathy.edge.heart import BeatStream, ppg_peaks
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import (annotated_beats, record, record_data, reference_lead,
                                       trusted_spans)
from ppg_early_model import EVERY, pulses, with_premature
from ppg_laid_score import laid_scored

RECORDS = ("bidmc-02", "bidmc-10", "bidmc-12")  # tuning records, a steady sinus rhythm
# (where the first pulse starts, of the interval; where the second starts after it; their
# size, of the pulses they copy): bidmc-53's runs, 0.8-0.85 of the median R-R twice, and the
# fresh set's short intervals, 0.74-0.91
CASES = ((0.76, 0.84, 0.6), (0.8, 0.8, 0.4))
# bidmc-53's runs come every few beats, so the intervals before a run's gap hold the last
# run's pauses and short intervals: a run laid on every fourth pulse (thirty-fifth pass)
OFTEN = 4


def test_the_model_lays_runs_of_two_short_intervals():
    x, fs, spans, truth, early = with_premature("bidmc-02", 0.76, 0.6, then=0.84)
    i = np.flatnonzero(np.isin(truth, early))
    first, second = i[::2], i[1::2]
    iv = np.diff(truth)
    usual = np.ones(len(iv), bool)
    usual[np.concatenate((first - 1, first, second))] = False  # the run's and the pause
    med = np.median(iv[usual])
    assert len(first) >= 30 and np.array_equal(second, first + 1)
    assert np.all(iv[first - 1] < 0.9 * med) and np.all(iv[second - 1] < 0.95 * med)
    gap = truth[second] - truth[first - 1]  # what a missed first pulse leaves (breathing
    # sways the record's intervals: 1.54-1.71 of their median)
    assert 1.5 * med < np.median(gap) < 1.66 * med and np.all(gap > 1.4 * med)


def test_pulses_in_runs_of_premature_beats_are_found():
    """Pooled over the three records and both cases, at most one in nine may be missed:
    before this pass ours missed 159 of the 448 laid on, now 29 (NeuroKit2: 10)."""
    missed = total = 0
    for name in RECORDS:
        for case in CASES:
            m, n, _ = laid_scored(name, case[0], case[2], then=case[1])
            missed, total = missed + m, total + n
    assert total >= 400
    assert missed <= total / 9, (missed, total)


def test_pulses_in_frequent_runs_are_found():
    """Runs laid on every fourth pulse (the rhythm before each gap never steady): before the
    thirty-fifth pass ours missed 49 of the 492 laid on, now 24."""
    missed = total = 0
    for name in RECORDS:
        m, n, _ = laid_scored(name, CASES[0][0], CASES[0][2], then=CASES[0][1], every=OFTEN)
        missed, total = missed + m, total + n
    assert total >= 450
    assert missed <= total / 14, (missed, total)


def test_no_extra_beat_where_none_was_laid():
    """The search that finds them adds no beat elsewhere: pooled, at most two extra beats
    more than ours places on the clean records (bidmc-10's laid pulses placed over the
    match window off their tops: 11 and 10 before this pass too, 9 clean)."""
    clean = 0
    for name in RECORDS:
        x, fs, spans, tops, _ = pulses(name)
        clean += beat_match(in_spans(tops / fs, spans),
                            in_spans(ppg_peaks(x, fs).idx / fs, spans)).fp
    for case, every in [(c, EVERY) for c in CASES] + [(CASES[0], OFTEN)]:
        extra = sum(laid_scored(name, case[0], case[2], then=case[1], every=every)[2].fp
                    for name in RECORDS)
        assert extra <= clean + 2


def test_bidmc_53s_pulses_in_runs_are_found():
    """bidmc-53 (tuning; chosen by its ECG alone): inside its trusted spans ours missed 8 R
    peaks' pulses, 7 of them in a run of short intervals (the pulse 0.67-0.82 of an
    interval after ours, no energy block opened for it); NeuroKit2 1. The thirty-fourth
    pass's search left 5, four of them the one wave of a gap whose rhythm before it was not
    steady (or whose wave lay on that search's window's end); the fifth is the record's
    last pulse, 0.11 s before its end (NeuroKit2's one miss). Now that one only, no extra
    beat, and the HR `signal hr` shows within 1.5 bpm of the ECG's (-2.0 bpm before)."""
    rec = record("bidmc-53")
    x, fs = record_data(rec)
    ref, _ = t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)
    spans = trusted_spans(rec)
    ours = ppg_peaks(x, fs).idx / fs
    m, lag = lagged_match(ref, ours, spans)
    assert m.fn <= 1 and m.fp == 0, m
    err = shown_rate(ours - lag, spans, False) - shown_rate(ref, spans, False, truth=True)
    assert abs(err) <= 1.5, err


@pytest.mark.parametrize("laid", [True, False])
def test_streamed_in_chunks_they_are_the_same_beats(laid):
    """The run searches read history only where they hold the same samples whatever the
    chunking: streamed 37 samples at a time, every beat as in one call (runs laid on
    bidmc-12; bidmc-53, where _lone_pulse finds 8 pulses)."""
    x, fs = (with_premature("bidmc-12", 0.76, 0.6, then=0.84)[:2] if laid else
             record_data(record("bidmc-53")))
    st = BeatStream(fs, "ppg")
    beats = _join([st.push(x[i:i + 37]) for i in range(0, len(x), 37)] + [st.finish()])
    assert np.array_equal(beats.idx, ppg_peaks(x, fs).idx)
