"""The PPG beat detector on tuning records (issue 19: heart signals that hold on messy
bodies), and the tuning aid that lays motion-like artefacts on clean tuning PPG."""

from functools import cache

import numpy as np
import pytest

from empathy.edge.beat_score import beat_match, peer_beats, reference
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import peer_cache_dir, record, record_data
from empathy.edge.ppg_artefacts import CLEAN, NOISE, _f1, _noise_bank, corrupt, score
from empathy.edge.signal_sims import pulse_train
from corpus_records import need
from streamed import streamed


# Each record's beats and each artefact score once for the module (read only): three
# tests ask for the same record, two for the same score.
@cache
def _ref_and_ours(name):
    x, fs = record_data(need(name))
    return reference(peer_beats(x, fs, "ppg", peer_cache_dir())), waveform_peaks(x, fs, "ppg")


@cache
def _score(detectors=("ours",), **kind):
    """score(5 seeds, **kind) of the detectors these tests read (HeartPy's none)."""
    return score(5, detectors=detectors, **kind)


def _consensus_beats_found(name, at):
    """Each time in `at` is a consensus beat, and ours has a beat within ±150 ms of it."""
    ref, ours = _ref_and_ours(name)
    x, fs = record_data(record(name))
    t = ours.idx / fs
    for a in at:
        assert np.min(np.abs(ref - a)) <= 0.05  # (a consensus beat)
        assert np.min(np.abs(t - a)) <= 0.15, f"{name}: no beat at {a} s"


# (pyphysio-bvp's 69.24 s was here too; its ECG puts no pulse there, 0.03 s after an R peak
# where the finger's transit is 0.36 s: the pulses are at 68.61 and 69.57 s, both missed
# under the hand's motion; test_ppg_misses.py)
@pytest.mark.parametrize("name, at", [("heartpy-data2", (103.0, 103.97)),
                                      ("systole-ppg", (240.46,))])
def test_a_weak_pulse_where_the_rhythm_puts_it_is_a_beat(name, at):
    """Pulses a sixth to a third of the recent heights, 0.9-1.4 beat intervals after the
    last beat, fell under the 0.4 height gate (after motion-tall or breathing-tall pulses)
    where NeuroKit2 and the consensus have them; ours has them now."""
    _consensus_beats_found(name, at)


@pytest.mark.xfail(strict=True, reason=(
    "heartpy-data2's sensor is loose for its first 45 s: after motion's swings (25-27.6 s, "
    "beats placed on them) its pulses come back a tenth as tall, and fail the rise check "
    "against motion's rises (the heights' reference starts over 1.5 s after the last beat, "
    "the rises' after 4 s). Starting the rises over with the heights found 29.36 and 30.46 s "
    "(F1 0.920 -> 0.925, HR -4.4 -> -3.0 bpm) but placed 30.88 s for 31.27 s, and three "
    "of the loose start's beats were then counted ectopic (test_ectopic_beats: 1 -> 4): "
    "detector errors reported as the heart's rhythm; not taken"))
def test_weak_pulses_after_a_loose_start_are_not_held_to_its_motion():
    """heartpy-data2's weak pulses at 29.36 and 30.46 s (consensus beats) after its loose
    start's motion."""
    _consensus_beats_found("heartpy-data2", (29.36, 30.46))


def test_pulses_right_after_simulated_motion_are_found():
    """After motion (signal_validation's simulated PPG, seeds 0-9, motion 40-60 s or 30-40
    and 70-85 s), the heights were motion's, and the gate started over only 2 s after the
    last beat: 20 pulses 2-8 s after the motion were lost (seeds 0-29: 54). A pulse where
    the rhythm puts it is let in now, and doesn't put off that start-over (3; seeds 0-29: 5)."""
    missed = 0
    for seed in range(10):
        for motion in (((40, 60),), ((30, 40), (70, 85))):
            x, truth = pulse_train(120, 100.0, motion=motion, seed=seed)
            t = waveform_peaks(x, 100.0, "ppg").idx / 100.0
            after = np.any([(truth > b + 2) & (truth < b + 8) for _, b in motion], axis=0)
            missed += sum(np.min(np.abs(t - v)) > 0.05 for v in truth[after])
    assert missed <= 3


