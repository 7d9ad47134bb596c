"""`python -m empathy.edge.ppg_artefacts [--seeds N] [--json] [--dropouts | --motion]`: a PPG
tuning aid, clean tuning recordings with motion-like artefacts laid on, where the true beats
are known.

The real PPG records with motion have no beat truth but a chest ECG (wrist, walking and
cycling: every detector near chance) or the peers' consensus (bsn-bvp-motion: held out,
never tuned on). Here the clean tuning PPG records (pyphysio-bvp, systole-ppg, bsn-bvp-rest;
`heart_corpus`, held_out=False) keep their beats, the peers' consensus on the clean signal,
and get, every ARTEFACT_EVERY_S on average, one of:

- `wrist`: 3-8 s of a tuning wrist record's PPG while walking (wrist-s1-walk, wrist-s2-walk:
  there the band-passed PPG is mostly the arm's swing), band-passed like ours, resampled to
  the record's rate and scaled to 1-3 times the clean pulse's band-passed RMS;
- `jump`: a step of the baseline by 2-6 pulse heights that decays over 0.5-2 s (a sensor
  pressed or shifted), up or down;
- `clip`: such a jump whose sum the ADC's range cuts (the record's own range widened by a
  fifth of a pulse): flat stretches while the step lasts.

With `--dropouts`, instead, every 6-18 s the sensor drops out: the signal sits at a floor
half a pulse height under the record's range for 0.1-0.6 s (a logger's drop-out to 0, as
in heartpy-data3), and half the time the return overshoots by 0.5-1.5 pulse heights,
decaying over 0.3 s and cut at the top of the range (data3's clipped pulse after it); scored
from 1 s before each drop-out to 0.1 s before it and from 0.1 s after it to 3 s after (no
pulse exists while it lasts).

With `--motion`, instead, every 6-20 s a burst of hand motion of 2-10 s (`shake`): broadband
motion, noise band-limited to 0.5-4 Hz with a swing of one frequency in it, its RMS 0.15-1
pulse heights, faded in and out over 0.3-1 s; 0-2 baseline jumps of 1-4 pulse heights that
settle over 0.5-3 s; and the pulse's own amplitude modulated (the pressure on the vessel
changes), down by up to 30-80 % at 0.2-1 Hz. None of these figures is the detector's: they
come from what a moving hand does to a finger or wrist sensor, not from its settings.

Ours, NeuroKit2 (its PPG clean + find-peaks) and HeartPy (every peak it found, rejected ones
too, as the corpus page scores it; a run that raises finds none) are scored against the
known beats inside the artefacts' windows (1 s before each to 4 s after it: what an artefact
costs, including the recovery after it), F1 at ±150 ms, summed over seeds. A tuning aid
only: the figures are of made-up damage, not a validation.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import signal

from empathy.cli import number_in
from empathy.edge.beat_score import (beat_match, heartpy_beats, in_spans, neurokit_beats,
                                     peer_beats, reference)
from empathy.edge.heart import METHODS, waveform_peaks
from empathy.edge.heart_corpus import peer_cache_dir, record, record_data

CLEAN = ("pyphysio-bvp", "systole-ppg", "bsn-bvp-rest")
NOISE = ("wrist-s1-walk", "wrist-s2-walk")
KINDS = ("wrist", "jump", "clip")
ARTEFACT_EVERY_S = 12.0
WINDOW_S = (1.0, 4.0)  # scored around each artefact: before its start, after its end
DROP_WINDOW_S = (1.0, 3.0)  # and around each drop-out (--dropouts)
MOTION_BAND_HZ = (0.5, 4.0)  # a moving hand's frequencies (--motion)


def _band(x: np.ndarray, fs: float) -> np.ndarray:
    sos = signal.butter(3, METHODS["ppg"].band_hz, "bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x)


def _noise_bank() -> list[tuple[np.ndarray, float]]:
    out = []
    for name in NOISE:
        rec = record(name)
        assert not rec.held_out  # a tuning aid takes nothing from held-out records
        x, fs = record_data(rec)
        b = _band(x, fs)
        out.append((b / np.std(b), fs))
    return out


def corrupt(x: np.ndarray, fs: float, rng: np.random.Generator, bank) -> tuple:
    """x with artefacts laid on; returns (corrupted, [(start_s, end_s, kind), ...])."""
    n, y = len(x), x.astype(float).copy()
    amp = float(np.percentile(x, 95) - np.percentile(x, 5))  # about one pulse's height
    rms = float(np.std(_band(x, fs)))
    lo, hi = float(x.min()) - 0.2 * amp, float(x.max()) + 0.2 * amp
    t, spans = rng.uniform(2.0, ARTEFACT_EVERY_S), []
    while t < n / fs - 10.0:
        kind = KINDS[rng.integers(len(KINDS))]
        i = int(t * fs)
        if kind == "wrist":
            src, sfs = bank[rng.integers(len(bank))]
            dur = rng.uniform(3.0, 8.0)
            a = rng.uniform(0, len(src) / sfs - dur)
            seg = np.interp(a + np.arange(int(dur * fs)) / fs, np.arange(len(src)) / sfs, src)
            ramp = min(int(0.5 * fs), len(seg) // 2)
            taper = np.ones(len(seg))
            taper[:ramp] = taper[-ramp:][::-1] = np.hanning(2 * ramp)[:ramp]
            seg *= taper * rng.uniform(1.0, 3.0) * rms
        else:
            tau = rng.uniform(0.5, 2.0)
            dur = 3 * tau
            seg = rng.choice((-1, 1)) * rng.uniform(2.0, 6.0) * amp * np.exp(
                -np.arange(int(dur * fs)) / (tau * fs))
        j = min(i + len(seg), n)
        y[i:j] += seg[:j - i]
        if kind == "clip":
            y[i:j] = np.clip(y[i:j], lo, hi)
        spans.append((t, j / fs, kind))
        t = j / fs + rng.uniform(0.5, 2.0) * ARTEFACT_EVERY_S
    return y, spans


def drop_out(x: np.ndarray, fs: float, rng: np.random.Generator) -> tuple:
    """x with drop-outs to a floor (see the module's docstring); returns (signal,
    [(start_s, end_s), ...])."""
    n, y = len(x), x.astype(float).copy()
    amp = float(np.percentile(x, 95) - np.percentile(x, 5))
    floor, top = float(x.min()) - 0.5 * amp, float(x.max()) + 0.1 * amp
    t, spans = rng.uniform(2.0, 10.0), []
    while t < n / fs - 10.0:
        i, d = int(t * fs), int(rng.uniform(0.1, 0.6) * fs)
        y[i:i + d] = floor
        if rng.random() < 0.5:  # the return overshoots, cut at the top of the range
            k = min(int(fs), n - i - d)
            step = rng.uniform(0.5, 1.5) * amp * np.exp(-np.arange(k) / (0.3 * fs))
            y[i + d:i + d + k] = np.minimum(y[i + d:i + d + k] + step, top)
        spans.append((t, (i + d) / fs))
        t = (i + d) / fs + rng.uniform(6.0, 18.0)
    return y, spans


def _ramp(n: int, k: int) -> np.ndarray:
    """1 in the middle, raised-cosine fades of k samples at both ends."""
    g = np.ones(n)
    k = min(k, n // 2)
    if k:
        g[:k] = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
        g[n - k:] = g[:k][::-1]
    return g


def shake(x: np.ndarray, fs: float, rng: np.random.Generator) -> tuple:
    """x with bursts of hand motion laid on (see the module's docstring); returns (signal,
    [(start_s, end_s), ...])."""
    n, y = len(x), x.astype(float).copy()
    amp = float(np.percentile(x, 95) - np.percentile(x, 5))
    sos = signal.butter(2, MOTION_BAND_HZ, "bandpass", fs=fs, output="sos")
    t, spans = rng.uniform(2.0, 10.0), []
    while t < n / fs - 12.0:
        i, m = int(t * fs), int(rng.uniform(2.0, 10.0) * fs)
        tt = np.arange(m) / fs
        env = _ramp(m, int(rng.uniform(0.3, 1.0) * fs))
        # the pulse's amplitude, about its own local mean, pressed down and let go
        seg = x[i:i + m].astype(float)
        mean = float(seg.mean())
        am = 1 - env * rng.uniform(0.3, 0.8) * (0.5 + 0.5 * np.sin(
            2 * np.pi * rng.uniform(0.2, 1.0) * tt + rng.uniform(0, 2 * np.pi)))
        seg = mean + (seg - mean) * am
        # broadband motion: band-limited noise and one swing, the burst's RMS
        noise = signal.sosfiltfilt(sos, rng.normal(size=m + int(2 * fs)))[int(fs):int(fs) + m]
        swing = np.sin(2 * np.pi * rng.uniform(*MOTION_BAND_HZ) * tt + rng.uniform(0, 2 * np.pi))
        mix = rng.uniform(0.0, 1.0)
        mot = mix * noise / max(float(np.std(noise)), 1e-12) + (1 - mix) * swing / np.sqrt(0.5)
        seg += env * mot / max(float(np.std(mot)), 1e-12) * rng.uniform(0.15, 1.0) * amp
        for _ in range(rng.integers(0, 3)):  # the sensor shifts, then settles
            j = int(rng.uniform(0.0, 0.8) * m)
            rise = np.minimum(np.arange(m - j) / max(rng.uniform(0.02, 0.1) * fs, 1), 1)
            seg[j:] += rng.choice((-1, 1)) * rng.uniform(1.0, 4.0) * amp * rise * np.exp(
                -np.arange(m - j) / (rng.uniform(0.5, 3.0) * fs))
        y[i:i + m] = seg
        spans.append((t, (i + m) / fs))
        t = (i + m) / fs + rng.uniform(6.0, 20.0)
    return y, spans


def _heartpy(y: np.ndarray, fs: float) -> np.ndarray:
    try:
        return heartpy_beats(y, fs)
    except Exception:  # HeartPy gives up on some damaged signals: it found nothing
        return np.zeros(0)


DETECTORS = ("ours", "NeuroKit2", "HeartPy")


def score(seeds: int = 5, dropouts: bool = False, motion: bool = False,
          detectors: tuple[str, ...] = DETECTORS) -> dict:
    """{record: {detector: (tp, fp, fn)}} inside the artefacts' (drop-outs', motion
    bursts') windows, over the seeds. `detectors`: those to run (ours alone: 0.5 CPU-s of
    5 seeds' 1.7-2.1, records read)."""
    bank = None if dropouts or motion else _noise_bank()
    out = {}
    for name in CLEAN:
        rec = record(name)
        assert not rec.held_out
        x, fs = record_data(rec)
        truth = reference(peer_beats(x, fs, "ppg", peer_cache_dir()))
        tot = {d: np.zeros(3, int) for d in detectors}
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            if dropouts:
                y, spans = drop_out(x, fs, rng)
                win = np.array([w for a, e in spans for w in ((a - DROP_WINDOW_S[0], a - 0.1),
                                                              (e + 0.1, e + DROP_WINDOW_S[1]))])
            elif motion:
                y, spans = shake(x, fs, rng)
                win = np.array([(a - WINDOW_S[0], e + WINDOW_S[1]) for a, e in spans])
            else:
                y, spans = corrupt(x, fs, rng, bank)
                win = np.array([(a - WINDOW_S[0], e + WINDOW_S[1]) for a, e, _ in spans])
            ref = in_spans(truth, win)
            find = {"ours": lambda: waveform_peaks(y, fs, "ppg").idx / fs,
                    "NeuroKit2": lambda: neurokit_beats(y, fs, "ppg"),
                    "HeartPy": lambda: _heartpy(y, fs)}
            for det in detectors:
                m = beat_match(ref, in_spans(find[det](), win))
                tot[det] += (m.tp, m.fp, m.fn)
        out[name] = {d: tuple(int(v) for v in c) for d, c in tot.items()}
    return out


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empathy.edge.ppg_artefacts",
                                 description="clean tuning PPG with motion-like artefacts")
    ap.add_argument("--seeds", type=number_in(int, 1, 1000), default=5)
    ap.add_argument("--json", action="store_true")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dropouts", action="store_true", help="drop-outs to a floor instead")
    mode.add_argument("--motion", action="store_true", help="bursts of hand motion instead")
    a = ap.parse_args(argv)
    res = score(a.seeds, a.dropouts, a.motion)
    if a.json:
        print(json.dumps(res))
        return 0
    print("| record | detector | tp | fp | fn | F1 |\n|---|---|---|---|---|---|")
    for name, rows in res.items():
        for det, (tp, fp, fn) in rows.items():
            print(f"| {name} | {det} | {tp} | {fp} | {fn} | {_f1(tp, fp, fn):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
