"""Skin conductance: responses found where they began (known onsets), onsets as NeuroKit2
defines them (simulated and real recordings, where the corpus is cached), the whole-
recording floor against the stream's, streaming in any chunks = the stream over the whole
recording, bad input, and EDA in the seat's arousal with its own share and quality."""

from __future__ import annotations

import numpy as np
import pytest

from empathy.bench import eda_corpus
from empathy.bench.bench_eda import compare, match, misses, neurokit_scrs
from empathy.edge.eda import EdaStream, eda_scrs
from empathy.edge.features import SeatFeatures
from empathy.edge.fusion import FULL_WEIGHT, WEIGHTS
from empathy.sensors.base import Waveform
from empathy.sim.eda import eda_signal


def known(fs=32.0, seconds=180.0, seed=1, noise_us=0.003):
    rng = np.random.default_rng(seed)
    onsets = np.cumsum(rng.uniform(6, 14, 40))
    onsets = onsets[onsets < seconds - 10]
    amps = rng.uniform(0.1, 0.6, len(onsets))  # within 10x: all above the relative floor
    return eda_signal(seconds, fs, onsets, amps, seed=seed, noise_us=noise_us), onsets, amps


def f1(ours, ref) -> float:
    return 2 * len(match(ours, ref)) / max(1, len(ours) + len(ref))


@pytest.mark.parametrize("fs", [15.0, 32.0, 250.0, 1000.0])
def test_responses_are_found_where_they_began(fs):
    """Noise-free electrodes: the trough before a response is where it began."""
    x, onsets, amps = known(fs, noise_us=0.0)
    s = eda_scrs(x, fs)
    found = s.onset / fs
    hits = 0
    for t0, a in zip(onsets, amps):
        k = np.argmin(np.abs(found - t0))
        if abs(found[k] - t0) < 0.5:
            hits += 1
            assert s.amp_us[k] == pytest.approx(a, rel=0.5)
            assert 0.5 < s.rise_s[k] < 4
    # the bar for agreement: onsets within 0.5 s, F1 >= 0.9
    assert 2 * hits / (len(found) + len(onsets)) >= 0.9, (fs, onsets, found)


@pytest.mark.parametrize("fs", [15.0, 32.0, 250.0])
def test_noisy_onsets_are_the_troughs_neurokit2_names(fs):
    """With electrode noise the nearest trough before a peak may be a ripple on the rise;
    NeuroKit2 calls that the onset, and so do we (a definition, not a threshold): onsets
    agree with its `eda_process` on the same signal, and each response is still found."""
    x, onsets, _ = known(fs, seed=4)
    s = eda_scrs(x, fs)
    ref_on, ref_pk = neurokit_scrs(x, fs)
    assert f1(s.onset / fs, ref_on) >= 0.9 and f1(s.peak / fs, ref_pk) >= 0.9
    assert abs(len(s.onset) - len(onsets)) <= 1


def test_relative_floor_remembers_the_second_largest_response():
    """Small responses well after large ones: under 10 % of two large ones given out in
    the last 10 minutes they are not responses (NeuroKit2's relative height); after one
    large one (an artefact, say) they still are; with no memory, only the window counts."""
    fs, small = 32.0, np.array([110.0, 140.0, 170.0, 200.0])

    def found(big_at, memory_s):
        on = np.concatenate([big_at, small])
        amp = np.concatenate([np.full(len(big_at), 5.0), np.full(len(small), 0.3)])
        s = eda_scrs(eda_signal(260.0, fs, on, amp, seed=2, noise_us=0.0), fs,
                     rel_memory_s=memory_s, whole=False)
        return len(match(s.onset / fs, small))

    assert found(np.array([10.0, 30.0]), 600.0) == 0
    assert found(np.array([10.0, 30.0]), 0.0) == len(small)
    assert found(np.array([10.0]), 600.0) == len(small)


