"""Operations, pass 26: a unit's loss told from its restart, from a gap, from another process
sending as it and from a link's duplicates; a seat passing to another unit. Real parts: a
host's intake on a real UDP port, real edge units."""

from __future__ import annotations

import time
from pathlib import Path



def _unit(tmp: Path, keys, port: int, folder: str, seq: int | None = None) -> Path:
    """Unit 301's config (seat 301) in tmp/folder, its sequence file there at `seq`."""
    from ops_rig import unit_config

    (tmp / folder).mkdir(exist_ok=True)
    if seq is not None:
        (tmp / folder / "seq301").write_text(str(seq))
    return unit_config(tmp / folder, keys, 301, port, {301: "sim://seat?seed=3"},
                       sync_hz=1.0)


def _report(host) -> dict:
    return next(r for r in host.intake.unit_report() if r["unit"] == 301)


def test_a_unit_s_restart_and_its_gap_are_told_from_a_loss(tmp_path):
    """A unit killed and started again 6 s later: its numbers jump past the reserve, which
    the host rightly did not count as lost, but nothing the dashboard, metrics or session
    record read said the unit had restarted or that its seat went unmeasured for seconds:
    the unit's report read loss 0, silent 0, as a unit that never stopped. Now it counts
    the restart, the gaps (silences past QUIET_S) and their seconds. Real `empathy edge
    run` processes and a host's intake on UDP."""
    from opshelp import unit_keys
    from ops_rig import Host, edge, wait_for

    keys = unit_keys(tmp_path)
    host = Host(keys)
    try:
        cfg = _unit(tmp_path, keys, host.rx.port, "a")
        first = edge(cfg, 30)
        wait_for(lambda: host.intake.health.heard_us[301] > 3_000_000, 60)
        first.kill()
        killed = time.monotonic()
        first.wait()
        time.sleep(6)
        again = edge(cfg, 6)
        wait_for(lambda: "unit_back" in [e["event"] for e in list(host.events)
                                         if e.get("unit") == 301], 60)
        silent_s = time.monotonic() - killed  # the most the seat can have gone unmeasured
        back_us = host.intake.health.heard_us[301]
        wait_for(lambda: host.intake.health.heard_us[301] > back_us + 1_000_000, 60)
        again.terminate()  # a second of it back is all the report needs: not its whole 6 s
        again.communicate(timeout=60)
        time.sleep(0.3)
        r, events = _report(host), [e["event"] for e in host.events if e.get("unit") == 301]
    finally:
        host.close()
    print(r, events)
    assert events[:2] == ["unit_quiet", "unit_back"], events
    assert r["loss"] < 0.02, r  # the reserve skipped is not lost
    # the gap is the silence as the host saw it: past the 6 s down, within what the test
    # saw from the kill to the unit's return, plus 2 s for its last packets before the kill
    # (the restarted unit's start-up is in it: 31.8 s once under load, against a fixed 30)
    assert r["restarts"] == 1 and r["gaps"] == 1 and 6 < r["gap_s"] <= silent_s + 2.0, \
        (r, silent_s)


def _until(copy, cond) -> None:
    """Stop the copy (SIGTERM, its clean stop) once cond holds, or let its run end."""
    while copy.poll() is None and not cond():
        time.sleep(0.05)
    copy.terminate()
    copy.communicate(timeout=60)


def test_a_second_process_sending_as_a_unit_is_said(tmp_path):
    """A stale copy of unit 301 (another machine with its keystore, or a unit started by
    hand beside the service, each on its own sequence file) sends as it. Behind the unit's
    numbers, every packet of the copy was refused as a replay: counted with the whole
    link's replays, the unit's report clean; ahead, its jump read as a restart and the
    unit's own packets were refused from then on, its loss 0. Now the unit's report counts
    its packets refused as replays, and a `unit_twice` health event (once a minute) says
    two processes send as it; `unit_behind` that the unit is refused alone (behind the
    numbers the copy left). Real `empathy edge run` processes and a host's intake on UDP."""
    from opshelp import unit_keys
    from ops_rig import Host, edge, wait_for

    keys = unit_keys(tmp_path)
    host = Host(keys)
    try:
        unit = edge(_unit(tmp_path, keys, host.rx.port, "a", seq=100_000), 120)
        wait_for(lambda: host.intake.health.heard_us[301] > 2_000_000, 60)
        # Each copy stopped once what is asked of it has happened (their 10 s, a window of
        # the intake's, are the ceiling): behind, the word and its replays counted
        behind = edge(_unit(tmp_path, keys, host.rx.port, "b"), 10)
        _until(behind, lambda: _report(host)["replayed"] > 20 and any(
            e["event"] == "unit_twice" for e in host.events))
        time.sleep(0.5)
        said_behind = [e for e in host.events if e["event"] == "unit_twice"]
        r_behind = _report(host)
        # ahead, the unit's own packets refused, and a window closed while the copy sent
        # (its twice seen again, within the minute: it must not be said again)
        ahead = edge(_unit(tmp_path, keys, host.rx.port, "c", seq=900_000), 10)
        health, marks = host.intake.health, []

        def closed_since_refused() -> bool:
            if _report(host)["replayed"] <= r_behind["replayed"] + 20:
                return False
            marks.append(health._mark_us)  # marks[0]: the window open once enough refused
            return health._mark_us > marks[0]
        _until(ahead, closed_since_refused)
        time.sleep(0.5)
        said = [e for e in host.events if e["event"] == "unit_twice"]
        r = _report(host)
        # the copy ahead gone, the unit alone is behind the numbers it left: all refused
        wait_for(lambda: any(e["event"] == "unit_behind" for e in host.events), 30)
        unit.kill()
        unit.wait()
    finally:
        host.close()
    print(r_behind, said_behind, r, said, dict(host.intake.rejected))
    assert said_behind and said_behind[0]["unit"] == 301, host.events
    assert r_behind["replayed"] > 20, r_behind
    assert len(said) == 1 and r["replayed"] > r_behind["replayed"] + 20, (said, r)


