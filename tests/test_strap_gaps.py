"""A chest strap over a lossy BLE link through a seat (bench/strap_loss.py: its own rhythms,
every notification encoded, parsed and stamped by the BLE driver's code): the HR_OK values
must stay within 5 bpm of the rate of the beats the heart made, and a normal strap must keep
HR_OK. Both are counted: a seat that never sent HR would pass the first alone. `bad` is
against the truth at the estimate; for the one-a-second link `bad_lag` (off every rate the
truth had over that second: its newest beats are still on the strap), as an 8-s window of a
bigeminy moves 5-10 % with one interval more or less at its edge."""

from functools import lru_cache

import numpy as np
import pytest

from corpus_records import need
from empathy.bench import strap_loss as S
from empathy.edge.hrv import sample_error_bpm

LOSSES = (0.0, 0.05, 0.1, 0.2, 0.4)
case = lru_cache(S.case)  # (the xfail below runs a case the irregular test already ran)


def bad(s: dict, link: str) -> int:
    return s["bad"] if link == "beat" else s["bad_lag"]


def test_the_sample_error_is_the_spread_of_a_window_with_intervals_lost():
    """sample_error_bpm against the spread of the rate of many random samples of one
    window's intervals (a bigeminy's: the worst case it is for)."""
    rng = np.random.default_rng(5)
    window = np.tile([560.0, 1240.0], 5) + rng.normal(0, 10, 10)
    rates, said = [], []
    for _ in range(4000):
        lost = rng.choice(10, 2, replace=False)
        kept = np.delete(window, lost)
        rates.append(60000.0 / kept.mean())
        said.append(sample_error_bpm(kept, window[lost].sum()))
    assert np.mean(said) == pytest.approx(np.std(rates), rel=0.2)
    assert sample_error_bpm(window, 0.0) == 0.0


@pytest.mark.parametrize("link", ["beat", "second"])
@pytest.mark.parametrize("rhythm", ["sinus", "arrhythmia"])
def test_a_normal_strap_keeps_hr_ok_through_lost_packets(rhythm, link):
    for loss, floor in zip(LOSSES, (1.0, 0.99, 0.98, 0.95, 0.6)):
        s = case(rhythm, link, loss)
        assert s["bad"] == 0 and s["hr_ok"] >= floor, (loss, s)


@pytest.mark.parametrize("link", ["beat", "second"])
@pytest.mark.parametrize("rhythm, floors", [
    ("af", (0.95, 0.85, 0.7, 0.4, 0.05)),
    ("bigeminy", (0.85, 0.65, 0.5, 0.2, 0.03))])
def test_an_irregular_strap_sends_only_what_its_kept_beats_vouch_for(rhythm, floors, link):
    """Before: AF-like, a beat a notification, HR_OK over 5 bpm off in 13, 28, 29, 50, 69 of
    483 estimates at 0-40 % lost; bigeminy 0, 62, 110, 202, 129 of 486 (HR_OK on 0.59-1.0
    of the time). At most 5 % of the HR_OK ones now, HR_OK on at least `floors` (AF at 40 %
    lost, a beat a notification: see the xfail below)."""
    for loss, floor in zip(LOSSES, floors):
        s = case(rhythm, link, loss)
        if not (rhythm, link, loss) == ("af", "beat", 0.4):
            assert bad(s, link) <= 0.05 * s["hr_ok"] * s["n"] + 2, (loss, s)
        assert s["hr_ok"] >= floor, (loss, s)


@pytest.mark.xfail(strict=True, reason=(
    "measured: AF-like strap, a beat a notification, 40 % of them lost: HR_OK over 5 bpm off "
    "in 6 of 39 HR_OK estimates (HR_OK 0.08 of the time; before 69 of 344). Six or so kept "
    "intervals of an irregular rhythm under-read its spread, and some of the uncovered time "
    "is at the window's end, where a lost interval looks like one still to come"))
def test_an_af_strap_with_two_fifths_of_its_packets_lost_sends_no_value_off():
    s = case("af", "beat", 0.4)
    assert s["bad"] <= 0.05 * s["hr_ok"] * s["n"] + 2, s


@pytest.mark.parametrize("name, floor", [
    ("systole-rr", 0.9), ("pyhrv-nni-long", 0.9), ("mitdb-100", 0.9), ("mitdb-123", 0.85),
    ("mitdb-106", 0.2), ("mitdb-119", 0.2), ("mitdb-200", 0.25), ("mitdb-203", 0.2),
    ("mitdb-210", 0.5)])
@pytest.mark.parametrize("link", ["beat", "second"])
def test_real_rr_series_with_a_fifth_of_their_packets_lost(name, floor, link):
    """Real RR series, and MIT-BIH tuning records' annotated beats (every beat, ectopic ones
    too, as a strap counts them), 20 % of the notifications lost. Before (a beat a
    notification): mitdb-106 140 of 477 HR_OK estimates over 5 bpm off, 119 53, 200 77,
    203 23 of 120."""
    need(name)
    s = case(name, link, 0.2)
    assert bad(s, link) <= 0.05 * s["hr_ok"] * s["n"] + 2, s
    assert s["hr_ok"] >= floor, s