def test_whole_recording_drops_what_is_small_beside_its_largest():
    """One large response (an artefact, say) and small ones under 10 % of it later on: the
    live stream, which remembers one response as no reason to go deaf, keeps the small
    ones; the whole recording applies NeuroKit2's floor (10 % of the recording's largest)
    and drops them, as NeuroKit2 does on the same signal. The batch is the stream's
    responses less those: same onsets, nothing new."""
    fs = 32.0
    small = np.array([110.0, 140.0, 170.0, 200.0])
    x = eda_signal(260.0, fs, np.concatenate([[10.0], small]),
                   np.array([5.0, 0.3, 0.3, 0.3, 0.3]), seed=2, noise_us=0.0)
    stream, batch = eda_scrs(x, fs, whole=False), eda_scrs(x, fs)
    ref_on, _ = neurokit_scrs(x, fs)
    assert len(match(stream.onset / fs, small)) == len(small)
    assert len(match(batch.onset / fs, small)) == 0 and len(batch.onset) >= 1
    assert len(match(ref_on, small)) == 0
    assert f1(batch.onset / fs, ref_on) >= 0.9
    assert set(batch.onset.tolist()) <= set(stream.onset.tolist())
    # responses within 10x of each other: the whole recording keeps all the stream's
    y, _, _ = known(32.0, noise_us=0.0)
    assert np.array_equal(eda_scrs(y, fs).onset, eda_scrs(y, fs, whole=False).onset)


def cached() -> list:
    recs = [r for r in eda_corpus.RECORDS if eda_corpus.available(r)]
    if not recs:
        pytest.skip("EDA corpus not cached (scripts/install.sh --role dev fetches it)")
    return recs


def test_real_recordings_agree_with_neurokit2():
    """Every cached real record (all are tuning or seen records now; a new held-out one
    counts here too): the whole-recording path's onsets within 0.5 s of NeuroKit2's, pooled
    F1 >= 0.9; the live stream, whose floor cannot know the recording's largest response,
    finds at least 95 % of NeuroKit2's responses (it may find more)."""
    rows = [compare(r) for r in cached()]
    nk = sum(r["neurokit2"] for r in rows)
    tp = sum(r["batch"]["matched"] for r in rows)
    assert 2 * tp / sum(r["batch"]["ours"] + r["neurokit2"] for r in rows) >= 0.9, rows
    assert sum(r["stream"]["matched"] for r in rows) >= 0.95 * nk, rows


def test_what_the_whole_recording_misses_is_a_window_truncated_prominence():
    """`bench_eda --misses` on the long records: a NeuroKit2 response the batch misses
    but the stream found lies under 10 % of the largest as measured in our 60-s window and
    at or over it as NeuroKit2 measures over the whole recording; never over ours."""
    recs = [r for r in cached() if r.name in ("systole-task1", "pysiology-eda")]
    if not recs:
        pytest.skip("the long EDA records are not cached")
    found = [m for r in recs for m in misses(r) if m["stream_found"]]
    assert found
    for m in found:
        assert m["ours_share_of_largest"] < 0.1 <= m["neurokit2_share_of_largest"], m


def test_streaming_in_any_chunks_equals_batch():
    x, _, _ = known(100.0, 120)
    batch = eda_scrs(x, 100.0, whole=False)
    rng = np.random.default_rng(3)
    st, parts, i = EdaStream(100.0), [], 0
    while i < len(x):
        n = int(rng.integers(1, 400))
        parts.append(st.push(x[i:i + n]))
        i += n
    parts.append(st.finish())
    for f in batch._fields:
        assert np.array_equal(np.concatenate([getattr(p, f) for p in parts]), getattr(batch, f))


def test_windows_filtered_together_equal_one_at_a_time():
    """A long push filters its full windows in batches of rows (more than one batch here);
    a live stream pushing one second at a time filters each alone: the same responses and
    tonic level, to the bit."""
    x, _, _ = known(32.0, 420)
    batch = eda_scrs(x, 32.0, whole=False)
    st, parts, tonic = EdaStream(32.0), [], []
    for i in range(0, len(x), 32):
        parts.append(st.push(x[i:i + 32]))
        tonic.append(st.tonic)
    parts.append(st.finish())
    whole = EdaStream(32.0)
    whole.push(x)
    assert whole.tonic == tonic[-1]
    for f in batch._fields:
        assert np.array_equal(np.concatenate([getattr(p, f) for p in parts]), getattr(batch, f))
    assert len(batch.onset) > 20


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        EdaStream(32).push([1.0, float("nan")])
    with pytest.raises(ValueError, match="Hz"):
        EdaStream(0.2)
    with pytest.raises(ValueError, match="look-ahead"):
        EdaStream(32, lookahead_s=-1)
    with pytest.raises(ValueError, match="memory"):
        EdaStream(32, rel_memory_s=float("nan"))
    assert len(eda_scrs(np.full(3200, 5.0), 32.0).onset) == 0  # a flat line has none


