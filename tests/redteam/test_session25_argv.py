"""Red team, session 25: the docs-page scripts given odd arguments.

`python -m empathy.edge.signal_validation --help` scored every record (30 s, 8 CPU-s) and
then wrote the page and its figures into a new folder named "--help/" (exit 0);
heart_validation did the same after the whole corpus (minutes). A typo ("doc") made a
folder of that name. Now --help prints the usage, and a folder that is not there is
refused before any scoring (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)


def _run(cwd, *argv) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", *argv], cwd=cwd, capture_output=True,
                              text=True, timeout=40)
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m {' '.join(argv)}: still running after 40 s")


@pytest.mark.parametrize("module", ["heart_validation", "signal_validation"])
def test_help_is_usage_not_a_folder(tmp_path, module):
    r = _run(tmp_path, f"empathy.edge.{module}", "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"usage: python -m empathy.edge.{module}")
    assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())


def test_a_folder_that_is_not_there_is_refused_before_scoring(tmp_path):
    r = _run(tmp_path, "empathy.edge.signal_validation", "doc")
    assert r.returncode == 2 and r.stderr.splitlines()[-1].endswith(
        "error: doc is not a folder: give the docs folder (e.g. docs)"), r.stderr[-1500:]
    assert not list(tmp_path.iterdir())
