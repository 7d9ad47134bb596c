"""Noise from a loaded BrainFlow synthetic board through a seat: how close it comes to a
heart rate. `python -m empathy.bench.heart_noise [--runs 1000] [--first 0] [--seconds 12]`.

The board as its synthetic_board.cpp makes its PPG row: batches of 15 samples of
5000 x U(0.9, 1.1) noise, each stamped at the batch's start + k/250 s. A loaded machine is
modelled as the loop running slower than its nominal 250 Hz (the sleep overshoots: 225-250
Hz, drawn per run) and now and then descheduled for 0.05-1 s (1-6 % of batches); the seat
reads what was made every 0.1 s, now and then up to 1 s late, and sends an estimate each
read (`SeatFeatures`, as tests/test_brainflow_source.py does with the real board). Prints,
over the runs, how many gave HR_OK or a heart rate at any estimate, and the highest heart
quality reached (MIN_HEART_QUALITY is the gate). The model's numbers are stated, not fitted
to anything of the estimator's.
"""

from __future__ import annotations

import argparse

import numpy as np

from empathy.cli import number_in

FS_HZ = 250  # the synthetic board's nominal rate
BATCH = 15  # samples per loop of its thread


def loaded_synthetic_board(seed: int, seconds: float):
    """(stamp_s, made_s, samples) of one run: when each sample is stamped, when it exists."""
    rng = np.random.default_rng(10**6 + seed)
    loop_hz, stall_p = rng.uniform(225, 250), rng.uniform(0.01, 0.06)
    rng = np.random.default_rng(seed)
    stamps, made, t = [], [], 0.0
    while t < seconds:
        if rng.random() < stall_p:
            t += rng.uniform(0.05, 1.0)
        stamps += [t + k / FS_HZ for k in range(BATCH)]
        made += [t] * BATCH
        t += BATCH / loop_hz
    return np.array(stamps), np.array(made), 5000 * rng.uniform(0.9, 1.1, len(stamps))


def seat_run(seed: int, seconds: float = 12.0):
    """One run through a seat: yields (t_s, estimate, heart quality, detector restarted)."""
    from empathy.edge.features import SeatFeatures
    from empathy.sensors.base import Waveform

    stamps, made, x = loaded_synthetic_board(seed, seconds)
    rng = np.random.default_rng(seed + 1)
    feats, t0_us, now, i, wave = SeatFeatures(baseline_s=3), 10**9, 0.0, 0, None
    while now < seconds:
        now += 0.1 + (rng.uniform(0, 1.0) if rng.random() < 0.1 else 0.0)
        j = int(np.searchsorted(made, now, "right"))
        if j > i:
            feats.add(Waveform(int(t0_us + stamps[i] * 1e6), "ppg", FS_HZ, x[i:j]))
            i = j
        restarted, wave = feats.waves.get("ppg") is not wave, feats.waves.get("ppg")
        now_us = int(t0_us + now * 1e6)
        est = feats.estimate(now_us)
        yield now, est, (wave.heart.quality(now_us, 30) if wave else 0.0), restarted


def main(argv=None) -> None:
    from rich.progress import track

    from empathy.edge.features import MIN_HEART_QUALITY
    from empathy.wire import Flag

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=number_in(int, 1, 1_000_000), default=1000)
    ap.add_argument("--first", type=number_in(int, 0, 2**32 - 1), default=0, help="seed of the first run")
    ap.add_argument("--seconds", type=number_in(float, 1, 3600), default=12.0)
    a = ap.parse_args(argv)
    passed, top = [], []
    for seed in track(range(a.first, a.first + a.runs), description="noise runs"):
        q, hr = 0.0, False
        for _, est, quality, _ in seat_run(seed, a.seconds):
            q = max(q, quality)
            hr |= bool(est["flags"] & Flag.HR_OK or est["hr_bpm"])
        top.append(q)
        if hr:
            passed.append(seed)
    print(f"runs {a.runs} (seeds {a.first}-{a.first + a.runs - 1}), {a.seconds:g} s each")
    print(f"runs with HR_OK or a heart rate: {len(passed)} {passed[:20]}")
    print(f"highest heart quality: max {max(top):.3f}, p99 {np.percentile(top, 99):.3f}, "
          f"median {np.median(top):.3f} (gate {MIN_HEART_QUALITY})")


if __name__ == "__main__":
    main()
