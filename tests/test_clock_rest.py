"""Skin conductance and the accelerometer through a step of the clock their stamps are on
(the host re-syncs time, NTP or chrony steps it, a board's stamps jump), as the heart
goes through one (test_wave_clock): a seat reads real EDA (eda corpus systole-task1 at a
board's 16 Hz) and a real accelerometer (wrist-s1-low-bike's magnitude at 50 Hz) beside a
real PPG (systole-ppg), each from a device 2 % fast in 0.05-0.15 s chunks, the edge's own
path (SeatFeatures.add); bench/clock_step.py steps the clock at 60 s and compares the
seat with its run without the step. Before: EDA and the accelerometer restarted on any
step over WAVE_SLIP_S (EDA without quality for EDA_SETTLE_S, 20 s; its responses of the
20 s after the step never given out) and on a step back the motion gate's spans stayed
on the old clock while the beats moved (out of order, a span joined backwards)."""

import numpy as np
import pytest

from corpus_records import need
from empathy.bench import clock_step
from empathy.edge.heart_corpus import record_data
from empathy.edge.motion import MotionGate
from empathy.edge.timebase import SampleClock

SECONDS = 150.0


@pytest.fixture(scope="module")
def side():
    """The side seat's streams, and its run without a step."""
    need(clock_step.ACC_RECORD)
    x, fs = record_data(need("systole-ppg"))  # a tuning record
    streams = clock_step.side_signals(SECONDS, (x[:int(SECONDS * fs)], fs))
    return streams, clock_step.side_run(streams, 0.0)


@pytest.mark.parametrize("step_s", [-3.0, -0.5, -0.2, 0.5, 1.0])
def test_a_host_clock_step_keeps_eda_and_the_motion_gate(side, step_s):
    """A step back of any size, or forward up to MAX_GAP_S (it reads as a short gap), goes
    on without a restart: no second without EDA quality, the same responses at the same
    real times, the same moving spans on the new clock, every PPG beat judged as without
    the step."""
    streams, base = side
    m = clock_step.side_measure(streams, step_s, base)
    assert m["eda_restarts"] == 0 and m["acc_restarts"] == 0, m
    assert m["eda_lost_s"] <= 0 and m["scrs"] >= 10 and m["scr_off"] == 0, m
    assert m["moving_s_off"] <= 0.1, m  # a 0.25-s block may straddle the bridged gap
    assert m["gate"] == {"beats_judged": 0, "beats_rejected_motion": 0, "beats_unjudged": 0}, m


@pytest.mark.parametrize("step_s", [-3.0, 0.5, 3.0, 10.0])
def test_a_wall_clock_step_under_brainflow_s_stamps_keeps_eda_and_the_motion_gate(side, step_s):
    """BrainFlow's wall clock steps: the one read across it has its first sample's stamp off
    by -step, the rest are right (clock_step's --lone). That chunk goes on as if stamped
    right: nothing restarts or moves."""
    streams, base = side
    m = clock_step.side_measure(streams, step_s, base, lone=True)
    assert m["eda_restarts"] == 0 and m["acc_restarts"] == 0, m
    assert m["eda_lost_s"] <= 0 and m["scr_off"] == 0 and m["moving_s_off"] == 0, m
    assert m["gate"] == {"beats_judged": 0, "beats_rejected_motion": 0, "beats_unjudged": 0}, m


def test_a_step_forward_past_a_short_gap_still_starts_eda_afresh(side):
    """+3 s cannot be told from 3 s of samples lost: a new stream, as for the heart (EDA has
    no quality for EDA_SETTLE_S after it). The bound of what the stamps can tell."""
    streams, base = side
    m = clock_step.side_measure({"eda": streams["eda"]}, 3.0,
                                clock_step.side_run({"eda": streams["eda"]}, 0.0))
    assert m["eda_restarts"] == 1 and 15 <= m["eda_lost_s"] <= 21, m


