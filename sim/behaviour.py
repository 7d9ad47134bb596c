"""What a simulated viewer's face does: blinks and expressions.

Blinks: a resting rate drawn log-normally around 15 per minute (Bentivoglio et al. 1997:
mean 17 at rest, 26 in conversation, 4.5 reading; log-normal across people), held back
while the film holds attention and let out at its breaks (Nakano et al. 2009; Shultz et al.
2011), raised by talking, and forced by a startle (the startle blink). Each closes the eye
for 150-400 ms (VanderWerf et al. 2003: ~400 ms of vision lost per blink).

Expressions: people watching a film show their feelings on their faces only now and then
(Fridlund 1991: even less when alone), as episodes of 0.5-4 s (Ekman 2003); how often is
an individual trait (expressivity; Gross & John 1997). Which expression an episode shows
follows the hidden valence and arousal (`expression_for`); a startle brings a brief fear
or surprise face. Talking and chewing move the mouth, a hand in front of the face hides it.
"""

from __future__ import annotations

import math

import numpy as np

from empathy.sim.nuisance import Activity
from empathy.sim.physiology import BodyTraits

NEUTRAL = 6
BLINK_S = (0.15, 0.4)
ATTENTION_HOLD = 0.5  # blink rate falls by up to this share while the film holds attention
BREAK_BLINK = 0.35  # chance of a blink at a cut between segments
EXPRESSION_S = (0.5, 4.0)
ONSET_S = 0.3  # expressions ramp in and out


def expression_for(valence: float, arousal: float) -> tuple[int, float]:
    """Which FER class a face shows for a hidden (valence, arousal), and how strongly."""
    strength = min(1.0, math.hypot(valence, arousal))
    if strength < 0.25:
        return NEUTRAL, 0.0
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
    return NEUTRAL, 0.0


class Blinks:
    def __init__(self, traits: BodyTraits, rng: np.random.Generator):
        self.tr, self.rng = traits, rng
        self.until = -1.0
        self.count = 0

    def step(self, t_s: float, dt: float, arousal: float, talking: bool, cut: bool,
             startle: float) -> bool:
        """True while the eye is closed."""
        if t_s >= self.until:
            rate = self.tr.blink_per_min / 60 * (1 - ATTENTION_HOLD * min(1.0, max(arousal, 0.0)))
            rate *= 1.5 if talking else 1.0
            p = rate * dt + (BREAK_BLINK if cut else 0.0) + min(1.0, startle)
            if self.rng.random() < p:
                self.until = t_s + float(self.rng.uniform(*BLINK_S))
                self.count += 1
        return t_s < self.until


class Face:
    """The expression on the face now: (FER class, intensity 0..1), and whether it shows."""

    def __init__(self, traits: BodyTraits, rng: np.random.Generator):
        self.tr, self.rng = traits, rng
        self.cls, self.peak, self.start, self.end = NEUTRAL, 0.0, -1.0, -1.0
        self.episodes = 0

    def step(self, t_s: float, dt: float, valence: float, arousal: float, startle: float,
             act: Activity) -> tuple[int, float]:
        if startle > 0 and self.rng.random() < min(1.0, 0.6 * startle * self.tr.expressivity):
            self._begin(t_s, 2 if valence < 0 else 5, min(1.0, 0.5 + 0.5 * startle), (0.5, 1.5))
        elif t_s >= self.end:
            cls, strength = expression_for(valence, arousal)
            rate = self.tr.expressivity * (0.2 + 3.0 * strength) / 60
            if cls != NEUTRAL and self.rng.random() < rate * dt:
                self._begin(t_s, cls, strength * float(self.rng.uniform(0.5, 1.0)), EXPRESSION_S)
        if act.talking:  # syllables open and close the mouth a few times a second
            return 5, 0.35 * abs(math.sin(2 * math.pi * 2.5 * t_s))
        if act.chewing:
            return 5, 0.2 * abs(math.sin(2 * math.pi * 0.8 * t_s))
        if t_s >= self.end:
            return NEUTRAL, 0.0
        ramp = min(1.0, (t_s - self.start) / ONSET_S, (self.end - t_s) / ONSET_S)
        return self.cls, self.peak * max(0.0, ramp)

    def _begin(self, t_s: float, cls: int, peak: float, span: tuple) -> None:
        self.cls, self.peak = cls, peak
        self.start, self.end = t_s, t_s + float(self.rng.uniform(*span))
        self.episodes += 1
