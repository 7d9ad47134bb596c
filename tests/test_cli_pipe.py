"""`empathy ... | head`: a reader that leaves early is no error. The command stops quietly
with exit 0, whether Python's stdout is buffered (the flush at exit used to fail: "Exception
ignored ... BrokenPipeError", exit 120) or not (PYTHONUNBUFFERED, as under Docker: `keys
list` said "[Errno 32] Broken pipe", exit 1). Real subprocesses writing into a pipe whose
reading end is already closed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EMPATHY = [sys.executable, "-m", "empathy.cli"]


def run_into_closed_pipe(argv: list[str], unbuffered: bool, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    r, w = os.pipe()
    os.close(r)  # the reader has gone before the first line is written
    try:
        return subprocess.run(EMPATHY + argv, stdout=w, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=cwd, timeout=120)
    finally:
        os.close(w)


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_reader_that_leaves_is_not_an_error(tmp_path, unbuffered):
    subprocess.run(EMPATHY + ["keys", "new", "1-3", "--keystore", "host.keys.toml"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    for argv in (["config", "example", "edge"], ["keys", "list"]):
        done = run_into_closed_pipe(argv, unbuffered, tmp_path)
        assert (done.returncode, done.stderr) == (0, ""), argv
