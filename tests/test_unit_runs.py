"""A unit's restart told from loss by the run its heartbeat declares (wire.Health.run).

A unit restarted after 25-170 s down (one seat; a 10-seat unit 3-20 s) made a jump in its
numbers that its rate could as well have used in the silence: the host read the numbers it
skipped (edge/sequence.py's reserve, never sent) as packets lost on the link, and no
restart. Real encoded packets through the host's intake, the real sequence reserve."""

from __future__ import annotations

import subprocess
import sys

import tomli_w

from empathy import wire
from empathy.edge.sequence import SeqReserve
from empathy.host.receive import Intake
from empathy.keys import Keystore

UNIT, SEAT, KEYS = 7, 70, Keystore.new([7])
KEY = KEYS.units[UNIT]


def _send(intake: Intake, seqs, t_us: int, run: int) -> int:
    """A unit at 20 samples and one heartbeat a second: one packet per number, 50 ms apart
    (every 21st a heartbeat). Returns the time after the last."""
    for i, seq in enumerate(seqs):
        if i % 21 == 0:
            p = wire.encode_health(wire.Health(UNIT, seq, t_us, run=run), KEY)
        else:
            p = wire.encode(wire.SeatSample(UNIT, SEAT, seq, t_us), KEY)
        intake.feed([p], t_us)
        t_us += 1_000_000 // 21
    return t_us


def _report(intake: Intake, now: int) -> dict:
    return next(r for r in intake.unit_report(now) if r["unit"] == UNIT)


def reserve_restart(path, n: int) -> tuple[list, int]:
    """A unit's first run of n numbers on the real sequence reserve, and the number it
    starts from again: where a restart's jump lands."""
    reserve = SeqReserve(path)
    first = list(range(reserve.start, reserve.start + n))
    for s in first:
        reserve.use(s)
    reserve.close(5)
    again = SeqReserve(path)
    start = again.start
    again.close(5)
    return first, start


def _two_runs(tmp_path, down_s: float | None, runs: tuple[int, int]) -> dict:
    """30 s heard, the unit stopped and started again down_s later past its real reserve
    (None: as long as its rate takes to use the numbers it skips, where numbers cannot tell
    a restart from loss)."""
    first, start = reserve_restart(tmp_path / "unit.seq", 630)
    intake = Intake(KEYS.units, fresh_s=0)
    down_s = (start - first[-1]) / 21 if down_s is None else down_s
    t = _send(intake, first, 1_000_000, runs[0]) + int(down_s * 1e6)
    t = _send(intake, range(start, start + 100), t, runs[1])
    return {**_report(intake, t), "jump": start - first[-1]}


def test_a_restart_the_numbers_cannot_tell_is_told_by_its_run(tmp_path):
    r = _two_runs(tmp_path, None, (0x1111, 0x2222))
    print(r)
    assert 512 <= r["jump"] <= 1537  # half a block to one and a half
    assert r["restarts"] == 1 and r["loss"] == 0, r
    # a unit from before runs: the numbers alone, read as loss as before
    old = _two_runs(tmp_path / "old", None, (0, 0))
    assert old["restarts"] == 0 and old["loss"] > 0.3, old
    # a restart the numbers told (3 s down): counted once, not again by its run
    quick = _two_runs(tmp_path / "quick", 3, (0x1111, 0x2222))
    assert quick["restarts"] == 1 and quick["loss"] == 0, quick


def test_a_link_down_in_one_run_is_still_loss():
    """The same run after 40 s of silence whose numbers the unit used at its rate: lost."""
    intake = Intake(KEYS.units, fresh_s=0)
    t = _send(intake, range(1000, 1630), 1_000_000, 0x1111) + 40_000_000
    _send(intake, range(1630 + 840, 1630 + 940), t, 0x1111)
    r = _report(intake, t)
    assert r["restarts"] == 0 and 0.5 < r["loss"] < 0.6, r


def test_each_start_of_a_real_unit_declares_a_new_run(tmp_path):
    """Two starts of a real `empathy edge run`: their heartbeats name two runs, never 0."""
    from empathy.transports import open_receiver

    rx = open_receiver("udp://127.0.0.1:0")
    KEYS.for_unit(UNIT).save(tmp_path / "u.keys.toml")
    cfg = {"unit_id": UNIT, "uplink": f"udp://127.0.0.1:{rx.port}", "sync_hz": 0,
           "keystore": str(tmp_path / "u.keys.toml"), "rate_hz": 5.0, "baseline_s": 1.0,
           "faces": False, "seq_file": str(tmp_path / "unit.seq"),
           "seats": [{"seat_id": SEAT, "source": "sim://seat?seed=1"}]}
    (tmp_path / "u.toml").write_text(tomli_w.dumps(cfg))
    runs = []
    try:
        for _ in range(2):
            subprocess.run([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                            str(tmp_path / "u.toml"), "--duration", "1.5"], check=True,
                           capture_output=True, timeout=120)
            got = {wire.decode_health(p, {UNIT: KEY}).run for p in rx.recv_batch(0.5)
                   if p[0] & 0x0F == wire.KIND_HEALTH}
            runs.append(got)
    finally:
        rx.close()
    print(runs)
    assert all(len(r) == 1 and 0 not in r for r in runs) and runs[0] != runs[1], runs
