"""Simulated seat: a simulated person (`sim/viewer.py`) in real time, behind the Source protocol.

`sim://seat?seed=3&impact=PATH&truth=PATH` yields the same readings a real rig would (RR
intervals like a BLE strap, pupil samples like an IR eye camera, grey face crops like a
face camera) from a hidden person whose affect answers what is on screen and whose body
follows published physiology (docs/simulation.md). The hidden state is written to `truth`
(CSV) for evaluation only; it never enters the edge pipeline.

What is on screen comes from the edge unit's screen state (the host's screen cues), and
how each segment really moves people comes from an *impact* file (`empathy.sim.impact`).

Knobs (simulation only):

- `faces=0`: no face camera.
- `eda=1`: a skin-conductance sensor too, as `Waveform(kind="eda", fs_hz=32, samples in
  microsiemens)` chunks; `ppg=1`: a finger PPG too (`Waveform(kind="ppg", fs_hz=100)`);
  `acc=1` with it: the accelerometer on the same hand (`Waveform(kind="acc", fs_hz=50)`,
  magnitude in mG), moved by the same movements that corrupt the pulse; `ecg=1`: a chest
  ECG (`Waveform(kind="ecg", fs_hz=130)` in µV, sim/ecg.py), for the emulated Polar H10.
- `nuisance=1`: how often the person fidgets, talks, eats, leaves, slips their strap, or
  sits in stray light (0 = never, 2 = twice the defaults of `sim/nuisance.py`).
- `visits=20:140,160:300`: the seat is occupied only in these spans (seconds after the
  source opens), each by a new visitor with traits of their own (seeded by `seed` and the
  visit's index). An empty seat gives no beats, no pupil and no face, and its health says
  no contact; the truth file marks each row with the visitor and their resting heart rate.
- `nudge=PATH`: a file holding one number in -1..1, re-read every 0.25 s, added to every
  viewer's arousal drive (a hand on the audience's pulse, for walking every branch).
- `fault=KIND@FROM:TO`: the seat's strap is out from FROM to TO seconds into the film,
  said as its driver says it (KIND `no_skin` or `strap_gone`: sim/sensor_fault.py).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Optional

from empathy.clock import now_us
from empathy.sensors.base import Health, Reading, SourceError
from empathy.sim.impact import Impact, ImpactError, load_impacts
from empathy.sim.sensor_fault import SensorFault
from empathy.sim.viewer import SimViewer, Viewer
from empathy.wire import EXPRESSIONS

__all__ = ["SimSource", "Viewer"]

TICK_S = 0.02  # 50 Hz inner simulation step
TRUTH_HZ = 10.0
TRUTH_COLUMNS = ("ts_us,arousal,valence,hr_bpm,clip,visitor,rest_bpm,"  # new ones at the end
                 "pupil_mm,eda_us,expression,nuisance")


class SimSource:
    """A simulated viewer in a seat. See module docstring for the URL."""

    def __init__(self, url: str, query: dict, screen: Optional[Callable[[], tuple]] = None,
                 faces: bool = True, **_):
        self.url = url
        try:
            self.seed = int(query.get("seed", 0))
            self.visits = _parse_visits(query.get("visits"))
            self.nuisance = _nuisance(query.get("nuisance", "1"))
            self.fault = SensorFault(query["fault"]) if query.get("fault") else None
        except ValueError as e:
            raise SourceError(f"{url}: {e}") from None
        self.eda, self.ppg = query.get("eda", "0") == "1", query.get("ppg", "0") == "1"
        self.acc, self.ecg = query.get("acc", "0") == "1", query.get("ecg", "0") == "1"
        self.nudge_path = query.get("nudge") or None
        self.nudge, self._nudge_read_us = 0.0, 0
        try:
            self.impacts = load_impacts(query.get("impact"))
        except ImpactError as e:
            raise SourceError(str(e)) from None
        self.screen = screen or (lambda: ("", 0.0, 0.3))  # (clip_id, clip_t_s, luminance)
        # Ticks are stepped after the fact, at read(): each sees the picture of its own
        # moment where the screen can say (calibration's ScreenTrace), else the latest.
        # A trace's viewer sits down with its first frame: before it the trace cannot say
        # what was shown, and a person living from the open met the sequence at a point of
        # their blinks, glances and adaptation set by how long the player took to start
        # (0.1 s quiet, up to 2 s on a busy machine: another person for the same seed).
        self._trace_at = getattr(screen, "at", None)
        self._render = None
        if faces and query.get("faces", "1") != "0":
            from empathy.sim.faces import render_face  # only when faces are wanted
            self._render = render_face
        self._truth = open(query["truth"], "w", buffering=1) if query.get("truth") else None
        if self._truth:
            self._truth.write(TRUTH_COLUMNS + "\n")
        self.t_us = self.t_open_us = self._next_truth_us = now_us()
        self.visitor = -1 if self.visits else 0  # index of the visit in progress; -1 = empty
        self.person = None if self.visits or self._trace_at else self._sit(0, self.t_us)
        self._health_sent = False

    @property
    def viewer(self) -> Viewer:
        """The hidden traits of whoever sits here now (the first visitor's if empty)."""
        return (self.person or self._sit(max(self.visitor, 0), self.t_us)).viewer

    def _sit(self, visit: int, t_us: int) -> SimViewer:
        return SimViewer(self.seed, visit, t_us, self._render, self.eda, self.ppg, self.nuisance,
                         self.acc, self.ecg)

    # -- who is in the seat ------------------------------------------------------------
    def _occupant(self, t_us: int, out: list) -> bool:
        """Follow the visits: a new visitor sits down, or the seat empties. True if occupied."""
        if not self.visits:
            return True
        t = (t_us - self.t_open_us) / 1e6
        k = next((i for i, (a, b) in enumerate(self.visits) if a <= t < b), -1)
        if k != self.visitor:
            # a new person: own traits, calm, nothing carried over
            self.person = self._sit(k + 1, t_us) if k >= 0 else None
            out.append(Health(t_us, "sim", contact=k >= 0, battery_pct=100.0))
            self.visitor = k
        return k >= 0

    def _nudged(self, t_us: int) -> float:
        if self.nudge_path and t_us - self._nudge_read_us >= 250_000:
            self._nudge_read_us = t_us
            try:
                v = float(Path(self.nudge_path).read_text().strip() or 0)
                self.nudge = max(-1.0, min(1.0, v)) if math.isfinite(v) else 0.0
            except (OSError, ValueError):
                pass  # a file being rewritten or missing: keep the last nudge
        return self.nudge

    def _step(self, t_us: int, out: list) -> None:
        if self._trace_at is None:
            screen = self.screen()
        else:
            screen = self._trace_at(t_us, before=None)
            if screen[2] is None:
                return  # nothing shown yet: nobody seated
            if self.person is None and not self.visits:
                self.person = self._sit(0, t_us)
        start = len(out)
        seated = self._occupant(t_us, out)
        p = self.person
        if seated:
            p.step(t_us, TICK_S, screen, self.impacts.get(screen[0], Impact()),
                   self._nudged(t_us), out)
        if self.fault:
            self.fault.step(t_us, screen[0], seated and not (p.away or p.strap_loose), out,
                            start)
        if not seated:
            return
        if self._truth and t_us >= self._next_truth_us:
            self._next_truth_us += int(1e6 / TRUTH_HZ)
            row = p.truth_row()
            if self.fault and self.fault.on:  # the truth says why the seat read no HR
                row["nuisance"] = "+".join(filter(None, (row["nuisance"], self.fault.kind)))
            self._truth.write(
                f"{t_us},{row['arousal']:.4f},{row['valence']:.4f},{row['hr_bpm']:.2f},"
                f"{screen[0]},{self.visitor},{p.viewer.hr0:.2f},{row['pupil_mm']:.3f},"
                f"{row['eda_us']:.3f},{EXPRESSIONS[row['expression']]},{row['nuisance']}\n")

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        out: list[Reading] = []
        if not self._health_sent:
            # With visits the seat starts empty; each arrival and departure says so itself.
            out.append(Health(now_us(), "sim", contact=not self.visits, battery_pct=100.0))
            self._health_sent = True
        deadline = now_us()
        if deadline - self.t_us < TICK_S * 1e6:
            time.sleep(min(timeout_s, TICK_S))
            deadline = now_us()
        while self.t_us + TICK_S * 1e6 <= deadline:
            self.t_us += int(TICK_S * 1e6)
            self._step(self.t_us, out)
        return out

    def close(self) -> None:
        if self._truth:
            self._truth.close()
            self._truth = None


def _nuisance(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and 0 <= v <= 10):
        raise ValueError(f"nuisance {text!r} must be a number within 0..10")
    return v


def _parse_visits(text: Optional[str]) -> list[tuple[float, float]]:
    """"20:140,160:300" -> [(20, 140), (160, 300)]: ordered, non-overlapping spans."""
    if not text:
        return []
    spans = []
    for part in text.split(","):
        a, sep, b = part.partition(":")
        lo, hi = float(a), float(b) if sep else float("nan")
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
            raise ValueError(f"visit {part!r} must be START:END seconds with START < END")
        if spans and lo < spans[-1][1]:
            raise ValueError(f"visit {part!r} overlaps the one before")
        spans.append((lo, hi))
    return spans
