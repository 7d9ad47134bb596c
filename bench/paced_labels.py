"""The paced-rhythm label (edge/paced.py) on the corpus, the ECG stress cases and synthetic
paced rhythms: `python -m empathy.bench.paced_labels [--held-out] [--seeds N]`.

Per ECG record (tuning ones; `--held-out`: the held-out ones instead, to be scored once),
at its own rate and at a Polar H10's 130 Hz: `signal hr`'s label (the whole recording:
paced or not) and a seat's (SeatFeatures fed 0.1 s chunks, an estimate a second once its
30 s HRV window is full: the share of estimates whose window is paced, and of those with
HRV_OK). The annotation's paced ('/') and paced-fusion ('f') beats say which are paced.
Synthetic paced rhythms (`synthetic_paced`: made here, apart from the detector's constants):
the share of seeds labelled, per sampling rate and recorder bandwidth, with and without
the pacing spike (without it a wide-complex rhythm: it must not be labelled).
`--cost`: a seat's time in PacedBeats per beat judged (best of 3), MIT-BIH 107 at 130 Hz
to 4 kHz (the ECG detector takes up to 5 kHz).
"""

from __future__ import annotations

import argparse

import numpy as np

from empathy.cli import number_in

H10_HZ = 130.0
T0_US = 10**9
FINE_HZ = 4000  # the synthetic heart's own rate, before a recorder filters and samples it


def synthetic_paced(seed: int, fs: float, seconds: float = 60.0, spike: bool = True,
                    bandwidth_hz: float = 100.0, tracking: bool = False) -> np.ndarray:
    """An ECG of ventricular pacing: per beat a 0.4-1.5 ms stimulus (0.3-3 times the QRS,
    either sign) with its recharge tail, 2-10 ms later a wide complex (two lobes over ~150
    ms) and a discordant T wave; through a recorder's band (0.5 Hz to bandwidth_hz, causal)
    and sampled at fs, with white noise and baseline wander. Fixed-rate pacing (60-80 bpm,
    1 ms jitter) or, with `tracking`, intervals that follow a sinus rhythm (AR(1), sd 40
    ms). `spike=False`: the same complexes without the stimulus."""
    from scipy import signal

    from empathy.edge.beat_score import resampled

    rng = np.random.default_rng(seed)
    n = int(seconds * FINE_HZ)
    t = np.arange(n) / FINE_HZ
    x = np.zeros(n)
    qrs, sign = rng.uniform(0.8, 2.0), rng.choice((-1.0, 1.0))
    stim = qrs * rng.uniform(0.3, 3.0) * rng.choice((-1.0, 1.0))
    width_s, latency_s = rng.uniform(0.0004, 0.0015), rng.uniform(0.002, 0.010)
    lobe1, lobe2 = rng.uniform(0.025, 0.035), rng.uniform(0.015, 0.025)
    base_rr = 60.0 / rng.uniform(60, 80)
    b, dev = 0.3, 0.0
    while b < seconds - 1.0:
        # each beat drawn from 1 s before it to 1.5 s after: its waves' tails beyond are
        # under 1e-100 of it (a whole-record sum each beat spent 1.8 s of CPU a rhythm)
        i0, i1 = max(0, int((b - 1.0) * FINE_HZ)), min(n, int((b + 1.5) * FINE_HZ))
        tb, xb = t[i0:i1], x[i0:i1]
        if spike:
            xb[(tb >= b) & (tb < b + width_s)] += stim
            tail = (tb >= b + width_s) & (tb < b + 0.05)
            xb[tail] -= 0.15 * stim * np.exp(-(tb[tail] - b - width_s) / 0.005)
        q = b + latency_s
        xb += sign * qrs * (np.exp(-0.5 * ((tb - q - 0.07) / lobe1) ** 2)
                            - 0.35 * np.exp(-0.5 * ((tb - q - 0.14) / lobe2) ** 2))
        xb -= sign * 0.3 * qrs * np.exp(-0.5 * ((tb - q - 0.32) / 0.05) ** 2)
        dev = 0.8 * dev + rng.normal(0, 0.024) if tracking else rng.normal(0, 0.001)
        b += base_rr + dev
    sos = signal.butter(2, (0.5, min(bandwidth_hz, 0.45 * FINE_HZ)), "bandpass", fs=FINE_HZ,
                        output="sos")
    x = signal.sosfilt(sos, x)
    y = resampled(x, FINE_HZ, fs)
    tt = np.arange(len(y)) / fs
    return (y + rng.normal(0, 0.02 * qrs, len(y))
            + 0.1 * qrs * np.sin(2 * np.pi * 0.3 * tt + rng.uniform(0, 6)))


def batch_label(x: np.ndarray, fs: float) -> tuple[bool, int, int]:
    """`signal hr`'s verdict: (paced, beats with its spike, beats)."""
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.paced import paced

    idx = waveform_peaks(x, fs, "ecg").idx
    return (*paced(x, fs, idx), len(idx))


