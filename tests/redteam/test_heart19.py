"""Red team on a seat's wire HR (hr_bpm with HR_OK): the mean rate of the intervals ending in
its 8-s window, an ECG's between its beats as found (pauses counted), read as of a beat the
ECG detector still holds back (WaveBeats.heard_until). Tuning records through a seat in
0.1-s chunks (bench/seat_hrv.seat_stream), an estimate a second; the truth is the
annotation's mean-interval rate over the same 8 s (bench/seat_hr.window_rate). A large
error is over 5 bpm. The sweep behind the figures: tests/redteam/heart19_sweep.py."""

import numpy as np
import pytest
from scipy import signal

from corpus_records import need
from empathy.bench.seat_hr import window_rate
from empathy.bench.seat_hrv import T0_US, seat_stream
from empathy.edge.ecg_stress import stress_cases
from empathy.edge.features import SeatFeatures
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from empathy.edge.latency import HR_WINDOW_S
from empathy.sensors.base import Beat
from empathy.wire import Flag

BIG_BPM = 5.0


def record_part(name: str, span_s: float = 180.0):
    """A tuning record's first span_s: (samples, fs, annotated beats in s)."""
    rec = need(name)
    x, fs = record_data(rec)
    return x[:int(span_s * fs)], fs, annotated_beats(rec, len(x), fs)


def lead_off(x: np.ndarray, fs: float, every_s: float = 30.0, off_s: float = 4.0,
             from_s: float = 20.0) -> np.ndarray:
    """The leads come off for off_s every every_s from from_s: the front end sits on its rail
    (the record's top), then they are back."""
    y = x.copy()
    for a in np.arange(int(from_s * fs), len(y) - int(off_s * fs), int(every_s * fs)):
        y[a:a + int(off_s * fs)] = np.max(x)
    return y


