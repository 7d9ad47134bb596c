"""A simulated viewer's chest ECG: one PQRST complex per heartbeat, as a Polar H10 samples
it (130 Hz, µV), with baseline wander and electrode noise. For the emulated strap's
measurement-data service (sim/strap.py); the edge's detector never sees these shapes'
parameters (tests/test_sim_boundary.py).

    ecg = EcgSynth(seed=3)
    ecg.beat(t_us)                      # each heartbeat of the viewer (R-peak time)
    t0_us, uv = ecg.take(until_us)      # samples up to until_us - LAG_S (all beats known)
"""

from __future__ import annotations

import math

import numpy as np

FS_HZ = 130.0
LAG_S = 0.5  # a sample is made once every beat that shapes it has happened
# (seconds from the R peak, amplitude µV, width s): P, Q, R, S, T of a lead-I-like chest ECG
WAVES = ((-0.20, 120.0, 0.025), (-0.035, -90.0, 0.010), (0.0, 1100.0, 0.011),
         (0.035, -220.0, 0.012), (0.26, 280.0, 0.055))


class EcgSynth:
    def __init__(self, seed: int = 0, fs_hz: float = FS_HZ, noise_uv: float = 15.0):
        self.rng = np.random.default_rng(seed)
        self.fs, self.noise = fs_hz, noise_uv
        self.beats: list[float] = []  # R times, s (monotonic)
        self.next_s: float | None = None  # time of the next sample to make
        self.wander_phase = float(self.rng.uniform(0, 2 * math.pi))

    def beat(self, t_us: int) -> None:
        self.beats.append(t_us / 1e6)
        if self.next_s is None:
            # start half a second before the first beat (its P wave is 0.2 s ahead): the
            # first beat may be reported up to an interval late, and a real H10 does not
            # open with a burst of frames
            self.next_s = t_us / 1e6 - LAG_S
        self.beats = self.beats[-8:]

    def take(self, until_us: int) -> tuple[int, np.ndarray]:
        """(time of the first sample in µs, samples in µV) from where the last call ended."""
        if self.next_s is None:
            return 0, np.zeros(0)
        end = until_us / 1e6 - LAG_S
        n = max(0, int((end - self.next_s) * self.fs))
        t = self.next_s + np.arange(n) / self.fs
        x = 60.0 * np.sin(2 * math.pi * 0.2 * t + self.wander_phase)  # breathing wander
        for r in self.beats:
            for dt, amp, width in WAVES:
                x += amp * np.exp(-0.5 * ((t - r - dt) / width) ** 2)
        x += self.rng.normal(0, self.noise, n)
        t0 = self.next_s
        self.next_s += n / self.fs
        return int(round(t0 * 1e6)), x
