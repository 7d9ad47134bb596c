"""What an ECG front end's lead-off pins say, frame by frame, as the host tells it.

- A lead off (LO+ or LO- high in a frame) is off at once. It is back only once the pins have
  read low for SETTLE_S: a loose snap or a tugged cable makes and breaks contact a few times
  a second, and CONTACT (with the seat's HR) flapped on and off with it.
- A lead that drops FLAP_DROPS times in FLAP_WINDOW_S is named ('LO+ keeps dropping: check
  the electrode snap'), so the hardware tester can find the seat.
- A pin that reads off for STUCK_WINDOWS judged windows in a row while what the front end
  reads is a heart, steady or not (`is_heart`), is named as a wiring fault: a dead pin or
  a short holds LO high over a good ECG. The lead stays off (the figures' safety first: a
  detector can be fooled, the pin usually is right); the seat's source can be told to
  ignore the pins (`?lo_pins=ignore`, sensors/serial/board.py).
- A tester's seat check, shorter than that, gets `verdict`: the pins that read off, for how
  long, and what the ECG under them read in each window so far (`empathy sensors read`
  prints it at its end; the source's stats carry it as `lead_verdict`).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Optional

import numpy as np

from empathy.sensors.base import LEAD_LOOSE, LEAD_OFF, LEAD_STUCK
from empathy.sensors.firmware import protocol

# The ECG detector's own needs after a lead comes back: its band-pass filter's start (0.5 s,
# edge/ecg_band.py SETTLE_S, left out of its judging) and one whole heartbeat at the slowest
# rate it is built for (40 bpm: 1.5 s, ecg_band WINDOW_S). A lead that has not held that long
# has given the detector no settled beat; a loose snap (~3 Hz) never holds it.
SETTLE_S = 2.0
# once off is a lead off, twice can be the electrode being put back; a third drop in 10 s
# is a contact that will not hold
FLAP_DROPS = 3
FLAP_WINDOW_S = 10.0
# the stuck pin's judge: 10-s windows of what the front end read while the pin said off (the
# detector's own calibration span, ecg_band CAL_S), three in a row: longer than re-seating an
# electrode, far shorter than a show
JUDGE_S = 10.0
STUCK_WINDOWS = 3
# a tester's short seat check never reaches STUCK_WINDOWS: `verdict` says what every window so
# far read, judging what is left of the last one too once it holds SHORT_S (6 beats at 72 bpm),
# and names the wiring only where each of them read a heart
SHORT_S = 5.0
# a heart in a window, steady or not (bigeminy, AF and PVCs are hearts too): at least
# MIN_INTERVALS intervals at a median 40-180 bpm, the beats' median shape quality (the
# detector's own) at least MIN_SQI, and ALIKE_SHARE of them matching another's QRS at MATCH
# (a heart repeats its complexes; noise's waves are rarely alike), their slopes compared in
# SHAPE_HZ (a floating input's hum, ~1 mV, is far steeper than a QRS). Tuning, 10-s windows:
# a floating input (hum 0-1 mV at 50/60 Hz, noise 0.02-0.3 mV, recorded electrode motion
# x0-3, NSTDB's `em`) reached 0.84 quality and 1.0 alike (hum), never both (0 of 360); every
# tuning ECG record of 30 s or more passes in 3 windows running
MIN_INTERVALS = 5
MIN_SQI = 0.8
MATCH = 0.95
ALIKE_SHARE = 0.5
SHAPE_HZ = (5.0, 30.0)
# ...or, complexes unlike each other (multiform PVC runs, AF's aberrant beats: MIT-BIH 203's
# windows matched at 0.37), LOCKED of the window's SHAPE_HZ energy within QRS_S of its beats:
# a heart's complexes carry it whatever their shapes. Tuning (`ecg_lead_off`'s floating
# inputs, seeds 300-323, 400-423, 500-523, 600-623, 5 min each, 2880 windows): at most 0.64
# at a quality of 0.6 or more (hum under 0.6: up to 0.85); 203's multiform windows 0.75-0.78
LOCKED = 0.7
QRS_S = 0.05
NAMES = ((protocol.LEAD_P, "LO+"), (protocol.LEAD_N, "LO-"))
STUCK = LEAD_STUCK


def heart_reading(mv: np.ndarray, fs_hz: float) -> Optional[dict]:
    """What a stretch of ECG says of a heart: its rate (bpm), beats, median quality, share
    of alike QRS and share of its QRS-band energy near the beats (None: fewer than
    MIN_INTERVALS + 1 beats)."""
    from scipy.signal import butter, sosfiltfilt

    from empathy.edge.ecg_ectopic import _rows, _unit
    from empathy.edge.heart import ecg_peaks  # (the seat's own detector; loaded when judged)

    beats = ecg_peaks(mv, fs_hz)
    if len(beats.idx) <= MIN_INTERVALS:
        return None
    s = lambda sec: int(round(sec * fs_hz))  # noqa: E731
    pre, post, lag, span = s(0.1), s(0.2), s(0.04), max(1, s(0.01))  # (ecg_ectopic's)
    x = sosfiltfilt(butter(2, SHAPE_HZ, "bandpass", fs=fs_hz, output="sos"), mv)
    ws = [x[i - pre - lag + span:i + post + lag + span + 1] - x[i - pre - lag:i + post + lag + 1]
          for i in beats.idx if i - pre - lag >= 0 and i + post + lag + span < len(x)]
    alike = 0.0
    if len(ws) > 1:
        rows = _unit(np.array([w[lag:len(w) - lag] for w in ws]))
        best = [np.delete(_rows(w, lag, rows), k).max() for k, w in enumerate(ws)]
        alike = float(np.mean(np.array(best) >= MATCH))
    near, h = np.zeros(len(x), bool), s(QRS_S)
    for i in beats.idx:
        near[max(i - h, 0):i + h + 1] = True
    e = x * x
    return {"bpm": 60.0 / float(np.median(np.diff(beats.idx))) * fs_hz,
            "beats": len(beats.idx), "quality": float(np.median(beats.sqi)), "alike": alike,
            "locked": float(e[near].sum() / max(e.sum(), 1e-30))}


def is_heart(r: Optional[dict]) -> bool:
    """Does heart_reading's r read a real heart (see MIN_SQI ... LOCKED)?"""
    return (r is not None and 40.0 <= r["bpm"] <= 180.0 and r["quality"] >= MIN_SQI
            and (r["alike"] >= ALIKE_SHARE or r["locked"] >= LOCKED))


