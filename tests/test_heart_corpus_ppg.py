"""What issue 19 found on real PPG: first and last pulses, ripples, small pulses, a loose
sensor's flat line, the clipped logger, drop-outs."""


import numpy as np
import pytest

from empathy.edge.beat_score import (beat_match, bpm, peer_beats, plausible_rate, reference,
                                     shown_rate)
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import peer_cache_dir, record_data
from empathy.edge.heart_validation import score_record
from empathy.edge.hrv import heart_summary
from corpus_records import need
from streamed import streamed
from heart_corpus_common import ours_and_best_peer


def test_a_first_pulse_inside_the_detectors_warm_up_is_found_streaming_or_not():
    """pyphysio's BVP: its first pulse (0.28 s) comes before the energy averages are full;
    the look-back finds it, and chunks don't change that. At its true rate (2048 Hz) only
    HeartPy finds that pulse (NeuroKit2's finders begin at 1.2 s; at 1024 Hz both of them
    had found it, at 0.56 s), so HeartPy's is the reference here."""

    x, fs = record_data(need("pyphysio-bvp"))
    x = x[:int(20 * fs)]
    first = peer_beats(x, fs, "ppg", peer_cache_dir())["HeartPy"][0]
    assert first < 1.0
    batch = waveform_peaks(x, fs, "ppg")
    assert abs(batch.idx[0] / fs - first) < 0.15
    assert np.array_equal(streamed(x, fs, "ppg", 0, int(fs)).idx, batch.idx)


def test_a_last_pulse_whose_block_is_still_open_at_the_end_is_found():
    """Systole's PPG ends 0.1 s after its last pulse's peak, before the energy falls back
    under the threshold: the block still open at the end is closed by finish()."""
    x, fs = record_data(need("systole-ppg"))
    x = x[-int(30 * fs):]
    last = reference(peer_beats(x, fs, "ppg", peer_cache_dir()))[-1]
    assert len(x) / fs - last < 0.3
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    assert abs(ours[-1] - last) < 0.15


def test_ppg_ripples_on_troughs_are_not_beats():
    """pyphysio's BVP, moving in its second half: 31 of our beats sat on ripples in the
    troughs (F1 0.853 against NeuroKit2's 0.922, HR +4.5 bpm; then read at 1024 Hz). A
    pulse rises to its peak."""
    ref, ours, best = ours_and_best_peer("pyphysio-bvp")
    assert beat_match(ref, ours).f1 >= best


def test_ppg_heart_rate_on_the_moving_bvp_is_within_1_5_bpm():
    """pyphysio's BVP at its true rate (2048 Hz): 6 pulses weakened in the moving stretch
    62-71 s and at 115 s were missed (under the height gate against motion-tall heights, or
    their raw peak past the refine window): HR -2.1 bpm."""
    ref, ours, _ = ours_and_best_peer("pyphysio-bvp")
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_small_pulses_in_a_steady_rhythm_on_systoles_ppg_are_found():
    """Systole's PPG: 12 pulses a third of the recent height, in their place in the rhythm
    (115.9, 118.7, 119.6, 153-155 s...), fell under the height gate: F1 0.981 < NeuroKit2's
    0.984, HR -1.8 bpm."""
    ref, ours, best = ours_and_best_peer("systole-ppg")
    assert beat_match(ref, ours).f1 >= best
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_a_loose_sensors_flickering_flat_line_gives_no_pulses():
    """HeartPy's data2.csv: the loose sensor's flat line (7.5-14 s, 510-518 ADC units) once
    gave a 'pulse' a second on 3-6 unit flickers (the energy detector is blind to scale):
    F1 0.831 against NeuroKit2's 0.851, HR +8.5 bpm."""
    x, fs = record_data(need("heartpy-data2"))
    flat = x[int(7.5 * fs):int(14 * fs)]
    assert flat.max() - flat.min() < 10  # (the stretch really is flat)
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    assert not np.any((ours > 7.5) & (ours < 14))
    ref, ours, best = ours_and_best_peer("heartpy-data2")
    assert beat_match(ref, ours).f1 >= best


