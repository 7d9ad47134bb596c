"""Real PVC complexes laid into wide-complex leads (red team, issue 19): the low band's
gates keep an interpolated PVC of a paced or bundle-branch-block lead, where the wide
complexes keep the band-passed signal over the height gate long enough that the lead read
as noisy, and streaming still equals batch."""

import numpy as np
import pytest

from empathy.edge.beat_score import beat_match
from empathy.edge.heart_beats import _join
from empathy.edge.heart_corpus import annotated_beats, beat_labels, record_data
from empathy.edge.heart_method import METHODS
from empathy.edge.heart_stream import BeatStream
from corpus_records import need
from streamed import streamed

PRE, POST = 0.2, 0.45  # a PVC's cut: from before its QRS to past its T wave


def _amp(x):
    return float(np.percentile(np.abs(x - np.median(x)), 99.5))


def _pvcs(name, fs_to, most=6):
    """Up to `most` annotated PVCs of a tuning record, each with its neighbours at least
    0.3 s before and 0.5 s after, less the line between the cut's ends, in units of the
    record's 99.5th-percentile amplitude (so each keeps its size against its own beats)."""
    rec = need(name)
    x, fs = record_data(rec)
    b, lab = annotated_beats(rec, len(x), fs), beat_labels(rec, len(x))
    out, t = [], np.arange(int((PRE + POST) * fs_to)) / fs_to
    for i in np.flatnonzero(lab == "V"):
        if 0 < i < len(b) - 1 and b[i] - b[i - 1] >= 0.3 and b[i + 1] - b[i] >= POST + 0.05:
            w = x[int((b[i] - PRE) * fs):int((b[i] + POST) * fs)].astype(float)
            w -= np.linspace(w[0], w[-1], len(w))
            out.append(np.interp(t, np.arange(len(w)) / fs, w) / _amp(x))
        if len(out) == most:
            break
    return out


def _interpolated(name, donor, frac):
    """Record `name` with donor's PVCs added at `frac` of every 12th interval (its beats
    around them untouched: interpolated PVCs), the true beats and the PVCs' times."""
    rec = need(name)
    x, fs = record_data(rec)
    b = annotated_beats(rec, len(x), fs)
    y, added, cs, a = x.astype(float), [], _pvcs(donor, fs), _amp(x)
    for j, k in enumerate(range(15, len(b) - 3, 12)):
        at = b[k - 1] + frac * (b[k] - b[k - 1])
        s0 = int(round(at * fs)) - int(PRE * fs)
        y[s0:s0 + len(cs[0])] += a * cs[j % len(cs)]
        added.append(at)
    return y, fs, np.sort(np.concatenate([b, added])), np.array(added)


def _low_band(y, fs):
    st = BeatStream(fs, "ecg", METHODS["ecg"])
    return _join([st.push(y), st.finish()]).idx / fs


def _missed(added, got):
    return int(np.sum([np.min(np.abs(got - t)) > 0.15 for t in added]))


@pytest.mark.parametrize("name, donor, frac, most", [
    # MIT-BIH 109 V1 (left bundle branch block) with 119's PVCs: 18 and 16 of 20 missed
    # before (the noise gate held them and gave their place to the next beat)
    ("mitdb-109", "mitdb-119", 0.4, 1), ("mitdb-109", "mitdb-119", 0.5, 1),
    ("mitdb-109", "mitdb-109", 0.4, 7),  # its own PVCs: 17 missed before
    ("mitdb-107", "mitdb-119", 0.5, 0),  # paced, V1: 3 of 17 before
    ("mitdb-118", "mitdb-118", 0.4, 0),  # right bundle branch block: 3 of 20 before
])
def test_interpolated_pvcs_of_wide_complex_leads_stay(name, donor, frac, most):
    y, fs, truth, added = _interpolated(name, donor, frac)
    got = _low_band(y, fs)
    assert _missed(added, got) <= most
    assert beat_match(truth, got).fp == 0  # and nothing on a T wave


