"""MIT-BIH 106 V1's lone extra ECG beats (tuning): the sharp spikes at 73.1 and 76.8 s and
the muscle-noise burst's beats standing alone in a long interval. Measured, no detector
change found (tests/ecg_spike_sweep.py prints the figures) for these four; the two rounded
waves at 150.22 and 155.32 s are gone since the thirty-second pass (heart_gates._gentle:
tests/test_heart_gentle.py)."""

import numpy as np
import pytest

from empathy.edge.beat_score import beat_match
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from corpus_records import need

LONE = (73.11, 76.84, 138.09, 141.84)  # s: each in a PVC's pause, before an N


@pytest.mark.xfail(strict=True, reason=(
    "measured: all four (and the two since gone) sit in the pause after a PVC (or couplet), "
    "0.39-0.73 of the N beats' usual interval before an N beat, and look like this lead's N "
    "beat (a narrow r, then S). "
    "Their raw complex does not tell them from true beats on the tuning records: half height "
    "<= 12.5 ms holds 5 of 106 V1's extra beats and 190 true ones (MIT-BIH 104, paced, "
    "129; 101 54); with a one-sample step >= 0.5 of the height too, 4 "
    "of them and 24 true (101: 20, 104: 3); over-40-Hz RMS > 0.25 of the 5-20 Hz peak with "
    "noise before, 5 of them and 82 true. Rhythm, even with the annotation's N labels: a beat "
    "under 0.6 of N's usual interval before an N is 4 of these (0.39-0.53) but also MIT-BIH "
    "123's interpolated PVCs (0.51, 0.54) and 203's atrial fibrillation (0.56-0.59)"))
def test_no_lone_extra_beat_in_a_pvc_pause():
    rec = need("mitdb-106-v1")
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    got = waveform_peaks(x, fs, "ecg").idx / fs
    assert all(np.abs(got - t).min() > 0.05 for t in LONE)
    assert beat_match(ann, got).fn <= 3
