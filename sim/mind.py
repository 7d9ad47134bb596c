"""Hidden affect: how simulated viewers' arousal and valence answer the film.

One model for both places the simulated world meets the product: a simulated seat
(`sim/seat.py`, one viewer stepped at 50 Hz in real time) and a simulated audience
(`sim/audience.py`, a crowd stepped at 10 Hz for policy work). Policies are therefore tried
on the same kind of people the demo's seats hold, and the seats' bodies
(`sim/physiology.py`) turn this hidden state into what sensors see.

A viewer's traits (arrays, one entry per viewer; drawn around a crowd's centre, since a
late-night crowd and a matinee differ):

- taste: -1 wants it dark .. +1 wants it hopeful; with `thrill` it decides how much a
  segment engages them (`held_by`);
- thrill: how far tension moves them; startle: how hard a shock hits;
- drift: how much their arousal wanders when the film doesn't hold them;
- base: where they sit at rest.

These traits are the simulation's premise (the world the product has to discover), not
physiology; docs/simulation.md says which numbers are invented and which come from papers.
A shock (a cheap jump scare) jumps arousal at once and fades within seconds; repeated
shocks habituate, as the startle reflex does (Bradley, Lang & Cuthbert 1993).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from empathy.sim.impact import Impact

AROUSAL_TAU_S = 3.0  # sustained tension builds and ebbs over seconds
VALENCE_TAU_S = 4.0
SHOCK_TAU_S = 1.5  # a startle fades within a few seconds
SHOCK_GAIN = 0.9
HABITUATION = 0.85  # each shock seen leaves the next one this much weaker
FLOOR_NOISE = 0.05  # arousal's own wander even when the film holds them (per sqrt(s))
AROUSAL_RANGE = (-1.0, 1.5)
SEEK_S = 1.0  # the screen position going back further than this is a new showing


@dataclass
class MindTraits:
    taste: np.ndarray
    thrill: np.ndarray
    startle: np.ndarray
    drift: np.ndarray
    base: np.ndarray

    def __len__(self) -> int:
        return len(self.taste)

    def pick(self, i) -> "MindTraits":
        return MindTraits(*(getattr(self, f.name)[i] for f in fields(self)))


def draw_crowd(rng: np.random.Generator, n: int) -> MindTraits:
    """A crowd's centre, then n viewers around it."""
    taste_c, thrill_c = rng.normal(0, 0.7), rng.lognormal(0, 0.35)
    startle_c = rng.lognormal(-0.5, 0.4)
    return MindTraits(taste=np.clip(taste_c + rng.normal(0, 0.3, n), -1.5, 1.5),
                      thrill=thrill_c * rng.lognormal(0, 0.25, n),
                      startle=startle_c * rng.lognormal(0, 0.3, n),
                      drift=rng.uniform(0.15, 0.35, n),
                      base=rng.normal(0, 0.1, n))


def held_by(traits: MindTraits, impact: Impact) -> np.ndarray:
    """0..1 per viewer: how much a segment holds them (its valence against their taste, its
    tension against their appetite for it)."""
    x = 3 * traits.taste * impact.valence + 2 * (traits.thrill - 1) * impact.mean_tension() + 0.3
    return 1 / (1 + np.exp(-x))


class Mind:
    """The hidden arousal/valence of n viewers watching the same screen."""

    def __init__(self, traits: MindTraits):
        self.traits = traits
        n = len(traits)
        self.slow = traits.base.astype(float).copy()
        self.shock = np.zeros(n)
        self.valence = np.zeros(n)
        self.shocks_seen = 0
        self.clip, self.clip_t = None, 0.0
        self._engage: tuple = (None, None)
        self._consts: tuple = (None, None, None)

    def copy(self) -> "Mind":
        m = Mind(self.traits)
        m.slow, m.shock, m.valence = self.slow.copy(), self.shock.copy(), self.valence.copy()
        m.shocks_seen, m.clip, m.clip_t = self.shocks_seen, self.clip, self.clip_t
        return m

    @property
    def arousal(self) -> np.ndarray:
        # np.minimum/maximum: np.clip's values at a fraction of its cost on 30 viewers
        return np.minimum(np.maximum(self.slow + self.shock, AROUSAL_RANGE[0]), AROUSAL_RANGE[1])

    def engaged(self, impact: Impact) -> np.ndarray:
        if self._engage[0] is not impact:
            self._engage = (impact, held_by(self.traits, impact))
        return self._engage[1]

    def step(self, dt: float, clip: str, clip_t: float, impact: Impact,
             rng: np.random.Generator, nudge: float = 0.0) -> float:
        """Advance dt seconds with `clip` at `clip_t` on screen. Returns the startle strength
        that fired this step (0 if none) so bodies can answer it (blink, SCR, heart)."""
        fired = self._shocks(clip, clip_t, impact)
        t = self.traits
        pull, wander, v_target, k, decay, kv, v_noise = self._per_step(impact, dt)
        target = t.base + pull * impact.drive(clip_t) + nudge
        self.slow += k * (target - self.slow) + wander * rng.normal(size=t.base.shape[0])
        self.shock *= decay
        strength = 0.0
        if fired:
            strength = fired * HABITUATION ** self.shocks_seen
            self.shock += SHOCK_GAIN * t.startle * strength
            self.shocks_seen += fired
        self.valence += kv * (v_target - self.valence) + v_noise * rng.normal(size=t.base.shape[0])
        np.minimum(np.maximum(self.valence, -1.0, out=self.valence), 1.0, out=self.valence)
        return strength

    def _per_step(self, impact: Impact, dt: float) -> tuple:
        """What a step's update takes from the segment and dt alone, worked out once per
        segment (a crowd is stepped ~100,000 times a policy run)."""
        if self._consts[0] is not impact or self._consts[1] != dt:
            t, engage = self.traits, self.engaged(impact)
            self._consts = (impact, dt, (
                t.thrill * engage, (FLOOR_NOISE + (1 - engage) * t.drift) * math.sqrt(dt),
                impact.valence * (0.3 + 0.7 * engage) + 0.3 * (engage - 0.5),
                1 - math.exp(-dt / AROUSAL_TAU_S), math.exp(-dt / SHOCK_TAU_S),
                1 - math.exp(-dt / VALENCE_TAU_S), 0.03 * math.sqrt(dt)))
        return self._consts[2]

    def _shocks(self, clip: str, clip_t: float, impact: Impact) -> int:
        """How many of the segment's shocks fell since the last step. A new clip, or a seek
        back of more than a second, starts the count afresh; smaller steps back are the
        screen position's jitter (cues arrive late, the unit extrapolates) and are ignored."""
        if clip != self.clip or clip_t < self.clip_t - SEEK_S:
            self.clip, self.clip_t = clip, -1e-9
        n = sum(1 for s in impact.shocks if self.clip_t < s <= clip_t)
        self.clip_t = max(self.clip_t, clip_t)
        return n
