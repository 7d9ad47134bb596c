"""Signals with a known truth for the validation page and the tests: pulses and R waves at
exactly known beat times (with premature beats and motion), NeuroKit2's simulators with
noise, and a viewer whose pupil follows the screen's light and a hidden arousal.

They live apart from the estimators they judge (edge/heart*.py, edge/pupil.py) and share no
constant with them; `edge/` may not import `sim/`, so they are here, not there.
"""

from __future__ import annotations

import numpy as np


def _bump(t, at, width):
    return np.exp(-0.5 * ((t - at) / width) ** 2)


# One PPG pulse, after the log-normal pulse decomposition of finger PPG (Huotari et al.,
# "Photoplethysmography and its detailed pulse waveform analysis for arterial stiffness",
# J. Struct. Mech. 44(4), 2011, 345-362): log-normal waves, not Gaussian ones, because a
# pulse rises fast and falls slowly. Two of them: the systolic (percussion) wave, peaking
# SYS_S after the pulse's foot (its upstroke), and the reflected diastolic wave DIA_GAP_S
# later (the peak-to-peak time of a young adult's finger PPG, 0.2-0.3 s), smaller, the
# dicrotic notch between them. Their times scale with the square root of the beat interval
# (systole shortens less than the interval as the heart speeds up, as Bazett's QT), the
# rest of the interval is the diastolic runoff. At RR_REF_S; widths in log time. The wave
# family is the paper's; the times are round values for a young adult's finger, fitted to no
# record and to none of the estimators' bars (edge/ppg_evidence.py imports nothing here).
SYS_S, SYS_W = 0.13, 0.38
DIA_GAP_S, DIA_W, DIA_AMP = 0.24, 0.28, 0.4
RR_REF_S = 0.85
PULSE_LAST_S = 2.0  # a pulse is done by then (under 0.1 % of its peak at RR 2 s)


def _lognormal(tau, mode, width):
    return np.exp(-0.5 * (np.log(np.maximum(tau, 1e-9) / mode) / width) ** 2) * (tau > 0)


def systole_s(rr_s: float) -> float:
    """A pulse's foot to its systolic peak, for a beat interval rr_s."""
    return SYS_S * float(np.sqrt(np.clip(rr_s, 0.25, 2.0) / RR_REF_S))


def ppg_pulse(tau, rr_s: float):
    """One pulse's height (1 at its systolic peak) tau s after its foot, for a beat interval
    rr_s (module note above)."""
    s = systole_s(rr_s)
    return (_lognormal(tau, s, SYS_W)
            + DIA_AMP * _lognormal(tau, s * (1 + DIA_GAP_S / SYS_S), DIA_W))


def pulse_train(duration_s: float = 120.0, fs: float = 100.0, hr: float = 70.0,
                premature_every: int = 0, motion: tuple = (), noise: float = 0.02,
                seed: int = 0, kind: str = "ppg") -> tuple[np.ndarray, np.ndarray]:
    """A waveform with exactly known beat times. Premature beats come 35 % early and are
    followed by a compensatory pause; `motion` = ((start_s, end_s), ...) get large slow
    swings plus jitter, like a hand moving on a finger clip."""
    rng = np.random.default_rng(seed)
    beats, t, k = [], 0.5, 0
    while t < duration_s - 1:
        rr = 60.0 / hr * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * t)) + rng.normal(0, 0.015)
        k += 1
        if premature_every and k % premature_every == 0:
            beats.append(t + 0.65 * rr)
            t += 2 * rr  # compensatory pause: the next normal beat keeps the rhythm
        else:
            t += rr
        beats.append(t)
    beats = np.array([b for b in beats if b < duration_s - 1])
    tt = np.arange(int(duration_s * fs)) / fs
    x = np.zeros_like(tt)
    rrs = np.diff(beats, prepend=beats[0] - 60.0 / hr) if len(beats) else beats
    for b, rr in zip(beats, rrs):
        if kind == "ecg":  # a narrow R wave and a broad T wave
            x += _bump(tt, b, 0.012) + 0.25 * _bump(tt, b + 0.25, 0.04)
        else:  # a pulse whose systolic peak is the beat (ppg_pulse), its foot before it
            foot = b - systole_s(rr)
            on = slice(max(int(np.ceil(foot * fs)), 0), int((foot + PULSE_LAST_S) * fs))
            x[on] += ppg_pulse(tt[on] - foot, rr)
    x += 0.1 * np.sin(2 * np.pi * 0.2 * tt) + rng.normal(0, noise, len(tt))  # breathing
    for a, e in motion:
        m = (tt >= a) & (tt < e)
        swing = 2.5 * np.sin(2 * np.pi * 0.7 * tt[m] + rng.uniform(0, 6))
        x[m] += swing + rng.normal(0, 0.4, m.sum())
    return x, beats


def neurokit_sims(seed: int = 3):
    """(name, kind, noisy signal, fs, clean signal) from NeuroKit2's simulators."""
    import neurokit2 as nk

    out = []
    for noise in (0.05, 0.2):
        ecg = nk.ecg_simulate(duration=120, sampling_rate=500, heart_rate=75, random_state=seed)
        rng = np.random.default_rng(seed)
        out.append((f"nk ecg 500 Hz, noise {noise}", "ecg",
                    ecg + rng.normal(0, noise, len(ecg)), 500.0, ecg))
        ppg = nk.ppg_simulate(duration=120, sampling_rate=100, heart_rate=75, random_state=seed,
                              motion_amplitude=0.1, powerline_amplitude=0.0)
        out.append((f"nk ppg 100 Hz, noise {noise}", "ppg",
                    ppg + rng.normal(0, noise, len(ppg)), 100.0, ppg))
    return out


def pupil_viewer(duration_s: float = 300.0, fs: float = 30.0, seed: int = 0):
    """A viewer whose pupil follows the screen's brightness (lag 0.4 s, 2 mm per unit)
    plus 0.6 mm per unit of a hidden arousal, with blinks. Returns t, lum, pupil, conf,
    arousal."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * fs)) / fs
    cuts = np.cumsum(rng.uniform(2, 8, int(duration_s)))  # shots of 2-8 s, each its own light
    lum = rng.uniform(0.05, 0.95, len(cuts))[np.searchsorted(cuts, t)]
    arousal = np.convolve(rng.normal(0, 1, len(t)), np.ones(int(8 * fs)) / (8 * fs), "same")
    arousal = arousal / (np.std(arousal) or 1) * 0.4
    lag = np.empty_like(lum)
    acc = lum[0]
    for i, v in enumerate(lum):
        acc += (1 - np.exp(-1 / fs / 0.4)) * (v - acc)
        lag[i] = acc
    pupil = 5.0 - 2.0 * lag + 0.6 * arousal + rng.normal(0, 0.04, len(t))
    conf = np.full(len(t), 0.95)
    for start in rng.uniform(0, duration_s, int(duration_s * 0.25)):
        m = (t >= start) & (t < start + rng.uniform(0.1, 0.25))
        pupil[m], conf[m] = 0.0, 0.0
    return t, lum, pupil, conf, arousal
