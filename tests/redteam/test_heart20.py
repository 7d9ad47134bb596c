"""Red team on issue 19's twentieth-pass merges through a seat's real path (SeatFeatures fed
chunks as the runtime feeds it): ShapeVouch (edge/ecg_vouch.py), a strap's and PPG's lost
time (heart_window.hr_bpm), SampleClock.admit (edge/timebase.py) and lost_contact
(edge/seat_wave.py), alone and together. Tuning records only; the truth is the annotation's
mean-interval rate over the seat's 8-s HR window (bench/seat_hr.window_rate). A large error
is over BIG_BPM."""

import numpy as np
import pytest
from scipy import signal

from corpus_records import need
from empathy.bench.seat_hr import window_rate
from empathy.edge.features import SeatFeatures
from empathy.edge.heart_corpus import annotated_beats, record_data
from empathy.edge.latency import HR_WINDOW_S
from empathy.sensors.base import Waveform
from empathy.wire import Flag

BIG_BPM = 5.0
T0_US = 10**9
H10_HZ, H10_FRAME = 130.0, 73  # a Polar H10's ECG: 130 Hz, ~73 samples a PMD notification


def polar_h10(name: str, span_s: float = 180.0):
    """A tuning record's first span_s resampled to a Polar H10's 130 Hz, and its annotated
    beats (s)."""
    rec = need(name)
    x, fs = record_data(rec)
    ann = annotated_beats(rec, len(x), fs)
    x = x[:int(span_s * fs)]
    return signal.resample_poly(x, 130, int(fs)), ann


def frames(y: np.ndarray, lost, jitter_us: float = 2000.0, seed: int = 0):
    """(stamp µs, samples, real end s) of each H10 frame not in `lost` (frame numbers), stamped
    at its first sample's true time (the strap's own clock) plus a little jitter."""
    rng = np.random.default_rng(seed)
    for k, i in enumerate(range(0, len(y), H10_FRAME)):
        if k not in lost:
            yield (T0_US + int(i * 1e6 / H10_HZ + rng.uniform(0, jitter_us)),
                   y[i:i + H10_FRAME], (i + H10_FRAME) / H10_HZ)


def seat_rows(chunks, truth: np.ndarray, from_s: float = 20.0) -> np.ndarray:
    """Per estimate (one a second of real time, from from_s): (t s, HR_OK, hr_bpm, truth,
    CONTACT)."""
    f, nxt, out = SeatFeatures(baseline_s=10), 1.0, []
    for stamp, y, end_s in chunks:
        f.add(Waveform(stamp, "ecg", H10_HZ, y))
        if end_s >= nxt:
            e = f.estimate(T0_US + int(end_s * 1e6))
            nxt = np.floor(end_s) + 1.0
            r = window_rate(truth, end_s, HR_WINDOW_S)
            if end_s >= from_s and not np.isnan(r):
                out.append((end_s, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"], r,
                            bool(e["flags"] & Flag.CONTACT)))
    return np.array(out, float).reshape(-1, 5)


def big_errors(rows: np.ndarray) -> np.ndarray:
    ok = rows[:, 1] > 0
    err = np.abs(rows[ok, 2] - rows[ok, 3])
    return err[err > BIG_BPM]


def test_two_lost_h10_frames_close_together_leave_no_interval_across_either():
    """MIT-BIH 100 (sinus) as a Polar H10's 130-Hz ECG, two of its BLE notifications lost a
    frame apart every 15 s (each 0.56 s: a beat goes with one now and then). Each gap is
    bridged (SampleClock.admit) and no interval may span it, but the seat remembered one gap
    end only: the second overwrote the first before the detector gave out the first beat
    after it (it holds beats back ~1 s), so an interval across the first gap (a lost beat:
    1.7 s) counted and HR read ~9 bpm low with HR_OK on. Random 5 % loss (seed 1) put 7 of
    159 estimates over 5 bpm off the same way."""
    y, ann = polar_h10("mitdb-100")
    per = int(15 * H10_HZ / H10_FRAME)
    lost = {k + d for k in range(per, int(len(y) / H10_FRAME), per) for d in (0, 2)}
    rows = seat_rows(frames(y, lost), ann)
    assert len(big_errors(rows)) == 0, big_errors(rows)
    assert rows[:, 1].mean() >= 0.9