def test_a_pulse_of_small_rise_where_the_rhythm_puts_it_is_a_beat():
    """systole-ppg's pulse at 154.75 s (a consensus beat, 0.8 s after the last) rises 0.13 of
    the recent pulses' rise, under the 0.2 a ripple on a trough is told from a pulse by, and
    was dropped; so were pulses weakened after motion (ppg_artefacts --motion, 5 seeds: 205
    missed on systole-ppg). Where the rhythm puts the next beat a pulse needs only RISE_RHYTHM
    (0.1) of the rise: found, and 198 missed under motion, one extra beat more (since two
    intervals on is the rhythm's place too, pulse_in_rhythm: 176 missed, 369 extra)."""
    _consensus_beats_found("systole-ppg", (154.75,))
    tp, fp, fn = _score(motion=True)["systole-ppg"]["ours"]
    assert fn <= 200 and fp <= 369


@pytest.mark.parametrize("name, at", [("heartpy-data3", (227.45,)),
                                      ("systole-ppg", (176.19,))])
def test_pulses_after_a_drop_out_to_the_floor_are_found(name, at):
    """The signal sits at its floor for 0.1-0.6 s now and then (data3.csv: 154.7-155.0 s,
    226.5-226.9 s; systole-ppg: 175.0-175.2 s); for a second after it the band-passed signal
    is mostly the filter's answer to the return, a step of pulse heights, and a pulse in the
    rhythm's place there opened no block (data3's, clipped at the top) or fell under the
    height gate (systole's), in a gap under the 1.66 intervals search-back looked at. Across
    a drop-out it looks from 1.3 on, and reads the raw waveform where the band-passed one
    shows no peak. (data3's 155.85 s, found so too, is lost again since the filter restarts
    after a drop-out (ppg_floor): its return is the foot of a pulse, the restart settles
    there, and the step to the pulses' level keeps that pulse's block shut, 0.34 s after
    the one at 155.51 s; the beat at 155.24 s goes with it. Kept for ppg_artefacts
    --dropouts, 10 seeds: misses 28 -> 20, 40 -> 13, 2 -> 0, extra beats 6 -> 5, 16 -> 8,
    1 -> 0.)"""
    _consensus_beats_found(name, at)


def test_drop_outs_laid_on_clean_tuning_ppg_cost_fewer_pulses():
    """The aid's drop-outs (ppg_artefacts --dropouts, 5 seeds) on systole-ppg: 62 pulses
    around them were missed (NeuroKit2: 17), 7 extra; across a drop-out search-back now
    finds 20 of them, with no extra beat."""
    tp, fp, fn = _score(dropouts=True)["systole-ppg"]["ours"]
    assert fn <= 45 and fp <= 7


def test_a_dicrotic_wave_sooner_than_the_rhythm_is_still_no_beat():
    """HeartPy's data.csv: ten second waves at 0.71-0.77 beat intervals after a pulse, a
    quarter of its height: under the height gate and too soon for the rhythm's place."""
    ref, ours = _ref_and_ours("heartpy-data")
    x, fs = record_data(record("heartpy-data"))
    m = beat_match(ref, ours.idx / fs)
    assert (m.fp, m.fn) == (0, 0)


@pytest.mark.parametrize("name", ["heartpy-data2", "pyphysio-bvp"])
def test_streaming_the_weak_pulse_records_gives_the_batch_beats(name):
    x, fs = record_data(need(name))
    whole = waveform_peaks(x, fs, "ppg")
    got = streamed(x, fs, "ppg", 3, int(2 * fs))
    for a, b in zip(got, whole):
        np.testing.assert_array_equal(a, b)


def test_the_artefact_aid_takes_tuning_records_only_and_keeps_the_clean_signal_between():
    for name in CLEAN + NOISE:
        assert not need(name).held_out
    x, fs = record_data(need("systole-ppg"))
    y, spans = corrupt(x, fs, np.random.default_rng(0), _noise_bank())
    assert len(spans) >= 10 and {k for _, _, k in spans} == {"wrist", "jump", "clip"}
    hit = np.zeros(len(x), bool)
    for a, e, kind in spans:
        hit[int(a * fs):int(np.ceil(e * fs))] = True
        seg = y[int(a * fs) + 1:int(e * fs) - 1]
        assert np.any(seg != x[int(a * fs) + 1:int(e * fs) - 1])
        if kind == "clip":  # the range cuts the jump: a flat stretch at the top or bottom
            assert np.sum((seg == seg.max()) | (seg == seg.min())) > 0.05 * fs
    np.testing.assert_array_equal(y[~hit], x[~hit])


