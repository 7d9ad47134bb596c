"""Sample index -> host time for one waveform stream whose device clock is not the host's.

A board declares a rate (250 Hz), but its crystal, its read loop under load or an LSL
outlet's pacing make the real rate 1-3 % off (a loaded BrainFlow synthetic board: up to
10 %). Chunks arrive stamped in host time (their first sample's). Counting samples at the
declared rate drifts away from the stamps steadily (2 %: 20 ms a second), so "a chunk far
from where the count says" cannot tell a gap from a clock: the detectors restarted every
~25 s at 2 % and lost the beats in flight.

`SampleClock` follows the stamps instead: an alpha-beta tracker (a PLL in effect) of the
time of the next sample and of the sample period; each chunk's stamp corrects both a
little, so the stamps' jitter is smoothed out and a steady rate difference is learnt.
Only a chunk off the *tracked* time base by more than `slip_s` is a discontinuity
(samples lost, a stamp jump either way, a restarted device), and the caller restarts.
A chunk stamped MIN_GAP_S to MAX_GAP_S ahead of it is a short gap (samples lost: a
board's stall, a radio drop-out; the drift it tracks stays under MIN_GAP_S at 3 %) that a
caller may bridge instead (`bridge`): the time base jumps there, the rate learnt stays,
and the samples before keep their times.
A chunk stamped MIN_GAP_S or more behind it (`off_s`) is a step of the clock the stamps
are on (the host's set back: chrony stepping it, someone setting the time; lost samples
only ever put a stamp ahead), or a lone bad stamp (BrainFlow's read across a step of the
wall clock): a caller holds it till the chunk after it tells which (`settle`). A step
(`step`) moves every sample's time, those before too, with the clock, so what the caller
holds reads on the new clock; a lone bad stamp goes on as if right (and a chunk bridged
as a gap just before one that is back where the base was had one). A step forward cannot
be told from lost samples by the stamps (both: chunks at the learnt rate from a new
offset), so it is a gap: bridged up to MAX_GAP_S, a new stream beyond (unless the chunk
after it is back on the base: a lone bad stamp again). Within STEP_CHECK_S after a step,
a chunk off the new base is neither: stamps that jump back and forth are a broken clock,
and the caller starts afresh as before. `admit` is that rule for one chunk, the same for
every stream a seat reads (a heart waveform, skin conductance, the accelerometer): each
caller says how to push a chunk and what it holds that moves with a step.

Samples get their times from the tracked base: host time is the show's truth (the
picture, the other seats and the wire are on it), so a device 2 % fast does not read HR
2 % high. Beats, skin conductance responses and the accelerometer's moving spans all take
their times from here (edge/features.py, edge/eda.py, edge/motion.py).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Callable, Optional

import numpy as np

TRACK_TAU_S = 2.0  # the time base follows the stamps with about this time constant
MAX_RATE_ERR = 0.15  # beyond +-15 % of the declared rate the clock is broken, not drifting
MAX_FS_HZ = 100_000.0
MAX_GAP_S = 1.5  # a short gap (a board's stall) is bridged; a longer one starts afresh
MIN_GAP_S = 0.1  # a stamp this far ahead of the tracked base is a gap, not jitter or drift
STEP_CHECK_S = 1.0  # after a step, the stamps must follow the new base this long
JUMPS_KEPT = 64  # bridged gaps remembered (only the detector's last seconds are asked for)
# a seat's streams' slip_s: a chunk this far off its tracked time base restarts detection
WAVE_SLIP_S = 0.5


class SampleClock:
    """Feed each chunk's (stamp, sample count) with `follow` after checking `fits`;
    `time_us(i)` is sample i's host time."""

    def __init__(self, fs_hz: float, t0_us: float, slip_s: float):
        if not (math.isfinite(fs_hz) and 0 < fs_hz <= MAX_FS_HZ):
            raise ValueError(f"sample rate {fs_hz:g} Hz: need 0..{MAX_FS_HZ:g} Hz")
        if not math.isfinite(t0_us):
            raise ValueError("chunk stamp is not a number")
        self.fs = float(fs_hz)
        self.nominal_us = 1e6 / self.fs
        self.period_us = self.nominal_us
        self.t0 = float(t0_us)  # the stream's first sample
        self.anchor_n, self.anchor_us = 0, float(t0_us)  # the last corrected point
        self.n = 0  # samples followed
        self.slip_us = slip_s * 1e6
        self.implausible = False  # the stamps ask for a rate beyond MAX_RATE_ERR
        self.jumps: deque = deque(maxlen=JUMPS_KEPT)  # (sample index, gap_us) bridged
        self.stepped_n = -math.inf  # the sample index of the last step
        self.held: Optional[tuple] = None  # (chunk, stamp, samples): off the base (`admit`)

    def time_us(self, idx):
        """Host time of sample index (or indices) `idx` on the tracked time base."""
        if isinstance(idx, (int, float)):  # (one index: Python floats, numpy's bits, its
            i = float(idx)  # scalars' cost saved: a seat asks a few times a chunk)
            t = self.anchor_us + (i - self.anchor_n) * self.period_us
            for n, gap_us in self.jumps:
                t = t - gap_us * (i < n)
            return np.float64(t)
        i = np.asarray(idx, dtype=np.float64)
        t = self.anchor_us + (i - self.anchor_n) * self.period_us
        for n, gap_us in self.jumps:  # samples before a bridged gap came that much earlier
            t = t - gap_us * (i < n)
        return t

    def expected_us(self) -> float:
        """Where the next chunk should be stamped."""
        return float(self.time_us(self.n))

    def fits(self, fs_hz: float, ts_us: float) -> bool:
        """False for a chunk that starts a new stream: another rate, or a stamp off the
        tracked time base by more than the slip (a gap, a jump back, a restarted device),
        or after stamps that asked for a rate too far from the declared one."""
        return (fs_hz == self.fs and not self.implausible
                and abs(ts_us - self.expected_us()) <= self.slip_us)

    def off_s(self, fs_hz: float, ts_us: float) -> float:
        """How far off the tracked base a chunk was stamped where that is MIN_GAP_S or more
        (0 otherwise: it fits, or it can only be a new stream: another rate, a broken
        clock, a chunk off the base within STEP_CHECK_S of a step)."""
        if fs_hz != self.fs or self.implausible or self.n - self.stepped_n < STEP_CHECK_S * self.fs:
            return 0.0
        off_s = (ts_us - self.expected_us()) / 1e6
        return off_s if abs(off_s) >= MIN_GAP_S else 0.0

    def gap_s(self, fs_hz: float, ts_us: float) -> float:
        """How much signal a chunk that does not fit skipped, if it is a short gap worth
        bridging (0 otherwise: it fits, or it is a new stream)."""
        gap_s = self.off_s(fs_hz, ts_us)
        return gap_s if MIN_GAP_S < gap_s <= MAX_GAP_S else 0.0

    def step(self, ts_us: float) -> float:
        """The clock the stamps are on stepped: a chunk stamped `ts_us` is the next one.
        Every sample's time, those before too, moves by the step (returned, µs); the rate
        learnt stays."""
        step_us = ts_us - self.expected_us()
        self.anchor_n, self.anchor_us = self.n, float(ts_us)
        self.t0 += step_us
        self.stepped_n = self.n
        return step_us

    def bridge(self, ts_us: float) -> None:
        """Jump the time base to a chunk stamped `ts_us` after a short gap; the rate learnt
        stays, and the samples before keep their times."""
        pred = self.expected_us()
        self.jumps.append((self.n, ts_us - pred))
        self.anchor_n, self.anchor_us = self.n, float(ts_us)

    def settle(self, held_ts_us: float, held_n: int, fs_hz: float, ts_us: float) -> tuple[str, float]:
        """What a chunk stamped `held_ts_us` off the base (`off_s`), of `held_n` samples and
        held, was, by the chunk after it (`fs_hz`, `ts_us`); the held one goes on at
        `expected_us()`. ('stamp', 0): that one is on the base the held one left: only its
        stamp was off (BrainFlow's read across a step of the wall clock: its first
        sample's stamp moved by the offset after it). ('unbridged', 0): the same, back
        where the base was before the gap bridged last (that chunk's stamp was late).
        ('step', µs): held back and that one following it: the clock stepped (lost samples
        only put stamps ahead). ('new', 0): held ahead and that one following it (a long
        gap, a restarted device, a step forward: the stamps cannot tell), or stamps all over
        the place (a broken clock): a new stream."""
        at_us = ts_us - held_n * self.period_us  # where that one says the held one began
        off_old, off_held = abs(at_us - self.expected_us()), abs(at_us - held_ts_us)
        if fs_hz != self.fs or min(off_old, off_held) > self.slip_us:
            return "new", 0.0
        if off_old <= off_held:
            return "stamp", 0.0
        if held_ts_us > self.expected_us():
            return "new", 0.0
        if self._unbridge(held_ts_us):
            return "unbridged", 0.0
        return "step", self.step(held_ts_us)

    def admit(self, fs_hz: float, ts_us: float, chunk, n: int,
              push: Callable, settled: Optional[Callable] = None) -> Optional[str]:
        """The rule for a chunk (`chunk`, of `n` samples, stamped `ts_us`): 'follow' (the
        caller pushes it), 'gap' (a short gap bridged; the caller pushes it), 'held' (off
        the base: the clock holds it, the caller does not push it) or None (a new stream:
        the caller starts afresh). A chunk held before goes on first, once this one says
        why: `settled(what, step_us)` (`settle`'s 'stamp', 'unbridged' or 'step', whose
        step the caller applies to the times it holds), then `push(chunk, ts_us)` at its
        place on the base."""
        if self.held is not None:
            (h_chunk, h_ts_us, h_n), self.held = self.held, None
            what, step_us = self.settle(h_ts_us, h_n, fs_hz, ts_us)
            if what == "new":
                return None
            if settled is not None:
                settled(what, step_us)
            push(h_chunk, self.expected_us())
        if self.gap_s(fs_hz, ts_us):
            self.bridge(ts_us)
            return "gap"
        if self.off_s(fs_hz, ts_us):
            self.held = (chunk, ts_us, n)
            return "held"
        return "follow" if self.fits(fs_hz, ts_us) else None

    def holds(self, chunk) -> bool:
        """`chunk` is the one held (`admit`): the caller pushes it once settled, not now."""
        return self.held is not None and self.held[0] is chunk

    def _unbridge(self, ts_us: float) -> bool:
        """If the last chunk was bridged as a gap and a chunk stamped `ts_us` next is back
        where the base was before it, the gap was that chunk's stamp alone (late): it goes,
        and every sample keeps the base from before it. False (nothing done) otherwise."""
        if not self.jumps or self.jumps[-1][0] != self.anchor_n:  # a chunk followed since
            return False
        gap_us = self.jumps[-1][1]
        if abs(ts_us - self.expected_us() + gap_us) > self.slip_us:
            return False
        self.jumps.pop()
        self.anchor_us -= gap_us
        return True

    def rate_error(self) -> float:
        """The stream's real rate against its declared one, -0.02 for 2 % slow."""
        return self.nominal_us / self.period_us - 1

    def follow(self, ts_us: float, n_samples: int) -> None:
        """Take a fitting chunk of `n_samples` stamped `ts_us` (its first sample)."""
        since = self.n - self.anchor_n  # samples since the last correction
        if since > 0:
            pred = self.expected_us()
            r = ts_us - pred
            a = 1 - math.exp(-since * self.period_us / 1e6 / TRACK_TAU_S)
            b = a * a / (2 - a)  # Benedict-Bordner: the period's gain for this offset gain
            self.anchor_n, self.anchor_us = self.n, pred + a * r
            lo, hi = self.nominal_us / (1 + MAX_RATE_ERR), self.nominal_us / (1 - MAX_RATE_ERR)
            period_us = self.period_us + b * r / since
            self.implausible |= not lo <= period_us <= hi
            self.period_us = min(hi, max(lo, period_us))
        self.n += int(n_samples)
