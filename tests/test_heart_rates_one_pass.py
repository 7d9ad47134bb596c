"""`HeartWindow.heart_rates`: a seat's wire rate, its vouch and the arousal's sinus rate from
one pass over the window, on a real record's beats (MIT-BIH 119, tuning: ventricular
trigeminy runs), streamed through a seat as the runtime feeds it."""

import numpy as np

from empathy.bench.seat_hrv import seat_stream
from empathy.edge.heart_corpus import record_data
from empathy.edge.hrv import RR_RANGE_MS, SQI_MIN
from empathy.edge.latency import HR_WINDOW_S
from empathy.edge.sinus_rate import newest_early
from corpus_records import need


def test_one_pass_gives_heart_rate_s_rate_and_the_rate_clear_of_ectopic_beats():
    x, fs = record_data(need("mitdb-119"))
    moved = 0
    for now, _, heart in seat_stream(x[:int(240 * fs)], fs, 1.0):
        got = heart.heart_rates(now, HR_WINDOW_S)
        assert (got.rate, got.sure) == heart.heart_rate(now, HR_WINDOW_S)
        # the oracle: an ECG's rate counts the intervals ending in the window; the sinus rate
        # those clear of a labelled ectopic beat (and the newest where early), where 2
        # covering a quarter of it are left
        t, rr, q = heart.beats[:3]
        inside = (t >= now - HR_WINDOW_S * 1e6) & (rr >= RR_RANGE_MS[0]) & (q >= SQI_MIN)
        out = heart.touching.copy()
        out[-1:] |= newest_early(rr, heart.touching)
        clear = rr[inside & ~out]
        if not got.rate or not (out & inside).any():
            assert got.sinus == got.rate
        elif len(clear) >= 2 and clear.sum() >= 0.25 * HR_WINDOW_S * 1000:
            assert got.sinus == 60000.0 / np.mean(clear)
            moved += got.sinus != got.rate
    assert moved > 30  # trigeminy's estimates read the sinus rate, not every beat's