def test_on_clean_tuning_ppg_with_artefacts_ours_is_no_worse_than_neurokit2():
    """A guard, not a validation (the damage is made up): inside the artefacts' windows,
    over 5 seeds, our F1 is at least NeuroKit2's on each clean tuning record."""
    for name in CLEAN:
        need(name)
    for name, rows in _score(("ours", "NeuroKit2")).items():
        assert _f1(*rows["ours"]) >= _f1(*rows["NeuroKit2"]), name


def test_the_first_pulse_after_a_return_from_the_floor_is_searched_for_sooner():
    """After a drop-out to the floor the return's step made a beat of its own (the filter's
    answer to it) and held the beat-wide average up, so the pulse 0.3-0.6 s after it opened
    no block, and search-back looked for it a whole interval after the return: on systole-ppg
    (drop-out 23.08-23.61 s, seed 0) the pulse at 24.20 s was lost, as 42 pulses were over
    5 seeds (NeuroKit2: 17) and 28 on pyphysio-bvp (NeuroKit2: 11). After a return the
    search starts at the refractory time now: 18 and 20, one extra beat more."""
    x, fs = record_data(need("systole-ppg"))
    from empathy.edge.ppg_artefacts import drop_out

    y, spans = drop_out(x, fs, np.random.default_rng(0))
    assert any(abs(e - 23.61) < 0.01 for _, e in spans)
    whole = waveform_peaks(y, fs, "ppg").idx
    assert np.min(np.abs(whole / fs - 24.20)) <= 0.05
    # streamed in any chunks, the same beats
    np.testing.assert_array_equal(streamed(y, fs, "ppg", 4, int(2 * fs)).idx, whole)
    res = _score(dropouts=True)
    assert res["systole-ppg"]["ours"][2] <= 20 and res["systole-ppg"]["ours"][1] <= 7
    assert res["pyphysio-bvp"]["ours"][2] <= 22 and res["pyphysio-bvp"]["ours"][1] <= 2


@pytest.mark.xfail(strict=True, reason=(
    "tried, not kept: ending the weak run where a tall candidate takes a weak beat's place "
    "(heart_gates._taller_wins) drops 55.39 s (F1 0.920 -> 0.924; shown HR -1.7 -> -2.3 "
    "against a consensus that holds non-pulse waves) but adds an extra beat on "
    "wrist-s1-low-bike (24.44 s; 0.493 -> 0.490) and, under hand motion "
    "(ppg_artefacts --motion, 10 seeds), pyphysio-bvp misses 161 -> 164 (extra 198 -> 199): "
    "a motion wave that replaces a weak pulse then keeps motion's heights; also with the "
    "replacement no taller than the recent heights (163, 199)"))
def test_a_weak_beat_a_pulse_replaced_does_not_start_the_height_gate_over():
    """heartpy-data2, 54.5-55.5 s: a small wave 0.2 s before the pulse at 54.77 s came where
    the rhythm puts the beat and was let in as a weak beat; the pulse, taller within the
    refractory time, took its place, but the stream still counted the silence from the beat
    before the weak one (53.77 s), so at 55.43 s, 1.66 s on, the height gate started over
    and a bump 0.62 s after the pulse, a third of its height, became a beat (55.39 s; no
    peer and no consensus beat there). A weak beat replaced by a tall one ends the weak run."""
    ref, ours = _ref_and_ours("heartpy-data2")
    x, fs = record_data(record("heartpy-data2"))
    t = ours.idx / fs
    assert np.min(np.abs(t - 54.77)) <= 0.05 and np.min(np.abs(t - 55.79)) <= 0.05
    assert np.min(np.abs(ref - 55.39)) > 0.3  # (no consensus beat near it)
    assert not np.any((t > 55.1) & (t < 55.6)), np.round(t[(t > 55.1) & (t < 55.6)], 2)
