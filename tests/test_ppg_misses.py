"""Pulses our PPG detector missed on the tuning records, each against a reference that can
tell (issue 19, session 21): pyphysio-bvp was recorded with an ECG (pyphysio-ecg), so
where a pulse must be is the R peak plus the record's pulse transit time, not the PPG
peers' vote."""

import numpy as np

from empathy.edge.beat_score import peer_beats, reference
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import peer_cache_dir, record_data
from corpus_records import need


def _r_peaks_and_transit(ppg_s: np.ndarray) -> tuple[np.ndarray, float]:
    """pyphysio-ecg's R peaks (its peers' consensus) and the median time from an R peak to
    the next of `ppg_s` (the finger's pulse transit time, with our beats on the peaks)."""
    x, fs = record_data(need("pyphysio-ecg"))
    r = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    nxt = np.searchsorted(ppg_s, r)
    ok = nxt < len(ppg_s)
    return r, float(np.median(ppg_s[nxt[ok]] - r[ok]))


def test_a_pulse_under_a_falling_baseline_is_found_by_search_back():
    """pyphysio-bvp, 70.5-72.1 s: the hand moves, and the pulse at 71.33 s (the R peak at
    70.96 s plus the record's 0.36-s transit) stands on motion's falling swing, its
    band-passed peak under zero: search-back found none in a gap of two beats (the PPG
    peers' consensus puts its beat at 71.12 s, 0.21 s early). Its rise from the trough
    before was tried as search-back's height everywhere (session 21: under the tuning aid's
    motion more extra beats than pulses); it counts only where the pulse splits the gap into
    two of the rhythm's intervals (heart_gates._even_split)."""
    x, fs = record_data(need("pyphysio-bvp"))
    t = waveform_peaks(x, fs, "ppg").idx / fs
    r, transit = _r_peaks_and_transit(t)
    assert 0.3 < transit < 0.4
    at = r[np.argmin(np.abs(r - 70.96))] + transit
    assert abs(at - 71.33) < 0.02
    assert np.min(np.abs(t - at)) <= 0.05, f"no beat at {at:.2f} s"
