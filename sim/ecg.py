"""A simulated viewer's chest ECG: one PQRST complex per heartbeat, as a Polar H10 samples
it (130 Hz, µV), with baseline wander and electrode noise. For the emulated strap's
measurement-data service (sim/strap.py, fed by `sim://...&ecg=1`, sim/viewer.py); the
edge's detector never sees these shapes' parameters (tests/test_sim_boundary.py).

    ecg = EcgSynth(seed=3)
    ecg.beat(t_us)                      # each heartbeat of the viewer (R-peak time)
    t0_us, uv = ecg.take(until_us)      # samples up to until_us - lag_s (all beats known)

A beat's complex starts with its P wave 0.2 s before the R peak, so a sample can be made
only once every beat that shapes it is known. A viewer's heart knows its next beat one
interval ahead (the sinus node sets it; sim/physiology.py's Heart), so the viewer makes
each sample at its moment (`lag_s=0`). A caller that learns of beats from Beat readings,
stamped at their R peak and read some time after, makes each sample LAG_S late (the LSL
amplifier, which stamps each sample with its moment; files written after the fact). Each
sample carries the time it describes either way.

A recording opens half a second before its first beat; `on_demand=True` makes none until
`start(t_us)`. `H10Frames`: a Polar H10's frames of such samples, from its PMD start.
"""

from __future__ import annotations

import math
import random

import numpy as np

FS_HZ = 130.0
LAG_S = 0.5  # beats learnt once they happened: the P wave's 0.2 s ahead, and a read's delay
OPEN_S = 0.5  # a recording opens this long before its first beat
# (seconds from the R peak, amplitude µV, width s): P, Q, R, S, T of a lead-I-like chest ECG
WAVES = ((-0.20, 120.0, 0.025), (-0.035, -90.0, 0.010), (0.0, 1100.0, 0.011),
         (0.035, -220.0, 0.012), (0.26, 280.0, 0.055))


class EcgSynth:
    def __init__(self, seed=0, fs_hz: float = FS_HZ, noise_uv: float = 15.0,
                 on_demand: bool = False, lag_s: float = LAG_S):
        self.rng = np.random.default_rng(seed)
        self.fs, self.noise, self.on_demand, self.lag_s = fs_hz, noise_uv, on_demand, lag_s
        self.beats: list[float] = []  # R times, s (monotonic)
        self.next_s: float | None = None  # time of the next sample to make
        self.wander_phase = float(self.rng.uniform(0, 2 * math.pi))

    def start(self, t_us: int) -> None:
        """Sample from t_us on (the beats before it still shape its first samples)."""
        self.next_s = t_us / 1e6

    def beat(self, t_us: int) -> None:
        """A beat (its R peak); one given again (a heart's next, each step) changes nothing."""
        if self.beats and t_us / 1e6 <= self.beats[-1]:
            return
        self.beats.append(t_us / 1e6)
        if self.next_s is None and not self.on_demand:
            self.next_s = t_us / 1e6 - OPEN_S
        self.beats = self.beats[-8:]

    def take(self, until_us: int) -> tuple[int, np.ndarray]:
        """(time of the first sample in µs, samples in µV) from where the last call ended."""
        if self.next_s is None:
            return 0, np.zeros(0)
        end = until_us / 1e6 - self.lag_s
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
    """A Polar H10's ECG stream over its wearer's ECG (`measure`: samples stamped with their
    moment): it measures from the PMD start command, never before it, and sends each frame
    once its last sample is measured, at the link's next connection event. The frame's
    stamp is its last sample's time (on the strap's clock: sim/strap.py)."""

    def __init__(self, seed: int, fs_hz: float = FS_HZ):
        self.fs, self.link = fs_hz, random.Random(seed)
        self.start_us: float | None = None  # the PMD start (None: not streaming)
        self.t0_us: float | None = None  # the first sample of the frame being filled
        self.send_us: float | None = None  # when it goes out
        self.pending = np.zeros(0)
        self.wait_us = 0.0  # its wait for a connection event

    def start(self, t_us: int) -> None:
        self.start_us, self.t0_us, self.pending = float(t_us), None, np.zeros(0)
        self.wait_us = self.link.uniform(0, CONN_INTERVAL_S) * 1e6
        self.send_us = self._sent_us(float(t_us))  # (its first sample comes within 1/fs)

    def stop(self) -> None:
        self.start_us = self.t0_us = self.send_us = None

    def measure(self, t0_us: int, x: np.ndarray) -> None:
        """The wearer's ECG samples from t0_us on, at fs (kept from the start, if streaming)."""
        if self.start_us is None:
            return
        if self.t0_us is None:  # the first sample at or after the start
            skip = max(0, math.ceil((self.start_us - t0_us) * self.fs / 1e6 - 1e-6))
            if skip >= len(x):
                return
            t0_us, x = t0_us + skip * 1e6 / self.fs, x[skip:]
            self.t0_us, self.send_us = t0_us, self._sent_us(t0_us)
        # samples the wearer gave none for (away from the seat: no skin under the
        # electrodes) read 0 µV, so the samples after keep their times
        gap = round((t0_us - self.t0_us) * self.fs / 1e6) - len(self.pending)
        self.pending = np.concatenate([self.pending, np.zeros(max(gap, 0)), x[max(-gap, 0):]])

    def due(self, now_us: int) -> list[tuple[float, np.ndarray]]:
        """(last sample's time in µs, FRAME_SAMPLES samples) of each frame gone out by now."""
        out = []
        while self.send_us is not None and now_us >= self.send_us:
            if len(self.pending) < FRAME_SAMPLES:  # its last sample not yet in: a period on
                self.send_us = now_us + 1e6 / self.fs
                break
            part, self.pending = np.split(self.pending, [FRAME_SAMPLES])
            out.append((self._last_us(self.t0_us), part))
            self.t0_us += FRAME_SAMPLES * 1e6 / self.fs
            self.wait_us = self.link.uniform(0, CONN_INTERVAL_S) * 1e6
            self.send_us = self._sent_us(self.t0_us)
        return out

    def _last_us(self, t0_us: float) -> float:
        return t0_us + (FRAME_SAMPLES - 1) * 1e6 / self.fs

    def _sent_us(self, t0_us: float) -> float:
        return self._last_us(t0_us) + 1e6 / self.fs + self.wait_us  # its last period over
