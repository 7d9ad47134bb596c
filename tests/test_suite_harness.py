"""The suite's own harness (tests/conftest.py under pytest-xdist, as scripts/test.sh runs it)
when a worker dies in C code: a segfault in one test (OpenTimelineIO's plugin manifest did
it twice) hung the whole run, the master waiting for ever on idle workers."""

import os
import shutil
import sys
from pathlib import Path

import proc_group

HERE = Path(__file__).parent

# Real-time files of simulated devices (LIGHT), run as scripts/test.sh's light pass runs
# them, in LIGHT_ORDER: the one that crashes is handed out last, once the other workers have
# run out of files, as test_b.py was in the parallel pass of a toy that hung there too.
FILES = ("test_lsl_source", "test_ble_strap", "test_unit_stop", "test_hr_only")
TEST = """import ctypes

import pytest

pytestmark = pytest.mark.realtime


@pytest.mark.parametrize("i", range(3))
def test_step(i):
    if __name__ == {crash!r} and i == 1:
        ctypes.string_at(0)  # SIGSEGV, in C
"""


def test_a_worker_that_segfaults_fails_its_test_and_the_run_goes_on(tmp_path):
    (tmp_path / "tests").mkdir()
    shutil.copy(HERE / "conftest.py", tmp_path / "tests")
    shutil.copy(HERE.parent / "pyproject.toml", tmp_path)  # the suite's pytest settings
    for name in FILES:
        (tmp_path / "tests" / f"{name}.py").write_text(TEST.format(crash="test_hr_only"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST_") and k != "EMPATHY_TEST_CPU_LOG"}  # ours, not its
    env["COLUMNS"] = "200"  # its summary lines whole on any terminal the suite runs from
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m",
            "not slow and realtime_light", "--realtime-files", "-n", "3", "--dist", "loadfile",
            "--no-loadscope-reorder"]
    # ~10 s under load; xdist 3.8 alone hung here (3 of 3 runs) or crashed worker after
    # worker on the same test until it gave up (9 crashes at -n 2)
    run = proc_group.run(argv, timeout=240, cwd=tmp_path, env=env)
    out = run.stdout
    assert run.returncode == 1, out[-3000:] + run.stderr[-3000:]
    # once: not run again on the next worker, and the next, until xdist gave up. Counted by
    # the worker's death and its report: the short summary repeats the message in full on a
    # wide terminal (CI's, 2 counts) and cuts it on a narrow one
    assert out.count("node down") == 1, out
    assert out.count("replacing crashed worker") == 1, out
    crashed = [line for line in out.splitlines() if line.startswith("worker 'gw")]
    assert len(crashed) == 1, out
    assert crashed[0].endswith("crashed while running 'tests/test_hr_only.py::test_step[1]'"), out
    assert "FAILED tests/test_hr_only.py::test_step[1] - worker 'gw" in out, out
    assert "1 failed, 11 passed" in out.splitlines()[-1], out  # the rest of its file ran
