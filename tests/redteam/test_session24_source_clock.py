"""Red team, session 24: a source whose clock lies (edge/source_clock.py's AheadGuard).

The guard moved a source minutes *ahead* to arrival time; one minutes *behind* (a device
stamping from its own power-on, an LSL sender pushing its own stamps) went untouched, and
every beat was older than any window when it came: a seat with no heart rate for the whole
show, and nothing said. And a clock that jumps at every chunk re-based at every chunk, a
warning each: 10 lines a second in the journal for as long as the source ran.
A real pylsl outlet and a real `empathy edge run` for the first; the guard itself, fed
readings as the unit's loop feeds it, for the others."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from empathy.edge.source_clock import AHEAD_MAX_S, AheadGuard
from empathy.sensors.base import Health, Waveform
from test_source_ahead import _hr_seconds

pytestmark = pytest.mark.timeout(180)
NOW = 10**12


def test_a_source_minutes_behind_still_gives_heart_rate(tmp_path):
    """An ECG stream stamped 5 minutes behind the unit. Before: 0.0 s of HR_OK in 40 s, no
    word why; now its stamps move to arrival once it has been behind AHEAD_MAX_S, HR
    follows, and one warning names the seat and the offset."""
    seconds, out = _hr_seconds(tmp_path, -300.0, enough_s=4, run_s=40.0)
    print(f"{seconds:.1f} s of HR_OK\n{out}")
    assert seconds > 4, out
    said = [line for line in out.splitlines() if "behind this unit" in line]
    assert len(said) == 1 and "seat 1" in said[0], out
    assert 299 <= int(said[0].split(" s behind")[0].split()[-1]) <= 301, said


def _chunk(ts_us: int, n: int = 25) -> Waveform:
    return Waveform(ts_us, "ecg", 250.0, np.zeros(n))


def test_a_late_burst_keeps_its_stamps():
    """A backlog (20 s of chunks delivered within a second after a reconnect) and a long
    chunk whose last sample is now are late, not on another clock: no re-base; only the
    backlog's part older than the bound is passed over, the rest keeps its stamps."""
    guard = AheadGuard("seat 1")
    backlog = [guard.admit(_chunk(NOW - int(20e6) + k * 100_000), NOW + k * 5_000)
               for k in range(200)]
    kept = [w for w in backlog if w is not None]
    assert all(w.ts_us >= NOW - (AHEAD_MAX_S + 0.2) * 1e6 for w in kept)
    assert len(kept) >= 120 and [w.ts_us for w in kept] == sorted(w.ts_us for w in kept)
    for k in range(300):  # then live, on time, for 30 s
        w = _chunk(NOW + k * 100_000)
        assert guard.admit(w, NOW + k * 100_000 + 1_000) is w
    long = _chunk(NOW + int(10e6), n=250 * 20)  # 20 s in one chunk, its end at arrival
    assert guard.admit(long, NOW + int(30e6)) is long
    assert guard.rebased == 0 and guard.shift_us == 0


def test_a_clock_behind_is_rebased_once_and_health_stamped_now_keeps_its_time():
    guard = AheadGuard("seat 1")
    got = []
    for k in range(300):  # 30 s, 300 s behind, a Health at arrival every second
        t = NOW + k * 100_000
        got.append(guard.admit(_chunk(t - int(300e6)), t + 2_000))
        if k % 10 == 0:
            h = Health(t, "lsl")
            assert guard.admit(h, t) is h
    assert guard.rebased == 1
    first = next(i for i, w in enumerate(got) if w is not None)
    assert AHEAD_MAX_S * 10 <= first <= AHEAD_MAX_S * 10 + 2
    shifted = [w.ts_us - NOW - i * 100_000 for i, w in enumerate(got) if w is not None]
    assert all(-200_000 <= d <= 0 for d in shifted), shifted[:5]  # at arrival, spacing kept


def test_a_clock_that_jumps_at_every_chunk_is_said_a_few_times_not_every_chunk(caplog):
    """Before: 600 warnings for a minute of chunks (10 a second); now 2 a minute, the
    next one counting those not said."""
    caplog.set_level(logging.WARNING, "empathy.edge")
    guard = AheadGuard("seat 1")
    for k in range(600):
        t = NOW + k * 100_000
        w = guard.admit(_chunk(t + (k + 1) * int(20e6)), t)
        assert w.ts_us == t  # each chunk still lands at its arrival
    said = [r.getMessage() for r in caplog.records if "clock is" in r.getMessage()]
    assert guard.rebased == 600 and 1 <= len(said) <= 3, len(said)
