"""Seat locks against a wall clock that steps (a Pi host without an RTC boots at its last
shutdown's time from fake-hwclock, then NTP steps it). The locks as the host's state folder
keeps them (host/intake_state.py), read back by the real intake."""

import time

from empathy import wire
from empathy.clock import now_us
from empathy.host import intake_state
from empathy.host.ownership import LOCK_IDLE_S
from empathy.host.receive import Intake
from empathy.keys import Keystore

KEYS = Keystore.new([1, 2]).units


def _restarted(tmp_path, stamp_s: float) -> Intake:
    """A host restarted on a state file whose seat 7 was locked to unit 1 at `stamp_s`."""
    intake_state.save(tmp_path, {}, {7: (1, stamp_s)}, KEYS, {})
    intake = Intake(KEYS, state_dir=tmp_path)
    intake.not_before_us = None  # the restart's replay guard is not what is tested here
    return intake


def _claim(intake: Intake, unit: int, seq: int) -> list:
    return intake.feed([wire.encode(wire.SeatSample(unit, 7, seq, now_us()), KEYS[unit])])


def test_a_clock_stepped_forward_never_frees_a_live_units_seat(tmp_path):
    """Saved at 10:00 by the clock fake-hwclock gave, loaded after NTP stepped it to 11:00:
    by wall time the lock is an hour idle. Before: released at the first save (a second
    after start), so any unit could take the seat of a viewer still being read."""
    intake = _restarted(tmp_path, time.time() - 3600)
    intake.save_state()
    assert intake.owners.owner[7] == 1
    assert _claim(intake, 2, 1) == [] and intake.rejected == {"foreign_seat": 1}
    assert len(_claim(intake, 1, 1)) == 1


def test_a_clock_stepped_back_holds_a_dead_units_seat_no_longer_than_the_idle_time(tmp_path):
    """Saved an hour 'ahead' (the clock stepped back since): by wall time the lock was used
    in the future, so it stayed locked for the step plus LOCK_IDLE_S. Now a lock read back
    is idle from the restart on, whatever its stamp: freed LOCK_IDLE_S after it."""
    intake = _restarted(tmp_path, time.time() + 3600)
    owners = intake.owners
    assert owners.release_idle(owners.clock() + LOCK_IDLE_S - 1) == []
    assert owners.release_idle(owners.clock() + LOCK_IDLE_S + 1) == [7]
    assert len(_claim(intake, 2, 1)) == 1


def test_a_lock_saved_again_keeps_its_idle_time_in_wall_terms(tmp_path):
    """What is saved is wall time less the lock's idle time (an older host reads the file)."""
    intake = _restarted(tmp_path, time.time() + 3600)
    intake.save_state()
    _, locks, _ = intake_state.load(tmp_path, KEYS, {})
    assert abs(locks[7][1] - time.time()) < 5
