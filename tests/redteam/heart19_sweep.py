"""A seat's wire HR (hr_bpm with HR_OK) under attack: tuning ECGs with NSTDB electrode motion
(118e00 - 118e24, from 20 s), muscle noise, baseline wander, a lead off for 4 s; per case the
HR_OK share, |error| p90 of the HR_OK estimates against the annotation's rate over the seat's
HR window, the share of HR_OK estimates over 5 bpm off, and `signal hr`'s beats' p90 there.
Run: nice .venv/bin/python tests/redteam/heart19_sweep.py mitdb-100,qtdb-sel117 em6,em0,emg,wander"""
import sys

import numpy as np
from scipy import signal

from empathy.bench.seat_hr import batch_beats, window_rate
from empathy.bench.seat_hrv import T0_US, seat_stream
from empathy.edge.heart_corpus import annotated_beats, record, record_data
from empathy.edge.latency import HR_WINDOW_S
from empathy.wire import Flag

SPAN_S = 180.0


def rec(name):
    r = record(name)
    x, fs = record_data(r)
    n = int(SPAN_S * fs)
    return x[:n], fs, annotated_beats(r, len(x), fs)


def em_noise(fs):
    e0, e24 = rec("nstdb-118e00")[0], record_data(record("nstdb-118e24"))[0][:int(SPAN_S * 360)]
    n = (e0 - e24)[30 * 360:]
    n = n - np.median(n)
    return n if fs == 360 else signal.resample_poly(n, int(fs), 360)


def noisy(x, fs, case, seed=0):
    """x with the case's trouble from 20 s on."""
    y, a = x.copy(), int(20 * fs)
    rms = np.std(x - signal.medfilt(x, int(fs * 0.6) // 2 * 2 + 1))
    rng = np.random.default_rng(seed)
    t = np.arange(len(x) - a) / fs
    if case.startswith("em") and not case.startswith("emg"):
        n = em_noise(fs)
        m = min(len(y) - a, len(n))
        y[a:a + m] += n[:m] / n.std() * rms * 10 ** (-float(case[2:]) / 20)
    elif case.startswith("emg"):  # muscle: 20-150 Hz noise, in 2-6 s bursts, SNR dB after
        sos = signal.butter(4, (20, min(150, 0.45 * fs)), "bandpass", fs=fs, output="sos")
        e = signal.sosfilt(sos, rng.normal(0, 1, len(t)))
        e *= (np.sin(2 * np.pi * t / 11.0) > -0.2)
        y[a:] += e / e.std() * rms * 10 ** (-float(case[3:] or 0) / 20)
    elif case == "wander":
        y[a:] += 4 * rms * (np.sin(2 * np.pi * 0.3 * t) + 0.5 * np.sin(2 * np.pi * 0.8 * t + 1))
    elif case == "leadoff":  # off for 4 s every 30 s, on its rail, then back
        for s in np.arange(a, len(y) - int(4 * fs), int(30 * fs)):
            y[s:s + int(4 * fs)] = np.max(x)
    return y


def rows(y, fs, truth, kind="ecg", window=HR_WINDOW_S, warm=20.0):
    batch = batch_beats(y, fs, kind)
    out = []
    for now, e, _ in seat_stream(y, fs, 1.0, kind):
        t = (now - T0_US) / 1e6
        r = window_rate(truth, t, window)
        if t < warm or np.isnan(r):
            continue
        out.append((t, bool(e["flags"] & Flag.HR_OK), e["hr_bpm"], r, window_rate(batch, t, window)))
    return np.array(out, float).reshape(-1, 5)


def line(label, r):
    ok = r[:, 1] > 0
    err = np.abs(r[ok, 2] - r[ok, 3])
    be = np.abs(r[:, 4] - r[:, 3])
    p = (lambda v: np.percentile(v, 90) if len(v) else np.nan)
    return (f"{label:28s} n={len(r):3d} HR_OK {ok.mean():.2f} |err| p90 {p(err):6.2f} "
            f"over5 {np.mean(err > 5) if len(err) else 0:.2f} ({int(np.sum(err > 5))}) "
            f"max {err.max() if len(err) else 0:6.2f}  batch p90 {p(be[~np.isnan(be)]):6.2f}")


if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        x, fs, ann = rec(name)
        for case in sys.argv[2].split(","):
            y = x if case == "clean" else noisy(x, fs, case)
            print(line(f"{name} {case}", rows(y, fs, ann)), flush=True)