def test_after_the_loose_start_of_heartpy_data2_ours_meets_the_goal():
    """data2.csv: HR -4.4 bpm against the whole record's consensus, which votes beats in the
    loose sensor's first 45 s (two where the signal sits flat at 0, 18-25 s). From 45 s on
    (every detector and the consensus cut alike, a peer against the others'), ours has the
    best F1 and its count-based HR is within 1.5 bpm (its shown HR is not: test below); the
    page (LOOSE_S) says so with these figures."""
    from empathy.edge.heart_page import LOOSE_S, plausible_section

    rec = need("heartpy-data2")
    x, fs = record_data(rec)
    t0 = LOOSE_S[rec.name]
    peers = peer_beats(x, fs, rec.kind, peer_cache_dir())
    k = int(0.15 * fs)  # (no change within ±150 ms: no pulse there)
    flat = [t for t in reference(peers) if t < t0 and np.ptp(x[int(t * fs) - k:int(t * fs) + k + 1]) == 0]
    assert len(flat) >= 2
    cut = {n: b[b >= t0] for n, b in peers.items() if b is not None}
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    ours = ours[ours >= t0]
    ref = reference(cut)
    assert abs(bpm(ours) - bpm(ref)) <= 1.5
    for n, b in cut.items():
        assert beat_match(ref, ours).f1 >= beat_match(reference(cut, leave_out=n), b).f1, n
    page = "\n".join(plausible_section([score_record(rec)]))
    assert f"HR err {bpm(ours) - bpm(ref):+.1f} counted" in page


def test_after_the_loose_start_of_heartpy_data2_the_page_gives_the_shown_hr_too():
    """The goal is read on the HR `signal hr` shows (issue 19's twenty-fourth pass), but the
    loose-start paragraph gave only the count-based error (ours -1.5 bpm: 'within 1.5').
    By the shown HR ours reads -2.9 there: the consensus's intervals as found hold waves
    that are no pulse (62.28 s, a bump 0.48 s after a pulse; 78.54, 78.78 and 79.70 s, motion
    between pulses 0.97 s apart), and the page must say so, for every detector alike."""
    from empathy.edge.heart_page import LOOSE_S, plausible_section

    rec = need("heartpy-data2")
    t0 = LOOSE_S[rec.name]
    r = score_record(rec)
    cut = {n: b[b >= t0] for n, b in r["beats"].items() if b is not None}
    peers = {n: b for n, b in cut.items() if n != "ours"}
    page = "\n".join(plausible_section([r]))
    for n, b in cut.items():
        ref = reference(peers, leave_out="" if n == "ours" else n)
        err = shown_rate(b, None, False) - shown_rate(ref, None, False, truth=True)
        said = page.split(f"{n} F1 {beat_match(ref, b).f1:.3f}", 1)[1].split(";")[0]
        assert f"HR err {bpm(b) - bpm(ref):+.1f} counted, {err:+.1f} shown" in said, n
    ours_err = shown_rate(cut["ours"], None, False) - shown_rate(reference(peers), None, False, truth=True)
    assert ours_err < -1.5  # (the figure the paragraph must not hide)


@pytest.mark.xfail(strict=True, reason="data3.csv: HR -2.0 bpm against the consensus (-2.0 "
                   "before issue 19's twelfth pass found 2 pulses after drop-outs, -1.9 "
                   "after; the fourteenth pass's filter restart after a drop-out lost 2 "
                   "again, 155.24 and 155.85 s); 23 of "
                   "our 25 'misses' are consensus beats 0.18-0.31 s from a neighbour that "
                   "only NK2 MSPTDfast (F1 0.71, 172 bpm here) and HeartPy found: a second "
                   "wave, not a pulse, at ~98 bpm (test below); open as the goal is written")
def test_ppg_heart_rate_on_the_clipped_logger_is_within_1_5_bpm():
    ref, ours, _ = ours_and_best_peer("heartpy-data3")
    assert abs(bpm(ours) - bpm(ref)) <= 1.5


