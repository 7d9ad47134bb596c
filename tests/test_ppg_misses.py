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
    two of the rhythm's intervals (ppg_search._even_split)."""
    x, fs = record_data(need("pyphysio-bvp"))
    t = waveform_peaks(x, fs, "ppg").idx / fs
    r, transit = _r_peaks_and_transit(t)
    assert 0.3 < transit < 0.4
    at = r[np.argmin(np.abs(r - 70.96))] + transit
    assert abs(at - 71.33) < 0.02
    assert np.min(np.abs(t - at)) <= 0.05, f"no beat at {at:.2f} s"


def test_search_back_after_a_found_beat_starts_the_rhythm_over_does_not_fail():
    """A clipped random walk turned over (bench/ppg_noise_seat's seed 182 at 25 Hz, as a
    seat may orient it): a beat search-back found came after a silence and started the
    rhythm over, and the even-split test then took the median of no intervals (IndexError)
    on the search's next beat; it reads the search's own interval now."""
    from empathy.bench.ppg_noise_seat import random_walk

    from streamed import streamed

    x = -random_walk(182, 25, True)
    whole = waveform_peaks(x, 25, "ppg")
    for a, b in zip(streamed(x, 25, "ppg", 3, 50), whole):  # (and in chunks alike)
        np.testing.assert_array_equal(a, b)
