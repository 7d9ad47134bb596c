"""PPG beats under bursts of hand motion laid on clean tuning PPG (ppg_artefacts --motion):
the aid itself, and the pulses the detector lost there while NeuroKit2 kept them."""

import numpy as np
from scipy import signal

from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from empathy.edge.ppg_artefacts import CLEAN, MOTION_BAND_HZ, score, shake
from corpus_records import need
from streamed import streamed


def test_the_motion_aid_takes_tuning_records_only_and_keeps_the_clean_signal_between():
    for name in CLEAN:
        assert not need(name).held_out
    x, fs = record_data(need("systole-ppg"))
    y, spans = shake(x, fs, np.random.default_rng(0))
    assert len(spans) >= 10
    hit = np.zeros(len(x), bool)
    for a, e in spans:
        assert 2.0 <= e - a <= 10.0 + 1 / fs
        hit[int(a * fs):int(np.ceil(e * fs))] = True
    np.testing.assert_array_equal(y[~hit], x[~hit])
    # what was laid on is a hand's motion (and the pulse's change), not sensor noise: its
    # power lies under 1.5 times the motion band's top, and it is pulse-sized
    d = (y - x)[hit]
    f, p = signal.welch(d, fs, nperseg=int(8 * fs))
    assert p[f <= 1.5 * MOTION_BAND_HZ[1]].sum() >= 0.95 * p.sum()
    amp = np.percentile(x, 95) - np.percentile(x, 5)
    assert 0.1 * amp <= np.std(d) <= 5 * amp


def test_pulses_under_motion_whose_upstroke_ends_the_refine_window_are_found():
    """Under motion the band-passed peak came well before the raw pulse's top, the refine
    window ended on its upstroke, and the candidate was dropped as a slope: over 5 seeds of
    motion bursts 102 pulses were missed on pyphysio-bvp (NeuroKit2: 65) and 224 on
    systole-ppg (NeuroKit2: 170). Such a candidate is looked for as far as a search-back
    beat now, the rise check still judging it: 95 and 206, extra beats 103 and 365 (353)."""
    for name in CLEAN:
        need(name)
    res = score(5, motion=True)
    tp, fp, fn = res["pyphysio-bvp"]["ours"]
    assert fn <= 96 and fp <= 105
    tp, fp, fn = res["systole-ppg"]["ours"]
    assert fn <= 210 and fp <= 370


def test_the_height_gate_starts_over_soon_after_motion():
    """After a burst of motion (systole-ppg, seed 0, 306.4-311.5 s) the heights the gate goes by
    were motion's, and the pulses after it (311.93 and 312.65 s, a third and a quarter of
    those heights, 2.2 and 4.4 of motion's short intervals after the last beat) fell under
    the gate until 2 s without a beat started it over; NeuroKit2, which has no such gate,
    found them. PPG starts over after 1.5 s: found, and over 5 seeds the misses under
    motion fall from 95 to 94 on pyphysio-bvp and from 198 to 189 on systole-ppg."""
    x, fs = record_data(need("systole-ppg"))
    y, spans = shake(x, fs, np.random.default_rng(0))
    assert any(a < 311 and 309 < e < 311.9 for a, e in spans)
    whole = waveform_peaks(y, fs, "ppg").idx
    for a in (311.93, 312.65):
        assert np.min(np.abs(whole / fs - a)) <= 0.05, a
    # streamed in any chunks, the same beats (the rise check goes by the rhythm of the
    # beats placed, not the gates', which run ahead as far as a chunk lets them)
    np.testing.assert_array_equal(streamed(y, fs, "ppg", 5, int(2 * fs)).idx, whole)
    res = score(5, motion=True)
    assert res["pyphysio-bvp"]["ours"][2] <= 94 and res["pyphysio-bvp"]["ours"][1] <= 105
    # (369: pulse_in_rhythm's two extra beats, for 13 fewer misses; see the test below)
    assert res["systole-ppg"]["ours"][2] <= 190 and res["systole-ppg"]["ours"][1] <= 370


def test_pulses_two_of_motions_intervals_after_the_last_beat_are_in_the_rhythm():
    """A swing near twice the heart rate (systole-ppg, seed 0, the burst at 272.8-280.7 s) had
    the beats placed at motion's intervals (0.41 s), their rises its too; the four pulses
    after it (281.27-283.76 s, 0.8 s apart, weakened: rises a fifth of motion's) were
    under RISE_MIN and not where that rhythm put the next beat, and were dropped until 4 s
    without a beat started the rises over; NeuroKit2 found them. One interval or two on
    is the rhythm's place now (pulse_in_rhythm): found, and over 5 seeds the misses under
    motion fall from 94 to 91 on pyphysio-bvp and from 189 to 176 on systole-ppg, extra
    beats 104 -> 104 and 367 -> 369. (Then 105 on pyphysio-bvp: its pulse at 71.33 s, which
    the ECG confirms and the aid's truth, the peers' consensus, puts 0.21 s early; see
    test_ppg_misses.)"""
    x, fs = record_data(need("systole-ppg"))
    y, spans = shake(x, fs, np.random.default_rng(0))
    assert any(270 < a and 279 < e < 281 for a, e in spans)
    whole = waveform_peaks(y, fs, "ppg").idx
    for a in (281.27, 282.11, 282.97, 283.76):
        assert np.min(np.abs(whole / fs - a)) <= 0.05, a
    np.testing.assert_array_equal(streamed(y, fs, "ppg", 7, int(2 * fs)).idx, whole)
    res = score(5, motion=True)
    assert res["pyphysio-bvp"]["ours"][2] <= 91 and res["pyphysio-bvp"]["ours"][1] <= 105
    assert res["systole-ppg"]["ours"][2] <= 176 and res["systole-ppg"]["ours"][1] <= 369
