"""Red team on this session's heart-signal code (edge/ecg_rhythm.py and the ECG band
switch it is hooked behind, edge/ppg_floor.py, beat_score.t_wave_free), with real
signals: corpus records and the stress generator."""

import numpy as np

from empathy.edge.beat_score import t_wave_free
from empathy.edge.features import SeatFeatures
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from empathy.sensors.base import Waveform
from empathy.wire import Flag
from corpus_records import need



def test_an_ecg_seat_with_a_clean_lead_keeps_its_contact_bit():
    """A seat's raw ECG says 'lost contact' when no beat candidate came for LOST_GAP_S
    (seat_wave.WaveBeats.lost_contact reads the detector's last candidate). An ECG stream
    above 100 Hz detects in a band switch (ecg_band), whose detectors are inner streams:
    the outer stream's own last candidate never moved, so a clean MIT-BIH 100 lead at
    360 Hz in 1-s chunks lost its CONTACT bit in 58 of its first 60 s (the seat read as
    empty). A lead pulled off (flat) must still lose it."""
    x, fs = record_data(need("mitdb-100"))
    seat, n, t0 = SeatFeatures(), int(fs), 1_000_000
    lost = []
    for i in range(0, int(60 * fs), n):
        seat.add(Waveform(t0 + int(i / fs * 1e6), "ecg", fs, x[i:i + n]))
        lost.append(not seat.estimate(t0 + int((i + n) / fs * 1e6))["flags"] & Flag.CONTACT)
    assert sum(lost) == 0
    flat = np.full(n, x[int(60 * fs) - 1])
    for k in range(8):  # the electrodes come off: a flat line for 8 s
        i = int(60 * fs) + k * n
        seat.add(Waveform(t0 + int(i / fs * 1e6), "ecg", fs, flat))
    assert not seat.estimate(t0 + int((60 + 8) * 1e6))["flags"] & Flag.CONTACT


def test_an_ecg_seat_flat_from_its_start_loses_its_contact_bit_as_soon_as_any_seat():
    """A seat plugged in with its electrodes off: the front end sits on its rail (a flat
    line). While the band switch gathers its first 10-s window there is no candidate to
    judge by, and the seat kept CONTACT for those 10 s; a flat raw line says it by itself,
    after the LOST_GAP_S any stream needs (a clean lead still keeps it: test above)."""
    from empathy.edge.hrv import LOST_GAP_S

    fs, n, t0 = 360.0, 360, 1_000_000
    seat, flat = SeatFeatures(), np.full(n, 512.0)
    lost_at = None
    for k in range(9):
        seat.add(Waveform(t0 + int(k * 1e6), "ecg", fs, flat))
        if lost_at is None and not seat.estimate(t0 + int((k + 1) * 1e6))["flags"] & Flag.CONTACT:
            lost_at = k + 1
    assert lost_at is not None and lost_at <= LOST_GAP_S + 1


def _ecg100():
    rec = need("mitdb-100")
    x, fs = record_data(rec)
    return x, fs, annotated_beats(rec, len(x), fs)


def test_an_aberrant_early_beat_within_360_ms_is_no_t_wave():
    """t_wave_free (scoring an ECG-derived reference): an atrial premature beat conducted
    aberrantly is about twice as wide as the sinus QRS, so about half as steep, and an early
    one lands within Pan-Tompkins' 360 ms. Sinus beats of MIT-BIH 100 (tuning), with every
    12th interval holding such a beat 340 ms after its QRS (the record's own QRS stretched
    2x in time): the slope rule alone dropped 9 of the 17 real beats from the reference (2.2x:
    11). A T wave recurs after every beat at that lag, the early beat does not; the T waves
    it should drop (v102s's 41: test_heart_icu_ppg) are still dropped."""
    x, fs, b = _ecg100()
    y, added, w = x.copy(), [], int(0.06 * fs)
    for k in range(15, len(b) - 3, 12):
        i = int(round(b[k] * fs))
        qrs = x[i - w:i + w + 1] - np.linspace(x[i - w], x[i + w], 2 * w + 1)
        m = 2 * len(qrs)
        wide = np.interp(np.linspace(0, len(qrs) - 1, m), np.arange(len(qrs)), qrs)
        at = b[k - 1] + 0.34
        j = int(round(at * fs)) - m // 2
        y[j:j + m] += wide
        added.append(at)
    kept, dropped = t_wave_free(np.sort(np.concatenate([b, added])), y, fs)
    assert len(dropped) == 0 and len(kept) == len(b) + len(added)


def test_interpolated_pvcs_with_the_next_sinus_beat_on_time_are_kept():
    """ecg_rhythm drops an early beat of poor shape when, without it, the next two beats keep
    the steady rhythm. An interpolated PVC (wide, tall, of another shape: sqi 0.43-0.46) half
    way through a sinus interval of MIT-BIH 100 (tuning), the next sinus beat on time: 15 of
    17 are dropped (without the pick, 1 missed). Concealed conduction usually delays that
    beat (MIT-BIH 123's: 0.20-0.28 intervals off, kept), but by the rule's sums (FIT_SUM
    over both offsets) one delayed under 0.1 of an interval (80 ms at 75 bpm) goes too. Neither height (0.9-1.1 of the beats
    before, against 0.4-1.7 for NSTDB 118e06's noise waves) nor shape (0.0-0.69 there)
    tells them apart. The low band's contrast (ecg_band.band_stats) on the last 10-s window
    complete before the beat does: 4.0-15.7 at every beat the pick drops on the corpus
    (118e06, 118e00, mitdb-101), 22.8-29.6 here; the pick now leaves an early beat alone
    where that window's contrast is 20 or more (ecg_rhythm.CLEAN_CONTRAST). A lead whose
    clean windows read under 20 (paced or bundle-branch complexes: MIT-BIH 107 8.6-12.1)
    still loses such a PVC."""
    x, fs, b = _ecg100()
    t, y, added = np.arange(len(x)) / fs, x.copy(), []
    amp = float(np.percentile(np.abs(x - np.median(x)), 99.5))
    for k in range(15, len(b) - 3, 12):
        at = b[k - 1] + 0.5 * (b[k] - b[k - 1])
        y -= 1.2 * amp * (np.exp(-0.5 * ((t - at) / 0.035) ** 2)
                          - 0.5 * np.exp(-0.5 * ((t - at - 0.09) / 0.05) ** 2))
        added.append(at)
    got = waveform_peaks(y, fs, "ecg").idx / fs
    missed = [a for a in added if np.min(np.abs(got - a)) > 0.15]
    assert len(missed) <= 1
