"""What real viewers do besides watching: fidget, talk, eat, leave, wear a loose strap, and
sit in light that is not the film's.

Each nuisance is a Poisson process of episodes with a duration, per viewer, scaled by one
knob (`sim://seat?nuisance=`, 0 = none, 1 = the defaults below, 2 = twice as often). No
published rates exist for cinema behaviour; the rates are our choices, listed with the
reasoning in docs/simulation.md, and the effects on sensors follow the literature (PPG
motion artefacts: Tamura et al. 2014; talking raises blink rate: Bentivoglio et al. 1997).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# (episodes per minute, shortest s, longest s)
FIDGET = (0.8, 1.0, 4.0)  # shifting in the seat, scratching, crossing legs
TALK = (0.15, 3.0, 12.0)  # a word to a neighbour
BITE = (1.5, 6.0, 15.0)  # snackers only: hand to mouth, then chewing
LEAVE = (0.3 / 60, 60.0, 240.0)  # the toilet, a phone call
LOOSE = (0.5, 5.0, 20.0)  # loose-strap wearers only: contact lost while dry or slipping
GLARE = (0.1, 2.0, 8.0)  # a door opening, a phone screen lit next to them
SNACKERS = 0.35
LOOSE_STRAPS = 0.2
DRY_STRAP_S = 300.0  # dry electrodes lose contact more in the first minutes


@dataclass
class Activity:
    move: float = 0.0  # 0..1 how much the body moves (motion artefacts, heart rate)
    talking: bool = False
    chewing: bool = False
    occluded: bool = False  # a hand in front of the face
    away: bool = False
    strap_loose: bool = False
    ambient_cd_m2: float = 0.0  # light other than the screen's on eyes and face
    move_onset: bool = False  # a movement started in this step

    def labels(self) -> str:
        """What is going on, for the truth file ('' = just watching)."""
        names = [n for n, on in (("away", self.away), ("fidget", self.move > 0.25 and not
                                  self.occluded), ("talk", self.talking), ("eat", self.chewing
                                                                          or self.occluded),
                                 ("strap", self.strap_loose), ("glare", self.ambient_cd_m2 > 0))
                 if on]
        return "+".join(names)


class _Episodes:
    """One Poisson process of episodes: `on(t)` while one lasts."""

    def __init__(self, rng: np.random.Generator, spec: tuple, scale: float):
        self.rng, (self.per_min, self.lo, self.hi), self.scale = rng, spec, scale
        self.start = self.end = -1.0
        self.level = 0.0

    def step(self, t_s: float, dt: float, rate_factor: float = 1.0) -> bool:
        if t_s >= self.end and self.rng.random() < self.per_min / 60 * self.scale * rate_factor * dt:
            self.start, self.end = t_s, t_s + float(self.rng.uniform(self.lo, self.hi))
            self.level = float(self.rng.uniform(0.3, 1.0))
        return t_s < self.end


class Nuisance:
    """One viewer's nuisances; `step(t_s, dt)` -> the Activity of that moment."""

    def __init__(self, rng: np.random.Generator, scale: float = 1.0):
        self.rng, self.scale = rng, max(0.0, scale)
        self.snacker = scale > 0 and rng.random() < SNACKERS
        self.loose_strap = scale > 0 and rng.random() < LOOSE_STRAPS
        ep = lambda spec: _Episodes(rng, spec, self.scale)  # noqa: E731
        self.fidget, self.talk, self.bite = ep(FIDGET), ep(TALK), ep(BITE)
        self.leave, self.loose, self.glare = ep(LEAVE), ep(LOOSE), ep(GLARE)
        self.was_moving = False
        self.t0: float | None = None

    def step(self, t_s: float, dt: float) -> Activity:
        if self.scale == 0:
            return Activity()
        if self.t0 is None:
            self.t0 = t_s
        act = Activity()
        act.away = self.leave.step(t_s, dt)
        if act.away:
            self.was_moving = False
            return act
        if self.fidget.step(t_s, dt):
            act.move = self.fidget.level
        act.talking = self.talk.step(t_s, dt)
        if self.snacker and self.bite.step(t_s, dt):
            hand = t_s - self.bite.start < 0.4 + 0.6 * self.bite.level
            act.occluded = hand
            act.chewing = not hand
            act.move = max(act.move, 0.4 if hand else 0.1)
        if self.loose_strap:
            dry = 0.3 + math.exp(-(t_s - self.t0) / DRY_STRAP_S)
            act.strap_loose = self.loose.step(t_s, dt, dry)
        if self.glare.step(t_s, dt):
            act.ambient_cd_m2 = 2.0 + 8.0 * self.glare.level
        moving = act.move > 0.25
        act.move_onset = moving and not self.was_moving
        self.was_moving = moving
        return act
