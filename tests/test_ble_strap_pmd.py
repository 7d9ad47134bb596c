"""A Polar H10's raw ECG (measurement-data service) as a seat reads it: a real bleak client,
through our driver, against the emulated H10 on the BlueZ-shaped private bus (sim/strap.py),
and a real seat (edge/features.py). An H10 measures from the PMD start command and sends
each frame of 73 samples once it is full, at the link's next connection event."""

from __future__ import annotations

import time

import numpy as np
import pytest

from empathy.edge.features import SeatFeatures
from empathy.sensors.base import Waveform, open_source
from empathy.sim.seat import SimSource
from empathy.sim.strap import BluezSim

# real time of a simulated device, light on the CPU (4.5 s user in 31 s): three at a time
# with the others (tests/conftest.py's LIGHT)
pytestmark = [pytest.mark.timeout(120), pytest.mark.realtime, pytest.mark.realtime_light]
FS, N = 130.0, 73
WORN_S = 6.0  # the strap on the wearer before the host connects, as in the demo's rigs
RUN_S = 10.0  # 18 frames: the burst the old emulator sent at the start (the WORN_S before it),
# its 0.5/0.75-s ticks and the seat's restarts on them all show within it (it was 20)


@pytest.fixture(scope="module")
def bluez():
    with BluezSim() as bz:
        yield bz


def test_an_h10_s_ecg_starts_at_the_pmd_start_and_its_seat_stream_runs_on(bluez):
    """Before: the emulator's synthesiser ran from the strap's first beat, so the first
    frames after the PMD start held the 6 s before it (one burst), and frames went out on
    the radio's 0.25-s tick (0.5 and 0.75 s apart); the seat's ECG stream restarted.
    Now: nothing older than the start, frames 0.56 s apart with a connection event's
    jitter, one stream for the whole run."""
    strap = bluez.add_strap("C0:FF:EE:00:60:1A", "Polar H10 601A", pmd=True)
    bluez.wear(strap, SimSource("sim://strap?seed=8&nuisance=0&ecg=1",
                                {"seed": 8, "nuisance": "0", "ecg": "1"}, faces=False))
    time.sleep(WORN_S)
    asked = time.monotonic()  # (the PMD start is later: connecting takes a while)
    src = open_source("ble://C0:FF:EE:00:60:1A?ecg=1")
    seat = SeatFeatures(baseline_s=2)
    arrived: list[tuple[float, int]] = []  # (host s, ECG samples so far)
    streams, wave, end = 0, None, asked + 30
    try:
        while time.monotonic() < end and (not arrived or arrived[-1][0] - arrived[0][0] < RUN_S):
            for r in src.read(0.05):
                seat.add(r)
                if isinstance(r, Waveform) and r.kind == "ecg":
                    arrived.append((time.monotonic(), (arrived[-1][1] if arrived else 0)
                                    + len(r.samples)))
                    if seat.waves.get("ecg") is not wave:  # the seat started a new stream
                        streams, wave = streams + 1, seat.waves["ecg"]
        stats = src.stats()
    finally:
        src.close()
        strap.leave()
    assert arrived and arrived[-1][0] - arrived[0][0] >= RUN_S, stats
    # no history: never more samples than the time since the host asked for them
    ahead = max(n - (t - asked) * FS for t, n in arrived)
    assert ahead <= N, f"{ahead / FS:.1f} s of ECG from before the PMD start"
    assert streams == 1, f"the seat's ECG stream restarted {streams - 1} times"
    gaps = np.diff([t for t, _ in arrived])
    assert np.median(gaps) == pytest.approx(N / FS, abs=0.03), np.round(gaps, 3)
    assert gaps.std() > 0.002  # a BLE link's connection events, not a metronome
    assert not stats["rejected"]
