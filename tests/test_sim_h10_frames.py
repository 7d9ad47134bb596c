"""The emulated H10's ECG frames (sim/ecg.py's H10Frames) as a real one sends them: from the
PMD start on, 73 samples each, stamped with the last sample's time, sent once it is
measured (its wearer's ECG made as the heart beats: EcgSynth with lag_s=0)."""

from __future__ import annotations

import numpy as np

from empathy.sim.ecg import CONN_INTERVAL_S, FRAME_SAMPLES, EcgSynth, H10Frames

FS = 130.0
RR_US = 800_000


def test_frames_cover_the_time_from_the_start_only_and_go_out_once_measured():
    ecg = EcgSynth(3, on_demand=True, lag_s=0.0)
    frames = H10Frames(3)
    t_us = 10_000_000
    ecg.start(t_us)
    start = t_us + 30_000_000  # 30 s of the wearer's ECG before the start: none of it is sent
    sent, now, made = [], t_us, []
    while now < start + 20_000_000:
        if now == start:
            frames.start(start)
        ecg.beat((now // RR_US + 1) * RR_US)  # the heart's next beat, known ahead
        t0, x = ecg.take(now)
        made.append((t0, x))
        frames.measure(t0, x)
        sent += [(now, last, x) for last, x in frames.due(now)]
        now += 10_000  # a 10-ms radio loop
    assert all(len(x) == FRAME_SAMPLES for _, _, x in sent)
    last = np.array([s[1] for s in sent])
    first_sample = last[0] - (FRAME_SAMPLES - 1) * 1e6 / FS
    assert 0 <= first_sample - start < 1e6 / FS  # nothing before the start
    assert np.allclose(np.diff(last), FRAME_SAMPLES * 1e6 / FS)  # back to back
    late = np.array([s[0] for s in sent]) - last - 1e6 / FS
    assert late.min() >= 0 and late.max() < CONN_INTERVAL_S * 1e6 + 10_000  # (loop's step)
    assert late.std() > 5_000  # connection events' jitter
    # each frame holds the very samples made at its times (an R peak where the heart beat)
    t = np.concatenate([t0 + np.arange(len(x)) * 1e6 / FS for t0, x in made])
    x = np.concatenate([x for _, x in made])
    k = int(np.argmin(np.abs(t - (last[0] - (FRAME_SAMPLES - 1) * 1e6 / FS))))
    assert np.allclose(sent[0][2], x[k:k + FRAME_SAMPLES])
    frames.stop()
    assert frames.due(now + 5_000_000) == [] and frames.send_us is None


def test_the_ecg_made_as_the_heart_beats_peaks_at_its_beats():
    """Each sample made at its moment from the beats known ahead: an R peak at every beat."""
    ecg = EcgSynth(5, on_demand=True, lag_s=0.0, noise_uv=0.0)
    ecg.start(0)
    parts, now = [], 0
    while now < 10_000_000:
        ecg.beat((now // RR_US + 1) * RR_US)
        parts.append(ecg.take(now))
        now += 20_000
    t = np.concatenate([t0 + np.arange(len(x)) * 1e6 / FS for t0, x in parts])
    x = np.concatenate([x for _, x in parts])
    for beat in range(RR_US, 9_000_000, RR_US):
        near = np.abs(t - beat) < 100_000
        assert abs(t[near][np.argmax(x[near])] - beat) <= 1e6 / FS / 2


def test_a_wearer_away_leaves_flat_samples_and_the_frames_keep_their_times():
    """No ECG while the wearer is away from the seat: the strap's samples then read 0 µV,
    and those after carry their own times, not the gap's."""
    frames = H10Frames(4)
    frames.start(0)
    step = int(20 * 1e6 / FS)  # chunks of 20 samples, exact times
    chunks = [(k * step, np.full(20, float(k + 1))) for k in range(40) if not 10 <= k < 15]
    for t0, x in chunks:
        frames.measure(t0, x)
    got = np.concatenate([x for _, x in frames.due(10**9)])
    assert (got[200:300] == 0).all() and got[300] == 16 and got[199] == 10