def test_plausible_rate_counts_only_the_references_plausible_stretches():
    ref = np.arange(0, 60, 0.8)
    assert plausible_rate(ref, ref + 0.05)[:2] == pytest.approx((75.0, 75.0))
    doubled = np.sort(np.append(ref, ref[10] + 0.2))  # a second wave 200 ms after a pulse
    gap = np.delete(ref, [30, 31])  # two pulses the reference missed
    for r in (doubled, gap):
        hr_ref, hr_ours, kept = plausible_rate(r, ref)
        assert abs(hr_ours - hr_ref) < 0.2 and abs(bpm(r) - bpm(ref)) > 0.9 and kept < 1
    assert plausible_rate(ref, ref[::2])[1] == pytest.approx(37.5)  # half the beats missed


def test_the_clipped_loggers_consensus_holds_second_waves_and_ours_is_right_between():
    """data3.csv: the consensus has 28 intervals under 300 ms at a median of 607 ms; in each
    pair, the beat fewer peers found was found by NK2 MSPTDfast and HeartPy only. Over the
    consensus's plausible stretches our HR is within 1.5 bpm."""
    rec = need("heartpy-data3")
    x, fs = record_data(rec)
    peers = peer_beats(x, fs, rec.kind, peer_cache_dir())
    ref = reference(peers)
    short = np.flatnonzero(np.diff(ref) < 0.3)
    assert len(short) >= 20 and np.median(np.diff(ref)) > 0.55
    for i in short:
        found = [{n for n, b in peers.items() if b is not None
                  and np.min(np.abs(b - t)) <= 0.15} for t in ref[i:i + 2]]
        assert "NeuroKit2" not in min(found, key=len)
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    hr_ref, hr_ours, _ = plausible_rate(ref, ours)
    assert abs(hr_ours - hr_ref) <= 1.5
    # by the shown HR too (the goal's): the consensus less each pair's fewer-voted beat
    # (24 of them) reads 96.7 bpm, ours 96.9; with them 98.8
    votes = [sum(np.min(np.abs(b - t)) <= 0.15 for b in peers.values() if b is not None)
             for t in ref]
    waves = {i + int(votes[i + 1] < votes[i]) for i in short}
    mended = np.delete(ref, sorted(waves))
    assert abs(shown_rate(ours, None, False) - shown_rate(mended, None, False, truth=True)) <= 1.5
    assert shown_rate(ref, None, False, truth=True) - shown_rate(ours, None, False) > 1.5


def test_a_pulse_back_after_the_loggers_drop_out_is_found():
    """data3.csv drops to 0 now and then (226.5-226.9 s, 594.6-594.8 s, 169.0-169.6 s);
    the first pulse back (227.1 s, 595.1 s, 169.8 s; all three peers found them) rides the
    steep return, where the band-passed peak comes early and the raw peak lay past the
    refine window: refused as a slope (HR -2.3 bpm, 28 'misses'). After a flat run at the
    floor it is looked for as far as a search-back beat's."""

    x, fs = record_data(need("heartpy-data3"))
    ours = waveform_peaks(x, fs, "ppg").idx / fs
    for t in (227.12, 595.10, 169.82):
        assert np.min(np.abs(ours - t)) <= 0.05, t
    x = x[int(215 * fs):int(240 * fs)]  # and in chunks of any size, the same
    assert np.array_equal(streamed(x, fs, "ppg", 2, int(fs)).idx,
                          waveform_peaks(x, fs, "ppg").idx)


def test_regular_clipped_ppg_is_not_called_ectopic_or_lost_contact(tmp_path):
    """HeartPy's data3.csv: RR 527-666 ms with no step over 20 %; it once said 54 ectopic
    and 'lost contact' in 4 windows of 5."""
    x, fs = record_data(need("heartpy-data3"))
    b = waveform_peaks(x, fs, "ppg")
    s = heart_summary(b.idx / fs, b.sqi, len(x) / fs)
    assert s["heartbeat"] and s["lost_contact_s"] == 0.0
    assert sum(w["issue"] == "lost contact" for w in s["windows"]) == 0
    assert sum(w["issue"] != "" for w in s["windows"]) <= 0.1 * len(s["windows"])
    assert s["ectopic"] < 0.02 * len(b.idx)
