"""The host intake's guards, one by one: freshness, sequence wrap, replay state across a
restart, seat ownership, forged control packets in bulk, unit-weighted fusion, kernel
drop counting. (tests/redteam/ runs the same attacks against a whole host.)"""

import logging
import os
import socket
import time

import numpy as np
import pytest

from empathy import wire, wire_batch
from empathy.clock import now_us
from empathy.edge.sequence import SeqReserve
from empathy.host.audience import fuse, trimmed_mean, unit_weights, weighted_trimmed_mean
from empathy.host.ownership import SeatOwners
from empathy.host.receive import Intake
from empathy.host.seatmap import SeatMapConfig, UnitSeats
from empathy.keys import Keystore
from empathy.log import RateLimited
from empathy.transports import open_receiver

KEYS = Keystore.new([1, 2, 3]).units


def _s(unit, seat, seq, ts=None, key=None, **kw):
    return wire.encode(wire.SeatSample(unit, seat, seq, now_us() if ts is None else ts, **kw),
                       key or KEYS[unit])


def test_samples_far_from_the_host_clock_are_refused_either_way():
    intake = Intake(KEYS)
    t = now_us()
    got = intake.feed([_s(1, 1, 1, t - 6_000_000), _s(1, 1, 2, t + 6_000_000),
                       _s(1, 1, 3, t - 4_000_000), _s(1, 1, 4, t + 4_000_000)], rx_us=t)
    assert [s.seq for s in got] == [3, 4]
    assert intake.rejected == {"stale": 1, "future": 1}
    # the 48-bit host clock wraps after 8.9 years: distances are taken across the wrap
    top = wire.TS_MASK - 1_000_000
    assert len(intake.feed([_s(1, 1, 5, 500_000)], rx_us=top)) == 1


def test_sequence_numbers_wrap_at_2_32_on_both_sides(tmp_path):
    intake = Intake(KEYS)
    near = (1 << 32) - 3
    seqs = [near, near + 1, near + 2, near + 3, near + 4]  # the last two go out as 0 and 1
    got = intake.feed([_s(1, 1, s) for s in seqs])  # `encode` wraps, no longer raises
    assert [s.seq for s in got] == [near, near + 1, near + 2, 0, 1]
    assert intake.windows.top[1] == (1 << 32) + 1
    assert intake.feed([_s(1, 1, near + 1), _s(1, 1, 0)]) == []  # replays across the wrap
    assert len(intake.feed([_s(1, 1, 7)])) == 1
    assert intake.rejected == {"replayed": 2}
    # the unit's own side: a sequence file reserved a block ahead, across the wrap
    path = tmp_path / "u.seq"
    path.write_text(str((1 << 32) - 100))
    res = SeqReserve(path)  # restarted 100 short of the wrap: reserves into the next lap
    assert res.start == (1 << 32) - 100
    assert int(path.read_text()) == SeqReserve.BLOCK - 100
    for seq in list(range((1 << 32) - 99, 1 << 32)) + list(range(0, 2 * SeqReserve.BLOCK)):
        res.use(seq)  # once it returns, the file covers `seq` (the next block saved ahead)
        assert wire.seq_delta(int(path.read_text()), seq) > 0, seq
    res.close()
    assert int(path.read_text()) == 3 * SeqReserve.BLOCK - 100  # 1.5 blocks ahead at most
    assert SeqReserve(path).start == 3 * SeqReserve.BLOCK - 100


