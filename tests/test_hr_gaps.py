"""`signal hr`'s headline rate (hrv.heart_summary's bpm) and the stretches with no beat: a
PPG's lost contact is left out, an ECG's long pauses are the heart's and stay."""

import numpy as np

from corpus_records import need
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from empathy.edge.hrv import LOST_GAP_S, heart_summary
from empathy.edge.rr_artefacts import rr_correct


def _beats(rr_s):
    return np.concatenate(([0.0], np.cumsum(rr_s)))


def test_without_a_gap_the_rate_is_the_mean_of_every_interval_bit_for_bit():
    """An ECG's and a device's intervals as found; a PPG's after RR artefact correction
    (tests/test_heart_rate_mended.py), its raw rate beside it."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        t = _beats(rng.uniform(0.3, 2.0, int(rng.integers(5, 300))))
        raw = 60000.0 / float(np.mean(np.diff(t) * 1000.0))
        for kw in ({"cycles": True}, {"found": True}, {}):
            s = heart_summary(t, np.ones(len(t)), t[-1] + 0.5, **kw)
            assert s["bpm_raw"] == raw
            assert s["bpm"] == (60000.0 / float(np.mean(rr_correct(np.diff(t) * 1000.0).rr_ms))
                                if not kw else raw)


def test_a_ppg_gap_is_lost_contact_an_ecg_pause_is_the_heart():
    # 0.8-s beats and no beat for 4 s, then 3 s (a lifted finger, or the heart pausing)
    rr = np.r_[[0.8] * 30, 4.0, [0.8] * 30, LOST_GAP_S, [0.8] * 30]
    t = _beats(rr)
    ppg = heart_summary(t, np.ones(len(t)), t[-1])
    ecg = heart_summary(t, np.ones(len(t)), t[-1], cycles=True)
    assert abs(ppg["bpm"] - 75.0) < 1e-9 and ppg["lost_contact_s"] == 7.0
    assert [round(w["bpm"], 6) for w in ppg["windows"]] == [75.0] * len(ppg["windows"])
    assert abs(ecg["bpm"] - 60 * len(rr) / rr.sum()) < 1e-9  # beats per minute that happened


def test_sick_sinus_pauses_stay_in_an_ecg_rate():
    # QT Database sel232 (tuning): 8 pauses of 3 s or more between our beats; its rate is
    # the mean of every interval (56.3 bpm), 64.3 without them
    x, fs = record_data(need("qtdb-sel232"))
    b = waveform_peaks(x, fs, "ecg")
    rr = np.diff(b.idx / fs)
    assert np.sum(rr >= LOST_GAP_S) >= 5
    s = heart_summary(b.idx / fs, b.sqi, len(x) / fs, cycles=True)
    assert s["bpm"] == 60000.0 / float(np.mean(rr * 1000.0))
