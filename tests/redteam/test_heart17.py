"""Red team on the RR corrector (edge/rr_artefacts.py) with hostile and odd RR series (a
heart that speeds up keeping its own beat-to-beat variability, values that are no
interval), and on the lone-beat ECG evidence (edge/heart_evidence.py) with a paced ECG
sampled without an anti-alias filter and with random spikes that have a slope. Real
series: the corpus page's RR records (edge/rr_validation.py, NeuroKit2-cleaned) and
Systole's lab ECG with the stress cases (tuning)."""

import numpy as np
import pytest
from scipy.signal import resample_poly

from corpus_records import need
from empathy.bench.seat_hrv import seat_stream, sloped_spikes
from empathy.edge.ecg_stress import stress_cases
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import record_data
from empathy.edge.heart_evidence import lone_share, waveform_evidence
from empathy.edge.hrv import heart_summary
from empathy.edge.rr_artefacts import RRCorrector, rr_correct
from empathy.edge.rr_validation import artefact_free
from empathy.wire import Flag


def sinus(n: int = 400, base: float = 800.0, seed: int = 1) -> np.ndarray:
    """RR (ms) with a breathing swing and jitter (RMSSD ~21 ms at 800)."""
    rng = np.random.default_rng(seed)
    return base + 20 * np.sin(np.arange(n) * 2 * np.pi / 4.5) + rng.normal(0, 8, n)


def _split_normals(rr: np.ndarray) -> list:
    """(index, interval, its neighbours' median) of each interval split as a missed beat
    that is under 1.3 times the median of the ten raw intervals around it: a beat made."""
    c = rr_correct(rr)
    out = []
    for i, k in c.artefacts:
        local = np.median(np.delete(rr[max(0, i - 5):i + 6], min(i, 5)))
        if k == "missed" and rr[i] < 1.3 * local:
            out.append((i, round(float(rr[i])), round(float(local))))
    return out


def test_a_heart_that_speeds_up_gets_no_beats_made_up():
    """75 -> 150 bpm over 30 beats, the swing and jitter kept in ms: 5 intervals of
    406-427 ms at a rhythm of ~400 were split in two as missed beats (ten beats made up,
    284 bpm locally): the mRR threshold, 5.2 quartile deviations over the last 91 beats,
    had taken in the ramp's lag behind the median (th2 ~265 ms), and a split only asked
    that half the interval be within th2 of the median."""
    rr = np.concatenate((sinus(100), np.linspace(800, 400, 30), sinus(200, 400, 2)))
    assert _split_normals(rr) == []


def test_a_real_series_that_speeds_up_gets_no_beats_made_up():
    """pyhrv-nni-long (NeuroKit2-cleaned, as the corpus page's), 240-interval pieces
    every 400: the rate steps up to 1/0.5-1/0.7 over 15-60 beats after 100, its own
    variability kept in ms. 23 intervals of 1.13-1.30 times their neighbours' median were
    split as missed beats in 14 of 108 cases (e.g. 503 ms among ~409). A split now needs
    the interval over 4/3 of the median: its halves nearer the rhythm than the whole."""
    rr0 = artefact_free(record_data(need("pyhrv-nni-long"))[0])
    made = []
    for start in range(0, len(rr0) - 240, 400):
        rr = rr0[start:start + 240]
        for to in (0.5, 0.6, 0.7):
            for n in (15, 30, 60):
                f = np.concatenate((np.ones(100), np.linspace(1, to, n), np.full(140 - n, to)))
                made += _split_normals(rr - np.mean(rr) * (1 - f))
    assert made == []


def test_atrial_fibrillation_gets_no_beats_made_up():
    """Atrial fibrillation's intervals are irregular without pattern (lognormal, CV 0.25):
    33 of 6000 were split as missed beats, beats made up. The paper's missed rule (half the
    interval within th2 of the median) can't tell AF's long intervals from a lost beat once
    th2 has taken in AF's spread; a split now also needs the interval MISSED_MRR th2 out."""
    made = 0
    for seed in range(20):
        rr = np.exp(np.random.default_rng(seed).normal(np.log(650), 0.25, 300))
        made += sum(k == "missed" for _, k in rr_correct(rr).artefacts)
    assert made == 0, made


