"""One simulated person in a seat, stepped in simulated time: what their sensors would read.

`SimViewer.step(t_us, screen, out)` advances the person (`sim/mind.py` for the hidden
affect, `sim/physiology.py` for the body, `sim/behaviour.py` for blinks and expressions,
`sim/nuisance.py` for everything else they do) and appends the readings a seat's sensors
would produce at that moment: RR intervals as a chest strap reports them (a loose strap
misses and invents beats, and says so), pupil samples as an IR eye camera reports them
(lost in blinks, glances and movement), face crops as a face camera sees them (lit by the
screen and the room, hidden by a hand), and, when asked, skin conductance and a finger PPG
as `Waveform` chunks and a chest ECG (sim/ecg.py) each step, made as the heart beats. No
wall clock here: `sim/seat.py` runs it in real time, tests and the measurement model's
derivation run it as fast as they like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from empathy.sensors.base import Beat, FaceCrop, Health, Pupil, Waveform
from empathy.sim.behaviour import Blinks, Face
from empathy.sim.ecg import EcgSynth
from empathy.sim.impact import Impact
from empathy.sim.mind import Mind, MindTraits, draw_crowd
from empathy.sim.nuisance import Activity, Nuisance
from empathy.sim.physiology import BodyTraits, Heart, Pupil as PupilModel, Skin, screen_cd_m2

if TYPE_CHECKING:
    from empathy.sim.ppg import HandAccel, PulseWave

PUPIL_HZ = 30.0
FACE_HZ = 10.0
EDA_HZ = 32.0
PPG_HZ = 100.0
ACC_HZ = 50.0  # the accelerometer beside the PPG (`acc=1`), magnitude in mG
ECG_HZ = 130.0  # the chest ECG (`ecg=1`) at a Polar H10's rate: its strap streams it as made
CHUNK_S = 0.25  # waveform chunks, like a board's frames
PUPIL_NOISE_MM = 0.03  # video eye tracker measurement noise
GLANCE_PER_S = 0.06  # looking away from the screen (the eye camera loses the pupil)
EDA_NOISE_US = 0.005
STRAP_MISS = 0.6  # a loose strap misses this share of beats (the next RR spans both)
STRAP_EXTRA = 0.1  # ...and splits this share in two


@dataclass
class Viewer:
    """Hidden traits of one person: the mind (what moves them) and the body."""

    mind: MindTraits
    body: BodyTraits

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "Viewer":
        return cls(draw_crowd(rng, 1), BodyTraits.draw(rng))

    @property
    def hr0(self) -> float:
        return self.body.hr0_bpm


def face_light(lum: float, ambient_cd_m2: float) -> float:
    """Exposure of a face lit by the screen and the room (1 = well lit); the camera's
    auto-exposure makes up only part of a dark scene."""
    return min(1.4, max(0.3, 0.45 + 0.025 * (screen_cd_m2(lum) + ambient_cd_m2)))


class SimViewer:
    def __init__(self, seed: int, visit: int, t_us: int, render: Optional[Callable] = None,
                 eda: bool = False, ppg: bool = False, nuisance: float = 1.0,
                 acc: bool = False, ecg: bool = False):
        key = [seed] if visit == 0 else [seed, visit]
        self.viewer = Viewer.draw(np.random.default_rng(key))
        streams = [np.random.default_rng(key + [1000 + i]) for i in range(8)]
        self.rng_mind, self.rng_sense, rng_face, rng_pupil = streams[:4]
        t_s = t_us / 1e6
        body = self.viewer.body
        self.mind = Mind(self.viewer.mind)
        self.heart = Heart(body, streams[4], t_s)
        self.pupil = PupilModel(body, rng_pupil, 0.3, 0.02)
        self.skin = Skin(body, streams[5])
        self.blinks = Blinks(body, streams[6])
        self.face = Face(body, rng_face)
        self.nuisance = Nuisance(streams[7], nuisance)
        self.render, self.identity = render, int(np.random.default_rng(key).integers(2**31))
        self.pulse: Optional[PulseWave] = None
        self.accel: Optional[HandAccel] = None
        if ppg:  # here, not at the top: sim.ppg's scipy.signal is ~1 CPU-s of a unit's start
            from empathy.sim.ppg import HandAccel, PulseWave

            self.pulse = PulseWave(PPG_HZ, self.rng_sense, t_s)
            # its own random stream: asking for it changes nothing else the person does
            self.accel = (HandAccel(ACC_HZ, np.random.default_rng(key + [1008]), t_s)
                          if acc else None)
        self.ecg: Optional[EcgSynth] = None
        if ecg:  # its own random stream, as the accelerometer's; each sample at its moment,
            # the heart's next beat (whose P wave comes 0.2 s before it) being set ahead
            self.ecg = EcgSynth(key + [1009], ECG_HZ, on_demand=True, lag_s=0.0)
            self.ecg.beat(int(self.heart.last_beat_s * 1e6))
            self.ecg.start(t_us)
        self.eda = eda
        self.t_us = t_us
        self.next_pupil_us = self.next_face_us = t_us
        self.next_chunk_us = t_us + int(CHUNK_S * 1e6)
        self.eda_n = int(t_s * EDA_HZ) + 1  # sample i is taken at i / EDA_HZ seconds
        self.eda_buf: list[float] = []
        self.glance_until = -1.0
        self.strap_loose = self.away = False
        self.pending_rr = 0.0
        self.act = Activity()
        self.expression = (6, 0.0)
        self.arousal = self.valence = 0.0

    def step(self, t_us: int, dt: float, screen: tuple, impact: Impact, nudge: float,
             out: list) -> None:
        clip, clip_t, lum = screen
        t_s = t_us / 1e6
        cut = clip != self.mind.clip and self.mind.clip is not None
        startle = self.mind.step(dt, clip, clip_t, impact, self.rng_mind, nudge)
        self.arousal = a = float(self.mind.arousal[0])
        self.valence = v = float(self.mind.valence[0])
        act = self.act = self.nuisance.step(t_s, dt)
        beats = self.heart.step(t_s, dt, a, v, startle, act.move, act.talking)
        self.pupil.step(dt, lum, act.ambient_cd_m2, a)
        self.skin.step(t_s, dt, a, startle, act.move_onset)
        closed = self.blinks.step(t_s, dt, a, act.talking, cut, startle)
        self.expression = self.face.step(t_s, dt, v, a, startle, act)
        if self.pulse:
            for b in beats:
                self.pulse.add_beat(*b)
        if self.ecg:
            self.ecg.beat(int(self.heart.next_beat_s * 1e6))
            t0_us, uv = self.ecg.take(t_us)
        if act.away != self.away:  # left the seat, or came back
            self.away = act.away
            out.append(Health(t_us, "sim", contact=not act.away, battery_pct=100.0))
        if act.away:
            self.next_pupil_us = self.next_face_us = self.next_chunk_us = t_us
            if self.pulse:
                self.pulse.render(t_s, 0.0, False, 0.0)  # nothing worn, nothing read
            if self.accel:
                self.accel.render(t_s, 0.0)
            self.eda_n, self.eda_buf = int(t_s * EDA_HZ) + 1, []
            return
        if self.ecg and len(uv):
            out.append(Waveform(t0_us, "ecg", ECG_HZ, uv.astype(np.float32)))
        while self.eda and (self.eda_n + len(self.eda_buf)) / EDA_HZ <= t_s:
            self.eda_buf.append(self.skin.us)
        self._strap(t_us, beats, act.strap_loose, out)
        if t_us >= self.next_pupil_us:
            self.next_pupil_us += int(1e6 / PUPIL_HZ)
            out.append(self._pupil_reading(t_us, t_s, closed, act))
        if self.render and t_us >= self.next_face_us:
            self.next_face_us += int(1e6 / FACE_HZ)
            if not act.occluded and not (act.move > 0.6 and self.rng_sense.random() < 0.5):
                cls, k = self.expression
                img = self.render(cls, k, self.rng_sense, identity=self.identity,
                                  light=face_light(lum, act.ambient_cd_m2), shaded=True)
                out.append(FaceCrop(t_us, img))
        if t_us >= self.next_chunk_us:
            self.next_chunk_us += int(CHUNK_S * 1e6)
            self._chunks(t_us, t_s, act, out)

    def _strap(self, t_us: int, beats: list, loose: bool, out: list) -> None:
        if loose != self.strap_loose:
            self.strap_loose = loose
            out.append(Health(t_us, "sim", contact=not loose, battery_pct=100.0))
        for t_b, rr in beats:
            if loose and self.rng_sense.random() < STRAP_MISS:
                self.pending_rr += rr  # missed: the next reported interval spans both
                continue
            rr, self.pending_rr = rr + self.pending_rr, 0.0
            if loose and self.rng_sense.random() < STRAP_EXTRA:
                cut = rr * float(self.rng_sense.uniform(0.3, 0.7))
                out.append(Beat(int(t_b * 1e6 - (rr - cut) * 1000), cut))
                rr -= cut
            out.append(Beat(int(t_b * 1e6), min(2000.0, rr)))

    def _pupil_reading(self, t_us: int, t_s: float, closed: bool, act: Activity) -> Pupil:
        if t_s >= self.glance_until and self.rng_sense.random() < GLANCE_PER_S / PUPIL_HZ:
            self.glance_until = t_s + float(self.rng_sense.uniform(0.3, 1.5))
        lost = (closed or act.occluded or t_s < self.glance_until
                or (act.move > 0.5 and self.rng_sense.random() < 0.5 * act.move))
        if lost:
            return Pupil(t_us, 0.0, 0.0)
        mm = self.pupil.mm + self.rng_sense.normal(0, PUPIL_NOISE_MM)
        return Pupil(t_us, max(1.5, mm), float(self.rng_sense.uniform(0.85, 0.99)))

    def _chunks(self, t_us: int, t_s: float, act: Activity, out: list) -> None:
        if self.eda_buf:
            x = np.array(self.eda_buf) + self.rng_sense.normal(0, EDA_NOISE_US, len(self.eda_buf))
            if act.move > 0.5:  # electrode pressure: the level swings while the hand moves
                x += act.move * 0.05 * self.skin.us * self.rng_sense.standard_normal(len(x)).cumsum()
            out.append(Waveform(int(self.eda_n * 1e6 / EDA_HZ), "eda", EDA_HZ,
                                np.maximum(x, 0.01).astype(np.float32)))
            self.eda_n += len(x)
            self.eda_buf = []
        if self.pulse:
            x = self.pulse.render(t_s, act.move, act.move_onset, self.heart.resp_phase)
            if len(x):
                t0 = self.pulse.t0 + (self.pulse.n - len(x)) / PPG_HZ
                out.append(Waveform(int(t0 * 1e6), "ppg", PPG_HZ, x.astype(np.float32)))
        if self.accel:  # the same movement as the pulse's artefacts
            a = self.accel.render(t_s, act.move)
            if len(a):
                t0 = self.accel.t0 + (self.accel.n - len(a)) / ACC_HZ
                out.append(Waveform(int(t0 * 1e6), "acc", ACC_HZ, a.astype(np.float32)))

    def truth_row(self) -> dict:
        """The hidden state now (for the truth file; never for the edge)."""
        return {"arousal": self.arousal, "valence": self.valence, "hr_bpm": self.heart.hr_bpm,
                "pupil_mm": self.pupil.mm, "eda_us": self.skin.us,
                "expression": self.expression[0] if self.expression[1] > 0.05 else 6,
                "nuisance": self.act.labels()}

