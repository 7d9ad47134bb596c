"""Red team on the paced-rhythm label (edge/paced.py): what reads as a pacing spike that is
none (a false label withholds a healthy viewer's HRV for the whole show) and pacing it
misses (device-made intervals sent as the viewer's HRV). The hearts here are made apart
from the label's constants: a fine-grained ECG (8 kHz) through a recorder's band and
sampled at the board's rate; the real records come from the corpus's tuning set."""

from fractions import Fraction

import numpy as np
import pytest
from scipy import signal

from empathy.bench.paced_labels import batch_label, seat_label
from empathy.edge.beat_score import resampled
from empathy.edge.heart_corpus import record_data
from empathy.edge.paced import PacedBeats, paced, spikes
from corpus_records import need

FINE = 8000.0


def _wave(t, at, sd):
    return np.exp(-0.5 * ((t - at) / sd) ** 2)


def heart(fs: float, kind: str = "sinus", seconds: float = 60.0, seed: int = 0,
          bpm: float = 70.0, stim: float = 8.0, **kw) -> np.ndarray:
    """An ECG sampled at fs. kind: 'sinus' (P: p_amp of the R, Gaussian of sd p_sd, 160 ms
    ahead; narrow QRS with q and s; T: t_amp of the R, t_at s after it), 'ventricular' (a 0.5 ms stimulus, stim times the complex, its
    recharge tail, a wide complex peaking lead s later), 'atrial' (stimulus av s before a
    narrow conducted QRS, its P just after it), 'av' (atrial stimulus a_share of the
    ventricular one, av s ahead of it), 'fusion' (ventricular, a fusion_share of beats a
    narrow complex the stimulus precedes by 10 ms), 'rate' (ventricular, the rate swinging
    70 +- 40 bpm over 40 s). Through a 0.5-100 Hz recorder band, 1 % white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FINE)) / FINE
    x, b = np.zeros(len(t)), 0.5
    while b < seconds - 0.7:
        w = slice(int((b - 0.4) * FINE), int((b + 0.6) * FINE))
        tt, y = t[w], np.zeros(w.stop - w.start)

        def pulse(at, amp):
            y[(tt >= at) & (tt < at + 5e-4)] += amp
            y[:] -= 0.1 * amp * np.exp(-(tt - at) / 0.008) * ((tt > at) & (tt < at + 0.06))

        def narrow(p_at=-0.16):
            y[:] += (kw.get("p_amp", 0.15) * _wave(tt, b + p_at, kw.get("p_sd", 0.025)) - 0.1 * _wave(tt, b - 0.02, 0.006)
                     + _wave(tt, b, 0.009) - 0.25 * _wave(tt, b + 0.022, 0.008)
                     + kw.get("t_amp", 0.3) * _wave(tt, b + kw.get("t_at", 0.26), 0.045))

        def wide(peak):
            y[:] += (_wave(tt, peak, 0.03) - 0.4 * _wave(tt, peak + 0.07, 0.02)
                     - 0.3 * _wave(tt, peak + 0.26, 0.05))

        lead = kw.get("lead", 0.08)
        if kind == "sinus":
            narrow()
        elif kind in ("ventricular", "rate") or (kind == "fusion"
                                                 and rng.random() >= kw["fusion_share"]):
            pulse(b - lead, stim)
            wide(b)
        elif kind == "fusion":
            pulse(b - 0.01, stim)
            narrow()
        elif kind == "atrial":
            pulse(b - kw["av"], stim)
            narrow(p_at=0.04 - kw["av"])
        elif kind == "av":
            pulse(b - lead - kw["av"], kw["a_share"] * stim)
            pulse(b - lead, stim)
            wide(b)
        x[w] += y
        sinus = kind == "sinus"
        rate = 70 + 40 * np.sin(2 * np.pi * b / 40) if kind == "rate" else bpm
        b += 60.0 / rate + rng.normal(0, 0.03 if sinus else 5e-4)
    sos = signal.butter(2, (0.5, 100.0), "bandpass", fs=FINE, output="sos")
    q = Fraction(fs).limit_denominator(1000) / Fraction(FINE).limit_denominator(1000)
    y = signal.resample_poly(signal.sosfilt(sos, x), q.numerator, q.denominator)
    return y + rng.normal(0, 0.01, len(y))


def _at(name: str, fs2: float, seconds: float | None = None) -> np.ndarray:
    x, fs = record_data(need(name))
    x = x if seconds is None else x[:int(seconds * fs)]
    return x if fs2 == fs else resampled(x, fs, fs2)


def _hum(x, fs, mains_hz, share=0.3):
    """Mains hum and its harmonics (1/h each), its fundamental share of the R wave."""
    amp, t = np.percentile(np.abs(x - np.median(x)), 99.5), np.arange(len(x)) / fs
    return x + share * amp * sum(np.sin(2 * np.pi * mains_hz * h * t + h) / h
                                 for h in range(1, 6) if mains_hz * h < fs / 2)


# --- what must not read as paced ------------------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "sinus tachycardia at 150 bpm with a T wave as tall as its R, 170 ms after it (a chest "
    "lead, exercise): the narrow R is the fast part's extreme and the T the complex's, at a "
    "steady lag: paced at 130/250/500 Hz (83, 113, 118 of 147 beats). A rule that the spike's "
    "fast part outweigh 0.65 of what the running median keeps at its sample cleared it (a "
    "narrow R: 0.2-0.6) but lost held-out MIT-BIH 217 (68 of 72 beats to 0). At 190 ms the T's "
    "peak lies at the beat's reach end and is not judged"))
def test_a_tall_t_wave_in_a_fast_sinus_rhythm_is_not_paced():
    assert not any(batch_label(heart(fs, bpm=150, t_amp=1.0, t_at=0.17), fs)[0]
                   for fs in (130.0, 250.0, 500.0))


@pytest.mark.parametrize("fs", [130.0, 250.0, 500.0, 1000.0])
def test_a_tall_peaked_p_wave_is_not_paced(fs):
    """P pulmonale: a P wave half the R, peaked (sd 8 ms, 19 ms at half height; a real P
    lasts 80-120 ms), 160 ms ahead of the R: at most 2 of 69 beats read a spike."""
    assert not batch_label(heart(fs, p_amp=0.5, p_sd=0.008), fs)[0]


@pytest.mark.xfail(strict=True, reason=(
    "a P wave 14 ms wide at half height (sd 6 ms), 0.6 of the R, 150 ms ahead is an atrial "
    "pacing spike's shape through a 100 Hz band: labelled at 500 and 1000 Hz (51-53 of 69 "
    "beats at a steady 143 ms), not at 130 Hz. No P wave is that narrow; telling them apart "
    "would lose atrial pacing"))
def test_an_implausibly_narrow_p_wave_is_not_paced():
    assert not batch_label(heart(500.0, p_amp=0.6, p_sd=0.006, seed=1), 500.0)[0]


@pytest.mark.xfail(strict=True, reason=(
    "a board's amplifier that saturates: bsn-ecg-supine clipped at its 3rd and 97th "
    "percentiles, the flat-topped R's edge as the spike and its T wave as the complex (lag "
    "~130 ms): a seat calls 10 (250 Hz) and 5 (500 Hz) of 31 windows paced. Cleared by the "
    "same 0.65 rule that lost held-out MIT-BIH 217 (see the tall T wave)"))
@pytest.mark.parametrize("fs", [250.0, 500.0])
def test_a_clipped_real_ecg_is_not_paced(fs):
    x = _at("bsn-ecg-supine", fs)
    n, windows, _ = seat_label(np.clip(x, *np.percentile(x, [3, 97])), fs)
    assert n > 20 and windows == 0, (n, windows)


@pytest.mark.parametrize("fs", [250.0, 500.0])
def test_a_hard_clipped_real_ecg_is_not_paced(fs):
    """qtdb-sel821 railed 7 % of the time each side (a board's gain far too high): the R's
    remnant as the spike, and the complex's extreme 196-198 ms on, where the beat's reach
    ends and a T wave's slope is cut off. Before the fix: paced as a whole (193 of 307 beats
    at 250 Hz), a seat paced in 137 (250 Hz) and 143 (500 Hz) of 151 windows."""
    x = _at("qtdb-sel821", fs)
    x = np.clip(x, *np.percentile(x, [7, 93]))
    assert not batch_label(x, fs)[0]
    n, windows, _ = seat_label(x, fs)
    assert n > 100 and windows == 0, (n, windows)


def test_mains_hum_is_not_paced():
    """60 Hz hum with its harmonics, the fundamental 0.3 of the R wave (an unshielded
    board): it fills the fast part, and its extreme beside a QRS sat at a steady 26 ms.
    Before the fix: systole-ecg's first 10 min at 500 Hz, a seat paced in 55 of 571 windows;
    noise-detector-clean with 50 Hz hum paced as a whole (19 of 33 beats)."""
    x = _hum(_at("systole-ecg", 500.0, 600.0), 500.0, 60)
    n, windows, _ = seat_label(x, 500.0)
    assert n > 500 and windows == 0, (n, windows)
    x, fs = record_data(need("noise-detector-clean"))
    assert not batch_label(_hum(x, fs, 50), fs)[0]


@pytest.mark.xfail(strict=True, reason=(
    "60 Hz hum (fundamental 0.25 of the R) on a right bundle-branch block (nstdb-118e24, "
    "250 Hz): hum crest plus the rsR' r read as a spike 32-52 ms ahead of R' and stand 4.1-5.2 "
    "times the fast part's median, over ALONE: a seat calls 2 of 151 windows paced (27 "
    "before this branch). Fitting and removing 50/60 Hz harmonics per beat cleared it but cost "
    "MIT-BIH 107 at 130 Hz all its paced windows (28 to 0) and read 90 of systole-ecg's 1508 "
    "30 s windows paced under 50 Hz hum at 2x the R (batch label per window)"))
def test_hum_on_a_right_bundle_branch_block_is_not_paced():
    n, windows, _ = seat_label(_hum(_at("nstdb-118e24", 250.0), 250.0, 60, 0.25), 250.0)
    assert windows == 0, (n, windows)


def test_a_right_bundle_branch_block_at_100_hz_is_not_paced():
    """MIT-BIH 118's rsR' at 100 Hz: the running median spans 3 samples, so the narrow r
    is all fast part (0.53-0.85 of R', 40 ms ahead). Before the fix a seat called 55 of 151
    windows paced."""
    n, windows, _ = seat_label(_at("mitdb-118", 100.0), 100.0)
    assert n > 100 and windows == 0, (n, windows)


@pytest.mark.parametrize("fault", ["8-bit", "duplicated samples", "inverted", "pops", "EMG"])
def test_board_faults_on_real_ecg_are_not_paced(fault):
    """An 8-bit ADC, a board that sends each sample twice, an inverted lead, electrode pops
    (a step that decays over 50 ms, every 0.5-3 s), EMG bursts (20-120 Hz noise at 0.3 of
    the R wave's range, 1-2 s of every 4): MIT-BIH 118 and 101 at 250 Hz."""
    rng = np.random.default_rng(3)
    for name in ("mitdb-118", "mitdb-101"):
        x = _at(name, 250.0)
        if fault == "8-bit":
            step = np.ptp(x) / 255
            x = np.round(x / step) * step
        elif fault == "duplicated samples":
            x = np.repeat(x[::2], 2)[:len(x)]
        elif fault == "inverted":
            x = -x
        elif fault == "EMG":
            t = np.arange(len(x)) / 250.0
            sos = signal.butter(4, (20, 120), "bandpass", fs=250.0, output="sos")
            emg = signal.sosfilt(sos, rng.normal(size=len(x)))
            x = x + 0.3 * np.ptp(x) * emg / np.std(emg) / 4 * (t % 4 < rng.uniform(1, 2))
        else:
            t, amp = np.arange(len(x)) / 250.0, np.ptp(x)
            for at in np.cumsum(rng.uniform(0.5, 3.0, 200)):
                x = x + rng.choice((-1, 1)) * amp * (t >= at) * np.exp(-np.clip(t - at, 0, None) / 0.05)
        assert not batch_label(x, 250.0)[0], name
        n, windows, _ = seat_label(x, 250.0)
        assert windows == 0, (name, n, windows)


# --- pacing that must read as paced ---------------------------------------------------

PACING = {
    "ventricular": {},
    "atrial, AV 180 ms": {"kind": "atrial", "av": 0.18},
    "atrial, AV 120 ms": {"kind": "atrial", "av": 0.12},
    "AV-sequential, like spikes": {"kind": "av", "av": 0.08, "a_share": 1.05},
    "fusion, 30 %": {"kind": "fusion", "fusion_share": 0.3},
    "rate-responsive": {"kind": "rate"},
    "spike 200 ms ahead": {"lead": 0.2},
}


@pytest.mark.parametrize("fs", [130.0, 250.0, 500.0])
@pytest.mark.parametrize("case", list(PACING))
def test_pacing_of_each_kind_is_labelled(case, fs):
    kw = {"kind": "ventricular", **PACING[case]}
    assert batch_label(heart(fs, **kw), fs)[0]


def test_a_seat_withholds_hrv_ok_under_atrial_pacing_at_130_hz():
    """Atrial pacing conducts to a normal narrow QRS: the rhythm looks sinus but the rate is
    the device's."""
    n, windows, ok = seat_label(heart(130.0, kind="atrial", av=0.16, seconds=90), 130.0)
    assert n > 50 and windows == n and ok == 0, (n, windows, ok)


def test_fusion_beats_at_130_hz_keep_a_seat_paced():
    """Ventricular pacing with 30 % fusion beats at 130 Hz: the spike-to-complex lags fall
    on 62, 69 and 77 ms (7.7 ms samples); the beats at the common lag took LAG_TOL_S (15 ms)
    about their median, 15.4 ms (two samples) away when the median fell on 62 or 77. Before
    the fix a seat called 33 of 61 windows paced and sent HRV_OK in 28."""
    n, windows, ok = seat_label(heart(130.0, kind="fusion", fusion_share=0.3, seconds=90),
                                130.0)
    assert n > 50 and windows == n and ok == 0, (n, windows, ok)


@pytest.mark.xfail(strict=True, reason=(
    "bipolar pacing at a Polar H10's 130 Hz: a 0.5 ms stimulus 1.5 times the QRS through "
    "a 100 Hz band reaches 0.08 of the complex (3 of 69 beats over WEAK 0.12); at 250 Hz "
    "0.14 (60 of 69, labelled). Lowering WEAK to 0.08 meets the noise floor of synthetic "
    "wide complexes without a spike (0.07-0.08): it needs real bipolar-paced records"))
def test_bipolar_pacing_at_130_hz_is_labelled():
    assert batch_label(heart(130.0, "ventricular", stim=1.5), 130.0)[0]


@pytest.mark.xfail(strict=True, reason=(
    "MIT-BIH 107 (paced throughout) at a Polar H10's 130 Hz: a seat calls 41 of 151 windows "
    "paced and sends HRV_OK in 80 (at 360 Hz: 151 paced, HRV_OK 0). In over half of its 116 "
    "unlabelled beats the spike, one sample or less, is no longer the fast part's extreme "
    "(the complex's own is: lag -19 to 0 ms); the rest read 0.03-0.11 of the complex, under "
    "WEAK"))
def test_a_paced_record_at_130_hz_withholds_hrv_ok_in_a_seat():
    n, windows, ok = seat_label(_at("mitdb-107", 130.0), 130.0)
    assert windows > 0.9 * n and ok == 0, (n, windows, ok)


# --- hostile input --------------------------------------------------------------------

@pytest.mark.parametrize("fs", [0.5, 1.0, 2.0, 4.0, 130.0])
def test_hostile_samples_never_crash_the_label(fs):
    """NaN, inf, flat, a few samples, beats outside the samples, rates under 5 Hz (the
    beat's reach was 0 samples: argmax of an empty array)."""
    rng = np.random.default_rng(0)
    n = int(60 * fs)
    for x in (np.full(n, np.nan), np.r_[np.zeros(n // 2), np.inf, np.zeros(n // 2)],
              np.zeros(n), np.zeros(3), rng.normal(size=n)):
        for idx in (np.zeros(0, int), np.arange(0, len(x), max(1, int(fs))),
                    np.array([-5, len(x) + 9])):
            assert paced(x, fs, idx)[0] in (False, True)
            assert len(spikes(x, fs, idx)[0]) == len(idx)
            p = PacedBeats(fs)
            ok = idx[(idx >= 0) & (idx < len(x))]
            p.push(x, ok, ok * 1e6 / fs)
            assert not p.paced(len(x) * 1e6 / fs, 30.0)
