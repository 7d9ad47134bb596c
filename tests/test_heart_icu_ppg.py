"""The ICU finger PPG excerpts with a lead II beat reference from the PhysioNet/CinC
Challenge 2015 (edge/heart_reference/cinc15-*.npz, issue 19's twelfth pass): what the
files hold, that they are the ones the README records, and that the reference sits on the
ECG's QRS and is followed by a finger pulse."""

import numpy as np
import pytest

from empathy.edge.beat_score import in_spans, t_wave_free
from empathy.edge.heart_corpus import (REFERENCE_DIR, RECORDS, annotated_beats, record,
                                        record_data, reference_lead, trusted_spans)
from empathy.edge.heart_validation import score_record
from reference_excerpts import aligned, holds, readme_records

# record -> (reference beats, trusted s) as the README's table gives them when cut, and the
# first ADC codes of lead II and PLETH as the record's header gives them
CINC15 = {"cinc15-v102s": (446, 160.6, (-26, -46)), "cinc15-a103l": (505, 238.4, (-171, 6042))}


def test_the_split_is_the_one_written_down_before_scoring():
    recs = {r.name: r for r in RECORDS if r.name.startswith("cinc15-")}
    assert set(recs) == set(CINC15)
    assert not recs["cinc15-v102s"].held_out and recs["cinc15-a103l"].held_out


@pytest.mark.parametrize("name", CINC15)
def test_the_excerpt_is_the_one_the_readme_records(name):
    assert "commit 6850ad1aa0c1fcb2282b3625f767de98396cf740" in readme_records(name)


@pytest.mark.parametrize("name", CINC15)
def test_the_excerpt_holds_4_min_of_finger_pulse_and_its_ecg_beats(name):
    n, trusted, first = CINC15[name]
    rec, x, _, _ = holds(name, 250.0, 60000, n, trusted)
    with np.load(REFERENCE_DIR / rec.member) as z:  # the record's ADC codes, from its start
        assert z["ecg"].dtype == z["ppg"].dtype == np.int16 and len(z["ecg"]) == len(x)
        assert (int(z["ecg"][0]), int(z["ppg"][0])) == first


@pytest.mark.parametrize("name", CINC15)
def test_the_reference_sits_on_the_qrs_and_a_pulse_follows_it(name):
    """(reference_excerpts.aligned) when written: the pulse's rise v102s 0.80, a103l 0.62."""
    aligned(name)


def test_a_smooth_wave_soon_after_a_qrs_is_its_t_wave_a_steep_one_a_beat():
    """Pan-Tompkins' T-wave rule on a lead: a complex within 360 ms of the last kept beat
    goes when its steepest slope is under half that beat's (a T wave), stays when steep (a
    premature complex); far enough from the last beat, any complex stays."""
    fs = 250.0
    t = np.arange(int(4 * fs)) / fs
    ecg = np.zeros_like(t)
    for c in (0.5, 1.5, 1.8, 3.0):  # QRS complexes: 20 ms wide spikes; 1.8 s is premature
        ecg += np.exp(-0.5 * ((t - c) / 0.008) ** 2)
    for c in (0.78, 2.08, 3.28):  # T waves 280 ms after a QRS: 80 ms wide, a third as tall
        ecg += 0.35 * np.exp(-0.5 * ((t - c) / 0.04) ** 2)
    kept, dropped = t_wave_free([0.5, 0.78, 1.5, 1.8, 2.08, 3.0, 3.28], ecg, fs)
    assert np.allclose(kept, [0.5, 1.5, 1.8, 3.0]) and np.allclose(dropped, [0.78, 2.08, 3.28])
    # past the rule's 360 ms any beat stays, however flat (the trusted spans judge it)
    assert np.allclose(t_wave_free([0.5, 0.9], ecg, fs)[0], [0.5, 0.9])


def test_the_t_waves_the_ecg_peers_took_for_beats_on_v102s_are_left_out():
    """cinc15-v102s's reference (4 of the 7 ECG peers on lead II) holds 41 beats on tall T
    waves, 256-336 ms after a QRS (its burst-like complexes are 20 times as steep), 9 of them
    inside the trusted spans, where every PPG detector 'missed' them (a finger pulse follows
    the QRS only). The other ICU records lose none; the corpus page scores the reference
    without them, and ours then meets the goal there (it did not: F1 0.978 against
    NeuroKit2's 0.976 but HR -3.4 bpm)."""
    rec = record("cinc15-v102s")
    x, fs = record_data(rec)
    beats, spans, lead = annotated_beats(rec, len(x), fs), trusted_spans(rec), reference_lead(rec)
    kept, dropped = t_wave_free(beats, lead, fs)
    assert len(dropped) == 41 and len(in_spans(dropped, spans)) == 9
    after = dropped - kept[np.searchsorted(kept, dropped) - 1]
    assert after.min() >= 0.25 and after.max() <= 0.34
    for other in ("cinc15-a103l", "bidmc-01"):
        r = record(other)
        y, rfs = record_data(r)
        assert len(t_wave_free(annotated_beats(r, len(y), rfs), reference_lead(r), rfs)[1]) == 0
    rows = score_record(rec)["rows"]
    m, hr, hr_ref = rows["ours"]
    assert m.tp + m.fn == 289
    assert m.f1 >= max(v[0].f1 for n, v in rows.items() if n != "ours")
    assert abs(hr - hr_ref) <= 1.5