def _hostile() -> dict:
    """name -> RR series (ms) a corrector should take without making or losing beats."""
    rng = np.random.default_rng(0)
    out = {"af": np.exp(rng.normal(np.log(650), 0.25, 400)),
           "pauses 2-6 s": np.insert(sinus(), [50, 150, 250], [2000.0, 4000.0, 6000.0]),
           "step 800 to 450": np.concatenate((sinus(200), sinus(200, 450, 2))),
           "fast 250": 250 + rng.normal(0, 3, 400), "slow 3000": 3000 + rng.normal(0, 30, 400),
           "constant": np.full(400, 800.0), "huge": np.insert(sinus(), 100, 1e9),
           "seconds in ms": np.insert(sinus(), [50, 51], [0.8, 0.79]),
           "zero and negative": np.insert(sinus(), [50, 150], [0.0, -800.0]),
           **{f"{n} long": sinus(n) for n in range(6)}}
    for e in (0.5, 0.7, 0.85, 0.9):
        for every in (2, 3, 4):  # bigeminy, trigeminy, quadrigeminy
            rr = sinus()
            rr[0:-1:every] *= e
            rr[1::every] *= 2 - e
            out[f"{every}-geminy {e}"] = rr
    return out


@pytest.mark.parametrize("rr", list(_hostile().values()), ids=list(_hostile()))
def test_hostile_series_are_mended_in_place(rr):
    """Each raw interval goes out once (a missed beat's two halves, an extra beat's pair as
    one, an ectopic pair as two), at its index, in order; what an ectopic, missed or extra
    fix gives out spans the same time as its raw intervals; each artefact is reported
    once, at the first raw interval of its fix, with the label its intervals carry."""
    c = rr_correct(rr)
    found = dict(c.artefacts)
    assert len(found) == len(c.artefacts) and np.all(np.diff(c.index) >= 0)
    at = {j: np.flatnonzero(c.index == j) for j in range(len(rr))}
    j = 0
    while j < len(rr):
        o = at[j]
        kind = str(c.label[o[0]])
        assert len(o) == (2 if kind == "missed" else 1) and found.get(j, "") == kind, (j, kind)
        n = 2 if kind in ("ectopic", "extra") else 1
        if kind == "ectopic":
            o = np.concatenate((o, at[j + 1]))
        if kind == "extra":
            assert not len(at[j + 1])
        if kind != "longshort":
            assert np.isclose(c.rr_ms[o].sum(), rr[j:j + n].sum()), (j, kind)
        j += n


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_value_that_is_no_interval_is_refused_by_name(bad):
    """A NaN raised IndexError deep in the threshold window (bisect put it where no removal
    found it); an inf went out as a 'longshort' at the median, as if the strap had sent a
    long interval. Now push refuses either as a ValueError that says what it got."""
    rr = sinus()
    rr[100] = bad
    with pytest.raises(ValueError, match="not a finite"):
        rr_correct(rr)
    c = RRCorrector()
    for v in rr[:100]:
        c.push(v)
    with pytest.raises(ValueError, match="not a finite"):
        c.push(bad)


def _paced(name: str, fs: int) -> np.ndarray:
    """The stress case `name` on Systole's lab ECG (tuning; 120 s) at `fs`, with a
    one-sample pacing spike 3x the R wave 20 ms before each beat: a board that samples a
    pacemaker's 0.5-ms pulse without an anti-alias filter."""
    x, fs0 = record_data(need("systole-ecg"))
    x = x[:int(120 * fs0)]
    y, truth = stress_cases(x, fs0, waveform_peaks(x, fs0, "ecg").idx / fs0)[name]
    z = resample_poly(y, fs, int(fs0))
    amp = float(np.percentile(np.abs(x - np.median(x)), 99.5))
    at = np.round((truth - 0.02) * fs).astype(int)
    z[at[(at >= 0) & (at < len(z))]] += 3 * amp
    return z


@pytest.mark.parametrize("fs", [100, 250, 360])
@pytest.mark.parametrize("name", ["clean", "wide PVCs", "muscle noise", "electrode motion"])
def test_a_paced_ecg_s_beats_are_no_lone_spikes(name, fs):
    """Every beat's raw extreme was its pacing spike, a lone sample: 0.91-1.00 of the beats
    'lone' (random spikes' mark; the paced stress case, its spike 2 ms wide and resampled,
    0.39-0.43). With the spike taken out a QRS stands beside it: at most 0.1 now."""
    z = _paced(name, fs)
    assert lone_share(z, fs, waveform_peaks(z, fs, "ecg").idx) <= 0.1


def test_a_paced_ecg_with_pvcs_through_a_seat_keeps_its_heart_rate():
    """The paced ECG with wide PVCs at 250 Hz, a seat's quality ~0.55 (under SEAT_BELOW,
    so the lone-beat evidence decides): HR_OK in 0 of the estimates after 30 s (1.00
    without the spikes)."""
    z = _paced("wide PVCs", 250)
    ok = [bool(e["flags"] & Flag.HR_OK) for _, e, _ in seat_stream(z, 250, 1.0)][30:]
    assert np.mean(ok) >= 0.9, np.mean(ok)