def test_an_ecg_missing_lost_frames_is_no_8_s_rate_in_an_irregular_rhythm():
    """QT sel232 (sick sinus: pauses of 2-5.6 s) as an H10's ECG with 5 % of its frames lost
    at random. No interval spans a lost frame, so one that held a pause leaves the window's
    other intervals, whose rate reads 10-25 bpm high: HR_OK over 5 bpm off in 19 and 46 of
    160 estimates (seeds 0, 1; 8 with nothing lost), now 12 and 12 (HR_OK 0.88, 0.85 ->
    0.71, 0.50; MIT-BIH 106 alike: 10, 12 -> 1, 0). The strap's rule (heart_window
    HR_SE_BPM: no HR while the time lost leaves the window's rate that uncertain) now holds
    for an ECG too, its lost time the gaps between its intervals (an ECG's detector saw the
    time since its last beat: a pause in progress is no loss)."""
    y, ann = polar_h10("qtdb-sel232")
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        n = int(len(y) / H10_FRAME) + 1
        lost = set(np.flatnonzero(rng.random(n) < 0.05).tolist())
        rows = seat_rows(frames(y, lost, seed=seed), ann)
        assert len(big_errors(rows)) <= 12, (seed, big_errors(rows))
        assert rows[:, 1].mean() >= 0.4


def floating_lead(name: str, hz: float, seed: int, at_s: float = 60.0, span_s: float = 150.0):
    """A tuning record as an H10's 130-Hz ECG whose leads come off at at_s into a floating
    input: mains hum (hz, 0.3 mV) and noise (0.02 mV rms), this file's own levels. Rows as
    seat_rows', estimates from at_s + ECG_PAUSE_S."""
    from empathy.edge.seat_wave import ECG_PAUSE_S

    y, ann = polar_h10(name, span_s)
    a = int(at_s * H10_HZ)
    t = np.arange(len(y) - a) / H10_HZ
    noise = np.random.default_rng(seed).normal(0.0, 0.02, len(t))
    y[a:] = 0.3 * np.sin(2 * np.pi * hz * t + seed) + noise
    return seat_rows(frames(y, set(), seed=seed), ann, from_s=at_s + ECG_PAUSE_S)


def test_an_interval_longer_than_an_ecg_pause_is_no_heart_rate():
    """QT sel117 as an H10's ECG, its leads off into 60-Hz hum at 60 s: 13 s on, the detector
    takes noise for beats, and the first interval (14 s, from the last real beat) counted as
    the heart's own pause (an ECG's long intervals count): HR 10.9 bpm with HR_OK on in 3
    estimates. Past ECG_PAUSE_S without a beat the seat says lost contact
    (seat_wave.lost_contact), so no interval that long is the heart's: none spans it."""
    rows = floating_lead("qtdb-sel117", 60.0, 0)
    assert not rows[:, 1].any(), rows[rows[:, 1] > 0, 2]


@pytest.mark.xfail(strict=True, reason="a floating lead's noise passes the detector's candidate "
                   "test: CONTACT on in 77 of 83 estimates after the 8-s pause allowance")
def test_a_floating_lead_in_mains_hum_loses_contact():
    """QT sel117 as an H10's ECG, its leads off into 50-Hz hum at 60 s: the line keeps moving
    and the detector's candidates in the noise come every few seconds, so lost_contact (a
    moving line keeps CONTACT through pauses up to ECG_PAUSE_S) keeps CONTACT on in 77 of the
    83 estimates from 68 s (mitdb-100 74, 119 54). Open: no test of the candidates' shape or
    of the line's mains-free level against the QRS's before was tried in time. Tried (20th
    pass, not kept): the share of the raw power above 0.5 Hz within 1 Hz of 50/60 Hz and
    harmonics, 2-s windows: a floating lead 0.76-0.99, every tuning (max 0.18) and held-out
    (0.03) record under 0.5, but a real ECG with hum 0.3 times its R wave (test_heart17's
    case) 0.43-0.74 and as tall as R 0.89-0.98. With that share over 0.5 and the rest (mains
    lines off, 8-s windows) no peakier than noise (kurtosis under 4: floating 3.2-3.6, clean
    ECGs 4.4-38), still 2326 of 175,376 estimates of tuning ECGs in hum (x0-2 the R) tripped:
    mitdb-101 1064, nstdb-118e00-e12 1050, 207 160, 118 52: noise in hum reads as noise."""
    rows = floating_lead("qtdb-sel117", 50.0, 0)
    assert rows[:, 4].mean() <= 0.1, rows[:, 4].sum()
