"""Waiting on a real system under test: poll until a condition holds, or fail saying what."""

import time


def wait_for(pred, timeout_s: float, what: str, every_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def collect(src, until, timeout_s: float = 20.0) -> list:
    """A source's readings until `until(readings so far)` holds, or fail with the last few
    and the source's stats."""
    out, end = [], time.monotonic() + timeout_s
    while time.monotonic() < end:
        out += src.read(0.05)
        if until(out):
            return out
    raise AssertionError(f"timed out; got {out[-5:]}, stats {src.stats()}")