# Seeds 0, 1 and 6 hold 6 of the 19 cases that read 'heartbeat' without the evidence
# (waveform_evidence taken as True, measured in session 24), at each rate and with either
# slope; the whole grid is slow (25 ms a case: 6 CPU-s)
@pytest.mark.parametrize("seeds", [pytest.param([0, 1, 6], id="sample"),
                                   pytest.param(range(40), id="all", marks=pytest.mark.slow)])
def test_random_spikes_with_a_slope_are_no_heartbeat(seeds):
    """test_heart_hrv's random spikes (40 seeds x 100, 250, 360 Hz: none reads 'heartbeat'),
    each spike given a slope as a front end's filter gives it: a band-limited impulse looks
    like a narrow QRS to the lone-sample test (lone share median 0.01-0.02), and 11
    (triangle) and 9 (40 Hz) of the 120 cases read 'heartbeat' at quality 0.15-0.30. No
    shape recurs beside such 'beats' (heart_evidence.recurrence about 1, every tuning ECG
    12 or more), and the evidence now decides under quality 0.6 (seed 0's triangle at 360 Hz
    read 0.302)."""
    said = []
    for seed, fs, x in sloped_spikes(seeds):
        b = waveform_peaks(x, fs, "ecg")
        if heart_summary(b.idx / fs, b.sqi, 60.0, cycles=True,
                         evidence=waveform_evidence(x, fs, b.idx, "ecg"))["heartbeat"]:
            said.append((seed, fs))
    assert not said, said


def _mains(name: str, fs: int, hz: float, times_r: float) -> np.ndarray:
    """A tuning ECG's first 120 s at `fs` with mains hum `times_r` times its R wave."""
    x, fs0 = record_data(need(name))
    x = x[:int(120 * fs0)]
    amp = float(np.percentile(np.abs(x - np.median(x)), 99.5))
    z = resample_poly(x, fs, int(round(fs0)))
    return z + times_r * amp * np.sin(2 * np.pi * hz * np.arange(len(z)) / fs + 0.3)


@pytest.mark.parametrize("name", ["systole-ecg", "mitdb-100", "qtdb-sel117"])
@pytest.mark.parametrize("fs,hz", [(100, 50), (100, 60), (130, 50), (130, 60)])
def test_mains_hum_as_tall_as_the_r_wave_makes_no_lone_beats(name, fs, hz):
    """50/60 Hz hum sampled at 100-130 Hz flips sign from sample to sample: each QRS's raw
    extreme stood alone, 0.28-1.00 of the beats 'lone' (random spikes' mark)."""
    z = _mains(name, fs, hz, 1.0)
    assert lone_share(z, fs, waveform_peaks(z, fs, "ecg").idx) <= 0.1


@pytest.mark.parametrize("fs", [100, 130])
def test_the_poorest_real_ecg_in_mains_hum_keeps_its_heartbeat(fs):
    """MIT-BIH 106's V1 (bigeminy, quality under EVIDENCE_BELOW) with 50-Hz hum as tall as
    its R wave: 'no heartbeat' by the lone-beat evidence (0.62 and 0.84 of its beats lone,
    quality 0.28 and 0.19)."""
    z = _mains("mitdb-106-v1", fs, 50, 1.0)
    b = waveform_peaks(z, fs, "ecg")
    assert waveform_evidence(z, fs, b.idx, "ecg")


@pytest.mark.parametrize("fs", [130, 250])
def test_electrode_motion_s_extra_beats_in_a_clean_lead_are_a_heartbeat(fs):
    """The electrode-motion stress case on 120 s of Systole's lab ECG, resampled: the
    detector lets in 5 extra beats, each splitting one interval, so 5 of 157 intervals are
    under 300 ms, over the share random spikes make, and `signal hr` said 'no heartbeat' at
    quality 0.85-0.88 (spikes read 0.40 at most); a seat withheld HR_OK in 0.29 of its
    estimates over 180 s. The short-interval rule now decides under SPIKY_BELOW only. (9 of
    the 90 go where the seat's value is held over 4 s for a close pair's verdict:
    seat_heart.HOLD_MAX_S, test_heart19.)"""
    x, fs0 = record_data(need("systole-ecg"))
    x = x[:int(120 * fs0)]
    y, _ = stress_cases(x, fs0, waveform_peaks(x, fs0, "ecg").idx / fs0)["electrode motion"]
    z = resample_poly(y, fs, int(fs0))
    b = waveform_peaks(z, fs, "ecg")
    s = heart_summary(b.idx / fs, b.sqi, len(z) / fs, cycles=True,
                      evidence=waveform_evidence(z, fs, b.idx, "ecg"))
    assert s["heartbeat"] and s["quality"] > 0.8, s["quality"]
    ok = [bool(e["flags"] & Flag.HR_OK) for _, e, _ in seat_stream(z, fs, 1.0)][30:]
    assert np.mean(ok) >= 0.9, np.mean(ok)
