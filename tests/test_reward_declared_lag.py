"""Each edge unit declares how late its arousal estimate answers the body (its heartbeat's
`estimate_lag_ms`), and the host's reward undoes each seat's own declared lag: over real
UDP, from a real edge process and from hand-made heartbeats (a unit from before the field,
a unit whose declared lag is out of range)."""

import json
import time

import numpy as np
import pytest

from empathy import wire
from empathy.clock import now_us
from empathy.edge.latency import ESTIMATE_LATENCY_S
from empathy.host.audience import audience_state
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver, open_sender
from test_edge_host import _edge


def test_a_real_edge_unit_declares_its_estimate_lag_to_the_host(tmp_path):
    keys = Keystore.new([1])
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(keys.units)
    (proc,) = _edge(tmp_path, rx.port, keys)
    end = time.monotonic() + 12
    while time.monotonic() < end and proc.poll() is None:
        intake.feed(rx.recv_batch(0.05))
    intake.feed(rx.recv_batch(0.3))
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    declared = json.loads(out)["estimate_latency_s"]
    assert declared == pytest.approx(ESTIMATE_LATENCY_S)
    assert intake.estimate_lag_s(1, -1.0) == pytest.approx(declared, abs=1e-3)
    assert intake.estimate_lag_s(2, -1.0) == -1.0  # never heard: the default
    (row,) = intake.unit_report()  # what the dashboard's unit row shows
    assert row["estimate_lag_ms"] == round(declared * 1000)


def test_each_seat_s_declared_lag_reaches_the_reward_s_states():
    keys = Keystore.new([1, 2, 3])
    rx = open_receiver("udp://127.0.0.1:0")
    tx = open_sender(f"udp://127.0.0.1:{rx.port}")
    t0 = now_us()
    host_now = [t0]  # the host's clock, simulated: 12 s of samples in well under that
    intake = Intake(keys.units, clock=lambda: host_now[0])
    beat = lambda unit, lag_ms: wire.encode_health(  # noqa: E731
        wire.Health(unit, 0, t0, estimate_lag_ms=lag_ms), keys.units[unit])
    v2 = beat(2, 0)[:40]  # a unit from before the field: 47 bytes
    bad = beat(3, 0)[:40] + (wire.MAX_ESTIMATE_LAG_MS + 1).to_bytes(2, "big")
    sent = [beat(1, 12_500), v2 + wire.tag(keys.units[2], v2), bad + wire.tag(keys.units[3], bad)]
    rng = np.random.default_rng(0)
    for second in range(12):  # three seats at 10 Hz, moving together
        batch = []
        for i in range(second * 10, second * 10 + 10):
            shared = 0.5 * np.sin(i / 15)
            batch += [wire.encode(wire.SeatSample(
                unit, 10 + unit, 1 + i, t0 + i * 100_000, hr_bpm=70.0,
                arousal=float(np.clip(shared + 0.05 * rng.standard_normal(), -1, 1)),
                flags=wire.Flag.HR_OK), keys.units[unit]) for unit in (1, 2, 3)]
        sent += batch
        host_now[0] = t0 + (second * 10 + 9) * 100_000
        for p in sent[-len(batch) - (3 if second == 0 else 0):]:
            tx.send(p)
        end = time.monotonic() + 5
        while time.monotonic() < end and intake.accepted < len(sent) - 1:
            intake.feed(rx.recv_batch(0.05))
    assert dict(intake.rejected) == {"bad_field": 1}  # the minute-plus lag, where it enters
    default = ESTIMATE_LATENCY_S
    assert intake.estimate_lag_s(1, default) == pytest.approx(12.5)
    assert intake.estimate_lag_s(2, default) == default
    assert intake.estimate_lag_s(3, default) == default
    state = audience_state(intake.seats, host_now[0],
                           lag_of=lambda u: intake.estimate_lag_s(u, default))
    assert state.seats_good == 3
    assert state.lag_s == pytest.approx((12.5 + 2 * default) / 3)
    assert state.synchrony_unlagged is not None and state.synchrony_unlagged > 0
    assert audience_state(intake.seats, host_now[0]).synchrony_unlagged is None


def test_the_segment_reward_reads_the_states_declared_lag_and_unlagged_synchrony():
    """`policy.segment_engagement` (the show's reward): a timeline whose states hold the
    seats' declared lag and their synchrony with it undone is scored with those; one
    recorded before the states held them, with the edge's default lag and the synchrony
    as shown."""
    from empathy.host.audience import measured_segment_reward
    from empathy.host.policy import estimate_lag_s, segment_engagement
    from empathy.host.story import load
    from test_policy import SAMPLE

    story = load(SAMPLE, check_files=False)
    seg = story.segments["chase"]
    t0, ts = 1_000_000, np.arange(0.0, seg.duration_s + 5, 0.5)
    arousal = 0.2 + 0.02 * ts  # the estimate still rising: what a lag leaves
    old = [{"ts_us": t0 + int(t * 1e6), "arousal": float(a), "synchrony": 0.3,
            "seats_good": 8} for t, a in zip(ts, arousal)]
    new = [{**s, "synchrony_unlagged": 0.7, "lag_s": 12.5} for s in old]
    inside = (ts >= 0) & (ts <= seg.duration_s)
    got = [segment_engagement(story, "chase", 0.0, seg.duration_s, tl, t0, latency_s=0.0)
           for tl in (old, new)]
    assert got[0] == pytest.approx(measured_segment_reward(
        ts[inside], arousal[inside], [0.3] * inside.sum(), seg.target_arousal, estimate_lag_s()))
    assert got[1] == pytest.approx(measured_segment_reward(
        ts[inside], arousal[inside], [0.7] * inside.sum(), seg.target_arousal, 12.5))
    assert got[0] != pytest.approx(got[1])


def test_bench_audience_runs_on_full_states(monkeypatch):
    """`empathy bench audience` on 40 seats (the bench's 1,000 take ~40 s): its figures
    are whole, and the states it times are full ones (every seat good, each seat's lag
    undone)."""
    from empathy.bench import bench_audience

    monkeypatch.setattr(bench_audience, "SEATS", 40)
    rows = bench_audience.run()
    assert len(rows) == 4 and all(r["value"] > 0 for r in rows)
    seats, _ = bench_audience._seats(10**12)
    state = audience_state(seats, 10**12, lag_of=lambda unit: 9.0)
    assert state.seats_good == 40 and state.synchrony_unlagged is not None
    assert state.lag_s == 9.0
