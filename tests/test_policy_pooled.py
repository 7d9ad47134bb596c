"""Pooling `policy simulate` reports over seeds: seeds as the independent units."""

import json

import pytest

from empathy.bench.policy_pooled import main, pooled, seed_values


def _report(regret: float, change: float, slope: float) -> dict:
    return {"policies": {"bandit": {
        "regret_vs_best_fixed": {"mean": regret, "ci95": [0, 0]},
        "regret_trend": {"change": {"mean": change, "ci95": [0, 0]},
                         "slope_per_100": {"mean": slope, "ci95": [0, 0]}}}}}


def test_seeds_pool_with_a_t_interval(tmp_path, capsys):
    values = [seed_values(_report(r, -r, -r / 4), "bandit") for r in (0.01, 0.02, 0.03)]
    got = pooled(values)
    # mean 0.02, sd 0.01, t(0.975, 2) = 4.303: half-width 0.0248
    assert got["regret_vs_best_fixed"]["mean"] == pytest.approx(0.02)
    assert got["regret_vs_best_fixed"]["ci95"] == pytest.approx([-0.0048, 0.0448], abs=1e-4)
    assert got["change"]["ci95"] == pytest.approx([-0.0448, 0.0048], abs=1e-4)
    assert pooled(values[:1])["change"]["ci95"] == [None, None]
    paths = []
    for i, v in enumerate((0.01, 0.02)):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(_report(v, 0.0, 0.0)))
    assert main([str(p) for p in paths]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == 2
    (tmp_path / "bad.json").write_text("{}")
    assert main([str(tmp_path / "bad.json")]) == 1
    assert "not a policy simulate report" in capsys.readouterr().err
