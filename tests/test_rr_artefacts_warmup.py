"""The RR corrector's first intervals (edge/rr_artefacts.py): a series' first thresholds
come from a few values. Artefact-free real RR (the corpus page's pyhrv-nni-long, cleaned by
NeuroKit2 as edge/rr_validation.py does) cut into 150-interval pieces, one starting every 5
(bench/rr_warmup.py: each piece a fresh corrector, as a viewer's session starts one), and
synthetic atrial fibrillation and a paced rhythm."""

import numpy as np
import pytest

from corpus_records import need
from empathy.bench.rr_warmup import early_se, false_flags
from empathy.edge.heart_corpus import record_data
from empathy.edge.rr_validation import artefact_free, base_suspects

EARLY = (1, 2)  # BINS' 11-20 and 21-40
STEADY = 4  # 91 on: the thresholds' window full


@pytest.fixture(scope="module")
def clean_rr():
    rr = artefact_free(record_data(need("pyhrv-nni-long"))[0])
    return [rr], base_suspects(rr)


def _rate(c: np.ndarray, bins) -> float:
    c = c[list(bins)].sum(0)
    return c[0] / c[1]


def test_a_series_first_intervals_get_no_more_false_flags_than_later_ones(clean_rr):
    """Intervals 11-40 were flagged 0.91 % of the time (246 of 27,166), 2.1 times as often
    as those after 90 (0.43 %): the quartile deviations of 15-40 |dRR| came out low. Now
    thresholds from n values are 1 + FEW_K (1/n - 1/WINDOW) times the data's: 0.42 %."""
    c = false_flags(*clean_rr)
    assert _rate(c, EARLY) <= 1.25 * _rate(c, [STEADY]), c.tolist()


def test_artefacts_injected_early_are_still_found(clean_rr):
    """One artefact (ectopic, missed, extra or misplaced, 25-45 % of an interval) per piece
    at a random place in each bin: found within one interval from 21 on (before: all)."""
    c = early_se(clean_rr[0])
    se = c[:, 0] / c[:, 1]
    assert np.all(se[2:] >= 0.99), se.round(3).tolist()


def test_atrial_fibrillation_s_first_intervals_are_flagged_no_more_than_later():
    """AF's intervals (lognormal, CV 0.25; tests/redteam/test_heart17's) are irregular
    without pattern: its thresholds are wide from the start, and the few values must not
    make them narrower (before: 11-20 2.0 %, 21-40 2.7 %, after 90 2.2 %)."""
    af = [np.exp(np.random.default_rng(s).normal(np.log(650), 0.25, 300)) for s in range(20)]
    c = false_flags(af)
    assert _rate(c, EARLY) <= _rate(c, [STEADY]), c.tolist()


def test_a_paced_rhythm_s_early_artefacts_are_found():
    """A near-metronomic rhythm (800 ms, SD 2 ms): its thresholds sit at the MIN_TH_MS
    floor; an artefact from interval 21 on is found as before, and none of its first 90
    intervals is flagged (the wider early thresholds leave it as it was)."""
    paced = [800 + np.random.default_rng(s).normal(0, 2, 300) for s in range(10)]
    assert false_flags(paced)[:STEADY, 0].sum() == 0
    c = early_se(paced)
    assert np.all(c[2:, 0] == c[2:, 1]), c.tolist()
