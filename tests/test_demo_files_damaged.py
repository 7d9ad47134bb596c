"""The demo's report reads what its seat units wrote: their stats (JSON) and channel logs
(CSV). A unit killed mid-write (the OOM killer, a full disk) leaves one cut short: the
stats were written in place, not atomically, and `edge_stats` crashed on the cut JSON,
`read_channels` on a row cut short or with NUL bytes (exit 70, no report). Each damaged
file is now said in one line and its readable part used (the truth files' way:
tests/test_demo_truth_damaged.py)."""

from __future__ import annotations

import json
import logging

import numpy as np

from empathy.host.demo_units import edge_stats
from empathy.host.evaluate import read_channels


def test_a_unit_s_cut_stats_file_is_said_and_the_other_units_counted(tmp_path, caplog):
    edge = tmp_path / "edge"
    edge.mkdir()
    (edge / "unit1.stats.json").write_text(json.dumps({"packets_sent": 40, "face_model": "m"}))
    (edge / "unit2.stats.json").write_text(json.dumps({"packets_sent": 30})[:9])
    (edge / "unit3.stats.json").write_text("[1, 2]")  # valid JSON, not a unit's stats
    with caplog.at_level(logging.WARNING):
        sent, models = edge_stats(tmp_path, 3)
    assert (sent, models) == (40, {"m"})
    said = [r.getMessage() for r in caplog.records]
    assert sum("unit2.stats.json" in s for s in said) == 1, said
    assert sum("unit3.stats.json" in s for s in said) == 1, said


def test_a_channel_log_cut_short_or_with_nul_bytes_keeps_its_readable_rows(tmp_path, caplog):
    head = "ts_us,seat_id,hr,pupil\n"
    rows = [f"{i * 500_000},1,{0.1 * i},{'' if i % 3 else 0.5}\n" for i in range(1, 9)]
    (tmp_path / "unit1.channels.csv").write_text(
        head + "".join(rows[:4]) + "\x00" * 40 + "\n" + "".join(rows[4:]) + "4500000,1,0.")
    (tmp_path / "unit2.channels.csv").write_text(head + "".join(rows))
    with caplog.at_level(logging.WARNING):
        logs = read_channels(tmp_path)
    assert len(logs) == 2
    damaged, whole = logs
    assert len(damaged["ts_us"]) == 8 and np.array_equal(damaged["ts_us"], whole["ts_us"])
    assert np.isnan(damaged["pupil"][0]) and damaged["pupil"][2] == 0.5
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "unit1.channels.csv" in said[0] and "2 of its 10" in said[0], said
