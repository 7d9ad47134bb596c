"""Audience state: tension vs shock over the window, synchrony, the engagement reward."""

import numpy as np

import pytest

from empathy.host.audience import (SYNC_FULL_SD, engagement, fuse, rise_and_spike, synchrony,
                                  trailing_synchrony)


def _seats(curve, n=8, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    return [curve + rng.normal(0, noise, len(curve)) for _ in range(n)]


T = np.arange(0, 5, 0.1)


def test_a_held_rise_is_tension_a_faded_spike_is_shock():
    tension = _seats(0.1 + 0.1 * T)  # climbs 0.5 over five seconds and stays
    shock = _seats(0.1 + 0.6 * np.exp(-np.clip(T - 1.0, 0, None) / 0.5) * (T >= 1.0))
    rise, spike = rise_and_spike(tension)
    assert rise > 0.35 and spike < 0.1
    rise, spike = rise_and_spike(shock)
    assert abs(rise) < 0.1 and spike > 0.45


def test_synchrony_is_high_when_seats_react_together():
    rng = np.random.default_rng(1)
    t = np.arange(0, 10, 0.1)
    common = 0.3 * np.sin(t)  # the film moves everyone: sd 0.2 of shared arousal
    together = [common + rng.normal(0, 0.05, len(t)) for _ in range(30)]
    apart = [0.3 * np.sin(t + rng.uniform(0, 6.3)) for _ in range(30)]  # each on their own
    assert synchrony(together) > 0.9 and synchrony(apart) < 0.25
    assert synchrony([common]) == 0.0  # one seat: nothing to correlate


def test_a_crowd_losing_interest_together_is_not_in_sync():
    """Shared movement is synchrony, except the audience's falling trend: a crowd that
    deflates together (a mood it does not want) is not reacting together. A shared rise, or
    a shock that comes and fades, still is."""
    rng = np.random.default_rng(4)
    t = np.arange(0, 10, 0.1)
    seats = lambda common: [common + rng.normal(0, 0.05, len(t)) for _ in range(30)]  # noqa: E731
    assert synchrony(seats(0.05 * t)) > 0.6
    assert synchrony(seats(-0.05 * t)) < 0.1
    shock = 0.5 * np.exp(-np.clip(t - 3.0, 0, None) / 1.5) * (t >= 3.0)
    assert synchrony(seats(shock)) > 0.5  # 0.59: most of it


def test_independent_sensor_noise_does_not_flatten_synchrony():
    """The reason synchrony is the seats' shared covariance, not their mean correlation: the
    edge's per-seat noise (independent between seats) leaves it where it was on average,
    while the inter-subject correlation falls to a fraction of its noise-free value."""
    rng = np.random.default_rng(2)
    t = np.arange(0, 10, 0.1)
    common = 0.15 * np.sin(t * 0.7)
    clean, noisy, isc_clean, isc_noisy = [], [], [], []
    for _ in range(40):
        body = common + rng.normal(0, 0.05, (30, len(t)))
        seen = body + rng.normal(0, 0.27, (30, len(t)))
        clean.append(synchrony(list(body)))
        noisy.append(synchrony(list(seen)))
        isc_clean.append(_isc_by_corrcoef(body))
        isc_noisy.append(_isc_by_corrcoef(seen))
    assert abs(np.mean(noisy) - np.mean(clean)) < 0.1 * np.mean(clean), (clean, noisy)
    assert np.mean(isc_noisy) < 0.4 * np.mean(isc_clean)  # what the ISC did


def test_fuse_reports_uncertainty_and_seats():
    traces = _seats(0.1 + 0.1 * T)
    s = fuse(5_000_000, [t[-1] for t in traces], [0.2] * 8, traces, 10)
    assert s.seats_good == 8 and s.seats_total == 10 and s.good_fraction == 0.8
    assert abs(s.arousal - 0.59) < 0.05 and 0 < s.arousal_se < 0.05 and s.rise > 0.35
    empty = fuse(0, [], [], [], 10)
    assert empty.seats_good == 0 and empty.arousal_se == 1.0


def test_engagement_rewards_synchrony_and_landing_on_target():
    assert engagement(0.5, 1.0, 0.5) == 1.0
    assert engagement(0.5, 0.0, 0.5) == 0.5
    assert engagement(0.5, 1.0, -0.5) == 0.5  # a whole unit off target
    assert engagement(0.9, -0.3, 0.5) == 0.5 * (1 - 0.4)  # anti-synchrony counts as none


def _isc_by_corrcoef(x):
    """The plain definition: mean off-diagonal np.corrcoef over seats that are not flat."""
    x = x[np.std(x, axis=1) > 1e-6]
    if len(x) < 2:
        return 0.0
    r = np.corrcoef(x)
    return float((r.sum() - len(x)) / (len(x) * (len(x) - 1)))


def _shared_by_cov(x):
    """The plain definition: mean off-diagonal covariance less the variance of the mean
    trace's falling linear trend (n / (n - 1) of it), as an sd against SYNC_FULL_SD."""
    c, n = np.cov(x, bias=True), len(x)
    shared = (c.sum() - np.trace(c)) / (n * (n - 1))
    k = np.arange(x.shape[1])
    slope = np.polyfit(k, x.mean(axis=0), 1)[0]
    if slope < 0:
        shared -= slope ** 2 * np.var(k) * n / (n - 1)
    return min(1.0, np.sqrt(max(shared, 0.0)) / SYNC_FULL_SD)


def test_windowed_synchrony_is_the_covariance_matrix_in_every_window():
    """trailing_synchrony (cumulative sums, all windows at once) against one np.cov per
    window: shared drive, independent noise, a seat clipped flat, windows cut at the start."""
    rng = np.random.default_rng(3)
    t = np.arange(400) / 10
    x = 0.2 * np.sin(t / 2) + rng.normal(0, 0.1, (12, 400)) + rng.normal(0, 0.5, (12, 1))
    x[3, 100:260] = 1.0  # clipped: flat through some windows, partly flat in others
    x[7] += 40.0  # a far offset must not cost precision
    ends = np.arange(4, 400, 5)
    for w in (50, 120):
        got = trailing_synchrony(x, ends, w, min_samples=10)
        want = [_shared_by_cov(x[:, max(0, i + 1 - w):i + 1]) if i + 1 >= 10 else 0.0
                for i in ends]
        assert np.max(np.abs(got - want)) < 1e-9
        assert 0.2 < np.mean(got) < 1  # not all clipped: the comparison means something
    assert synchrony(list(x[:, :50])) == pytest.approx(_shared_by_cov(x[:, :50]), abs=1e-9)
    assert not trailing_synchrony(x[:1], ends, 50).any()  # one seat: nothing to correlate
