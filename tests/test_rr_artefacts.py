"""The RR artefact corrector (edge/rr_artefacts.py) on frequent ectopy: bigeminy and
trigeminy, synthetic and from real annotated beats (tuning records only). Its corrections
must not run away: the count of corrected intervals stays near the raw count and their
mean near the raw mean (the heart beats as often as it beats)."""

import numpy as np
import pytest

from empathy.edge import heart_window
from empathy.edge.heart_corpus import annotated_beats, record_data
from empathy.edge.rr_artefacts import RRCorrector, rr_correct
from corpus_records import need


def sinus(n: int = 400, seed: int = 1) -> np.ndarray:
    """RR (ms) at 75 bpm with a breathing swing and jitter."""
    rng = np.random.default_rng(seed)
    return 800 + 20 * np.sin(np.arange(n) * 2 * np.pi / 4.5) + rng.normal(0, 8, n)


def ectopy(every: int, early: float, seed: int = 1) -> np.ndarray:
    """Every `every`-th beat `early` of the normal interval, then its compensatory pause."""
    rr = sinus(seed=seed)
    rr[0::every] *= early
    rr[1::every] *= 2 - early
    return rr


def streamed(rr) -> np.ndarray:
    c = RRCorrector()
    out = [o for v in rr for o in c.push(v)] + c.finish()
    return np.array([o.rr_ms for o in out])


def assert_no_runaway(rr, fixed, count_tol=0.02, mean_tol=0.03):
    assert abs(len(fixed) / len(rr) - 1) <= count_tol, (len(rr), len(fixed))
    assert abs(np.mean(fixed) / np.mean(rr) - 1) <= mean_tol, (np.mean(rr), np.mean(fixed))


@pytest.mark.parametrize("every", [2, 3])
@pytest.mark.parametrize("early", [0.7, 0.75, 0.8, 0.85, 0.9])
def test_bigeminy_and_trigeminy_are_not_split_into_missed_beats(every, early):
    """Each compensatory pause was called a missed beat and split; the median, taken over
    split intervals, fell and the early intervals were split too: a bigeminy at 75 bpm,
    0.8 early, went from 400 intervals to 783 (mean 408 ms)."""
    rr = ectopy(every, early)
    batch = rr_correct(rr)
    assert_no_runaway(rr, batch.rr_ms)
    assert not [i for i, k in batch.artefacts if k == "missed"]
    assert np.array_equal(streamed(rr), batch.rr_ms)


def test_a_bigeminy_s_pairs_are_ectopic_and_their_beats_moved_to_the_middle():
    """In bigeminy every early beat and its pause is an ectopic pair (the paper's
    negative-positive-negative dRR): the beat moves halfway, the rhythm's own rate stays."""
    rr = ectopy(2, 0.8)
    c = rr_correct(rr)
    late = c.rr_ms[40:-2]  # (the last two go out as they came)
    assert np.all(np.abs(late - 800) < 60), (late.min(), late.max())
    assert sum(k == "ectopic" for _, k in c.artefacts) >= 0.9 * (len(rr) - 40) / 2


@pytest.mark.parametrize("pair", [(500.0, 1100.0), (1100.0, 500.0)])
def test_a_single_ectopic_or_misplaced_beat_moves_halfway(pair):
    """An early beat and its pause (or a late beat and the short interval after it) is
    ectopic, and both intervals become their mean: the beat moved, no time lost or made."""
    rng = np.random.default_rng(3)
    rr = 800 + 30 * np.sin(np.arange(120) / 4) + rng.normal(0, 10, 120)
    rr[60], rr[61] = pair
    c = rr_correct(rr)
    assert (60, "ectopic") in c.artefacts
    at = list(c.index).index(60)
    assert c.rr_ms[at] == c.rr_ms[at + 1] == pytest.approx(800.0)
    assert len(c.rr_ms) == len(rr) and c.rr_ms.sum() == pytest.approx(rr.sum())


@pytest.mark.parametrize("name", ["mitdb-106", "mitdb-119", "mitdb-200", "qtdb-sel233"])
def test_real_frequent_ectopy_is_not_split(name):
    """The annotation's beats (every beat there, none missed) of tuning records with
    frequent PVCs or APCs: MIT-BIH 106 (bigeminy) went from 238 intervals to 299 (mean 750
    -> 631 ms), 200 from 252 to 264."""
    rec = need(name)
    x, fs = record_data(rec)
    rr = np.diff(annotated_beats(rec, len(x), fs)) * 1000.0
    batch = rr_correct(rr)
    assert_no_runaway(rr, batch.rr_ms)
    assert np.array_equal(streamed(rr), batch.rr_ms)


@pytest.mark.parametrize("early", [0.7, 0.8, 0.85])
def test_a_seat_s_bigeminy_rate_needs_no_guard(early):
    """A strap's bigeminy through a seat's heart window: the corrected intervals alone give
    the beat rate (they gave 105, 131 and 138 bpm, median, for 75 bpm: heart_window's
    SPLIT_HR_MAX guard hid the runaway; a strap's HR is now its beats' own rate)."""
    hw, t, hr = heart_window.HeartWindow(60), 0, []
    for k, rr in enumerate(ectopy(2, early)):
        t += int(rr * 1000)
        hw.add_rr(t, float(rr))
        if k > 60 and k % 2 == 0:
            hr.append(60000.0 / np.mean(hw.window(t, 8.0).rr_ms))
    assert max(abs(h - 75.0) for h in hr) < 2.0, (min(hr), max(hr))
