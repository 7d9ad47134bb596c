"""Motion from an accelerometer worn with a PPG sensor: which pulse beats fell while moving.

Movement is the PPG's main error source: while the hand moves, pressure and blood shifts
make waves in the cardiac band several times a pulse's size, and a beat detector finds
"beats" in them. The shape quality (edge/heart.py) catches some; an accelerometer on the
same hand or board says for certain when it moved. Here:

1. the accelerometer's magnitude (mG, any rate, as a Polar H10 or the serial board's ACC
   frame deliver it) less its slow mean (gravity and posture, GRAVITY_TAU_S) is the
   dynamic acceleration; its RMS over BLOCK_S blocks above MOTION_MG is "moving",
2. a beat in a moving block or within PAD_S after one (the pulse and the sensor's contact
   settle) is rejected:
   flagged `moving`, with quality MOTION_SQI (under hrv.SQI_MIN). The seat's features drop
   such beats and break the beat series there (`HeartWindow.break_off`), so no interval
   is formed from an artefact nor spans the movement, and the RR corrector's and the
   normal-interval test's references stay made of real beats.

The accelerometer's chunks go on by the time base's rule (`SampleClock.admit`): a short
gap is bridged, a step of the clock moves the moving spans with it, a lone bad stamp is
taken as right. The PPG's stream and the accelerometer's settle a step each at their own
next chunk, so for a moment one is on the new clock and the other not: the gate keeps
their difference (`lag_us`) and judges each beat at its moment on the track's clock.

Streaming and batch are the same code (`MotionGate`; `motion_gate` runs it over a whole
recording). The rule is causal (only the accelerometer up to a beat judges it), so a beat
waits only until the accelerometer's block holding it is complete, which costs no latency
when both arrive together (a PPG beat comes out 0.3-1.8 s after it happened). Without an
accelerometer, or when it stopped more than STALE_S before the beats, beats pass unchanged.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from empathy.edge.timebase import MIN_GAP_S, SampleClock

MOTION_MG = 50.0  # a still hand: sensor noise and tremor ~5-15 mG RMS; a fidget: hundreds
BLOCK_S = 0.25
PAD_S = 0.5
GRAVITY_TAU_S = 0.5
STALE_S = 3.0
MOTION_SQI = 0.0
MAX_MG = 20000.0  # beyond a +-16 g part's range: a broken reading
SPANS_KEPT = 256  # moving spans remembered (they are only looked up near the newest beats)


def check(samples) -> np.ndarray:
    """An accelerometer chunk's magnitudes, refused (ValueError) where one is broken."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size and (not np.isfinite(x).all() or np.abs(x).max() > MAX_MG):
        raise ValueError(f"accelerometer sample outside +-{MAX_MG:g} mG or not a number")
    return x


class MotionTrack:
    """Accelerometer magnitude chunks in (mG); moving spans (start_us, end_us + PAD_S) out."""

    def __init__(self, fs_hz: float, t0_us: float, slip_s: float = 0.5):
        if not (5.0 <= fs_hz <= 5000.0):
            raise ValueError(f"accelerometer at {fs_hz:g} Hz: need 5..5000 Hz")
        self.fs = float(fs_hz)
        self.clock = SampleClock(fs_hz, t0_us, slip_s)  # the device's rate is a few % off
        self.n = 0  # samples consumed
        self.block = max(1, round(BLOCK_S * fs_hz))
        a = 1 - math.exp(-1 / (GRAVITY_TAU_S * fs_hz))
        self.ema = (np.array([a]), np.array([1.0, a - 1]))
        self.zi = None
        self.rest = np.zeros(0)  # squared dynamic acceleration of the unfinished block
        self.spans: deque = deque(maxlen=SPANS_KEPT)
        self.moving_s = 0.0

    def judged_us(self) -> float:
        """Time up to which every block has been judged."""
        return float(self.clock.time_us(self.n - len(self.rest)))

    def shift(self, step_us: float) -> None:
        """The clock stepped (its own, `SampleClock.step`): the spans move with it."""
        self.spans = deque(((s + step_us, e + step_us) for s, e in self.spans),
                           maxlen=SPANS_KEPT)

    def push(self, samples, ts_us: float | None = None) -> None:
        """One chunk; `ts_us` its first sample's stamp (None: right after the last)."""
        x = check(samples)
        if not x.size:
            return
        self.clock.follow(self.clock.expected_us() if ts_us is None else ts_us, len(x))
        # here, not at the top: every seat has a MotionGate, few an accelerometer (scipy.signal
        # is ~1 CPU-s of a unit's start: tests/test_unit_start.py)
        from scipy.signal import lfilter

        if self.zi is None:  # settled on the first sample: no start-up swing
            self.zi = np.array([x[0] * (1 - self.ema[0][0])])
        slow, self.zi = lfilter(*self.ema, x, zi=self.zi)
        e = np.concatenate((self.rest, (x - slow) ** 2))
        full = len(e) // self.block * self.block
        first = self.n - len(self.rest)  # sample index of e[0]
        self.n += len(x)
        self.rest = e[full:]
        rms = np.sqrt(e[:full].reshape(-1, self.block).mean(axis=1)) if full else np.zeros(0)
        pad = PAD_S * 1e6
        for k in np.flatnonzero(rms > MOTION_MG):
            s, e_us = self.clock.time_us([first + k * self.block, first + (k + 1) * self.block])
            self.moving_s += self.block / self.fs
            if self.spans and self.spans[-1][1] >= s:  # joins the last span
                self.spans[-1] = (self.spans[-1][0], e_us + pad)
            else:
                self.spans.append((s, e_us + pad))

    def moving(self, t_us: float) -> bool:
        for s, e in reversed(self.spans):
            if s <= t_us <= e:
                return True
            if e < t_us:
                return False
        return False


