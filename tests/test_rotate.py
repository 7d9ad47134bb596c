"""Frame log and log files: they append, roll over by size and age, and stay in budget."""

import json
import os
import subprocess
import sys

import pytest

from empathy.config import ConfigError, from_dict
from empathy.rotate import RotatingFile, Rotation

DAY = 86400.0


def test_rolls_over_by_size_keeping_keep_files_each_with_its_header(tmp_path):
    path = tmp_path / "f.csv"
    r = Rotation(max_mb=0.0002, max_age_h=0, keep=3)  # 200 bytes
    f = RotatingFile(path, r, header="a,b\n")
    for i in range(100):
        f.write(f"{i:04d},{'x' * 10}\n")  # 16 bytes a row
    f.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["f.csv", "f.csv.1", "f.csv.2", "f.csv.3"]
    rows = []
    for name in ("f.csv.3", "f.csv.2", "f.csv.1", "f.csv"):  # oldest to newest
        head, *body = (tmp_path / name).read_text().splitlines()
        assert head == "a,b"
        rows += [int(line.split(",")[0]) for line in body]
    assert rows == list(range(rows[0], 100))  # the newest rows, in order, none torn
    assert f.rollovers > 3 and sum(p.stat().st_size for p in tmp_path.iterdir()) \
        <= r.budget_bytes() + 4 * 16


def test_rolls_over_when_a_new_period_begins_and_at_open_after_one(tmp_path):
    now = [10 * DAY + 100.0]
    path = tmp_path / "log"
    f = RotatingFile(path, Rotation(max_mb=100, max_age_h=24, keep=2), clock=lambda: now[0])
    f.write("day 10\n")
    now[0] += 3600
    f.write("still day 10\n")
    now[0] += DAY
    f.write("day 11\n")
    f.close()
    assert path.read_text() == "day 11\n"
    assert (tmp_path / "log.1").read_text() == "day 10\nstill day 10\n"
    # reopened on the same day: appends (a restart); on a later day: the old day rolls first
    os.utime(path, (now[0], now[0]))  # last written "now" on the simulated clock
    g = RotatingFile(path, Rotation(max_mb=100, max_age_h=24, keep=2), clock=lambda: now[0])
    g.write("restarted\n")
    g.close()
    assert path.read_text() == "day 11\nrestarted\n"
    os.utime(path, (now[0], now[0]))
    now[0] += 2 * DAY
    h = RotatingFile(path, Rotation(max_mb=100, max_age_h=24, keep=2), clock=lambda: now[0])
    h.close()
    assert not path.read_text() and (tmp_path / "log.1").read_text() == "day 11\nrestarted\n"
    assert (tmp_path / "log.2").read_text().startswith("day 10")


@pytest.mark.parametrize("bad", [{"max_mb": 0}, {"max_age_h": -1}, {"keep": -1}])
def test_bad_rotation_settings_are_config_errors(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        from_dict(Rotation, bad, "host.toml")


def test_log_file_option_writes_structured_logs_there(tmp_path):
    log = tmp_path / "logs" / "empathy.log"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "--log-json", "--log-level", "info",
                        "--log-file", str(log), "story", "check", "/nonexistent.toml"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "nonexistent" in r.stderr  # the user's error stays on stderr
    assert log.exists()
    for line in log.read_text().splitlines():
        json.loads(line)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "--log-file", str(tmp_path),
                        "story", "check", "x.toml"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "cannot write the log file" in r.stderr \
        and "Traceback" not in r.stderr
