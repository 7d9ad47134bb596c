"""Simulated seat: a viewer whose hidden arousal responds to what is on screen.

`sim://seat?seed=3&impact=PATH&truth=PATH` yields the same readings a real rig would (RR
intervals like a BLE strap, pupil samples like an IR eye camera, grey face crops like a
face camera) generated from a hidden ground-truth arousal/valence trajectory. The truth
is written to `truth` (CSV) for evaluation only; it never enters the edge pipeline.

What is on screen comes from the edge unit's screen state (the host's screen cues), and
how each segment really moves people comes from an *impact* file (`empathy.sim.impact`).

Two knobs for rehearsals and kiosks (simulation only):

- `visits=20:140,160:300`: the seat is occupied only in these spans (seconds after the
  source opens), each by a new visitor with traits of their own (seeded by `seed` and the
  visit's index). An empty seat gives no beats, no pupil and no face, and its health says
  no contact; the truth file marks each row with the visitor and their resting heart rate.
- `nudge=PATH`: a file holding one number in -1..1, re-read every 0.25 s, added to every
  viewer's arousal drive (a hand on the audience's pulse, for walking every branch).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from empathy.clock import now_us
from empathy.sensors.base import Beat, FaceCrop, Health, Pupil, Reading, SourceError
from empathy.sim.impact import Impact, ImpactError, load_impacts

TICK_S = 0.02  # 50 Hz inner simulation step
PUPIL_HZ = 30.0
FACE_HZ = 10.0
TRUTH_HZ = 10.0
SHOCK_TAU_S = 1.5


@dataclass
class Viewer:
    """Hidden traits, drawn per seat from its seed."""

    sensitivity: float
    hr0: float
    rmssd0: float
    pupil0: float
    light_gain_mm: float
    blink_rate_hz: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "Viewer":
        return cls(
            sensitivity=float(np.clip(rng.normal(1.0, 0.2), 0.5, 1.6)),
            hr0=float(rng.normal(70, 7)),
            rmssd0=float(np.clip(rng.normal(45, 10), 20, 90)),
            pupil0=float(rng.normal(5.0, 0.5)),
            light_gain_mm=float(rng.normal(2.0, 0.3)),
            blink_rate_hz=float(rng.uniform(0.15, 0.35)),
        )


def expression_for(valence: float, arousal: float) -> tuple[int, float]:
    """Which FER class a face shows for a hidden (valence, arousal), and how strongly."""
    strength = min(1.0, math.hypot(valence, arousal))
    if strength < 0.25:
        return 6, 0.0  # neutral
    if valence > 0.25:
        return 3, strength  # happy
    if arousal > 0.45 and valence < -0.15:
        return 2, strength  # fear
    if arousal > 0.45:
        return 5, strength  # surprise
    if valence < -0.25 and arousal < 0.1:
        return 4, strength  # sad
    if valence < -0.25:
        return 0, strength  # angry
    return 6, 0.0


@dataclass
class _State:
    t_us: int
    arousal: float = 0.0
    valence: float = 0.0
    lum_seen: float = 0.3
    next_beat_us: int = 0
    next_pupil_us: int = 0
    next_face_us: int = 0
    next_truth_us: int = 0
    blink_until_us: int = 0
    dropout_until_us: int = 0
    shocks_fired: set = field(default_factory=set)
    shock: float = 0.0


class SimSource:
    """A simulated viewer in a seat. See module docstring for the URL."""

    def __init__(self, url: str, query: dict, screen: Optional[Callable[[], tuple]] = None,
                 faces: bool = True, **_):
        self.url = url
        try:
            self.seed = int(query.get("seed", 0))
            self.visits = _parse_visits(query.get("visits"))
        except ValueError as e:
            raise SourceError(f"{url}: {e}") from None
        self.rng = np.random.default_rng(self.seed)
        self.viewer = Viewer.draw(self.rng)
        self.visitor = -1 if self.visits else 0  # index of the visit in progress; -1 = empty
        self.nudge_path = query.get("nudge") or None
        self.nudge, self._nudge_read_us = 0.0, 0
        try:
            self.impacts = load_impacts(query.get("impact"))
        except ImpactError as e:
            raise SourceError(str(e)) from None
        self.screen = screen or (lambda: ("", 0.0, 0.3))  # (clip_id, clip_t_s, luminance)
        # Ticks are stepped after the fact, at read(): each sees the picture of its own
        # moment where the screen can say (calibration's ScreenTrace), else the latest.
        self._screen_at = getattr(screen, "at", None) or (lambda _t: self.screen())
        self.faces = faces and query.get("faces", "1") != "0"
        self._truth = open(query["truth"], "w", buffering=1) if query.get("truth") else None
        if self._truth:
            self._truth.write("ts_us,arousal,valence,hr_bpm,clip,visitor,rest_bpm\n")
        t = now_us()
        self.t_open_us = t
        self.s = _State(t_us=t, next_beat_us=t + 800_000, next_pupil_us=t, next_face_us=t,
                        next_truth_us=t)
        self._render = None
        if self.faces:
            from empathy.sim.faces import render_face  # only when faces are wanted
            self._render = render_face
        self._health_sent = False

    # -- who is in the seat ------------------------------------------------------------
    def _occupant(self, t_us: int, out: list) -> bool:
        """Follow the visits: a new visitor sits down, or the seat empties. True if occupied."""
        if not self.visits:
            return True
        t = (t_us - self.t_open_us) / 1e6
        k = next((i for i, (a, b) in enumerate(self.visits) if a <= t < b), -1)
        if k != self.visitor:
            if k >= 0:  # a new person: own traits, calm, nothing carried over
                self.rng = np.random.default_rng([self.seed, k + 1])
                self.viewer = Viewer.draw(self.rng)
                self.s = _State(t_us=t_us, next_beat_us=t_us + 800_000, next_pupil_us=t_us,
                                next_face_us=t_us, next_truth_us=t_us)
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

    # -- hidden physiology ------------------------------------------------------------
    def _step(self, t_us: int, out: list) -> None:
        if not self._occupant(t_us, out):
            return
        s, v, dt = self.s, self.viewer, TICK_S
        clip, clip_t, lum = self._screen_at(t_us)
        impact = self.impacts.get(clip, Impact())
        for k, at in enumerate(impact.shocks):
            if (clip, k) not in s.shocks_fired and clip_t >= at:
                s.shocks_fired.add((clip, k))
                s.shock += 0.9 * v.sensitivity
        s.shock *= math.exp(-dt / SHOCK_TAU_S)
        drive = v.sensitivity * impact.drive(clip_t) + s.shock + self._nudged(t_us)
        s.arousal += dt / 3.0 * (drive - s.arousal) + math.sqrt(dt) * 0.05 * self.rng.normal()
        s.valence += dt / 4.0 * (impact.valence * v.sensitivity - s.valence) \
            + math.sqrt(dt) * 0.03 * self.rng.normal()
        s.lum_seen += dt / 0.4 * (lum - s.lum_seen)  # pupil light reflex lags the picture
        a = max(-1.0, min(1.5, s.arousal))
        hr = v.hr0 + 16.0 * a

        if t_us >= s.next_beat_us:
            # Vagal withdrawal: beat-to-beat variability shrinks as arousal rises.
            rmssd = v.rmssd0 * max(0.25, 1.0 - 0.45 * a)
            rr = 60000.0 / hr * (1 + 0.03 * math.sin(2 * math.pi * 0.25 * t_us / 1e6))
            rr += self.rng.normal(0, rmssd / math.sqrt(2))
            rr = max(300.0, min(2000.0, rr))
            out.append(Beat(t_us, rr))
            s.next_beat_us = t_us + int(rr * 1000)

        if t_us >= s.next_pupil_us:
            s.next_pupil_us += int(1e6 / PUPIL_HZ)
            if t_us >= s.blink_until_us and self.rng.random() < v.blink_rate_hz / PUPIL_HZ:
                s.blink_until_us = t_us + int(self.rng.uniform(0.1, 0.25) * 1e6)
            if self.rng.random() < 0.002:
                s.dropout_until_us = t_us + 1_000_000  # viewer looks away / camera loses eye
            if t_us < s.blink_until_us or t_us < s.dropout_until_us:
                out.append(Pupil(t_us, 0.0, 0.0))
            else:
                d = v.pupil0 - v.light_gain_mm * s.lum_seen + 0.6 * a + self.rng.normal(0, 0.04)
                out.append(Pupil(t_us, max(1.5, d), 0.95))

        if self._render and t_us >= s.next_face_us:
            s.next_face_us += int(1e6 / FACE_HZ)
            cls, strength = expression_for(s.valence, s.arousal)
            out.append(FaceCrop(t_us, self._render(cls, strength, self.rng)))

        if self._truth and t_us >= s.next_truth_us:
            s.next_truth_us += int(1e6 / TRUTH_HZ)
            self._truth.write(f"{t_us},{s.arousal:.4f},{s.valence:.4f},{hr:.2f},{clip},"
                              f"{self.visitor},{v.hr0:.2f}\n")

    def read(self, timeout_s: float = 0.1) -> list[Reading]:
        out: list[Reading] = []
        if not self._health_sent:
            # With visits the seat starts empty; each arrival and departure says so itself.
            out.append(Health(now_us(), "sim", contact=not self.visits, battery_pct=100.0))
            self._health_sent = True
        deadline = now_us()
        if deadline - self.s.t_us < TICK_S * 1e6:
            time.sleep(min(timeout_s, TICK_S))
            deadline = now_us()
        while self.s.t_us + TICK_S * 1e6 <= deadline:
            self.s.t_us += int(TICK_S * 1e6)
            self._step(self.s.t_us, out)
        return out

    def close(self) -> None:
        if self._truth:
            self._truth.close()
            self._truth = None


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
