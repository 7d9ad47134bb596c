"""A simulated viewer's chest ECG: one PQRST complex per heartbeat, as a Polar H10 samples
it (130 Hz, µV), with baseline wander and electrode noise. For the emulated strap's
measurement-data service (sim/strap.py); the edge's detector never sees these shapes'
parameters (tests/test_sim_boundary.py).

    ecg = EcgSynth(seed=3)
    ecg.beat(t_us)                      # each heartbeat of the viewer (R-peak time)
    t0_us, uv = ecg.take(until_us)      # samples up to until_us - LAG_S (all beats known)

A recording opens half a second before its first beat; `on_demand=True` makes none until
`start(t_us)`, as a Polar H10 measures from its PMD start command (`H10Frames`: its frames).
"""

from __future__ import annotations

import math
import random

import numpy as np

FS_HZ = 130.0
LAG_S = 0.5  # a sample is made once every beat that shapes it has happened
# (seconds from the R peak, amplitude µV, width s): P, Q, R, S, T of a lead-I-like chest ECG
WAVES = ((-0.20, 120.0, 0.025), (-0.035, -90.0, 0.010), (0.0, 1100.0, 0.011),
         (0.035, -220.0, 0.012), (0.26, 280.0, 0.055))


class EcgSynth:
    def __init__(self, seed: int = 0, fs_hz: float = FS_HZ, noise_uv: float = 15.0,
                 on_demand: bool = False):
        self.rng = np.random.default_rng(seed)
        self.fs, self.noise, self.on_demand = fs_hz, noise_uv, on_demand
        self.beats: list[float] = []  # R times, s (monotonic)
        self.next_s: float | None = None  # time of the next sample to make
        self.wander_phase = float(self.rng.uniform(0, 2 * math.pi))

    def start(self, t_us: int) -> None:
        """Sample from t_us on (the beats before it still shape its first samples)."""
        self.next_s = t_us / 1e6

    def stop(self) -> None:
        self.next_s = None

    def beat(self, t_us: int) -> None:
        self.beats.append(t_us / 1e6)
        if self.next_s is None and not self.on_demand:
            # a recording opens half a second before its first beat (its P wave is 0.2 s
            # ahead, and the first beat may be reported up to an interval late)
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


FRAME_SAMPLES = 73  # what fits an H10 notification (MTU 232)
# a full frame waits for the link's next connection event: Linux asks for a 30-50 ms
# interval (the kernel's le_conn_min/max_interval, 0x18-0x28 in 1.25 ms)
CONN_INTERVAL_S = 0.05


class H10Frames:
    """A Polar H10's ECG stream: it measures from the PMD start command, never before it,
    and sends each frame once full (here its samples are made LAG_S late: EcgSynth), at the
    link's next connection event. The frame's stamp is its last sample's time."""

    def __init__(self, ecg: EcgSynth, seed: int):
        self.ecg, self.link = ecg, random.Random(seed)
        self.t0_us = 0.0  # the first sample of the frame being filled
        self.send_us: float | None = None  # when it goes out (None: not streaming)
        self.pending = np.zeros(0)

    def start(self, t_us: int) -> None:
        self.ecg.start(t_us)
        self.t0_us, self.pending = float(t_us), np.zeros(0)
        self.send_us = self._sent_us()

    def stop(self) -> None:
        self.ecg.stop()
        self.send_us = None

    def due(self, now_us: int) -> list[tuple[float, np.ndarray]]:
        """(last sample's time in µs, FRAME_SAMPLES samples) of each frame gone out by now."""
        out = []
        while self.send_us is not None and now_us >= self.send_us:
            self.pending = np.concatenate([self.pending, self.ecg.take(now_us)[1]])
            if len(self.pending) < FRAME_SAMPLES:  # (rounding: its last sample is a µs on)
                self.send_us += 1.0
                break
            part, self.pending = np.split(self.pending, [FRAME_SAMPLES])
            out.append((self._last_us(), part))
            self.t0_us += FRAME_SAMPLES * 1e6 / self.ecg.fs
            self.send_us = self._sent_us()
        return out

    def _last_us(self) -> float:
        return self.t0_us + (FRAME_SAMPLES - 1) * 1e6 / self.ecg.fs

    def _sent_us(self) -> float:
        full_s = 1 / self.ecg.fs + LAG_S  # its last sample's period over, and that made
        return self._last_us() + (full_s + self.link.uniform(0, CONN_INTERVAL_S)) * 1e6
