"""`python -m empathy.bench.policy_tuning`: every number it takes is range-checked as its
--seeds are (cli.number_in): one line and exit 2, never a traceback or a run on nonsense."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("option, bad", [
    ("--latency", "nan"), ("--latency", "-5"), ("--latency", "16"),
    ("--noise", "0"), ("--noise", "-1"), ("--noise", "inf"),
    ("--screenings", "0"), ("--screenings", "-3"), ("--screenings", "2.5"),
    ("--lag", "inf"), ("--lag", "-1"), ("--span", "-1"), ("--span", "nan")])
def test_policy_tuning_refuses_a_number_out_of_range_in_one_line(option, bad):
    """Before: --latency nan was a traceback (ValueError: cannot convert float NaN to
    integer); --latency -5, --noise 0 or -1, --lag inf and --span -1 ran and printed
    figures for a reward no show measures; --screenings 0 or -3 printed regret nan, rc 0."""
    r = subprocess.run([sys.executable, "-m", "empathy.bench.policy_tuning", option, bad,
                        "--seeds", "100"], capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"argument {option}:" in lines[-1] and not r.stdout, r.stderr
