"""The simulated rig's devices against the simulated heart's own beats (ground truth): a
Polar H10's ECG through the real BLE driver, and a finger PPG as `calibrate hr` judges it
against the electrical beat with the seat_ppg rig profile (docs/guide-tester.md, step 3).

Session 30: the guide's heart calibration on the simulated rig failed on lag alone. The
H10's R-peaks, stamped as our driver maps the strap's clock, came 520 ms after the heart's
beats (its emulator made each sample 0.5 s late and sent it then; only an ACC stream,
stamped when sent, had hidden it); the board's PPG peaks came 357 ms after them, past the
profile's 150-250 ms allowance by more than its 100 ms."""

from __future__ import annotations

import time

import numpy as np
import pytest

from empathy.calibration.hr import hr_validate, load_profile
from empathy.calibration.recording import trace_from_beats, trace_from_waveform
from empathy.edge.heart import ecg_peaks
from empathy.sensors.base import Beat, Waveform, open_source
from empathy.sim.impact import Impact
from empathy.sim.seat import TICK_S
from empathy.sim.viewer import SimViewer

pytestmark = pytest.mark.timeout(180)


def lived(seed: int, seconds: float, **sensors) -> list:
    """A still viewer's readings over `seconds` of simulated time (no wall clock)."""
    v, out, t_us = SimViewer(seed, 0, 1_000_000, nuisance=0.0, **sensors), [], 1_000_000
    for _ in range(int(seconds / TICK_S)):
        t_us += int(TICK_S * 1e6)
        v.step(t_us, TICK_S, ("", 0.0, 0.3), Impact(), 0.0, out)
    return out


def beats_of(readings) -> tuple[np.ndarray, np.ndarray]:
    """The heart's beats (s) and intervals (ms): a still wearer's strap reports every one."""
    b = [r for r in readings if isinstance(r, Beat)]
    return np.array([r.ts_us for r in b]) / 1e6, np.array([r.rr_ms for r in b])


def ppg_trace(readings, late_s: float = 0.0):
    w = [r for r in readings if isinstance(r, Waveform) and r.kind == "ppg"]
    t = np.concatenate([r.ts_us / 1e6 + np.arange(len(r.samples)) / r.fs_hz for r in w])
    return trace_from_waveform("finger", "ppg", t + late_s, np.concatenate([r.samples for r in w]))


@pytest.mark.parametrize("seed", [1, 3, 17, 27])  # R wave to pulse foot 0.17-0.25 s
def test_a_finger_pulse_against_the_electrical_beat_passes_the_ppg_rig_and_a_late_one_fails(seed):
    """The PPG's beats (systolic peaks) trail the R waves by the pulse's arrival at the
    fingertip and its upstroke: physiology the seat_ppg profile must allow, where it judged
    them against the foot's range (357 ms against 150-250 + 100 ms failed). A board whose
    stamps are 300 ms late still fails."""
    got = lived(seed, 90.0, ppg=True)
    t, rr = beats_of(got)
    ref = trace_from_beats("heart", t[1:], rr[1:], "ecg")
    rig = load_profile("seat_ppg")
    res = hr_validate(ref, ppg_trace(got), rig)
    assert res.passed, (res.figures["lag_ms"], res.reasons)
    late = hr_validate(ref, ppg_trace(got, 0.3), rig)
    assert "|lag|" in {c.name for c in late.checks if not c.ok}, late.figures


@pytest.mark.realtime
def test_the_h10_s_ecg_as_our_driver_stamps_it_lands_on_the_wearer_s_beats():
    """`ble://...?ecg=1` alone, as the guide reads it (no ACC stream, whose frames are
    stamped when sent and so had set the clock's offset): every R-peak within 150 ms of the
    wearer's beat (before: 520 ms after it). What is left is the least delivery delay the
    driver saw, the host's: ~5 ms idle, 35-40 ms at load 10."""
    from empathy.sim.strap import BluezSim
    from wearer import Wearer

    wearer = Wearer(8)
    with BluezSim() as bz:
        strap = bz.add_strap("C0:FF:EE:00:30:1A", "Polar H10 301A", pmd=True)
        bz.wear(strap, wearer)
        src = open_source("ble://C0:FF:EE:00:30:1A?ecg=1")
        try:
            got, end = [], time.monotonic() + 90
            while sum(len(r.samples) for r in got if isinstance(r, Waveform)) < 130 * 16:
                assert time.monotonic() < end, src.stats()
                got += [r for r in src.read(0.05) if isinstance(r, Waveform) and r.kind == "ecg"]
        finally:
            src.close()
    x = np.concatenate([w.samples for w in got])
    peaks = got[0].ts_us + ecg_peaks(x, 130.0).idx * 1e6 / 130
    inside = np.array([b for b in wearer.beats if got[0].ts_us + 1e6 < b < got[-1].ts_us - 1e6])
    assert len(inside) >= 8
    off_ms = np.array([peaks[np.argmin(np.abs(peaks - b))] - b for b in inside]) / 1000
    assert np.abs(off_ms).max() < 150, np.round(off_ms)

