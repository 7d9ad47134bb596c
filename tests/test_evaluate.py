"""The estimate-vs-truth statistics: effective sample size, block-bootstrap intervals,
per-channel series from channel logs. Checked against cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.host.evaluate import (agreement, block_bootstrap_ci, channel_on, effective_n,
                                   estimate_vs_truth)


def ar1(n: int, phi: float, rng) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = phi * x[i - 1] + np.sqrt(1 - phi * phi) * rng.normal()
    return x


def test_effective_n_follows_bartlett_for_two_ar1_series():
    """Two independent AR(1) series with coefficient phi: n_eff = n (1 - phi^2) / (1 + phi^2)."""
    rng = np.random.default_rng(1)
    n = 4000
    for phi in (0.0, 0.5, 0.9):
        got = np.median([effective_n(ar1(n, phi, rng), ar1(n, phi, rng)) for _ in range(5)])
        assert got == pytest.approx(n * (1 - phi**2) / (1 + phi**2), rel=0.2), phi


def test_interval_for_unrelated_smooth_series_is_wide_and_holds_zero():
    """Two unrelated random walks often correlate strongly by chance; with n = 300 samples a
    naive interval would exclude 0 most of the time. The block bootstrap's must not."""
    rng = np.random.default_rng(2)
    held, naive_excludes = 0, 0
    for _ in range(40):
        x, y = ar1(300, 0.98, rng), ar1(300, 0.98, rng)
        a = agreement(x, y, rate_hz=2.0)
        held += a["ci95"][0] <= 0 <= a["ci95"][1]
        r = a["r"]
        naive_excludes += abs(np.arctanh(r)) * np.sqrt(300 - 3) > 1.96
        assert a["effective_n"] < 60
    assert naive_excludes >= 20  # the trap is real ...
    assert held >= 28  # ... and the interval mostly avoids it (coverage ~0.7+ of 40)


def test_a_real_relation_is_found_with_an_interval_around_it():
    rng = np.random.default_rng(3)
    truth = ar1(600, 0.95, rng)
    est = 0.8 * truth + 0.3 * ar1(600, 0.5, rng)
    a = agreement(est, truth, rate_hz=2.0)
    assert a["ci95"][0] > 0.8 and a["ci95"][0] <= a["r"] <= a["ci95"][1]
    assert a["r_changes_1s"] > 0.3 and a["ci95_changes_1s"][0] > 0
    assert block_bootstrap_ci(est, truth, 10) == block_bootstrap_ci(est, truth, 10)  # seeded


def test_too_little_or_constant_data_says_so():
    assert agreement([1.0] * 30, np.arange(30.0), 2.0)["r"] is None
    assert agreement([0.1, 0.2], [0.3, 0.1], 2.0) == {"r": None, "ci95": None,
                                                      "effective_n": None, "n": 2}


def test_channel_logs_fuse_over_seats_like_the_host(tmp_path):
    t = np.arange(0, 20_000_000, 100_000)
    logs = [{"ts_us": t, "heart": np.full(len(t), v)} for v in (0.1, 0.2, 0.3, 5.0)]
    logs[0]["heart"][:50] = np.nan  # no signal for the first 5 s
    grid = np.array([1_000_000, 10_000_000, 30_000_000])
    v = channel_on(grid, logs, "heart")
    assert v[0] == pytest.approx(np.mean([0.2, 0.3, 5.0]))  # seat 1 has no signal yet
    assert v[1] == pytest.approx(np.mean([0.1, 0.2, 0.3, 5.0]))  # 4 seats: nothing trimmed
    assert np.isnan(v[2])  # 10 s after the last reading: stale


def test_run_folder_gives_summary_fields(tmp_path):
    """A run folder as the demo leaves it: truth files and channel logs."""
    rng = np.random.default_rng(4)
    t0 = 10**9
    ts = t0 + np.arange(0, 60_000_000, 100_000)
    truth = np.cumsum(rng.normal(0, 0.05, len(ts)))
    edge = tmp_path / "edge"
    edge.mkdir()
    (edge / "truth_seat1.csv").write_text("ts_us,arousal\n" + "".join(
        f"{a},{b}\n" for a, b in zip(ts, truth)))
    rows = "".join(f"{a},7,28,{b:.4f},{b:.4f},,{b + rng.normal(0, 0.5):.4f},,{b:.4f},"
                   f"{b:.4f}\n" for a, b in zip(ts, truth))
    (edge / "unit1.channels.csv").write_text(
        "ts_us,seat_id,flags,arousal,heart,pupil,face,no_heart,no_pupil,no_face\n" + rows)
    timeline = [{"ts_us": int(a), "arousal": float(b), "seats_good": 1}
                for a, b in zip(ts[::5], truth[::5])]
    ev = estimate_vs_truth(timeline, t0, edge)
    assert ev["r"] == pytest.approx(1.0, abs=1e-3)
    assert set(ev["channels"]) == {"heart", "pupil", "face"}
    assert ev["channels"]["heart"]["r"] == pytest.approx(1.0, abs=1e-3)
    assert ev["channels"]["pupil"]["r"] is None and ev["channels"]["pupil"]["coverage"] == 0
    assert ev["channels"]["face"]["r"] < 0.99
    assert set(ev["ablations"]) == {"without_heart", "without_pupil", "without_face"}
    assert len(ev["series"]["t_s"]) == len(timeline)


def test_the_estimate_is_judged_at_the_latency_the_edge_declares(tmp_path):
    """An estimate that is the truth 7.5 s late scores r ~ 1 at its declared latency (read
    from the units' stats) and far less against the truth of the same moment."""
    rng = np.random.default_rng(5)
    t0 = 10**9
    ts = t0 + np.arange(-20_000_000, 60_000_000, 100_000)
    truth = np.convolve(rng.normal(0, 1, len(ts)), np.ones(40) / 40, "same")  # ~4-s swings
    edge = tmp_path / "edge"
    edge.mkdir()
    (edge / "truth_seat1.csv").write_text("ts_us,arousal\n" + "".join(
        f"{a},{b}\n" for a, b in zip(ts, truth)))
    (edge / "unit1.stats.json").write_text('{"estimate_latency_s": 7.5}')
    (edge / "unit2.stats.json").write_text("not json")  # a unit that died: passed over
    late = np.interp(ts - 7_500_000, ts, truth)
    timeline = [{"ts_us": int(a), "arousal": float(b), "seats_good": 1}
                for a, b in zip(ts[::5], late[::5]) if a >= t0]
    ev = estimate_vs_truth(timeline, t0, edge)
    assert ev["latency_s"] == 7.5
    assert ev["r"] == pytest.approx(1.0, abs=1e-3)
    assert ev["r_lag0"] < 0.5
    assert estimate_vs_truth(timeline, t0, edge, latency_s=0.0)["r"] == ev["r_lag0"]
