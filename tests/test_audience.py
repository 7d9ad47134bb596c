"""Audience state: tension vs shock over the window, synchrony, the engagement reward."""

import numpy as np

from empathy.host.audience import engagement, fuse, rise_and_spike, synchrony


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
    common = np.sin(T * 2)
    together = [common + rng.normal(0, 0.1, len(T)) for _ in range(8)]
    apart = [rng.normal(0, 1, len(T)) for _ in range(8)]
    assert synchrony(together) > 0.8 and abs(synchrony(apart)) < 0.2
    assert synchrony([common]) == 0.0  # one seat: nothing to correlate


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
