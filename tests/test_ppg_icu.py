"""The BIDMC ICU tuning records' missed and extra pulses (issue 19, session 21), each judged
against its simultaneous ECG: where the pulse of an R peak must be is the R peak plus the
record's own transit (the monitor delays the PLETH 0.55-0.75 s), not the PPG peers' vote."""

import numpy as np
import pytest

from empathy.edge.beat_score import peer_beats, t_wave_free
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (annotated_beats, peer_cache_dir, record_data,
                                        reference_lead, trusted_spans)
from corpus_records import need
from streamed import streamed

SHORTEST_TRANSIT_S = 0.15  # a finger pulse comes at least this long after its R peak


def _beats(name: str) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray]:
    """(R peaks less T waves, our beats, the PPG peers' beats, the record's PPG) in s."""
    rec = need(name)
    x, fs = record_data(rec)
    r = t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)[0]
    peers = {k: b for k, b in peer_beats(x, fs, "ppg", peer_cache_dir()).items() if b is not None}
    return r, waveform_peaks(x, fs, "ppg").idx / fs, peers, x


def _transit(r: np.ndarray, beats: np.ndarray) -> float:
    """The median time from an R peak to the first beat past the shortest transit: the
    pulse of that R peak (the one before it may land just after it here)."""
    k = np.searchsorted(beats, r + SHORTEST_TRANSIT_S)
    ok = k < len(beats)
    return float(np.median(beats[k[ok]] - r[ok]))


def test_a_weak_pulse_two_beats_after_the_one_before_an_early_beat_is_a_beat():
    """bidmc-12, 212-214.5 s: the PLETH's baseline swings, a wave 0.31 s after the pulse at
    212.37 s is taken for a beat (212.68 s), and the pulse of the R peak at 213.10 s
    (213.68 s, which NeuroKit2, MSPTDfast and HeartPy all find) is under the height gate and
    1.6 intervals after that early beat, so out of the rhythm; it is two intervals after
    the pulse before the early beat, as a pulse after a compensatory pause is."""
    r, ours, peers, _ = _beats("bidmc-12")
    at = r[np.argmin(np.abs(r - 213.10))] + _transit(r, ours)
    assert abs(at - 213.68) < 0.03
    assert all(np.min(np.abs(b - at)) <= 0.05 for b in peers.values())
    assert np.min(np.abs(ours - at)) <= 0.05, f"no beat at {at:.2f} s"



@pytest.mark.xfail(strict=True, reason=(
    "searched from the beat before an early one (where the gap from the early beat is under "
    "1.66 intervals but from the one before it is not) it is found, but motion's beats at "
    "twice the heart rate are early too: ppg_artefacts --motion, 5 seeds, pyphysio-bvp 90 -> "
    "86 missed, 104 -> 107 extra (10 seeds: pyphysio-bvp 163 -> 158 and 197 -> 202, "
    "bsn-bvp-rest 39 -> 41 extra), over test_ppg_motion_bursts' bounds; wrist-s1-low-bike "
    "and wrist-s2-walk one extra beat each; not taken"))
def test_search_back_counts_the_gap_from_the_beat_before_an_early_one():
    """bidmc-12, 212.4-213.7 s: after the early wave taken for a beat at 212.68 s the pulse
    of the R peak at 212.46 s (213.03 s; all three PPG peers find it) opened no block, and
    the gap from the early beat to the next pulse is 1.6 intervals, too short to search;
    from the pulse before the early beat it is 2.1."""
    r, ours, peers, _ = _beats("bidmc-12")
    at = r[np.argmin(np.abs(r - 212.46))] + _transit(r, ours)
    assert abs(at - 213.03) < 0.03
    assert all(np.min(np.abs(b - at)) <= 0.05 for b in peers.values())
    assert np.min(np.abs(ours - at)) <= 0.05, f"no beat at {at:.2f} s"

def test_search_back_works_while_the_height_reference_starts_over():
    """bidmc-12, 203-207 s: the PLETH's pulses shrink under a swinging baseline; two weak
    pulses let in by the rhythm and a tall one 1.85 s after the last tall beat start the
    height reference over (as after motion), and search-back, which asked for three heights,
    stayed off for the two gaps after it (1.96 and 2.01 intervals): the pulses of the R
    peaks at 204.91 and 206.14 s were lost, though the rhythm was still known; NeuroKit2
    and MSPTDfast find both (HeartPy the second)."""
    r, ours, peers, _ = _beats("bidmc-12")
    transit = _transit(r, ours)
    for t in (204.91, 206.14):
        at = r[np.argmin(np.abs(r - t))] + transit
        assert all(np.min(np.abs(peers[k] - at)) <= 0.15 for k in ("NeuroKit2", "NK2 MSPTDfast"))
        assert np.min(np.abs(ours - at)) <= 0.15, f"no beat near {at:.2f} s"


def test_a_weak_pulse_on_a_falling_baseline_that_splits_the_gap_evenly_is_a_beat():
    """bidmc-12, 201.7-203.1 s: the PLETH falls from the pulse at 201.74 s to the one at
    203.02 s and the pulse of the R peak at 201.80 s (202.38 s; NeuroKit2, MSPTDfast and
    HeartPy all find it) is a small bump on that fall: band-passed, its peak stands at 0.035
    of the recent heights, under search-back's tenth, though it lies one interval after the
    beat before and one before the next, as the ECG's steady R peaks (0.62-0.63 s) do."""
    r, ours, peers, _ = _beats("bidmc-12")
    i = int(np.argmin(np.abs(r - 201.80)))
    assert np.ptp(np.diff(r[i - 2:i + 3])) < 0.03  # a steady rhythm around it
    at = r[i] + _transit(r, ours)
    assert abs(at - 202.38) < 0.03
    assert all(np.min(np.abs(b - at)) <= 0.05 for b in peers.values())
    assert np.min(np.abs(ours - at)) <= 0.05, f"no beat at {at:.2f} s"


@pytest.mark.parametrize("name", ["bidmc-12", "wrist-s2-walk", "pyphysio-bvp"])
def test_streaming_the_records_these_rules_move_gives_the_batch_beats(name):
    """The beat before an early one and the heights kept are stream state: chunks of any
    size must give the batch's beats (the two records whose beats these rules moved)."""
    x, fs = record_data(need(name))
    whole = waveform_peaks(x, fs, "ppg")
    for seed, longest in ((5, 4), (6, int(3 * fs))):
        for a, b in zip(streamed(x, fs, "ppg", seed, longest), whole):
            np.testing.assert_array_equal(a, b)


def test_bidmc_04s_beats_with_no_pulse_are_early_beats_no_detector_finds_a_pulse_after():
    """bidmc-04's misses are the heart's: its ECG has wide premature complexes (PVCs) and
    the PLETH shows no pulse after them, only a long fall to a taller pulse after the pause.
    The count's rule (bench/ppg_pulse_deficit: no PPG peer has a pulse where its transit
    puts one) finds only such beats: each follows an interval under 0.9 of the median of the
    9 around it, and ours has no beat there either."""
    from empathy.bench.ppg_pulse_deficit import no_pulse

    r, ours, peers, _ = _beats("bidmc-04")
    gone = no_pulse(r, trusted_spans(need("bidmc-04")), peers)
    assert len(gone) >= 5
    iv = np.diff(r)
    transit = _transit(r, ours)
    for t in gone:
        i = int(np.argmin(np.abs(r - t)))
        assert iv[i - 1] < 0.9 * np.median(iv[max(0, i - 5):i + 4]), t
        assert np.min(np.abs(ours - (t + transit))) > 0.15, t
