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


def _clamp_arousal(x: np.ndarray) -> np.ndarray:
    # np.minimum/maximum: np.clip's values at a fraction of its cost on 30 viewers
    return np.minimum(np.maximum(x, AROUSAL_RANGE[0]), AROUSAL_RANGE[1])


class Mind:
    """The hidden arousal/valence of n viewers watching the same screen."""

    def __init__(self, traits: MindTraits):
        self.traits = traits
        n = len(traits)
        # arousal's slow part and valence side by side: each moves toward its target at its
        # own rate, so one update moves both
        self.x = np.zeros((2, n))
        self.x[0] = traits.base
        self.shock = np.zeros(n)
        self.shocks_seen = 0
        self.clip, self.clip_t = None, 0.0
        self._engage: tuple = (None, None)
        self._consts: tuple = (None, None, None)

    def copy(self) -> "Mind":
        m = Mind(self.traits)
        m.x, m.shock = self.x.copy(), self.shock.copy()
        m.shocks_seen, m.clip, m.clip_t = self.shocks_seen, self.clip, self.clip_t
        return m

    @property
    def arousal(self) -> np.ndarray:
        return _clamp_arousal(self.x[0] + self.shock)

    @property
    def valence(self) -> np.ndarray:
        return self.x[1]

    def engaged(self, impact: Impact) -> np.ndarray:
        if self._engage[0] is not impact:
            self._engage = (impact, held_by(self.traits, impact))
        return self._engage[1]

    def step(self, dt: float, clip: str, clip_t: float, impact: Impact,
             rng: np.random.Generator, nudge: float = 0.0) -> float:
        """Advance dt seconds with `clip` at `clip_t` on screen. Returns the startle strength
        that fired this step (0 if none) so bodies can answer it (blink, SCR, heart)."""
        fired = self._shocks(clip, clip_t, impact)
        t, x = self.traits, self.x
        pull, noise_sd, v_target, rate, decay = self._per_step(impact, dt)
        goal = np.stack([t.base + pull * impact.drive(clip_t) + nudge, v_target])
        x += rate * (goal - x) + rng.normal(size=x.shape) * noise_sd
        np.minimum(np.maximum(x[1], -1.0, out=x[1]), 1.0, out=x[1])
        self.shock *= decay
        return self._startle(fired, self.shock)

    def play(self, dt: float, clip: str, clip_ts: np.ndarray, impact: Impact,
             rng: np.random.Generator, nudge: float = 0.0) -> tuple:
        """`step` once per screen position in `clip_ts`, each dt long: (arousal, valence)
        (steps x viewers) after each step and the startle strength each fired. The same
        numbers as stepping one at a time; what depends on no earlier step is worked out
        for all steps at once (a crowd is stepped ~100,000 times a policy run)."""
        t, n, steps = self.traits, len(self.traits), len(clip_ts)
        pull, noise_sd, v_target, rate, decay = self._per_step(impact, dt)
        fired = [self._shocks(clip, c, impact) for c in clip_ts.tolist()]
        # per step and viewer two draws, the arousal's then the valence's
        kick = rng.normal(size=(steps, 2, n)) * noise_sd
        goal = np.empty((steps, 2, n))
        goal[:, 0], goal[:, 1] = t.base + pull * impact.drive(clip_ts)[:, None] + nudge, v_target
        x, d = np.empty((steps + 1, 2, n)), np.empty((2, n))  # x[i + 1]: after step i
        x[0] = self.x
        for x0, x1, g, kk, v in zip(x, x[1:], goal, kick, x[1:, 1]):
            np.subtract(g, x0, out=d)  # x += rate * (goal - x) + kick
            d *= rate
            d += kk
            np.add(x0, d, out=x1)
            np.minimum(np.maximum(v, -1.0, out=v), 1.0, out=v)
        # The startle part decays step by step (a running product: the same multiplications
        # in the same order) and jumps where a shock fires.
        shock = np.empty((steps + 1, n))
        shock[0], shock[1:] = self.shock, decay
        strengths, start = [0.0] * steps, 0
        for i in [i for i, f in enumerate(fired) if f] + [steps]:
            np.multiply.accumulate(shock[start:i + 1], axis=0, out=shock[start:i + 1])
            if i < steps:
                shock[i + 1] *= shock[i]
                strengths[i] = self._startle(fired[i], shock[i + 1])
                start = i + 1
        self.x, self.shock = x[-1].copy(), shock[-1].copy()
        return _clamp_arousal(x[1:, 0] + shock[1:]), x[1:, 1], strengths

    def _startle(self, fired: int, shock: np.ndarray) -> float:
        """`fired` shocks at once: their jump added to `shock`; returns their strength."""
        if not fired:
            return 0.0
        strength = fired * HABITUATION ** self.shocks_seen
        shock += SHOCK_GAIN * self.traits.startle * strength
        self.shocks_seen += fired
        return strength

    def _per_step(self, impact: Impact, dt: float) -> tuple:
        """What a step's update takes from the segment and dt alone, worked out once per
        segment: (pull, noise sd, valence target, rate, shock decay); noise sd and rate
        hold the slow arousal's row and the valence's."""
        if self._consts[0] is not impact or self._consts[1] != dt:
            t, engage = self.traits, self.engaged(impact)
            ones = np.ones(len(t))
            self._consts = (impact, dt, (
                t.thrill * engage,
                np.stack([(FLOOR_NOISE + (1 - engage) * t.drift) * math.sqrt(dt),
                          0.03 * math.sqrt(dt) * ones]),
                impact.valence * (0.3 + 0.7 * engage) + 0.3 * (engage - 0.5),
                np.stack([(1 - math.exp(-dt / AROUSAL_TAU_S)) * ones,
                          (1 - math.exp(-dt / VALENCE_TAU_S)) * ones]),
                math.exp(-dt / SHOCK_TAU_S)))
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
