"""The checks each ECG-referenced PPG excerpt's tests make of its file (test_heart_bidmc,
test_heart_icu_ppg): that it is the file the README records, what it holds against its
table's row, and that its reference sits on the QRS with a finger pulse after it."""

import hashlib
import re

import numpy as np
import pytest

from pulse_alignment import pulse_rise, qrs_offset_s
from empathy.edge.heart_corpus import (REFERENCE_DIR, annotated_beats, motion_mag, record,
                                        record_data, reference_lead, trusted_spans)


def readme_records(name: str) -> str:
    """The README's text, once the excerpt's SHA-256 is the one it records."""
    readme = (REFERENCE_DIR / "README.md").read_text()
    said = re.search(rf"`?{re.escape(name)}\.npz`? ([0-9a-f]{{64}})", readme)
    data = (REFERENCE_DIR / f"{name}.npz").read_bytes()
    assert said and hashlib.sha256(data).hexdigest() == said[1]
    return readme


def holds(name: str, fs: float, samples: int, beats_n: int, trusted_s: float):
    """(record, samples, reference beats, trusted spans) of an excerpt that holds `samples`
    at `fs` with no accelerometer, `beats_n` reference beats and `trusted_s` s trusted."""
    rec = record(name)
    x, got_fs = record_data(rec)
    beats, spans = annotated_beats(rec, len(x), got_fs), trusted_spans(rec)
    assert got_fs == fs and len(x) == samples and motion_mag(rec) is None
    assert len(beats) == beats_n
    assert np.sum(spans[:, 1] - spans[:, 0]) == pytest.approx(trusted_s, abs=0.05)
    return rec, x, beats, spans


def aligned(name: str) -> None:
    """Each reference beat within 40 ms of lead II's steepest 5-25 Hz excursion near it
    (median), and the finger pulse rising at one delay after the beats (its travel time):
    ECG and PPG share one clock."""
    rec = record(name)
    x, fs = record_data(rec)
    beats = annotated_beats(rec, len(x), fs)
    assert qrs_offset_s(reference_lead(rec), beats, fs) <= 0.04
    assert pulse_rise(x, beats, fs) >= 0.5
