"""Red team on this session's heart-signal code (edge/ecg_rhythm.py and the ECG band
switch it is hooked behind, edge/ppg_floor.py, beat_score.t_wave_free), with real
signals: corpus records and the stress generator."""

import numpy as np
import pytest

from empathy.edge.features import SeatFeatures
from empathy.edge.heart_corpus import available, record, record_data
from empathy.sensors.base import Waveform
from empathy.wire import Flag


def _need(name):
    rec = record(name)
    if not available(rec):
        pytest.skip(f"{name} not in the corpus cache")
    return rec


def test_an_ecg_seat_with_a_clean_lead_keeps_its_contact_bit():
    """A seat's raw ECG says 'lost contact' when no beat candidate came for LOST_GAP_S
    (features._WaveBeats.lost_contact reads the detector's last candidate). An ECG stream
    above 100 Hz detects in a band switch (ecg_band), whose detectors are inner streams:
    the outer stream's own last candidate never moved, so a clean MIT-BIH 100 lead at
    360 Hz in 1-s chunks lost its CONTACT bit in 58 of its first 60 s (the seat read as
    empty). A lead pulled off (flat) must still lose it."""
    x, fs = record_data(_need("mitdb-100"))
    seat, n, t0 = SeatFeatures(), int(fs), 1_000_000
    lost = []
    for i in range(0, int(60 * fs), n):
        seat.add(Waveform(t0 + int(i / fs * 1e6), "ecg", fs, x[i:i + n]))
        lost.append(not seat.estimate(t0 + int((i + n) / fs * 1e6))["flags"] & Flag.CONTACT)
    assert sum(lost) == 0
    flat = np.full(n, x[int(60 * fs) - 1])
    for k in range(8):  # the electrodes come off: a flat line for 8 s
        i = int(60 * fs) + k * n
        seat.add(Waveform(t0 + int(i / fs * 1e6), "ecg", fs, flat))
    assert not seat.estimate(t0 + int((60 + 8) * 1e6))["flags"] & Flag.CONTACT
