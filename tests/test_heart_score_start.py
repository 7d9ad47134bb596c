"""EC57's comparator at a record's start: a first detection within the match window of the
start that pairs with nothing is not counted (WFDB's bxb, the standard's reference
implementation), as the reference beat it marks may lie before the record."""

import numpy as np

from empathy.edge.beat_score import beat_match
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from corpus_records import need


def test_an_unpaired_first_detection_within_the_window_of_the_start_is_not_counted():
    ref = np.array([0.7, 1.4, 2.1])
    assert beat_match(ref, [0.02, 0.7, 1.4, 2.1]) == (3, 0, 0)
    assert beat_match(ref, [0.15, 0.7, 1.4, 2.1]) == (3, 0, 0)
    assert beat_match(ref, [0.16, 0.7, 1.4, 2.1]) == (3, 1, 0)  # past the window: extra
    assert beat_match(ref, [0.02, 0.3, 0.7, 1.4, 2.1]) == (3, 1, 0)  # only the first
    # the next detection no nearer the first reference beat (it was missed): counted
    assert beat_match(ref, [0.02, 1.4, 2.1]) == (2, 1, 1)
    assert beat_match([0.05, 0.7], [0.7]) == (1, 0, 1)  # a reference beat there still counts
    assert beat_match([0.05, 0.7], [0.1, 0.7]) == (2, 0, 0)
    assert beat_match([0.7], [0.02]) == (0, 1, 1)  # no next detection nearer: counted


def test_qtdb_sele0203s_beat_cut_by_the_records_start_is_no_extra_beat():
    """European ST-T e0203 as the QT Database cut it: its first R peak is at 0.016 s, its
    upstroke cut off, 0.68 s before the first annotated beat (the next intervals 0.74-0.81
    s) and as tall as the next three. The annotation sits 20-32 ms before each R peak on
    this record, so that beat's would lie before the record's first sample: none is given.
    Ours marks the beat; EC57's comparator does not count it against us."""
    x, fs = record_data(need("qtdb-sele0203"))
    ann = annotated_beats(need("qtdb-sele0203"), len(x), fs)
    ours = waveform_peaks(x, fs, "ecg").idx / fs
    first = int(np.argmax(x[:int(0.1 * fs)]))
    assert first / fs < 0.02 and ours[0] == first / fs and ann[0] - ours[0] > 0.6
    r_peaks = [int(np.argmax(x[int(a * fs):int((a + 0.06) * fs)])) + int(a * fs) for a in ann[:3]]
    base = np.median(x[int(0.3 * fs):int(0.6 * fs)])
    assert x[first] - base >= 0.9 * min(x[r_peaks] - base)
    assert beat_match(ann, ours) == (len(ann), 0, 0)