def seat_label(x: np.ndarray, fs: float) -> tuple[int, int, int]:
    """(estimates, those whose HRV window the seat's ECG calls paced, those with HRV_OK),
    an estimate a second once the window is full, fed 0.1 s chunks as the runtime does."""
    from empathy.edge.features import SeatFeatures
    from empathy.edge.latency import HRV_WINDOW_S
    from empathy.sensors.base import Waveform
    from empathy.wire import Flag

    f, step, n, paced, ok = SeatFeatures(baseline_s=10), max(1, int(round(0.1 * fs))), 0, 0, 0
    for k, i in enumerate(range(0, len(x), step)):
        f.add(Waveform(T0_US + int(i * 1e6 / fs), "ecg", fs, x[i:i + step]))
        now = T0_US + int((i + step) * 1e6 / fs)
        if (k + 1) % 10 or (now - T0_US) / 1e6 < HRV_WINDOW_S:
            continue
        e, w = f.estimate(now), f.waves.get("ecg")
        n += 1
        paced += bool(w is not None and w.paced.paced(now, HRV_WINDOW_S))
        ok += bool(e["flags"] & Flag.HRV_OK)
    return n, paced, ok


def records(held_out: bool):
    """(name, samples, fs, annotated paced share or None) of each ECG record of the set."""
    from empathy.edge.heart_corpus import RECORDS, available, beat_labels, record_data

    for r in RECORDS:
        if r.kind != "ecg" or r.held_out != held_out or not available(r):
            continue
        x, fs = record_data(r)
        lab = beat_labels(r, len(x))
        yield r.name, x, fs, None if lab is None else float(np.isin(lab, ["/", "f"]).mean())


def stress():
    from empathy.edge.beat_score import peer_beats, reference
    from empathy.edge.ecg_stress import stress_cases
    from empathy.edge.heart_corpus import peer_cache_dir, record, record_data
    from empathy.edge.heart_validation import STRESS_S

    x, fs = record_data(record("systole-ecg"))
    x = x[:int(STRESS_S * fs)]
    ref = reference(peer_beats(x, fs, "ecg", peer_cache_dir()))
    for name, (y, _) in stress_cases(x, fs, ref[ref < STRESS_S - 1]).items():
        yield f"stress {name}", y, fs, 1.0 if name == "paced" else 0.0


def _row(name: str, x, fs: float, annotated, seat: bool) -> bool:
    """Prints one record's row at fs and at 130 Hz; True where a label is false."""
    from empathy.edge.beat_score import resampled

    false = False
    for f2 in (fs, H10_HZ):
        y = x if f2 == fs else resampled(x, fs, f2)
        p, k, n = batch_label(y, f2)
        s = seat_label(y, f2) if seat else (0, 0, 0)
        truth = "?" if annotated is None else f"{annotated:.2f}"
        print(f"{name:28s} {f2:5.0f} Hz  annotated paced {truth:>4s}  batch "
              f"{'PACED' if p else '-':5s} ({k:3d}/{n:3d})  seat paced {s[1]:3d}/{s[0]:3d}  "
              f"HRV_OK {s[2]:3d}", flush=True)
        false |= bool(annotated is not None and annotated < 0.5 and (p or s[1]))
    return false


def cost() -> None:
    """Prints PacedBeats' time per beat, fed 0.1 s chunks with the detector's beats."""
    import time

    from empathy.edge.beat_score import resampled
    from empathy.edge.heart import waveform_peaks
    from empathy.edge.heart_corpus import record, record_data
    from empathy.edge.paced import PacedBeats

    x, fs = record_data(record("mitdb-107"))
    for f2 in (130.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0):
        y = resampled(x, fs, f2)
        idx, step, took = waveform_peaks(y, f2, "ecg").idx, int(0.1 * f2), np.inf
        for _ in range(3):
            p, t0 = PacedBeats(f2), time.perf_counter()
            for i in range(0, len(y), step):
                done = idx[(idx >= i) & (idx < i + step)]
                p.push(y[i:i + step], done, done * 1e6 / f2)
            took = min(took, time.perf_counter() - t0)
        print(f"{f2:5.0f} Hz: {took / len(idx) * 1e6:6.0f} us per beat ({len(idx)} beats)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held-out", action="store_true", help="score the held-out records")
    ap.add_argument("--seeds", type=number_in(int, 1, 1000), default=10, help="synthetic rhythms per condition")
    ap.add_argument("--no-seat", action="store_true", help="the batch label only (faster)")
    ap.add_argument("--cost", action="store_true", help="a seat's time per beat, then exit")
    a = ap.parse_args(argv)
    if a.cost:
        return cost()
    false = []
    for name, x, fs, share in list(records(a.held_out)) + ([] if a.held_out else list(stress())):
        if _row(name, x, fs, share, not a.no_seat):
            false.append(name)
    print("false labels (annotated under half paced, labelled paced):", false or "none")
    if a.held_out:
        return
    for spike in (True, False):
        for tracking in (False, True):
            for fs, bw in ((500, 150), (360, 100), (250, 100), (130, 100), (130, 40)):
                got = [batch_label(synthetic_paced(s, fs, spike=spike, bandwidth_hz=bw,
                                                   tracking=tracking), fs)[0]
                       for s in range(a.seeds)]
                print(f"synthetic {'paced' if spike else 'wide, no spike':14s} "
                      f"{'tracking' if tracking else 'fixed rate':10s} {fs:3d} Hz, band "
                      f"{bw:3d} Hz: labelled {sum(got)}/{len(got)}", flush=True)


if __name__ == "__main__":
    main()
