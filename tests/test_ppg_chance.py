"""The chance level of an ECG-referenced PPG record's beat F1 (edge/ppg_chance.py)."""

import numpy as np
import pytest

from empathy.edge.beat_score import lagged_match
from empathy.edge.heart_corpus import annotated_beats, record_data, trusted_spans
from empathy.edge.ppg_chance import chance_f1, main, rate_trains
from corpus_records import need


def test_rate_trains_keep_the_rate_and_differ_in_phase():
    ref = np.arange(0.0, 60.0, 0.8)
    trains = rate_trains(ref, 60.0, 5)
    for b in trains:
        assert np.all(np.diff(b) > 0) and 0 < b[0] and b[-1] < 60
        assert abs(np.median(np.diff(b)) - 0.8) < 0.05
    assert len({round(float(b[0]), 3) for b in trains}) == 5


def test_a_reference_with_no_rate_is_refused():
    with pytest.raises(ValueError):
        rate_trains(np.array([1.0]), 60.0, 3)


def test_chance_sits_far_under_a_clean_record_and_the_reference_itself():
    """cinc15-v102s (finger PPG, detectors at F1 0.98-0.99): chance is far under; the
    reference shifted by a pulse lag scores 1 through the same scorer."""
    rec = need("cinc15-v102s")
    f = chance_f1(rec, 20)
    assert 0.3 < np.median(f) < 0.8
    x, fs = record_data(rec)
    ref = annotated_beats(rec, len(x), fs)
    assert lagged_match(ref, ref + 0.25, trusted_spans(rec))[0].f1 == 1.0


def test_a_record_without_an_ecg_reference_has_no_chance_figure():
    assert chance_f1(need("heartpy-data"), 3) is None


def test_bad_train_count_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:  # cli.number_in: argparse's one line
        main(["--trains", "0"])
    assert e.value.code == 2
    assert "argument --trains: 0 is outside 1..10000" in capsys.readouterr().err
