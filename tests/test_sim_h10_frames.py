"""The emulated H10's ECG frames (sim/ecg.py's H10Frames) as a real one sends them: from the
PMD start on, 73 samples each, stamped with the last sample's time, sent once full."""

from __future__ import annotations

import numpy as np

from empathy.sim.ecg import CONN_INTERVAL_S, FRAME_SAMPLES, LAG_S, EcgSynth, H10Frames

FS = 130.0


def test_frames_cover_the_time_from_the_start_only_and_go_out_when_full():
    ecg = EcgSynth(3, on_demand=True)
    frames = H10Frames(ecg, 3)
    t_us = 10_000_000
    for k in range(40):  # 30 s of beats before the start: none of it is sent
        ecg.beat(t_us + k * 800_000)
    start = t_us + 30_000_000
    assert frames.due(start) == []
    frames.start(start)
    sent, now = [], start
    while now < start + 20_000_000:
        if now % 800_000 == 0:
            ecg.beat(now)
        sent += [(now, last, x) for last, x in frames.due(now)]
        now += 10_000  # a 10-ms radio loop
    assert all(len(x) == FRAME_SAMPLES for _, _, x in sent)
    last = np.array([s[1] for s in sent])
    first_sample = last[0] - (FRAME_SAMPLES - 1) * 1e6 / FS
    assert abs(first_sample - start) < 1  # nothing before the start
    assert np.allclose(np.diff(last), FRAME_SAMPLES * 1e6 / FS)  # back to back
    late = np.array([s[0] for s in sent]) - last - (1 / FS + LAG_S) * 1e6
    assert late.min() >= 0 and late.max() < CONN_INTERVAL_S * 1e6 + 10_000  # (loop's step)
    assert late.std() > 5_000  # connection events' jitter
    frames.stop()
    assert frames.due(now + 5_000_000) == [] and frames.send_us is None