def test_eda_joins_arousal_with_its_share_and_quality():
    """Calm for the baseline, then many large responses: the arousal rises and the report
    says how much of the evidence EDA carried; a lead that falls off is trusted no more."""
    fs, calm_s, total_s = 16.0, 90.0, 180.0
    rng = np.random.default_rng(0)
    calm = np.cumsum(rng.uniform(20, 40, 5))
    busy = calm_s + np.cumsum(rng.uniform(3, 6, 30))
    onsets = np.concatenate([calm[calm < calm_s], busy[busy < total_s]])
    x = eda_signal(total_s, fs, onsets, rng.uniform(0.2, 0.6, len(onsets)), seed=2)
    feats = SeatFeatures(baseline_s=calm_s)
    t0, chunk, est = 10**12, int(fs), {}
    for i in range(0, len(x), chunk):
        ts = t0 + int(i * 1e6 / fs)
        feats.add(Waveform(ts, "eda", fs, x[i:i + chunk]))
        est[i // chunk] = (feats.estimate(ts + int(1e6)), dict(feats.eda_report),
                           feats.affect)
    calm_e, calm_r, _ = est[int(calm_s * 0.8)]
    busy_e, busy_r, busy_a = est[int(total_s) - 2]
    assert busy_r["scr_per_min"] > 3 * max(calm_r["scr_per_min"], 1)
    assert busy_e["arousal"] > calm_e["arousal"] + 0.3
    assert busy_r["quality"] > 0.9 and busy_r["share"] == pytest.approx(1.0)  # EDA alone
    # confidence against everything such a seat may have (heart, pupil, face and its EDA)
    assert busy_a.confidence == pytest.approx(
        WEIGHTS["eda"] * busy_r["quality"] / (FULL_WEIGHT + WEIGHTS["eda"]))
    assert busy_r["tonic_us"] > 3 and busy_r["last_scr"]["amp_us"] > 0.05
    # the lead comes off: a flat line is no evidence
    ts = t0 + int(total_s * 1e6)
    for k in range(12):
        feats.add(Waveform(ts + k * 1_000_000, "eda", fs, np.full(int(fs), 0.0)))
    feats.estimate(ts + 12_000_000)
    assert feats.eda_report["quality"] == 0 and "eda" not in (feats.affect.shares or {})


def test_a_seat_without_eda_is_as_confident_as_before():
    from empathy.edge.fusion import affect_fuse

    z = {"hr": (0.5, 1.0), "rmssd": (0.5, 1.0), "pupil": (0.5, 1.0), "face": (0.5, 1.0)}
    assert affect_fuse(z, 0.0).confidence == pytest.approx(1.0)
    assert affect_fuse({**z, "eda": (0.5, 0.5)}, 0.0).confidence < 1.0


def test_response_rate_counts_the_settled_minute():
    """A response every 6 s is 10 a minute, although the last 20 s are still being judged
    (counted against the whole minute up to now it would read about 7)."""
    from empathy.edge.eda import EdaWindow

    fs, t0 = 32.0, 10**12
    onsets = np.arange(5.0, 175.0, 6.0)
    x = eda_signal(180.0, fs, onsets, np.full(len(onsets), 0.3), seed=5)
    w = EdaWindow(fs, t0)
    for i in range(0, len(x), int(fs)):
        w.add(t0 + int(i * 1e6 / fs), x[i:i + int(fs)])
    assert 9.0 <= w.summary(t0 + int(180e6))["scr_per_min"] <= 11.0
