"""A seat's wire HR on real records against the corpus's reference over the seat's HR window
(bench/seat_hr.py): the bench's reference and window on cases whose answer is known, and
the seat's HR where it read the sinus rhythm under the heart's own pauses and PVCs."""

import numpy as np
import pytest

from empathy.bench import seat_hr
from empathy.edge.beat_score import beat_match, in_spans
from empathy.edge.heart_corpus import record_data
from empathy.edge.heart_window import HeartWindow
from corpus_records import need

# beats every 0.8 s to 8.0 s, a 2.4 s pause, then 0.8 s again: the window (4, 12] holds the
# intervals that end at 4.8 .. 8.0 (five of 0.8), the pause and two more: 8 s in 8 intervals
BEATS = np.concatenate((np.arange(0.0, 8.01, 0.8), [10.4, 11.2, 12.0]))


def test_the_reference_rate_is_the_mean_interval_rate_of_the_intervals_ending_in_the_window():
    assert seat_hr.window_rate(BEATS, 12.0, 8.0) == pytest.approx(60.0)
    assert seat_hr.window_rate(BEATS, 8.0, 8.0) == pytest.approx(75.0)  # (0, 8]: no pause
    assert np.isnan(seat_hr.window_rate(BEATS, 60.0, 8.0))  # no beat in it


def test_only_trusted_intervals_score_and_they_must_cover_half_the_window():
    # both beats in a span: those ending at 4.8 .. 8.0, 4 s of the 8 (COVER 0.5): 75 bpm
    assert seat_hr.window_rate(BEATS, 12.0, 8.0, np.array([[0.0, 9.0]])) == pytest.approx(75.0)
    # from 5.0: 5.6 .. 8.0 only, 2.4 s: no reference
    assert np.isnan(seat_hr.window_rate(BEATS, 12.0, 8.0, np.array([[5.0, 9.0]])))
    # the pause's own beats in two spans: it is no trusted interval
    spans = np.array([[0.0, 9.0], [10.0, 13.0]])
    assert seat_hr.window_rate(BEATS, 12.0, 8.0, spans) == pytest.approx(60.0 / 0.8)


def test_the_median_s_interval_resamples_whole_blocks():
    err = np.full(60, 2.0)
    assert seat_hr.block_ci(err, np.repeat([0, 1], 30)) == (2.0, 2.0)
    # two blocks, -1 and +1 throughout: resampling blocks can draw either twice
    lo, hi = seat_hr.block_ci(np.repeat([-1.0, 1.0], 30), np.repeat([0, 1], 30))
    assert (lo, hi) == (-1.0, 1.0)
    assert np.isnan(seat_hr.block_ci(err, np.zeros(60))[0])  # one block: no interval


def test_a_ppg_record_s_reference_is_its_ecg_s_beats_where_the_pulses_come():
    """cinc15-v102s (tuning): the lead's R peaks shifted by the pulse lag, its trusted spans
    with them: the batch detector's pulses pair with them (EC57's window) as they are, better
    than with the R peaks where the heart beat (0.99 and 0.89 of them)."""
    from empathy.edge.heart_corpus import trusted_spans

    rec = need("cinc15-v102s")
    x, fs = record_data(rec)
    batch = seat_hr.batch_beats(x, fs, "ppg")
    ref, spans, lag = seat_hr.reference(rec, x, fs, batch)
    assert 0.0 < lag <= 0.6 and np.allclose(spans, trusted_spans(rec) + lag)
    m = beat_match(in_spans(ref, spans), in_spans(batch, spans))
    unshifted = beat_match(in_spans(ref - lag, spans), in_spans(batch, spans))
    assert m.se > 0.95 and m.ppv > 0.95 and unshifted.se < m.se, (m, unshifted)


def ecg_window(rr_ms) -> tuple[HeartWindow, int]:
    """An ECG seat's heart window fed beats at these intervals (µs stamps), and the last."""
    hw = HeartWindow(30.0, cycles=True, ecg_fs=250.0)
    t = 10**9 + np.cumsum(np.concatenate(([0.0], rr_ms))) * 1000.0
    for k in range(len(t)):
        hw.add_beats(t[k:k + 1], np.ones(1))
    return hw, int(t[-1])


@pytest.mark.parametrize("case, rr", [
    # sick sinus: 0.75 s with a 3 s pause every 8 beats (the seat's range stops at 2 s)
    ("pauses", np.tile(np.r_[np.full(7, 750.0), 3000.0], 8)),
    # PVC couplets: two beats 0.45 s apart, then the pause, every 5 beats
    ("couplets", np.tile(np.r_[np.full(3, 800.0), 450.0, 450.0, 1300.0], 8)),
])
def test_an_ecg_seat_s_hr_counts_every_beat_it_found(case, rr):
    """A seat's HR was its 20 %-rule NN intervals' rate: the sinus rhythm under the heart's
    own pauses and PVCs (80.0 bpm for 58.2 with the pauses, 73.0 for 78.6 with couplets). The
    heart's rate counts every beat found, as the annotation's does."""
    hw, now = ecg_window(rr)
    after = np.cumsum(rr[::-1])[::-1] - rr  # how long before the last beat each one ends
    inside = rr[after <= 8000.0]
    assert hw.hr_bpm(now, 8.0) == pytest.approx(60000.0 / inside.mean(), rel=1e-6)


@pytest.mark.parametrize("name, was", [
    ("qtdb-sel232", "+20.4 bpm median (its 2-6 s sick-sinus pauses left out), |err| p90 32.4"),
    ("mitdb-200", "-3.2 median (couplets and their pauses left out), p90 9.6"),
    ("mitdb-203", "+0.2 median, p90 8.8 (atrial fibrillation's long intervals left out)"),
])
def test_a_seat_s_hr_on_real_ecg_is_the_annotation_s_rate(name, was):
    """Tuning records through a seat (bench/seat_hr.py): HR_OK estimates' error against the
    annotation's mean-interval rate over the seat's HR window, median within 0.5 bpm and
    90th percentile of |error| under 4 bpm (`was`: before)."""
    need(name)
    r = seat_hr.record_rows(name)
    s = seat_hr.summary(name, "ecg", r["rows"], np.floor(r["rows"][:, 0] / seat_hr.BLOCK_S))
    assert s["hr_ok"] >= 0.9 and abs(s["err_median"]) <= 0.5 and s["abs_p90"] < 4.0, (s, was)
