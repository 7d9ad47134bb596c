"""PPG noise with no heart in it through a seat: how often it reaches HR_OK.
`python -m empathy.bench.ppg_noise_seat [--kinds walk,clipped,white,pink] [--first 140]
[--seeds 300] [--rates 25,50,100] [--json]`.

The noise of tests/test_heart_evidence.py: 60 s of a random walk as a MAX3010x's counts
(raw, or cut at its 75th percentile), and white or pink noise through a 0.5-4 Hz band-pass
as the board's counts. Each case goes through `SeatFeatures` in 0.1-s chunks, an estimate a
second (bench/seat_hrv.py's `seat_stream`). Prints each case that reached HR_OK (kind,
seed, rate, its HR_OK estimates, the first's time) and the count per kind. Seeds are the
caller's to keep apart: 0-439 were tuned on (0-39 by the tests); 5000-5149 (walks) and
5000-5049 (the rest) were the twenty-third pass's fresh set, scored once: seen now.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from scipy import signal

from empathy.cli import number_in, numbers_in

KINDS = ("walk", "clipped", "white", "pink")


def random_walk(seed: int, fs: int, clipped: bool, seconds: float = 60.0) -> np.ndarray:
    """A random walk as a MAX3010x's counts (the noise grid of the ppgclip pass)."""
    from empathy.edge.ppg_boards import board_counts

    n = int(seconds * fs)
    y = board_counts(np.cumsum(np.random.default_rng(seed).normal(0, 1, n)), False)
    return np.minimum(y, np.percentile(y, 75)) if clipped else y


def band_noise(rng: np.random.Generator, fs: int, pink: bool,
               seconds: float = 60.0) -> np.ndarray:
    """White or pink noise through a 0.5-4 Hz band-pass, as a board's counts."""
    from empathy.edge.ppg_boards import board_counts

    n = int(seconds * fs)
    w = rng.normal(0, 1, n)
    if pink:
        f = np.fft.rfftfreq(n, 1 / fs)
        sp = np.fft.rfft(w)
        sp[1:] /= np.sqrt(f[1:])
        w = np.fft.irfft(sp, n)
    sos = signal.butter(2, (0.5, 4.0), "bandpass", fs=fs, output="sos")
    return board_counts(signal.sosfiltfilt(sos, w), False)


def noise(kind: str, seed: int, fs: int) -> np.ndarray:
    if kind in ("walk", "clipped"):
        return random_walk(seed, fs, kind == "clipped")
    return band_noise(np.random.default_rng(1000 + seed), fs, kind == "pink")


def hr_ok_times(x: np.ndarray, fs: float) -> list[float]:
    """The times (s from the start) of a seat's estimates with HR_OK."""
    from empathy.bench.seat_hrv import T0_US, seat_stream
    from empathy.wire import Flag

    return [(now - T0_US) / 1e6 for now, e, _ in seat_stream(x, fs, 1.0, "ppg")
            if e["flags"] & Flag.HR_OK]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--first", type=number_in(int, 0, 2**32 - 1), default=140,
                    help="the first noise seed")
    ap.add_argument("--seeds", type=number_in(int, 1, 100_000), default=300,
                    help="how many seeds from --first")
    ap.add_argument("--rates", type=numbers_in(int, 10, 1000), default=[25, 50, 100],
                    help="sampling rates, Hz, comma-separated")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    kinds, rates = a.kinds.split(","), a.rates
    if any(k not in KINDS for k in kinds):
        ap.error(f"--kinds: each one of {', '.join(KINDS)}")
    out = {}
    for kind in kinds:
        hits = []
        for seed in range(a.first, a.first + a.seeds):
            for fs in rates:
                t = hr_ok_times(noise(kind, seed, fs), fs)
                if t:
                    hits.append({"seed": seed, "fs": fs, "hr_ok": len(t), "first_s": t[0]})
                    if not a.json:
                        print(f"{kind} seed {seed} {fs} Hz: HR_OK {len(t)} from {t[0]:.0f} s",
                              flush=True)
        out[kind] = {"cases": a.seeds * len(rates), "hr_ok_cases": len(hits), "hits": hits}
        if not a.json:
            hz = ",".join(map(str, rates))
            print(f"{kind}: {len(hits)} of {a.seeds * len(rates)} cases reached HR_OK "
                  f"(seeds {a.first}-{a.first + a.seeds - 1}, {hz} Hz)", flush=True)
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