def test_replay_windows_and_seat_locks_survive_a_restart(tmp_path):
    ks = Keystore.new([1, 2])
    a = Intake(ks.units, state_dir=tmp_path)
    first = [_s(1, 5, i, key=ks.units[1]) for i in range(10)]
    assert len(a.feed(first)) == 10
    a.save_state()
    assert (tmp_path / "intake.json").stat().st_mode & 0o777 == 0o600
    b = Intake(ks.units, state_dir=tmp_path)  # the host started again
    assert b.feed(first) == []  # replays of what the old host took
    assert b.feed([_s(2, 5, 1, key=ks.units[2])]) == []  # seat 5 stays unit 1's
    assert b.rejected == {"stale": 10, "foreign_seat": 1}
    assert len(b.feed([_s(1, 5, 10, key=ks.units[1])])) == 1  # the unit goes on
    # A unit whose keys all changed (re-flashed: new key, old one revoked) starts afresh:
    # nothing signed with its old key can pass, so its old numbers mean nothing.
    b.save_state()
    fresh = Keystore.new([1, 2])
    c = Intake({1: fresh.units[1], 2: ks.units[2]}, state_dir=tmp_path)
    assert c.windows.top[1] == -1 and c.windows.top[2] == 1
    # and a damaged state file costs the replay windows, never the start
    (tmp_path / "intake.json").write_text("{not json")
    d = Intake(ks.units, state_dir=tmp_path)
    assert d.not_before_us is not None and d.windows.top[1] == -1


def test_seats_belong_to_their_units():
    cfg = SeatMapConfig(max_seats_per_unit=3, units=[UnitSeats(1, [1, 2]), UnitSeats(2, [3])])
    intake = Intake(KEYS, seatmap=cfg)
    got = intake.feed([_s(1, 1, 1), _s(1, 3, 2), _s(1, 9, 3),  # own, unit 2's, unlisted
                       _s(3, 20, 1), _s(3, 21, 2), _s(3, 22, 3), _s(3, 23, 4),  # lock 3 max
                       _s(2, 20, 1), _s(3, 2, 5)])  # unit 3's lock; unit 1's seat
    assert [(s.unit_id, s.seat_id) for s in got] == [(1, 1), (3, 20), (3, 21), (3, 22)]
    assert intake.rejected == {"foreign_seat": 3, "unlisted_seat": 1, "too_many_seats": 1}
    assert intake.owners.entitled(1) == 2 and intake.owners.entitled(3) == 3
    # every refused claim still proves its unit alive (authentic, fresh, not replayed)
    assert intake.health.unit_count[2] == 1
    locked = SeatMapConfig(lock_unknown=False)
    strict = Intake(KEYS, seatmap=locked)
    assert strict.feed([_s(1, 1, 1)]) == [] and strict.rejected == {"unlisted_seat": 1}


def test_idle_seat_locks_are_released():
    now = [1000.0]
    owners = SeatOwners(SeatMapConfig(max_seats_per_unit=1), lock_idle_s=60,
                        clock=lambda: now[0])
    ok = owners.check(np.array([1]), np.array([7]))
    now[0] = 1001.0
    assert ok.tolist() == [0] and owners.check(np.array([1]), np.array([8])).tolist() == [2]
    assert owners.release_idle(1059.0) == [] and owners.release_idle(1061.0) == [7]
    now[0] = 1062.0
    assert owners.check(np.array([2]), np.array([7])).tolist() == [0]


