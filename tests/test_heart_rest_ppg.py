"""The PPG at rest with an ECG beat reference from NeuroKit2's resting-state recording
(edge/heart_reference/neurokit-rest.npz, issue 19's twenty-first pass): what the file holds,
that it is the one the README records, and that the reference sits on the ECG's QRS and is
followed by a pulse."""

import hashlib
import re

import numpy as np
import pytest

from pulse_alignment import pulse_rise, qrs_offset_s
from empathy.edge.beat_score import in_spans, t_wave_free
from empathy.edge.heart_corpus import (REFERENCE_DIR, annotated_beats, motion_mag, record,
                                        record_data, reference_lead, trusted_spans)

NAME = "neurokit-rest"


def test_it_is_held_out_as_written_down_before_scoring():
    assert record(NAME).held_out and record(NAME).kind == "ppg"


def test_the_excerpt_is_the_one_the_readme_records():
    readme = (REFERENCE_DIR / "README.md").read_text()
    said = re.search(rf"`{NAME}\.npz`: ([0-9a-f]{{64}})", readme)
    data = (REFERENCE_DIR / f"{NAME}.npz").read_bytes()
    assert said and hashlib.sha256(data).hexdigest() == said[1]
    assert "commit 0dd85d22bbe04cda0aaf2b2f02895286ea5ec2bd" in readme


def test_the_excerpt_holds_5_min_of_pulse_and_its_ecg_beats():
    """433 reference beats, 286.2 s trusted, as the README's table gives them when cut; the
    file's first values (ECG 0.003766485194893143, PPG -0.1025390625) to six decimals."""
    rec = record(NAME)
    x, fs = record_data(rec)
    beats, spans = annotated_beats(rec, len(x), fs), trusted_spans(rec)
    assert fs == 100.0 and len(x) == 30000 and motion_mag(rec) is None
    assert len(beats) == 433 and np.sum(spans[:, 1] - spans[:, 0]) == pytest.approx(286.2, abs=0.05)
    assert x[0] == pytest.approx(-0.102539, abs=1e-9)
    assert reference_lead(rec)[0] == pytest.approx(0.003766, abs=1e-9)
    for span in spans:  # no reference beat in a trusted span is a double or follows a gap
        iv = np.diff(in_spans(beats, [span]))
        assert np.all(iv > 0.6 * np.median(iv)) and np.all(iv < 1.5 * np.median(iv))
    assert 60 <= 60.0 / np.median(np.diff(beats)) <= 100  # a resting heart rate


def test_the_reference_sits_on_the_qrs_and_a_pulse_follows_it():
    """Each reference beat is within 40 ms of the lead's steepest 5-25 Hz excursion near it
    (median; 30 ms when cut: the peers' median vote falls on this lead's S wave), and the
    pulse rises at one delay after the beats, so ECG and PPG share one clock; the T-wave
    rule takes out no beat inside the trusted spans."""
    rec = record(NAME)
    x, fs = record_data(rec)
    ecg, beats = reference_lead(rec), annotated_beats(rec, len(x), fs)
    assert qrs_offset_s(ecg, beats, fs) <= 0.04
    assert pulse_rise(x, beats, fs) >= 0.5  # 0.80 when written
    dropped = t_wave_free(beats, ecg, fs)[1]
    assert len(in_spans(dropped, trusted_spans(rec))) == 0
