"""Issue 19 (red team): a weak pulse on a 10-bit seat board spans only a few ADC codes
(cold fingers, a loose clip), and the detector lost most of its beats there."""

import numpy as np
import pytest
from scipy import signal

from empathy.edge.beat_score import Match, beat_match, peer_beats, reference
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import peer_cache_dir, record_data
from corpus_records import need
from streamed import streamed


def _codes(x, fs: float, height: float, drift: float = 0.0, noise: float = 0.0,
           seed: int = 0) -> np.ndarray:
    """x scaled so its pulse spans `height` ADC codes, on a slow breathing drift of `drift`
    codes, with `noise` codes (rms) of the ADC's own, rounded to integers like the ADC."""
    hp = signal.sosfiltfilt(signal.butter(2, 0.5, "highpass", fs=fs, output="sos"), x)
    t = np.arange(len(x)) / fs
    y = (x - np.median(x)) * height / np.subtract(*np.percentile(hp, [97, 3])) + 512
    noise = np.random.default_rng(seed).normal(0.0, noise, len(x)) if noise else 0.0
    return np.round(y + drift * np.sin(2 * np.pi * 0.2 * t) + noise)


@pytest.mark.parametrize("height", [8, 10])
def test_a_pulse_a_few_adc_codes_high_keeps_its_beats(height):
    """heartpy-data (tuning) at 8 and 10 codes with a 3-code breathing drift: 1 and 5 of its
    24 beats were found (a pulse had to rise 10 of the ADC's steps); NeuroKit2 finds them
    all. Scored against the record's own consensus, on the unquantised signal."""
    x, fs = record_data(need("heartpy-data"))
    ref = reference(peer_beats(x, fs, "ppg", peer_cache_dir()))
    q = _codes(x, fs, height, drift=3.0)
    ours = waveform_peaks(q, fs, "ppg")
    m = beat_match(ref, ours.idx / fs)
    assert m.fn <= 1 and m.fp <= 1, m  # (at 10 codes a dicrotic wave 0.36 s after 18.03 s)
    assert np.array_equal(streamed(q, fs, "ppg", seed=3, longest=200).idx, ours.idx)


def test_a_noisy_pulse_a_few_adc_codes_high_keeps_most_of_its_beats():
    """The same with the ADC's own noise (0.5 code rms before rounding, seeds 0-3): its
    rises zig-zag like a flat line's flicker, but keep the pulse's rhythm. 145 of 192 beats
    were missed at 8 and 10 codes (12-16 of 24 at 10, as the red team found); NeuroKit2
    misses none."""
    x, fs = record_data(need("heartpy-data"))
    ref = reference(peer_beats(x, fs, "ppg", peer_cache_dir()))
    m = sum((beat_match(ref, waveform_peaks(_codes(x, fs, h, 3.0, 0.5, seed), fs, "ppg").idx / fs)
             for h in (8, 10) for seed in range(4)), Match(0, 0, 0))
    assert m.fn <= 32 and m.fp == 0, m  # (25 since; 11 since the beats placed keep the rhythm)


def test_beats_placed_between_a_noisy_weak_pulses_small_rises_keep_its_rhythm():
    """systole-ppg and pyphysio-bvp (tuning) at 10 codes on a 3-code drift with 0.5 code of
    noise (seeds 0-2): 147 and 86 beats were missed (NeuroKit2: 2 and 0). Most were small
    rises refused as flicker because the 3 rises before them were not at even intervals:
    the pulses between whose rise cleared 10 steps were placed but not counted, so the
    intervals read as one beat and two. The beats placed count now: 91 and 39 missed, no
    extra beat more (0 and 5)."""
    for name, most, extra in (("systole-ppg", 91, 0), ("pyphysio-bvp", 39, 5)):
        x, fs = record_data(need(name))
        ref = reference(peer_beats(x, fs, "ppg", peer_cache_dir()))
        qs = [_codes(x, fs, 10, 3.0, 0.5, seed) for seed in range(3)]
        m = sum((beat_match(ref, waveform_peaks(q, fs, "ppg").idx / fs) for q in qs),
                Match(0, 0, 0))
        assert m.fn <= most and m.fp <= extra, (name, m)
    np.testing.assert_array_equal(streamed(qs[0], fs, "ppg", seed=5, longest=300).idx,
                                  waveform_peaks(qs[0], fs, "ppg").idx)


def test_a_flat_line_stepping_with_a_slow_drift_gives_no_pulses():
    """No contact, no flicker: a rounded flat line that wanders a few codes steps by one code
    now and then; the band-pass answers each step, and that is no pulse."""
    fs = 100.0
    t = np.arange(int(30 * fs)) / fs
    flat = np.round(512 + 3 * np.sin(2 * np.pi * 0.2 * t) + 2 * np.sin(2 * np.pi * 0.07 * t))
    assert len(waveform_peaks(flat, fs, "ppg").idx) == 0
