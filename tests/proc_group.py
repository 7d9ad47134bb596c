"""A command run as its own process group, all of which goes if the wait for it ends early.

`subprocess.run` kills only the process it started when its timeout, or pytest-timeout's
interrupt, ends the wait: a demo killed so left its edge units running for good (two of a
guide test's, found 28 minutes on, after pytest-timeout's 300 s ran out on a loaded machine)."""

import os
import signal
import subprocess


def run(argv, timeout: float, **kw) -> subprocess.CompletedProcess:
    """subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw), the
    command and everything it started killed if the wait ends early."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    return subprocess.CompletedProcess(argv, p.returncode, out, err)