def test_streaming_equals_batch_with_pvcs_laid_in():
    y, fs, _, _ = _interpolated("mitdb-109", "mitdb-119", 0.5)
    st = BeatStream(fs, "ecg")
    batch = _join([st.push(y), st.finish()])
    for seed in (0, 1):
        got = streamed(y, fs, "ecg", seed, 2000)
        assert np.array_equal(got.idx, batch.idx) and np.array_equal(got.sqi, batch.sqi)


@pytest.mark.parametrize("name, donor, most", [
    # 109 V1 (left bundle branch block) with 119's PVCs at 0.5: 18 of 20 missed before
    # ecg_ectopic (0 with ecg_rhythm and ecg_pair off): their windows' contrast 7.7-19.1,
    # inside the 4.0-15.7 of the noise those stages drop
    ("mitdb-109", "mitdb-119", 2),
    ("mitdb-107", "mitdb-119", 2),  # paced: 14 of 17 before
    ("mitdb-118", "mitdb-118", 2),  # right bundle branch block, its own PVCs: 10 of 20
])
def test_the_whole_detector_keeps_recurring_interpolated_pvcs_of_wide_complex_leads(
        name, donor, most):
    """ecg_rhythm and ecg_pair drop an early beat of poor shape in such a lead; the same
    PVC shape seen before (ecg_ectopic) keeps it."""
    from empathy.edge.heart import waveform_peaks

    y, fs, truth, added = _interpolated(name, donor, 0.5)
    got = waveform_peaks(y, fs, "ecg").idx / fs
    assert _missed(added, got) <= most
    assert beat_match(truth, got).fp <= 1


def _bigeminy(name, donor, coupling):
    """Record `name` with every other beat from the 11th replaced by donor's PVCs at
    `coupling` of the interval (the sinus beat blanked: the pause), the true beats and
    the PVCs' times."""
    rec = need(name)
    x, fs = record_data(rec)
    b = annotated_beats(rec, len(x), fs)
    y, truth, added, cs, a = x.astype(float), list(b), [], _pvcs(donor, fs), _amp(x)
    for j, k in enumerate(range(11, len(b) - 2, 2)):
        at = b[k - 1] + coupling * (b[k] - b[k - 1])
        a0, a1 = int((b[k] - 0.12) * fs), int((b[k] + 0.4) * fs)
        y[a0:a1] = np.linspace(y[a0], y[a1], a1 - a0)
        s0 = int(round(at * fs)) - int(PRE * fs)
        y[s0:s0 + len(cs[0])] += a * cs[j % len(cs)]
        truth.remove(b[k])
        added.append(at)
    return y, fs, np.sort(np.concatenate([truth, added])), np.array(added)


# at 0.6 one window (120-130 s) still goes to 20-45 Hz: its 3 lone beats match none
@pytest.mark.parametrize("coupling, most, switches", [(0.5, 4, 0), (0.6, 6, 2)])
def test_pvcs_in_bigeminy_keep_the_low_band_of_a_bundle_branch_lead(coupling, most, switches):
    """MIT-BIH 118 (right bundle branch block) with 119's PVCs in bigeminy: 20-45 Hz lost
    them (little energy there) and so kept the rhythm the low band's 'extra' beats broke,
    as with electrode motion; the band switched and 50 (0.5) and 19 (0.6) of 120 went. The
    lone low-band beats sharing a shape (ecg_ectopic.shared_shape) keep the low band."""
    from empathy.edge.heart import waveform_peaks

    y, fs, truth, added = _bigeminy("mitdb-118", "mitdb-119", coupling)
    st = BeatStream(fs, "ecg")
    got = _join([st.push(y), st.finish()]).idx / fs
    assert _missed(added, got) <= most and len(st.bands.switches) <= switches
    assert np.array_equal(got, waveform_peaks(y, fs, "ecg").idx / fs)