def _heard(h, unit: int, seqs, t_us: int) -> int:
    """The host hears `seqs` from the unit, 10 a second from t_us; the time after."""
    import numpy as np

    for s in seqs:
        h.saw(np.array([unit]), np.array([s]), t_us)
        t_us += 100_000
    return t_us


def test_a_unit_down_for_minutes_then_restarted_is_not_read_as_loss(tmp_path):
    """A kiosk's Pi rebooted (down 5 min): its unit starts again past its reserve (the
    real SeqReserve on its file: 512-1024 numbers on), fewer numbers than its rate would
    have used in the silence; the host took the jump for packets lost in the link, as
    the unit's loss read 0.77 and no restart. A jump far below what the unit's rate uses
    in the silence is a unit that did not send: a restart, not loss. A link that drops a
    unit's packets as long (its numbers used at its rate) is still loss."""
    from empathy.host.unit_health import Health
    from test_unit_runs import reserve_restart

    first, start = reserve_restart(tmp_path / "unit7.seq", 300)  # 30 s at 10 packets/s
    restarted, dropped = Health(), Health()
    t = _heard(restarted, 7, first, 0) + 300_000_000
    _heard(restarted, 7, [start, start + 1], t)
    t = _heard(dropped, 7, first, 0) + 300_000_000
    _heard(dropped, 7, [first[-1] + 3001, first[-1] + 3002], t)
    print(start - first[-1], restarted.restarts[7], restarted.loss(7, start + 1),
          dropped.restarts[7], dropped.loss(7, first[-1] + 3002))
    assert 512 <= start - first[-1] <= 1025
    assert restarted.restarts[7] == 1 and restarted.loss(7, start + 1) == 0
    assert dropped.restarts[7] == 0 and dropped.loss(7, first[-1] + 3002) > 0.9
    # a unit that only fell silent (paused, its link down with nothing sent) goes on where
    # its numbers stopped: a gap, no restart (a restart always skips its reserve)
    paused = Health()
    t = _heard(paused, 7, first, 0) + 300_000_000
    _heard(paused, 7, [first[-1] + 1, first[-1] + 2], t)
    assert paused.restarts[7] == 0 and paused.gaps[7] == 1 and paused.loss(7, first[-1] + 2) == 0


def test_a_link_s_duplicates_are_not_a_second_sender():
    """A link that sends 10 % of a unit's packets twice (tests/faults' impaired link):
    the copies are refused as replays inside the unit's window, which is no second
    process; `unit_twice` must not say so. Real signed packets into a real intake."""
    import random

    from empathy import wire
    from empathy.host.receive import Intake
    from empathy.keys import Keystore
    from redteam_rig import GOOD

    keys = Keystore.new([5])
    intake, rng, seq, events = Intake(keys.units), random.Random(1), 0, []
    t = intake.clock()
    for i in range(300):  # 30 s at 10 Hz, four seats, on the host's clock
        now = t + i * 100_000
        batch = []
        for seat in (51, 52, 53, 54):
            batch.append(wire.encode(wire.SeatSample(5, seat, seq, now, 70.0, 40.0, 3.5, -0.5,
                                                     0.1, 3, 0.8, GOOD), keys.units[5]))
            seq += 1
        batch += [p for p in batch if rng.random() < 0.1]
        intake.feed(batch, now)
        events += intake.check_health(now=now)
    print(dict(intake.rejected), [e["event"] for e in events])
    assert intake.rejected["replayed"] > 90
    assert not [e for e in events if e["event"] in ("unit_twice", "unit_behind")], events
    assert intake.unit_report(now)[0]["replayed"] == 0


def test_a_seat_passing_to_another_unit_is_said(tmp_path):
    """Unit 1 dies; its seat's lock is let go once idle (LOCK_IDLE_S, here 0 s) and unit
    2 (a stranger, or a unit misconfigured with that seat) takes the seat: the seat's
    track went on under unit 2 and nothing said so; its record read as one viewer. Now a
    `seat_moved` health event names the seat and both units. A real intake with its
    state folder (locks are let go as it saves)."""
    from empathy import wire
    from empathy.host.receive import Intake
    from empathy.keys import Keystore
    from redteam_rig import GOOD

    keys = Keystore.new([1, 2])
    intake = Intake(keys.units, state_dir=tmp_path / "state")
    intake.owners.lock_idle_s = 0.0
    t, events = intake.clock(), []
    for i, unit in enumerate([1] * 30 + [2] * 30):
        now = t + i * 100_000
        intake.feed([wire.encode(wire.SeatSample(unit, 10, i, now, 70.0, 40.0, 3.5, -0.5, 0.1,
                                                 3, 0.8, GOOD), keys.units[unit])], now)
        intake._saved_at = 0  # a save (and its release of idle locks) at every check
        events += intake.check_health(now=now)
    moved = [e for e in events if e["event"] == "seat_moved"]
    print(moved, dict(intake.rejected))
    assert moved == [{"event": "seat_moved", "seat": 10, "unit": 2, "from_unit": 1}], events
    assert intake.seats[10].unit_id == 2
