"""PVCs told from the ECG alone (edge/pvc_width.py), and the PPG score that leaves out the
PVCs that made no pulse (edge/pulse_deficit.py): a wide premature complex is a PVC, a
narrow one (an atrial premature beat) is not; the labelled tuning records' V beats are
found; bidmc-04's pulse deficits leave the reference for every detector alike."""

import numpy as np

from empathy.edge.beat_score import (Match, in_spans, lagged_match, peer_beats, resampled,
                                     span_rate, t_wave_free)
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import (annotated_beats, beat_labels, peer_cache_dir,
                                        record_data, reference_lead, trusted_spans)
from empathy.edge.pulse_deficit import deficit_match, deficits, skip_match
from empathy.edge.pvc_width import qrs_widths, ventricular
from corpus_records import need

FS = 360.0


def _complex(t: np.ndarray, at: float, width_s: float, sign: float = 1.0) -> np.ndarray:
    """A biphasic QRS about width_s long (a Gaussian's derivative less a Gaussian), in mV."""
    s = width_s / 6.0
    u = (t - at) / s
    return sign * (np.exp(-0.5 * u ** 2) - 0.6 * u * np.exp(-0.5 * (u - 1) ** 2))


def _sim(kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """An ECG of beats 0.8 s apart: 'n' a 90-ms QRS on time, 'v' a 170-ms QRS of the other
    polarity 0.48 s after the last beat with a full compensatory pause, 'a' a 90-ms QRS as
    early with the rhythm reset after it. Returns (ECG, R times in s)."""
    r, t_last = [], 0.5
    for k in kinds:
        t_last += 0.48 if k in "va" else (1.12 if r and kinds[len(r) - 1] == "v" else 0.8)
        r.append(t_last)
    t = np.arange(int((t_last + 1.0) * FS)) / FS
    x = np.zeros(len(t))
    for k, at in zip(kinds, r):
        x += _complex(t, at, 0.17 if k == "v" else 0.09, -1.0 if k == "v" else 1.0)
        x += 0.2 * np.exp(-0.5 * ((t - at - 0.3) / 0.05) ** 2)  # a T wave
    return x, np.array(r)


def test_a_wide_premature_complex_is_a_pvc_and_a_narrow_one_is_not():
    kinds = list("nnnnnvnnnnnannnnvnnnnnnann")
    x, r = _sim(kinds)
    w = qrs_widths(x, FS, r)
    wide = np.array([k == "v" for k in kinds])
    assert np.all(w[wide] > 0.13) and np.all(w[~wide] < 0.11), w
    np.testing.assert_array_equal(ventricular(x, FS, r), wide)


def test_the_labelled_tuning_records_v_beats_are_found_and_their_n_beats_are_not():
    """MIT-BIH 119 (ventricular bigeminy and trigeminy), tuning: Se 65/66 and no false PVC at
    360 Hz; at BIDMC's 125 Hz as well."""
    rec = need("mitdb-119")
    x, fs = record_data(rec)
    isv = beat_labels(rec, len(x)) == "V"
    r = annotated_beats(rec, len(x), fs)
    for y, rate in ((x, fs), (resampled(x, fs, 125.0), 125.0)):
        v = ventricular(y, rate, r)
        assert (v & isv).sum() >= 0.95 * isv.sum(), rate
        assert not (v & ~isv).any(), rate


def test_narrow_early_pvcs_with_a_compensatory_pause_are_found():
    """MIT-BIH 105 (tuning): its 9 V beats are no wider than the dominant beat (83-114 ms
    against 89) and look like it at 0.79-0.84, so neither width nor OSEA's rule 2 named one;
    each comes at 0.53-0.69 of the normal interval with a pause of 1.30-1.45 after it (an
    atrial beat resets the sinus node: MIT-BIH 118's and QT sel821's at most 1.24). All 9
    found, no false PVC."""
    rec = need("mitdb-105")
    x, fs = record_data(rec)
    t = annotated_beats(rec, len(x), fs)
    order = np.argsort(t, kind="stable")
    isv = beat_labels(rec, len(x))[order] == "V"
    v = ventricular(x, fs, t[order])
    assert (v & isv).sum() == isv.sum() == 9 and not (v & ~isv).any()


def test_a_skipped_reference_beat_is_neither_a_hit_a_miss_nor_an_extra_beat():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    assert skip_match(ref, [1.0, 2.02, 4.0], [3.0]) == Match(3, 0, 0)
    assert skip_match(ref, [1.0, 3.05, 4.0], [3.0]) == Match(2, 0, 1)  # 2.0 missed
    assert skip_match(ref, [1.0, 2.0, 2.5, 3.0, 4.0], [3.0]) == Match(3, 1, 0)


def test_bidmc_04s_pvcs_with_no_pulse_leave_the_reference_for_every_detector_alike():
    """bidmc-04 (tuning): its seven misses inside the trusted spans are PVCs whose PLETH
    shows no pulse (ten such in the record); the ECG's width rule and the PPG's rise name
    them, and the deficit-aware score of ours and of each peer is what it was with those
    misses gone (each detector missed all seven). Ours then meets the goal: F1 at least the
    best peer's, HR within 1.5 bpm."""
    rec = need("bidmc-04")
    x, fs = record_data(rec)
    spans = trusted_spans(rec)
    r = t_wave_free(annotated_beats(rec, len(x), fs), reference_lead(rec), fs)[0]
    gone, pvc = deficits(x, fs, reference_lead(rec), r)
    assert len(gone) == 10 and set(gone) <= set(pvc) and len(in_spans(gone, spans)) == 7
    beats = {"ours": waveform_peaks(x, fs, "ppg").idx / fs,
             **{k: b for k, b in peer_beats(x, fs, "ppg", peer_cache_dir()).items()
                if b is not None}}
    rows = {}
    for name, b in beats.items():
        before, lag = lagged_match(r, b, spans)
        plain = deficit_match(r, b, spans, [])
        assert plain[0] == before
        assert abs(plain[1] - (span_rate(b - lag, spans) - span_rate(r, spans))) < 1e-9
        rows[name] = deficit_match(r, b, spans, gone)
        assert rows[name][0] == Match(before.tp, before.fp, before.fn - 7), name
    best = max(m.f1 for n, (m, _) in rows.items() if n != "ours")
    assert rows["ours"][0].f1 >= best and abs(rows["ours"][1]) <= 1.5