class LeadWatch:
    """Feed each ECG frame (`frame`); `fault` is why the lead is off ("" while on)."""

    def __init__(self):
        self.fault = ""
        # time on the front end's own sample count (s): a burst of frames the USB held back
        # arrives at once, its host stamps squeezed together
        self.t_s = 0.0
        self.back_s: Optional[float] = None  # since when the pins read low (while settling)
        self.last_leads = 0  # the last frame's lead bits
        self.drops = {bit: deque() for bit, _ in NAMES}  # each pin's drops' times (s)
        self.held: list[np.ndarray] = []  # what was read while the pins said off (mV)
        self.held_n = 0
        self.hearts = 0  # judged windows in a row with a heart
        self.fs_hz = 0.0
        self.spell = Spell()  # what the pins and the ECG under them said while off
        # the board's reader thread feeds frames while `verdict` is read from another: a
        # window being judged was in neither `held` nor the spell's reads ('too short to
        # judge' after 10 s off, on a loaded machine)
        self._lock = threading.Lock()

    def frame(self, leads: int, mv: np.ndarray, fs_hz: float) -> str:
        """The next frame's lead bits and samples (mV): the fault now ("" while on)."""
        with self._lock:
            return self._frame(leads, mv, fs_hz)

    def _frame(self, leads: int, mv: np.ndarray, fs_hz: float) -> str:
        t, self.t_s = self.t_s, self.t_s + len(mv) / fs_hz
        self.fs_hz = fs_hz
        if leads:
            self.spell = Spell() if self.spell.ended else self.spell
            self.spell.off_s += len(mv) / fs_hz
            self.spell.pins |= leads
            self._note_drops(t, leads)
            self.back_s = None
            self._judge(mv, fs_hz)
            self.fault = self._why(t)
        elif self.fault:
            if not self.spell.ended:  # (what is held of a window is evidence too)
                self.spell.reads += self._rest()
                self.spell.ended = True
            self.held, self.held_n, self.hearts = [], 0, 0  # a pin that reads low is not stuck
            self.back_s = t if self.back_s is None else self.back_s
            if self.t_s - self.back_s >= SETTLE_S - 1e-9:
                self.fault, self.back_s = "", None
            else:
                self.fault = self._why(t)
        self.last_leads = leads
        return self.fault

    def _note_drops(self, t: float, leads: int) -> None:
        for bit, _ in NAMES:
            q = self.drops[bit]
            if leads & bit and not self.last_leads & bit:
                q.append(t)
            while q and q[0] < t - FLAP_WINDOW_S:
                q.popleft()

    def _why(self, t: float) -> str:
        if self.hearts >= STUCK_WINDOWS:
            return STUCK
        since = t - FLAP_WINDOW_S
        loose = [name for bit, name in NAMES
                 if sum(d >= since for d in self.drops[bit]) >= FLAP_DROPS]
        if loose:
            return (f"{loose[0]} keeps {LEAD_LOOSE}" if len(loose) == 1
                    else f"LO+ and LO- keep {LEAD_LOOSE}s")
        return LEAD_OFF

    def _judge(self, mv: np.ndarray, fs_hz: float) -> None:
        """Each JUDGE_S of what was read with the pins off: a heart, or not."""
        self.held.append(mv)
        self.held_n += len(mv)
        if self.held_n >= JUDGE_S * fs_hz:
            x = np.concatenate(self.held)
            self.held, self.held_n = [], 0
            r = heart_reading(x, fs_hz)
            self.spell.reads.append(r)
            self.hearts = self.hearts + 1 if is_heart(r) else 0

    def verdict(self) -> str:
        """For a tester's check of any length: what the pins and the ECG under them said in
        the last spell of a lead off ("" if the pins never read off): a heart read under
        them in every judged window (the part of a window still held, from SHORT_S on, too),
        or in STUCK_WINDOWS in a row, says 'check the LO wiring' with its evidence."""
        with self._lock:
            return (self.spell if self.spell.ended else
                    self.spell.with_rest(self._rest())).say()

    def _rest(self) -> list:
        """[heart_reading] of what is held of a window once it holds SHORT_S and beats
        enough to judge ([] before: 5 s at 60 bpm holds too few, and is no evidence)."""
        if self.held and self.held_n >= SHORT_S * self.fs_hz:
            r = heart_reading(np.concatenate(self.held), self.fs_hz)
            return [r] if r is not None else []
        return []


