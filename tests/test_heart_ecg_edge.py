"""An ECG recording's edges: a seat's unit starts mid-rhythm and a window ends mid-rhythm.

The ECG tuning records cut at 50 random places each (20 s, every rate they come at; the
peers run on the same cuts) showed clean sinus beats missed in the first 5 s and the last
second that every peer found: a QRS whose R wave drops to S in one sample at 250 Hz is
refused by the step gate (heart_gates._step). Inside a record search-back finds it once
the next beat comes; among a stream's first beats (before they are judged) search-back
did not run, and after the last beat no next beat ever comes. Tuning records only."""

import functools

import numpy as np
import pytest

from corpus_records import need
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from streamed import streamed

CUT_S, TOL_S = 20.0, 0.15


@functools.cache
def _record(name: str):
    rec = need(name)
    x, fs = record_data(rec)
    x.setflags(write=False)
    return x, fs, annotated_beats(rec, len(x), fs)


def _cut(name: str, start: int):
    """The record from sample `start` for CUT_S, and its annotated beats there (s)."""
    x, fs, ann = _record(name)
    t = ann - start / fs
    return x[start:start + int(CUT_S * fs)], fs, t[(t >= 0) & (t < CUT_S)]


# (record, cut's first sample, the annotated beat missed before: s into the cut); all 7
# peers found each, ours refused its candidate as a step and nothing searched for it again
EDGE_MISSES = [("qtdb-sel16273", 281, 4.380),  # the 8th beat, before the first are judged
               ("qtdb-sel821", 35715, 3.644),  # the 7th
               ("qtdb-sel16273", 1496, 19.492)]  # the last, 0.51 s before the end


@pytest.mark.parametrize("name,start,t", EDGE_MISSES)
def test_a_qrs_the_step_gate_refuses_at_an_edge_is_found(name, start, t):
    """Every annotated beat of the cut's first 5 s and last second is found, the one
    missed before among them, and no beat there is extra."""
    y, fs, ann = _cut(name, start)
    ours = waveform_peaks(y, fs, "ecg").idx / fs
    assert np.min(np.abs(ann - t)) < 0.01
    edge = ann[(ann < 5.0) | (ann >= CUT_S - 1.0)]
    assert all(np.min(np.abs(ours - a)) <= TOL_S for a in edge)
    ours_edge = ours[(ours < 5.0) | (ours >= CUT_S - 1.0)]
    assert all(np.min(np.abs(ann - b)) <= TOL_S for b in ours_edge)


@pytest.mark.parametrize("name,start,t", EDGE_MISSES)
def test_the_edges_stream_as_in_batch(name, start, t):
    """The same beats pushed in random chunks as in one call (the end's search runs in
    finish(), whatever came before it)."""
    y, fs, _ = _cut(name, start)
    batch = waveform_peaks(y, fs, "ecg").idx
    for seed in range(3):
        assert np.array_equal(streamed(y, fs, "ecg", seed, int(0.4 * fs)).idx, batch)


def test_a_cut_that_ends_before_the_refused_qrs_gets_no_beat_after_the_last():
    """The end's search looks only where the rhythm puts a beat after the last one, for a
    candidate the step gate refused: a cut ending 50 ms before that QRS (where the rhythm
    puts it) gets no beat after the last true one."""
    y, fs, ann = _cut("qtdb-sel16273", 1496)
    end = int((19.492 - 0.05) * fs)
    ours = waveform_peaks(y[:end], fs, "ecg").idx / fs
    assert abs(ours[-1] - ann[ann < end / fs][-1]) <= TOL_S
