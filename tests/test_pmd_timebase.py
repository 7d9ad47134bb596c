"""A Polar H10's raw ECG (PMD frames of 73 samples at 130 Hz, each stamped with its last
sample's time on the strap's clock) mapped onto ours as the BLE driver maps it (BoardClock,
sensors/ble/strap.py) and read by a seat: delivery delays that come and go are no clock."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.edge.features import SeatFeatures
from empathy.sensors.base import Waveform
from empathy.sensors.ble import pmd
from empathy.sensors.serial.board import BoardClock
from empathy.sim.ecg import EcgSynth
from empathy.wire import Flag

FS, N = 130.0, 73  # an H10's ECG rate, and the samples of one of its notifications
STRAP_EPOCH_US = 7 * 365 * 86400 * 10**6  # its clock: ns since 2000, years from ours


def _ecg(seed: int, span_s: float, bpm: float = 75.0):
    """A steady heart's ECG from 0.5 s before its first beat, and its mean rate."""
    rng, ecg = np.random.default_rng(seed), EcgSynth(seed)
    t, parts, beats = 1.0, [], []
    while t < span_s + 2:
        beats.append(t)
        ecg.beat(int(t * 1e6))  # beat by beat: the synthesiser keeps the last few
        parts.append(ecg.take(int(t * 1e6))[1])
        t += 60 / bpm * (1 + 0.03 * np.sin(2 * np.pi * 0.25 * t)) + rng.normal(0, 0.01)
    return np.concatenate(parts), 60 / float(np.mean(np.diff(beats)))


def _seat(tick_s: float, seed: int = 0, span_s: float = 75.0):
    """The ECG's frames sent at the first tick of a radio loop (every `tick_s`) once their
    last sample is 0.5 s old, as the emulated strap (sim/strap.py) sent them before it sent
    each frame when full, and as a radio that batches notifications does: each frame's
    delay falls a little frame by frame, then rises by up to a tick. (HR_OK, HR) of the
    seat's estimates from 30 s, and the heart's own rate."""
    x, truth = _ecg(seed, span_s)
    clock, seat, tick, out = BoardClock(), SeatFeatures(baseline_s=10), 0.0, []
    for k in range(len(x) // N):
        last_s = 0.5 + (k + 1 - 1 / N) * N / FS  # (the first sample is 0.5 s)
        while tick < last_s + 0.5:
            tick += tick_s
        f = pmd.frame_parse(pmd.frame_encode(pmd.ECG, (STRAP_EPOCH_US + int(last_s * 1e6)) * 1000,
                                             x[k * N:(k + 1) * N]))
        arrival = 10_000_000 + int(tick * 1e6)
        last = clock.to_host(f.ts_ns // 1000, arrival)  # as BleSource._on_pmd_data does
        seat.add(Waveform(int(last - (N - 1) * 1e6 / FS), "ecg", FS, f.samples))
        e = seat.estimate(arrival)
        if tick >= 30:
            out.append((bool(e["flags"] & Flag.HR_OK), e["hr_bpm"] or 0.0))
    return np.array(out), truth


@pytest.mark.parametrize("tick_s", [0.25, 0.26, 0.27, 0.3])
def test_a_strap_s_ecg_sent_on_a_radio_tick_reads_the_heart_s_own_rate(tick_s):
    """The emulated strap's radio loop ticks every 0.25 s plus its work (0.26-0.27 s on a
    loaded machine: frames 0.54 s apart for 0.56 s of samples). Each delay fell by 10-40 ms
    a frame, then rose by a tick. BoardClock took each rise for a slow strap clock and its
    offset followed it within a second (a span held one or two frames): the stamps jumped
    ahead 0.2 s (bridged as a gap by the seat's time base) and fell back as the delays did,
    which the time base learnt as a fast rate. tests/test_research_seats.py read the H10
    seat 8 % high in one run of four (80.5 bpm for a heart at 74.5); here a heart at 74.9
    read 78.7 bpm at a tick of 0.26 s, 77.4 at 0.27 s, 72.6 at 0.3 s (0.25 s: right). The
    offset now follows only the least delay of the last 10 s (sensors/serial/board.py)."""
    got, truth = _seat(tick_s)
    ok = got[:, 0] > 0
    assert ok.mean() >= 0.95, f"HR_OK in {ok.sum():.0f} of {len(ok)}"
    hr = got[ok, 1]
    assert abs(np.median(hr) / truth - 1) < 0.01 and abs(hr / truth - 1).max() < 0.03, (
        f"median {np.median(hr):.1f}, {hr.min():.1f}-{hr.max():.1f} bpm for {truth:.1f}")
