"""Red team on the fifteenth pass's heart-signal code: the close-pair stage (edge/ecg_pair.py)
on real arrhythmias under real electrode-motion noise, the step gate's STEP_SPREAD
(heart_gates._step) on electrode pops at several sampling rates, PPG on a flat line's
flicker, and an ECG stream too short for a band.

The noise is NSTDB's own: 118e00 minus 118e24 is the electrode-motion record laid on MIT-BIH
118 at 0 dB less the same at 24 dB (the ECG cancels; 0.94 of the noise is left), 30-150 s,
scaled to the target record's RMS about its baseline. Tuning records only."""

import numpy as np
import pytest
from scipy import signal

import empathy.edge.heart_gates as hg
from empathy.edge import ecg_pair
from empathy.edge.beat_score import beat_match
from empathy.edge.heart import BeatStream, waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data
from corpus_records import need


def _record(name):
    rec = need(name)
    x, fs = record_data(rec)
    return x, fs, annotated_beats(rec, len(x), fs)


def _noisy(name, snr_db, from_s=20.0):
    """The record with NSTDB electrode motion from `from_s` at snr_db (RMS about baseline)."""
    x, fs, ann = _record(name)
    e00, e24 = record_data(need("nstdb-118e00"))[0], record_data(need("nstdb-118e24"))[0]
    n = (e00 - e24)[30 * 360:150 * 360]
    n = n - np.median(n)
    if fs != 360:
        n = signal.resample_poly(n, int(fs), 360)
    level = np.std(x - signal.medfilt(x, int(fs * 0.6) // 2 * 2 + 1)) * 10 ** (-snr_db / 20)
    y, a = x.copy(), int(from_s * fs)
    m = min(len(y) - a, len(n))
    y[a:a + m] += n[:m] / n.std() * level
    return y, fs, ann


def _with_and_without_pairs(y, fs, monkeypatch):
    on = waveform_peaks(y, fs, "ecg").idx / fs
    monkeypatch.setattr(ecg_pair, "CLOSE", 0.0)
    off = waveform_peaks(y, fs, "ecg").idx / fs
    monkeypatch.undo()
    return on, off


@pytest.mark.xfail(strict=True, reason="measured: the stage drops the V at 38.80 s of a PVC "
                   "run (sqi 0.54, 0.44 s before the next V, no pause after) at +6 dB with 3 "
                   "noise offsets; at +12 dB it stays. Real noise (the floor 1.7-2.0x the clear "
                   "start's): ecg_band.CLEAREST_S's look-back changes nothing here")
def test_a_pvc_run_in_mild_electrode_motion_keeps_its_beats(monkeypatch):
    """MIT-BIH 207 (tuning; RBBB, bigeminy, a couplet and a triplet) with real electrode
    motion at +6 dB from 20 s: the windows read under NOISIER of the clear start, and the
    close-pair stage takes a PVC of the run at 38.80 s (VVLVVV) for noise: 1 true beat lost,
    no extra beat removed. Without the stage it is found."""
    y, fs, ann = _noisy("mitdb-207", 6.0)
    on, off = _with_and_without_pairs(y, fs, monkeypatch)
    assert np.min(np.abs(off - 38.80)) < 0.15
    assert np.min(np.abs(on - 38.80)) < 0.15


def _shrunk(x, fs, gain=0.5, floor=0.02, from_s=20.0):
    """x whose QRS (x less its 0.6-s median baseline) is scaled by `gain` from `from_s` on,
    over the amplifier's own floor (white, `floor` of the QRS height)."""
    base = signal.medfilt(x, int(fs * 0.6) // 2 * 2 + 1)
    qrs = np.percentile(x, 99.5) - np.percentile(x, 0.5)
    y, a = x.copy(), int(from_s * fs)
    y[a:] = base[a:] + gain * (x[a:] - base[a:]) \
        + floor * qrs * np.random.default_rng(1).standard_normal(len(x) - a)
    return y


@pytest.mark.xfail(strict=True, reason="measured: V beats of the run at 37.08 and 38.80 s "
                   "dropped, no extra beat removed (fn 0 -> 2, fp 0 -> 0); at QRS x0.3 with a "
                   "3 % floor the V at 39.24 s (fn 2 -> 3). The lead's clearest now looks back "
                   "ecg_band.CLEAREST_S (180 s) only, and 20 s after the change nothing tells it "
                   "from a noise burst. Tried: a fall counted as noise only where the floor rose "
                   "more than the beats shrank (top x floor over the clearest window's): passes "
                   "this, but MIT-BIH 106's tops swing 2x with its beat mix, and under 0 dB "
                   "motion (heart15_sweep, roll 80) the stage then lost 13 true beats; pooled "
                   "over 9 records at 0 dB 27 lost for 75 removed against 14 for 86: not kept")
def test_a_lead_that_shrinks_without_noise_keeps_its_pvc_run(monkeypatch):
    """'The clearest the lead has shown' was remembered for ever (now for CLEAREST_S, test
    below): MIT-BIH 207 (tuning) whose QRS halves after 20 s (a strap slipping, a posture
    change) over the amplifier's own floor (white, 2 % of the QRS height) reads noisy from
    then on, though no noise came,
    and the close-pair stage takes V beats of its run (VVLVVV) for noise. Without the stage
    every beat is found."""
    x, fs, ann = _record("mitdb-207")
    on, off = _with_and_without_pairs(_shrunk(x, fs), fs, monkeypatch)
    assert beat_match(ann, off).fn == 0
    assert beat_match(ann, on).fn == 0


def _played(name, times):
    """A tuning record played `times` times over (each copy starting where the last ended)
    and its annotation."""
    x, fs, ann = _record(name)
    step, span = x[-1] - x[0], len(x) / fs
    return (np.concatenate([x + k * step for k in range(times)]), fs,
            np.concatenate([ann + k * span for k in range(times)]))


def test_a_lead_that_shrinks_for_good_is_judged_on_itself_after_a_while(monkeypatch):
    """The lead's clearest window is the clearest of the last CLEAREST_S (ecg_band), so a
    lead whose QRS halved for good (as above) stops reading noisy once its clear start is
    that far back. MIT-BIH 207 played 10 times (400 s, a PVC run every 40 s), QRS halved
    from 20 s: every true beat from 20 s + CLEAREST_S + two windows on is kept (the beats
    of a window are judged on the one before). Remembered for ever, the stage took 2-4 beats
    of every run (26 in all); measured with 180 s: 14, all before 200 s."""
    from empathy.edge import ecg_band

    y, fs, ann = _played("mitdb-207", 10)
    y = _shrunk(y, fs)
    on, off = _with_and_without_pairs(y, fs, monkeypatch)
    late = ann[ann > 20 + ecg_band.CLEAREST_S + 2 * ecg_band.CAL_S]
    assert beat_match(late, off[off > late[0] - 1]).fn == 0
    assert beat_match(late, on[on > late[0] - 1]).fn == 0
    monkeypatch.setattr(ecg_band, "CLEAREST_S", 1e9)  # (the test fails without the horizon)
    ever = waveform_peaks(y, fs, "ecg").idx / fs
    assert beat_match(late, ever[ever > late[0] - 1]).fn > 0


def test_the_lead_s_horizon_streams_as_in_batch():
    """Past CLEAREST_S the clearest window leaves the memory at fixed windows: MIT-BIH 207
    played 10 times, QRS halved from 20 s, in random chunks gives the batch's beats."""
    from streamed import streamed

    y, fs, _ = _played("mitdb-207", 10)
    y = _shrunk(y, fs)
    batch = waveform_peaks(y, fs, "ecg")
    for seed, longest in ((0, 50), (1, int(3 * fs)), (2, int(60 * fs))):
        s = streamed(y, fs, "ecg", seed, longest)
        assert np.array_equal(s.idx, batch.idx) and np.allclose(s.sqi, batch.sqi)


def test_noisy_bigeminy_loses_fewer_true_beats_than_extra_ones(monkeypatch):
    """MIT-BIH 200 (tuning; bigeminy) at -6 dB from 20 s: of a pair (noise wave, sinus beat)
    the sinus beat, its shape spoilt by the noise (sqi 0.26-0.78), read the poorer; the V
    after it comes 0.53-0.80 s on, no pause. Every lost beat is an N of VNVNV. Measured when
    written: 7 true beats lost for 2 extra ones removed (F1 0.8755 -> 0.8641); since the
    noise gate's 0.18 (ecgpvc, merged after) the stage loses 3 and removes 3 (F1 0.8917 ->
    0.8905): no net loss, a guard now."""
    y, fs, ann = _noisy("mitdb-200", -6.0)
    on, off = _with_and_without_pairs(y, fs, monkeypatch)
    m_on, m_off = beat_match(ann, on), beat_match(ann, off)
    assert m_on.fn - m_off.fn <= m_off.fp - m_on.fp


def _pops(fs, first_share, overshoot=0.0):
    """MIT-BIH 100's first 2 min at fs, with 16 electrode pops (2x the QRS, alternate
    signs, recovering over 0.4 s) whose jump takes one sample (first_share 1) or two, or
    overshoots by `overshoot` of it for one sample."""
    x0, fs0, ann = _record("mitdb-100")
    x0, ann = x0[:int(120 * fs0)], ann[ann < 119]
    x = signal.resample_poly(x0, fs, int(fs0))
    amp = np.percentile(np.abs(x0 - np.median(x0)), 99.5)
    at = np.sort(np.random.default_rng(0).uniform(3, 117, 16))
    for k, t in enumerate(at):
        i = int(t * fs)
        pop = 2.0 * amp * (1 if k % 2 else -1) * np.exp(-np.arange(len(x) - i) / fs / 0.4)
        pop[0] = pop[0] * first_share + overshoot * pop[0]
        x[i:] += pop
    return x, at


def _on_pops(beats, at):
    return int(np.count_nonzero(np.abs(beats[:, None] - at).min(axis=0) < 0.05))


@pytest.mark.parametrize("fs", [130, 250, 500, 1000])
def test_a_one_sample_pop_is_a_step_at_any_rate(fs):
    """A pop whose jump takes one sample, or overshoots by a sample, stays refused at the
    Polar H10's 130 Hz up to 1000 Hz (9 of 16 pops near a beat, as without STEP_SPREAD:
    the others stand within a QRS's refractory time)."""
    for overshoot in (0.0, 0.3):
        x, at = _pops(fs, 1.0, overshoot)
        assert _on_pops(waveform_peaks(x, fs, "ecg").idx / fs, at) <= 9


@pytest.mark.xfail(strict=True, reason="measured at 130, 250, 500 and 1000 Hz alike: beats "
                   "near the 16 pops 10 -> 16, extra beats 5 -> 10 since STEP_SPREAD. Tried: "
                   "both neighbours moving (0.03 of the jump each) restores 10 and 5, but over "
                   "the tuning records resampled to 130 Hz costs 4 true beats and 3 extra "
                   "(sel232's APC at 41.62 s: sides -0.02 and 0.71), at 200 Hz 1 and 2")
@pytest.mark.parametrize("fs", [130, 250, 500, 1000])
def test_a_pop_whose_jump_takes_two_samples_is_still_a_step(fs, monkeypatch):
    """A front end's filter spreads a pop's jump over two samples (0.6 then 0.4 of it): the
    first sample still holds STEP_FRAC of the range, but its neighbour moves 0.67 of it
    with it, over STEP_SPREAD, so the pop reads as a QRS. Without STEP_SPREAD 10 of the 16
    pops stood near a beat; with it all 16 do."""
    x, at = _pops(fs, 0.6)
    ours = _on_pops(waveform_peaks(x, fs, "ecg").idx / fs, at)
    monkeypatch.setattr(hg, "STEP_SPREAD", np.inf)
    before = _on_pops(waveform_peaks(x, fs, "ecg").idx / fs, at)
    assert before == 10 and ours <= before


def test_close_pairs_in_real_noise_stream_as_in_batch():
    """MIT-BIH 200 at -6 dB (the stage's decisions wait for up to two beats): random chunks
    of 7 samples to 3 s give the batch's beats."""
    from streamed import streamed

    y, fs, _ = _noisy("mitdb-200", -6.0)
    batch = waveform_peaks(y, fs, "ecg")
    for seed, longest in ((0, 7), (1, int(0.3 * fs)), (2, int(3 * fs))):
        s = streamed(y, fs, "ecg", seed, longest)
        assert np.array_equal(s.idx, batch.idx) and np.allclose(s.sqi, batch.sqi)


@pytest.mark.parametrize("hz", [0.6, 1.0, 1.3, 2.0, 2.6])
def test_a_flat_line_with_mains_flicker_makes_no_beats(hz):
    """A 10-bit PPG board's flat line (no finger) with mains hum aliased to hz, one code
    high, with and without half a code of dither: no pulse (pulse_in_rhythm and the beats
    placed counting in _regular's rhythm must not make a rhythm of it). Measured: 0 beats
    in each case, 1 with dither at 1.0 Hz (before this pass too)."""
    fs = 100.0
    t = np.arange(int(120 * fs)) / fs
    rng = np.random.default_rng(0)
    ph = 2 * np.pi * hz * t
    for x in (512 + np.round(0.6 * np.sin(ph)), 512 + (np.sin(ph) > 0.95).astype(float),
              512 + np.round(1.2 * np.sin(ph)),
              512 + np.round(0.6 * np.sin(ph) + rng.normal(0, 0.3, t.size))):
        assert len(waveform_peaks(x, fs, "ppg").idx) <= 1


@pytest.mark.parametrize("fs", [130.0, 250.0, 360.0, 1000.0])
def test_an_ecg_stream_of_few_or_no_samples_finishes_with_no_beats(fs):
    """ecg_band.finish chose a band on no samples (IndexError); empty pushes, one sample
    and a few ms of samples must finish quietly too."""
    for n in (0, 1, 2, 10):
        st = BeatStream(fs, "ecg")
        for _ in range(3):
            st.push(np.zeros(0))
        st.push(np.random.default_rng(n).normal(size=n))
        assert len(st.finish().idx) == 0


def _settling(x0, fs, k):
    """MIT-BIH cut k of start.py's sweep: from 1 + 0.29 k s, 15 s, electrodes settling from
    the first sample (a DC offset of 2-10 QRS heights fading over 0.2-1 s) under white noise
    fading over 1 s."""
    rng = np.random.default_rng(k)
    o = int((1.0 + 0.29 * k) * fs)
    x = x0[o:o + int(15 * fs)].copy()
    qrs = np.percentile(x0, 99.5) - np.percentile(x0, 0.5)
    t = np.arange(len(x)) / fs
    x += qrs * rng.uniform(2, 10) * rng.choice([-1, 1]) * np.exp(-t / rng.uniform(0.2, 1.0))
    return x + qrs * 0.2 * rng.standard_normal(len(x)) * np.clip(1 - t, 0, 1), o / fs


@pytest.mark.xfail(strict=True, reason="measured: the rule keeps a non-beat 0.08 and 0.33 s into "
                   "2 of MIT-BIH 106's 120 cuts (k 64, 105); over 600 cuts of 5 tuning "
                   "records (QTDB 117, 233, MIT-BIH 100, 106, 203) it added 2 true beats and "
                   "these 2; settling alone: 4 true, none false")
@pytest.mark.parametrize("k", [64, 105])
def test_electrodes_settling_under_noise_give_the_first_beat_rule_no_beat(k, monkeypatch):
    """heart_gates._first_like keeps the look-back's beat that breaks the rhythm in a quiet
    start. Under electrodes settling with fading white noise it kept a wave at the stream's
    first 0.4 s that no annotation has and the detector without the rule dropped."""
    import dataclasses

    import empathy.edge.heart_method as hm

    x0, fs, ann0 = _record("mitdb-106")
    x, start = _settling(x0, fs, k)
    ann = ann0 - start
    on = waveform_peaks(x, fs, "ecg").idx / fs
    monkeypatch.setitem(hm.METHODS, "ecg", dataclasses.replace(hm.METHODS["ecg"],
                                                                first_like=False))
    off = waveform_peaks(x, fs, "ecg").idx / fs
    added = [t for t in on[on < 3] if np.min(np.abs(off - t)) > 0.15]
    assert all(np.min(np.abs(ann - t)) <= 0.15 for t in added)
