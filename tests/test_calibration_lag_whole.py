"""`calibrate hr` stores a sensor's lag only where the record tells lags apart: each half of
it found the same lag on its own (within LAG_AGREE_S). Nothing compared the halves with the
whole record's lag, the one stored: a record whose halves agreed with each other 3-4 s from
the whole's stored a lag ~2 s off (a held-out record). The whole must agree with them too."""

from empathy.calibration.hr_correction import correction
from empathy.calibration.report import Result


def _result(lag_ms: float, halves_ms: list[float]) -> Result:
    res = Result("hr", "a watch against a strap")
    res.figures.update({"lag_ms": lag_ms, "lag_halves_ms": halves_ms, "lag_search_ms": 12000.0,
                        "lag_correlation": 0.6, "bias_pct": 4.0, "bias_bpm": 3.0,
                        "mae_bpm": 3.0, "windows": 60, "ref_irregular_pct": 5.0})
    return res


def test_halves_that_agree_with_each_other_but_not_the_whole_store_no_lag():
    """mitdb-100's halves under a 15-s average (bench/hr_lag_range.py, tuning): 9244 and
    9573 ms, the whole 3394 ms. Before: lag 3394 stored (its r, 0.31, kept it out there)."""
    fix, why = correction(_result(3394.0, [9244.0, 9573.0]))
    assert fix["lag_ms"] == 0.0 and fix["bias_pct"] == 4.0, fix
    assert "halves do not agree on, with each other and the whole" in why[0], why
    assert "whole +3394 ms" in why[0], why


def test_halves_and_whole_that_agree_store_the_whole_s_lag():
    fix, why = correction(_result(5945.0, [5948.0, 5900.0]))
    assert fix["lag_ms"] == 5945.0 and not why, (fix, why)


def test_a_ppg_s_pulse_arrival_is_the_wearer_s_and_not_stored_as_the_device_s_lag():
    """A PPG against the electrical beat trails by the wearer's pulse arrival (the rig's
    `pulse_arrival_ms`, 330-500 ms to the pulse's top): that part is the tester's body, and
    the next viewer's differs, so the device's stored lag is only what lies beyond it.
    Before: a finger board timed at +410 ms (inside the range, the check passed) stored
    lag_ms 410, and every later viewer's beats were moved 410 ms onto the tester's heart."""
    res = _result(410.0, [400.0, 420.0])
    res.figures.update({"pulse_arrival_allowed_ms": [330.0, 500.0],
                        "lag_beyond_pulse_arrival_ms": 0.0})
    fix, why = correction(res)
    assert fix["lag_ms"] == 0.0 and fix["bias_pct"] == 4.0, fix
    assert any("pulse arrival" in w for w in why), why
    res.figures.update({"lag_ms": 620.0, "lag_halves_ms": [610.0, 630.0],
                        "lag_beyond_pulse_arrival_ms": 120.0})
    fix, why = correction(res)
    assert fix["lag_ms"] == 120.0, fix  # the board's own delay beyond the body's
    assert any("500 ms" in w and "pulse arrival" in w for w in why), why
