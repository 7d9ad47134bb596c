"""The ICU finger PPG excerpts of BIDMC records 02-05 and 10-13 with a lead II beat reference
(edge/heart_reference/bidmc-*.npz, issue 19's twenty-first pass): the split written down,
the files the README records, what they hold, and that the reference sits on the ECG's QRS
and is followed by a finger pulse."""

import numpy as np
import pytest

from empathy.edge.beat_score import in_spans
from empathy.edge.heart_corpus import REFERENCE_DIR, record
from reference_excerpts import aligned, holds, readme_records

# record -> (held out, reference beats, trusted s) as the README's table gives them when cut
BIDMC = {"bidmc-02": (False, 363, 235.4), "bidmc-03": (True, 358, 169.1),
         "bidmc-04": (False, 378, 231.0), "bidmc-05": (True, 392, 238.4),
         "bidmc-10": (False, 331, 234.6), "bidmc-11": (True, 372, 237.9),
         "bidmc-12": (False, 366, 237.9), "bidmc-13": (True, 267, 236.9)}


@pytest.mark.parametrize("name", BIDMC)
def test_the_split_is_the_one_cut_and_written_down(name):
    rec = record(name)
    with np.load(REFERENCE_DIR / rec.member) as z:
        assert (str(z["use"]) == "held out") == rec.held_out == BIDMC[name][0]


@pytest.mark.parametrize("name", BIDMC)
def test_the_excerpt_is_the_one_the_readme_records(name):
    readme_records(name)


@pytest.mark.parametrize("name", BIDMC)
def test_the_excerpt_holds_4_min_of_finger_pulse_and_its_ecg_beats(name):
    _, n, trusted = BIDMC[name]
    _, x, beats, spans = holds(name, 125.0, 30000, n, trusted)
    assert set(np.unique(np.round(x * 1023, 6))) <= set(range(1024))  # its 10-bit codes
    for span in spans:  # no reference beat in a trusted span is a double or follows a gap
        iv = np.diff(in_spans(beats, [span]))
        assert np.all(iv > 0.6 * np.median(iv)) and np.all(iv < 1.5 * np.median(iv))


@pytest.mark.parametrize("name", BIDMC)
def test_the_reference_sits_on_the_qrs_and_a_pulse_follows_it(name):
    """(reference_excerpts.aligned) when cut: 0-32 ms off the QRS, the pulse's rise
    0.66-0.83 of its slope's 99th percentile."""
    aligned(name)
