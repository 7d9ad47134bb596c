"""A paced rhythm's rate is the pacemaker's, not the viewer's: a seat leaves its heart out
of the arousal while it reads the rhythm paced, and keeps its rate on the wire (HR_OK)."""

import numpy as np

from empathy.edge.features import SeatFeatures
from empathy.edge.heart_corpus import record_data
from empathy.edge.latency import HRV_WINDOW_S
from empathy.sensors.base import Waveform
from empathy.wire import Flag
from corpus_records import need

T0_US = 10**12


def ecg_seat(x: np.ndarray, fs: float):
    """A seat fed an ECG in 0.1-s chunks as the runtime does: (t s, estimate, seat) a second."""
    f = SeatFeatures(baseline_s=30)
    n = int(round(0.1 * fs))
    for k, i in enumerate(range(0, len(x) - n + 1, n)):
        f.add(Waveform(T0_US + int(i * 1e6 / fs), "ecg", fs, x[i:i + n]))
        if k % 10 == 9:
            now = T0_US + int((i + n) * 1e6 / fs)
            yield now, f.estimate(now), f


def test_a_paced_heart_gives_no_heart_arousal_but_keeps_its_rate_on_the_wire():
    """MIT-BIH 107 (tuning: paced): a pacemaker's rate is the device's. Where the seat reads
    the rhythm paced, heart rate and RMSSD leave the arousal (HR_OK stays: the rate is
    real)."""
    rec = need("mitdb-107")
    x, fs = record_data(rec)
    paced = 0
    for now, e, f in ecg_seat(x, fs):
        if (now - T0_US) / 1e6 < 20 or not e["flags"] & Flag.HR_OK:
            continue
        if f.waves["ecg"].paced.paced(now, HRV_WINDOW_S):
            paced += 1
            assert "hr" not in f.signals and "rmssd" not in f.signals and e["hr_bpm"] > 0
            assert f.channels()["heart"] is None
    assert paced > 100, paced
    assert f.heart_out["paced"] >= paced  # what the unit's stats say