def test_the_gate_judges_beats_on_the_accelerometer_s_clock_while_one_has_stepped():
    """The PPG's and the accelerometer's chunks step at different moments (each settles at
    its own next chunk): a beat is judged against what the accelerometer saw at its
    moment. A movement at 57-58 s, the clock set back 3 s at 58 s: a beat at 58.2 s (in the
    span's PAD_S) held by the gate is moving whichever stream steps first. Before: with the
    PPG first, the beat (now at 55.2 s) was judged at once against the old clock's spans
    (not moving); with the accelerometer first, it waited past STALE_S and went unjudged
    when the step was over 3 s."""
    def acc(g, t0_s, t1_s, moving=(0, 0)):  # 50 Hz magnitude at 1 g in 0.1-s chunks
        for t in np.arange(t0_s, t1_s - 1e-9, 0.1):
            x = 1000 + 300 * np.sin(np.arange(5) * 2.5) * (moving[0] <= t < moving[1])
            g.add_acc(t * 1e6, 50.0, x)

    for step_s in (-3.0, -8.0):
        for acc_first in (True, False):
            g = MotionGate(0.5)
            acc(g, 50.0, 58.0, (57.0, 58.0))
            start = g.track.spans[0][0]
            g.pass_beats([58.2e6], [0.9])  # not covered yet: held
            if acc_first:
                acc(g, 58.0 + step_s, 59.0 + step_s)
                t, _, m = g.pass_beats([], [])
                g.shift(step_s * 1e6)  # the PPG steps after
            else:
                g.shift(step_s * 1e6)  # the PPG stepped: its held beats are on the new clock
                t, _, m = g.pass_beats([], [])
                assert not len(t)  # not judged against the old clock
                acc(g, 58.0 + step_s, 59.0 + step_s)
                t, _, m = g.pass_beats([], [])
            assert len(m) == 1 and m[0], (step_s, acc_first, t, m)
            assert abs(g.track.spans[0][0] - start - step_s * 1e6) < 10e3
            assert g.lag_us == 0.0 and g.report()["beats_unjudged"] == 0


def test_a_step_moves_every_time_the_eda_window_holds(side):
    """Every time-valued state of EdaWindow moves with a step (the bug class: a new time
    state left on the old clock): its responses, its quality chunks, its clock's start."""
    from empathy.edge.eda import EdaWindow
    from scipy import signal

    x, fs, _ = side[0]["eda"]
    y = signal.resample_poly(x[:int(90 * fs)], 16, int(fs))
    w = EdaWindow(16.0, 1e9)
    for k in range(0, len(y), 8):
        chunk = y[k:k + 8]  # (one object: the clock knows a chunk it holds by identity)
        assert w.fits(16.0, 1e9 + k / 16 * 1e6, chunk)
        w.add(1e9 + k / 16 * 1e6, chunk)
    scrs, chunks, t0 = list(w.scrs), list(w.chunks), w.clock.t0
    assert len(scrs) >= 5
    w.shift(-3e6)
    assert [s[:2] for s in w.scrs] == [(a - 3e6, b - 3e6) for a, b, *_ in scrs]
    assert [c[0] for c in w.chunks] == [c[0] - 3e6 for c in chunks]
    assert w.clock.t0 == t0


def test_the_held_chunk_rule_is_the_time_base_s_own():
    """One rule for every stream (SampleClock.admit): the heart's, EDA's and the
    accelerometer's chunks stamped back are held till the next says why."""
    c = SampleClock(16.0, 1e9, 0.5)
    for k in range(40):
        assert c.admit(16.0, 1e9 + k * 0.5e6, k, 8, None) == "follow"
        c.follow(1e9 + k * 0.5e6, 8)
    pushed, steps, base = [], [], c.expected_us()
    assert c.admit(16.0, base - 3e6, "held", 8, None) == "held" and c.holds("held")
    what = c.admit(16.0, base - 3e6 + 0.5e6, "next", 8,
                   lambda *a: pushed.append(a), lambda *a: steps.append(a))
    assert what == "follow" and not c.holds("held")
    assert pushed == [("held", base - 3e6)] and steps[0][0] == "step"
    assert steps[0][1] == pytest.approx(-3e6)