def _controls(rng, keys):
    out = []
    for i in range(3000):
        unit = int(rng.choice([1, 2, 3, 9]))
        key = keys.get(unit, os.urandom(32))
        pick = rng.random()
        if pick < 0.4:
            p = bytearray(wire.encode_sync(wire.SyncRequest(unit, i, i * 7), key))
        elif pick < 0.7:
            p = bytearray(wire.encode_health(wire.Health(unit, i, i, (1, 2, 3)), key))
        else:  # a seat's faults: the sync request's size, told apart by its header
            p = bytearray(wire.encode_faults(wire.SeatFaults(unit, i, i % 9, i, i), key))
        kind = rng.integers(0, 5)
        if kind == 1:
            j = int(rng.integers(8, len(p) * 8))  # past the header byte
            p[j // 8] ^= 1 << (j % 8)
        elif kind == 2:
            p = p[: int(rng.integers(1, len(p)))]
        elif kind == 3:
            p += os.urandom(int(rng.integers(1, 5)))
        out.append(bytes(p))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_control_packets_in_bulk_get_the_scalar_verdicts(seed):
    rng = np.random.default_rng(seed)
    packets = _controls(rng, KEYS)
    got = wire_batch.verify_control(packets, wire_batch.KeyTable(KEYS))
    for p, code in zip(packets, got.tolist()):
        decode = {wire.KIND_SYNC: wire.decode_sync, wire.KIND_FAULTS: wire.decode_faults}.get(
            p[0] & 0x0F, wire.decode_health)
        try:
            decode(p, KEYS)
            want = wire_batch.OK
        except wire.WireError as e:
            want = wire_batch.CODE[e.reason]
        assert code == want, p.hex()
    assert (got == wire_batch.OK).sum() > 500


def test_a_sync_reply_goes_only_where_an_authentic_request_came_from():
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(KEYS, reply=rx.reply)
    unit, forger = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    try:
        genuine = wire.encode_sync(wire.SyncRequest(1, 5, 123), KEYS[1])
        forger.sendto(genuine[:-1] + b"\0", ("127.0.0.1", rx.port))
        unit.sendto(genuine, ("127.0.0.1", rx.port))
        forger.sendto(wire.encode_sync(wire.SyncRequest(1, 6, 1), os.urandom(32)),
                      ("127.0.0.1", rx.port))
        time.sleep(0.1)
        intake.feed(rx.recv_batch(0.5))
        unit.settimeout(1)
        assert wire.decode_sync_reply(unit.recv(256), KEYS[1]).t1_us == 123
        forger.settimeout(0.3)
        with pytest.raises(socket.timeout):
            forger.recv(256)
        assert intake.rejected == {"bad_tag": 2}
    finally:
        rx.close()
        unit.close()
        forger.close()


def test_a_unit_moves_the_estimate_by_at_most_its_entitled_share():
    """Fusion alone (as if ownership were bypassed): unit 2, entitled to 2 seats, sends 108
    at +0.9 beside unit 1's 8 honest seats at -0.5."""
    arousal = [-0.5] * 8 + [0.9] * 108
    units = [1] * 8 + [2] * 108
    entitled = {1: 8, 2: 2}.get
    w = unit_weights(units, entitled)
    state = fuse(0, arousal, [0.0] * len(arousal), [], len(arousal), w)
    assert state.seats_good == 10
    assert state.arousal - (-0.5) <= 2 / 10 * 1.4 + 1e-9
    plain = fuse(0, arousal, [0.0] * len(arousal), [], len(arousal))
    assert plain.arousal == pytest.approx(0.9)  # what it was before: the attacker's value
    for n in (1, 2, 7, 10, 33):
        x = np.random.default_rng(n).normal(size=n)
        assert weighted_trimmed_mean(x, np.ones(n)) == pytest.approx(trimmed_mean(x), abs=1e-12)


def test_kernel_drops_are_counted():
    rx = open_receiver("udp://127.0.0.1:0")
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert rx.kernel_drops == 0
        for _ in range(60_000):  # nobody reads: the 4 MiB socket buffer overflows
            tx.sendto(b"x" * 32, ("127.0.0.1", rx.port))
        time.sleep(0.6)  # the counter is read at most twice a second
        assert rx.kernel_drops > 0
    finally:
        rx.close()
        tx.close()


def test_refusal_logs_are_rate_limited(caplog):
    t = [0.0]
    say = RateLimited(logging.getLogger("t"), burst=3, period_s=60, clock=lambda: t[0])
    with caplog.at_level(logging.WARNING):
        sent = [say(logging.WARNING, "refused %r", "x\ny") for _ in range(100)]
        t[0] = 61
        say(logging.WARNING, "refused %r", "z")
    assert sum(sent) == 3 and len(caplog.records) == 4
    assert "97 more like it suppressed" in caplog.records[-1].getMessage()
    assert "\n" not in caplog.records[0].getMessage()