class MotionGate:
    """One seat's accelerometer, and the PPG beats it grades. Feed `add_acc` with the
    accelerometer's chunks and `pass_beats` with the detector's beats; the beats come back,
    graded, once the accelerometer covers them (`finish` at the end of a recording)."""

    def __init__(self, slip_s: float = 0.5):
        self.track: MotionTrack | None = None
        self.slip_us = slip_s * 1e6
        self.held: list[tuple[float, float]] = []  # (time µs on the beats' clock, sqi)
        self.lag_us = 0.0  # the track's clock less the beats': one stepped, the other not yet
        self.judged = self.rejected = self.unjudged = 0

    def add_acc(self, ts_us: float, fs_hz: float, samples) -> None:
        x, t = check(samples), self.track
        if not x.size:
            return  # no sample, so its stamp says nothing
        if t is None or t.clock.admit(fs_hz, ts_us, x, x.size, t.push, self._stepped) is None:
            new = MotionTrack(fs_hz, ts_us, self.slip_us / 1e6)  # new, resampled, a long gap
            if t is not None:  # its spans, onto the beats' clock as the new track is
                new.spans, new.moving_s = t.spans, t.moving_s
                new.shift(-self.lag_us)
            self.track, self.lag_us = new, 0.0
        if not self.track.clock.holds(x):
            self.track.push(x, ts_us)

    def _stepped(self, what: str, step_us: float) -> None:
        if what == "step":
            self.track.shift(step_us)
            self._lag(step_us)

    def shift(self, step_us: float) -> None:
        """The beats' clock stepped (the PPG's stream, edge.seat_wave): the beats held move."""
        self.held = [(t + step_us, q) for t, q in self.held]
        self._lag(-step_us)

    def _lag(self, d_us: float) -> None:
        """Both clocks stepped alike (within a stamp's jitter, MIN_GAP_S): no lag left."""
        self.lag_us += d_us
        if abs(self.lag_us) < MIN_GAP_S * 1e6:
            self.lag_us = 0.0

    def restart_beats(self) -> None:
        """A new beat stream (edge.seat_wave): the last one's beats held are dropped, and its
        clock is the stamps' as they are now."""
        self.held, self.lag_us = [], 0.0

    def pass_beats(self, ts_us, sqi, final: bool = False):
        """(ts_us, sqi, moving) of the beats the accelerometer has covered by now."""
        self.held += zip(np.asarray(ts_us, float).tolist(), np.asarray(sqi, float).tolist())
        out_t, out_q, out_m = [], [], []
        t, lag = self.track, self.lag_us  # a beat at b was at b + lag on the track's clock
        covered = t.judged_us() - lag if t is not None else math.inf
        stale = bool(self.held) and t is not None and \
            self.held[-1][0] - covered > STALE_S * 1e6
        while self.held and (self.held[0][0] <= covered or stale or final):
            b, q = self.held.pop(0)
            m = False
            if t is not None and b <= covered:
                self.judged += 1
                if t.moving(b + lag):
                    self.rejected += 1
                    q, m = min(q, MOTION_SQI), True
            elif t is not None:
                self.unjudged += 1  # the accelerometer stopped or the recording ended
            out_t.append(b)
            out_q.append(q)
            out_m.append(m)
        return np.array(out_t), np.array(out_q), np.array(out_m, bool)

    def report(self) -> dict:
        return {"beats_judged": self.judged, "beats_rejected_motion": self.rejected,
                "beats_unjudged": self.unjudged,
                "moving_s": round(self.track.moving_s, 2) if self.track else 0.0}


def motion_gate(beat_ts_us, sqi, acc_mg, acc_fs_hz: float, acc_t0_us: float = 0.0):
    """A whole recording's beats graded by its accelerometer: (ts_us, sqi, moving, report)."""
    g = MotionGate()
    g.add_acc(acc_t0_us, acc_fs_hz, acc_mg)
    return (*g.pass_beats(beat_ts_us, sqi, final=True), g.report())