def electrode_motion(x: np.ndarray, fs: float, snr_db: float, from_s: float = 20.0):
    """NSTDB's electrode motion (118e00 less 118e24, from 30 s) laid on x from from_s at
    snr_db against x's RMS about its baseline (test_heart15's)."""
    e00, e24 = record_data(need("nstdb-118e00"))[0], record_data(need("nstdb-118e24"))[0]
    n = (e00 - e24)[30 * 360:]
    n = n - np.median(n)
    if fs != 360:
        n = signal.resample_poly(n, int(fs), 360)
    rms = np.std(x - signal.medfilt(x, int(fs * 0.6) // 2 * 2 + 1))
    y, a = x.copy(), int(from_s * fs)
    m = min(len(y) - a, len(n))
    y[a:a + m] += n[:m] / n.std() * rms * 10 ** (-snr_db / 20)
    return y


def seat_rows(y: np.ndarray, fs: float, truth: np.ndarray, from_s: float = 20.0) -> np.ndarray:
    """Per estimate from from_s: (t s, HR_OK, hr_bpm, the truth's rate over the HR window)."""
    out = []
    for now, e, _ in seat_stream(y, fs, 1.0):
        t = (now - T0_US) / 1e6
        r = window_rate(truth, t, HR_WINDOW_S)
        if t >= from_s and not np.isnan(r):
            out.append((t, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"], r))
    return np.array(out, float).reshape(-1, 4)


def big_errors(rows: np.ndarray) -> np.ndarray:
    """The HR_OK estimates' |error| over BIG_BPM."""
    ok = rows[:, 1] > 0
    err = np.abs(rows[ok, 2] - rows[ok, 3])
    return err[err > BIG_BPM]


def test_leads_off_on_their_rail_are_no_pause_in_the_heart_rate():
    """MIT-BIH 100 (sinus) with its leads off for 4 s every 30 s: the flat line has no beat,
    and the interval across it (4-5 s) counted as the heart's own pause (an ECG's long
    intervals count): HR 30-45 bpm low with HR_OK on in 44 of 161 estimates (`signal hr`'s
    beats the same). The seat knows the raw line stood still on its rail (a lead off): no
    interval spans it, and while under half the window is covered (heart_window.HR_COVER)
    there is no HR: HR_OK goes for ~5 s of each 30."""
    x, fs, ann = record_part("mitdb-100")
    rows = seat_rows(lead_off(x, fs), fs, ann)
    assert len(big_errors(rows)) <= 1, big_errors(rows)
    assert np.mean(rows[:, 1]) >= 0.8


def test_leads_off_in_an_irregular_rhythm_leave_few_seconds_of_rate():
    """MIT-BIH 106 (bigeminy) with its leads off as above: the seconds after the leads are
    back hold a few intervals of an irregular rhythm, no 8-s rate (HR_OK over 5 bpm off in
    27 of 161 estimates once no interval spans the flat line, 3 in the clean record). Under
    half the window covered: no HR (heart_window.HR_COVER). Since the time the leads were off
    counts as an ECG's lost time (heart_window.HR_SE_BPM, test_heart20): 12 -> 7 over 5 bpm
    off, HR_OK 0.80 -> 0.71."""
    x, fs, ann = record_part("mitdb-106")
    rows = seat_rows(lead_off(x, fs), fs, ann)
    assert len(big_errors(rows)) <= 15, big_errors(rows)
    assert np.mean(rows[:, 1]) >= 0.7


def test_a_value_held_for_a_beat_the_detector_holds_back_goes_stale():
    """The electrode-motion stress case on 120 s of Systole's lab ECG at 130 Hz: a close pair
    waits up to 10 s for its window's verdict (ecg_pair) and the seat reads its heart as of
    the first beat held (heard_until). At 111-119 s the value stood at 72.1 bpm while the
    heart sped up to 82 (HR_OK on, up to 8.9 s old; 8 of the 9 estimates held over 4 s were
    over 5 bpm off); an HR over half its window old is withheld (seat_heart.HOLD_MAX_S)."""
    x, fs0 = record_data(need("systole-ecg"))
    x = x[:int(120 * fs0)]
    y, truth = stress_cases(x, fs0, waveform_peaks(x, fs0, "ecg").idx / fs0)["electrode motion"]
    rows = seat_rows(signal.resample_poly(y, 130, int(fs0)), 130, truth)
    late = rows[rows[:, 0] >= 111]
    assert len(big_errors(late)) == 0, late
    assert len(big_errors(rows)) <= 20, big_errors(rows)


def test_electrode_motion_s_extra_beats_withhold_or_mend_hr():
    """MIT-BIH 119 (PVCs in bigeminy and trigeminy runs) with NSTDB electrode motion at 0 dB
    from 20 s: the detector lets in electrode motion's extra beats (sqi 0.46-0.66; PVCs
    0.54-0.71) and the seat, counting every interval, followed them: HR_OK over 5 bpm off in
    30 of 161 estimates (|err| p90 15.2 bpm). Rules on sqi, the detector's noisy-window
    judgement or a rate cap cost clean arrhythmic records HR_OK (the seventeenth pass). A
    beat whose QRS is like no other within a minute and rounded (edge/ecg_vouch.py)
    withholds HR: 5 of 161."""
    x, fs, ann = record_part("mitdb-119")
    rows = seat_rows(electrode_motion(x, fs, 0.0), fs, ann)
    assert len(big_errors(rows)) <= 6, len(big_errors(rows))


@pytest.mark.parametrize("name", ["mitdb-106", "mitdb-200", "mitdb-203", "mitdb-207",
                                  "qtdb-sel232", "mitdb-119", "qtdb-sel117"])
def test_clean_arrhythmic_and_sinus_records_keep_hr_ok(name):
    """Clean tuning records (bigeminy, AF with PVCs, couplets, an atrial rhythm with pauses;
    sinus): HR_OK in 0.99-1.00 of the estimates over 20-180 s: what any rule that withholds
    HR in noise must keep."""
    x, fs, ann = record_part(name)
    rows = seat_rows(x, fs, ann)
    assert np.mean(rows[:, 1]) >= 0.9, np.mean(rows[:, 1])


def test_an_atrial_rhythm_with_pauses_in_electrode_motion_withholds_hr():
    """QT Database sel232 (an atrial rhythm with pauses) with electrode motion at +6 dB:
    HR_OK over 5 bpm off in 53 of 161 estimates (|err| p90 15.3 bpm): its true beats read
    sqi 0.95-0.98, its extra ones 0.44-0.54, but its contrast swings with its pauses, so the
    detector's noisy-window judgement can't tell. Its extra beats are like no other beat
    and rounded (edge/ecg_vouch.py): 10 of 161."""
    x, fs, ann = record_part("qtdb-sel232")
    rows = seat_rows(electrode_motion(x, fs, 6.0), fs, ann)
    assert len(big_errors(rows)) <= 10, len(big_errors(rows))


def strap_rows(rr_ms: np.ndarray, drop: float = 0.0, seed: int = 0) -> np.ndarray:
    """A strap's RR series (a `Beat` each, stamped at its end; `drop` of the packets lost)
    through a seat, an estimate a second from 20 s: (t, HR_OK, hr_bpm, the series' rate)."""
    t = np.cumsum(rr_ms) / 1000.0
    f, k, out = SeatFeatures(baseline_s=10), 0, []
    keep = np.random.default_rng(seed).random(len(t)) >= drop
    for now in np.arange(1.0, t[-1], 1.0):
        while k < len(t) and t[k] <= now:
            if keep[k]:
                f.add(Beat(T0_US + int(t[k] * 1e6), float(rr_ms[k])))
            k += 1
        e = f.estimate(T0_US + int(now * 1e6))
        if now >= 20:
            out.append((now, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"],
                        window_rate(np.concatenate(([0.0], t)), now, HR_WINDOW_S)))
    return np.array(out, float)


def sinus_rr(n: int, base_ms: float, rng) -> np.ndarray:
    return base_ms * (1 + 0.03 * np.sin(np.arange(n) * 2 * np.pi / 4.5)) + rng.normal(0, base_ms * 0.01, n)


def test_a_strap_s_long_intervals_withhold_hr():
    """A strap at 67 bpm with a 2-6 s interval every 25 beats: its intervals over RR_RANGE_MS
    (2 s) were left out of HR, which read 20-35 bpm over the series' rate with HR_OK on (45
    of 183 estimates). A strap's (or a PPG's) long interval is a pause or lost beats, the
    seat can't say which: no HR while one is in the window."""
    rng = np.random.default_rng(1)
    rr = sinus_rr(200, 900.0, rng)
    rr[30::25] = rng.uniform(2000, 6000, len(rr[30::25]))
    rows = strap_rows(rr)
    assert len(big_errors(rows)) == 0, big_errors(rows)
    assert np.mean(rows[:, 1]) >= 0.6


@pytest.mark.parametrize("base_ms", [1500.0, 333.0])
def test_a_strap_at_40_and_180_bpm_reads_its_rate(base_ms):
    """Few intervals in 8 s (5 at 40 bpm) or many (24 at 180): HR_OK throughout, none off."""
    rows = strap_rows(sinus_rr(200, base_ms, np.random.default_rng(2)))
    assert np.mean(rows[:, 1]) == 1.0 and len(big_errors(rows)) == 0


def test_a_strap_in_bigeminy_with_lost_packets_reads_its_rate():
    """A strap in bigeminy (600/1400 ms) with 20 % of its packets lost: HR_OK over 5 bpm off
    in 63 of 181 estimates (|err| p90 12.6 bpm; 5 %: 16, 10 %: 29). The intervals kept are a
    chance sample of a two-valued rhythm: one long or short one lost moves an 8-s mean
    10-20 %, and the corrector, fed two longs or shorts in a row, merged or averaged pairs
    (a strap's HR is now its beats' own rate).
    The seat knows how much time was lost, not which intervals: it sends the kept intervals'
    rate only while that sample's standard error allows (HR_SE_BPM). Now 2 of 180, HR_OK on
    0.43 of the time (5 % lost: 1, 0.91; 10 %: 0, 0.70)."""
    rr = np.tile([600.0, 1400.0], 100) + np.random.default_rng(1).normal(0, 10, 200)
    rows = strap_rows(rr, drop=0.2)
    assert len(big_errors(rows)) <= 10, len(big_errors(rows))
    assert np.mean(rows[:, 1]) >= 0.25  # no HR at all would pass the first
