"""The recurring-shape stage (ecg_ectopic) on and off (MATCH = 2.0) over tuning records with
REPEATING artefacts laid on (each of a fixed shape, so they match each other), with and
without NSTDB electrode motion (118e00 - 118e24, from 20 s) so that the noisy-lead stages act.
Prints per case: extra beats (fp) and lost beats (fn) on and off.
fast_run and add_noise build test_heart15b's fast runs (an SVT run, exercise onset at once) in noise.
Run: nice .venv/bin/python tests/redteam/heart15b_sweep.py RECORDS KINDS SNRS [AMPS], e.g.
mitdb-100,mitdb-105 tap,tens,twitch none,6,0 0.15,0.3,0.5 (SNR none: no electrode motion)"""
import sys
import numpy as np
from scipy import signal
from empathy.edge import ecg_ectopic
from empathy.edge.beat_score import beat_match
from empathy.edge.heart import waveform_peaks
from empathy.edge.heart_corpus import annotated_beats, record_data, record


def rec(name):
    r = record(name); x, fs = record_data(r); return x, fs, annotated_beats(r, len(x), fs)


def artefact(kind, fs, amp, n, seed):
    """A train of one fixed-shaped artefact over n samples; its times (s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.3 * fs)) / fs
    if kind == "tap":  # electrode tap: a sharp biphasic knock, 1.1 s apart (+-5 %)
        shape = np.exp(-0.5 * ((t - 0.05) / 0.008) ** 2) - 0.6 * np.exp(-0.5 * ((t - 0.075) / 0.015) ** 2)
        gap = lambda: 1.1 * rng.uniform(0.95, 1.05)
    elif kind == "tens":  # TENS burst mode: 2 Hz trains of 7 spikes at 100 Hz
        shape = np.zeros_like(t)
        for j in range(7):
            shape[int((0.02 + 0.01 * j) * fs)] = 1.0
        gap = lambda: 0.5
    elif kind == "haptic":  # seat motor: an 80-ms 60 Hz buzz, each 0.7-1.6 s apart
        shape = np.sin(2 * np.pi * 60 * t) * ((t > 0.02) & (t < 0.1))
        gap = lambda: rng.uniform(0.7, 1.6)
    elif kind == "twitch":  # a muscle twitch of fixed shape (a 40 ms bump), random times
        shape = np.exp(-0.5 * ((t - 0.05) / 0.012) ** 2)
        gap = lambda: rng.uniform(0.4, 2.0)
    elif kind == "mains":  # 50 Hz bursts of 0.25 s, phase-locked (a relay), random times
        shape = np.sin(2 * np.pi * 50 * t) * (t < 0.25)
        gap = lambda: rng.uniform(0.5, 2.5)
    y, at, s = np.zeros(n), [], 2.0
    while s * fs + len(shape) < n:
        i = int(s * fs); y[i:i + len(shape)] += shape; at.append(s); s += gap()
    return amp * y / np.max(np.abs(shape)), np.array(at)


def add_noise(x, fs, snr, from_s=20.0, roll_s=0.0, onto=None):
    """x (or `onto`, x with artefacts laid on) with NSTDB electrode motion (118e00 - 118e24,
    30-150 s, rolled by roll_s) from from_s at snr dB of x's RMS about its baseline."""
    e0, e24 = rec("nstdb-118e00")[0], rec("nstdb-118e24")[0]
    n = np.roll((e0 - e24)[30 * 360:150 * 360], int(roll_s * 360))
    n = n - np.median(n)
    if fs != 360:
        n = signal.resample_poly(n, int(fs), 360)
    base = signal.medfilt(x, int(fs * 0.6) // 2 * 2 + 1)
    y, a = (x if onto is None else onto).copy(), int(from_s * fs)
    m = min(len(y) - a, len(n))
    y[a:a + m] += n[:m] / n.std() * np.std(x - base) * 10 ** (-snr / 20)
    return y


def fast_run(name, rr_s, first=60, beats=40, pre=0.1):
    """The record's cycles (from pre before each annotated beat) cut to rr_s s from beat
    `first` for `beats` beats (an SVT run, or exercise onset at once; the T-P segment goes),
    the others as they were: the waveform, fs, its beats (s)."""
    x, fs, ann = rec(name)
    r, out, truth, t = (ann * fs).astype(int), [], [], 0
    for k in range(1, len(r) - 1):
        n = r[k + 1] - r[k]
        if first <= k < first + beats:  # (rr_s may be a function of the cycle's interval)
            n = min(int((rr_s(n / fs) if callable(rr_s) else rr_s) * fs), n)
        seg = x[r[k] - int(pre * fs):r[k] - int(pre * fs) + n].copy()
        if out:
            seg += out[-1][-1] - seg[0]  # joined without a step
        truth.append(t + int(pre * fs)); out.append(seg); t += n
    return np.concatenate(out), fs, np.array(truth) / fs


def case(name, kind, amp_frac, snr, seed=0):
    x, fs, ann = rec(name)
    base = signal.medfilt(x, int(fs * 0.6) // 2 * 2 + 1)
    qrs = np.percentile(x - base, 99.5) - np.percentile(x - base, 0.5)
    art, at = artefact(kind, fs, amp_frac * qrs, len(x), seed)
    y = x + art
    return (y if snr is None else add_noise(x, fs, snr, onto=y)), fs, ann


def on_off(y, fs):
    on = waveform_peaks(y, fs, "ecg").idx / fs
    ecg_ectopic.MATCH = 2.0
    try:
        off = waveform_peaks(y, fs, "ecg").idx / fs
    finally:
        ecg_ectopic.MATCH = 0.9
    return on, off


if __name__ == "__main__":
    tot = [0, 0, 0, 0]
    for name in sys.argv[1].split(","):
        for kind in sys.argv[2].split(","):
            for snr in sys.argv[3].split(","):
                for amp in [float(a) for a in (sys.argv[4] if len(sys.argv) > 4 else "0.3,0.6,1.0").split(",")]:
                    snr_v = None if snr == "none" else float(snr)
                    y, fs, ann = case(name, kind, amp, snr_v)
                    on, off = on_off(y, fs)
                    mo, mf = beat_match(ann, on), beat_match(ann, off)
                    tot[0] += mo.fp - mf.fp; tot[1] += mf.fn - mo.fn
                    flag = " <<" if (mo.fp, mo.fn) != (mf.fp, mf.fn) else ""
                    print(f"{name} {kind} amp {amp} snr {snr}: off fp {mf.fp} fn {mf.fn} | on fp {mo.fp} fn {mo.fn}{flag}", flush=True)
    print(f"POOLED: stage adds {tot[0]} extra beats, saves {tot[1]} true ones")
