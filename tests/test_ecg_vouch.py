"""edge/ecg_vouch.py on a real sinus ECG: its beats vouch for each other, and a rounded wave
taken for a beat (electrode motion's) withholds HR over the windows that hold it."""

import numpy as np

from corpus_records import need
from empathy.edge.ecg_vouch import ShapeVouch
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data

WINDOW_S = 8.0


def sinus(span_s: float = 60.0):
    x, fs = record_data(need("mitdb-100"))
    x = x[:int(span_s * fs)]
    return x, fs, waveform_peaks(x, fs, "ecg").idx


def doubts(x, fs, idx) -> list[float]:
    """The estimate times (s, one a second from 10 s) at which the window is doubted, the
    beats given in order as a seat would."""
    v, out, k = ShapeVouch(fs, 60.0), [], 0
    for now in np.arange(10.0, len(x) / fs, 1.0):
        ready = idx[k:][idx[k:] / fs <= now]
        v.add(x, ready, ready / fs * 1e6)
        k += len(ready)
        if v.doubt(now * 1e6, WINDOW_S):
            out.append(float(now))
    return out


def test_a_clean_sinus_ecg_is_vouched_for():
    x, fs, idx = sinus()
    assert doubts(x, fs, idx) == []


def test_a_rounded_wave_between_beats_withholds_the_windows_that_hold_it():
    x, fs, idx = sinus()
    a, b = idx[30], idx[31]
    at = (a + b) // 2
    w = int(0.12 * fs)  # a rounded wave half as tall as the R wave, 120 ms wide
    y = x.copy()
    y[at - w // 2:at - w // 2 + w] += 0.5 * np.ptp(x[a - 20:a + 20]) * np.hanning(w)
    t = at / fs
    got = doubts(y, fs, np.sort(np.append(idx, at)))
    assert got and min(got) >= t and max(got) < t + WINDOW_S + 1, (t, got)


def test_a_spike_as_steep_as_the_qrs_is_not_doubted():
    """A one-sample spike as tall as the QRS, like no beat, is not rounded: the rule asks
    both (the detector and the lone-beat evidence judge spikes)."""
    x, fs, idx = sinus()
    a, b = idx[30], idx[31]
    at = (a + b) // 2
    y = x.copy()
    y[at] += np.ptp(x[a - 20:a + 20])
    assert doubts(y, fs, np.sort(np.append(idx, at))) == []