class Spell:
    """A lead-off spell: the pins that read off, for how long, and each judged window's
    heart_reading."""

    def __init__(self):
        self.off_s, self.pins, self.reads, self.ended = 0.0, 0, [], False

    def _in_a_row(self) -> bool:
        """Did every window read a heart, or STUCK_WINDOWS in a row (the judge's own rule)?
        One window deciding a 15-s check called a floating lead's wiring faulty in 37 of
        10,000 checks (0.37 %, 95 % CI 0.26-0.51; seeds 20000-29999); now 0 (CI to 0.04 %)."""
        run = best = 0
        for r in self.reads:
            run = run + 1 if is_heart(r) else 0
            best = max(best, run)
        return best >= min(len(self.reads), STUCK_WINDOWS)

    def with_rest(self, rest: list) -> "Spell":
        out = Spell()
        out.off_s, out.pins, out.reads = self.off_s, self.pins, self.reads + rest
        return out

    def say(self) -> str:
        if not self.off_s:
            return ""
        pins = " and ".join(name for bit, name in NAMES if self.pins & bit)
        said = f"{pins} read off for {self.off_s:.1f} s"
        if not self.reads:
            return said + f": too short to judge the ECG under it (under {SHORT_S:g} s)"
        hearts = [r for r in self.reads if is_heart(r)]
        if not hearts:
            return said + f"; no heart under it in {len(self.reads)} window(s): a lead off"
        if not self._in_a_row():
            return (said + f"; a heart under it in only {len(hearts)} of {len(self.reads)} "
                    "window(s): a lead off (a longer check judges a stuck pin)")
        bpm, q = (float(np.median([r[k] for r in hearts])) for k in ("bpm", "quality"))
        return (said + f" while the ECG under it read a heart in {len(hearts)} of "
                f"{len(self.reads)} window(s) ({bpm:.0f} bpm, quality {q:.2f}, "
                f"{sum(r['beats'] for r in hearts)} beats): check the LO wiring")
