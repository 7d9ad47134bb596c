"""Kiosk soak (slow): days of visitors in simulated time; memory flat, disk in budget.

`empathy bench kiosk` runs the full week (EMPATHY_KIOSK_DAYS, default 7); this runs two
days unless EMPATHY_KIOSK_DAYS says otherwise.
"""

import os

import pytest

from empathy.bench.bench_kiosk import growth_per_day, soak


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_days_of_visitors_keep_memory_flat_and_disk_in_budget(tmp_path):
    days = float(os.environ.get("EMPATHY_KIOSK_DAYS", 2))
    res = soak(days, folder=tmp_path)
    rows = res["rows"]
    assert res["visits"] >= 0.98 * res["planned_visits"] > 20  # the cycle kept serving
    assert res["baselines"] >= 0.9 * res["visits"]  # each visitor's own baseline, in time
    for key, budget in res["budget"].items():  # never over what the config allows
        assert max(r[key] for r in rows) <= budget * 1.05, (key, budget)
    day1 = next(r for r in rows if r["hour"] >= 24)
    assert rows[-1]["fds"] <= day1["fds"] + 4 and rows[-1]["threads"] <= day1["threads"] + 4
    # A leak of one sample per packet would add ~15 MiB a day here; one frame per frame,
    # far more.
    assert growth_per_day(rows, "live_mb") < 5.0, [r["live_mb"] for r in rows if r["live_mb"]]
