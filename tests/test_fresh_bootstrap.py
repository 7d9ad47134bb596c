"""The blind sets' intervals (bench/fresh_bootstrap.py) read the counts the page records."""

from __future__ import annotations

from empathy.bench import fresh_bootstrap

PAGE = """
| a-1 | simultaneous ECG, trusted spans | 200 | 0.990 | NeuroKit2 | 1.000 | 60.0 |
| a-2 | simultaneous ECG, trusted spans | 100 | 1.000 | NeuroKit2 | 0.950 | 60.0 |
| a-1 | ours | 0.980 | 1.000 | 0.990 | 60.0 | +0.0 |
| a-1 | NeuroKit2 | 1.000 | 1.000 | 1.000 | 60.0 | +0.0 |
| a-1 | HeartPy | failed | | | | |
| a-2 | ours | 1.000 | 1.000 | 1.000 | 60.0 | +0.0 |
| a-2 | NeuroKit2 | 0.900 | 1.000 | 0.947 | 60.0 | +0.0 |
"""


def test_counts_come_from_the_detail_rows_not_the_summary_row():
    assert fresh_bootstrap.counts(PAGE, "a-1") == {"ours": (196, 4, 0), "NeuroKit2": (200, 0, 0)}


def test_pooled_f1_and_its_interval():
    res = fresh_bootstrap.bootstrap(PAGE, ["a-1", "a-2"])
    ours, nk = res["detectors"]["ours"], res["detectors"]["NeuroKit2"]
    assert ours["f1"] == round(2 * 296 / (2 * 296 + 4), 4)
    assert nk["f1"] == round(2 * 290 / (2 * 290 + 10), 4)
    assert ours["f1_95"][0] <= ours["f1"] <= ours["f1_95"][1]
    # resampling a-1 twice favours NeuroKit2, a-2 twice ours: the share lies between
    assert 0 < nk["ours_at_least_share"] < 1 and nk["ours_minus"] > 0


def test_a_missing_page_is_one_line_and_exit_2(tmp_path, capsys):
    assert fresh_bootstrap.main([str(tmp_path / "none.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
