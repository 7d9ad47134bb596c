"""Audience simulator for policy work: parametric viewers with hidden traits.

Each screening draws a crowd (a late-night crowd that wants it dark and loud, a matinee
that wants hope...) and seats viewers around it. A viewer's hidden traits:

- taste: -1 wants it dark .. +1 wants it hopeful; it decides how much a segment's
  valence engages them (together with thrill for intense segments);
- thrill: how far tension moves them; startle: how hard a shock hits (and fades);
- noise: how much their body does its own thing when the film doesn't hold them.

A segment's dynamics (its tension curve, valence and shocks) come from an impact file
(`empathy.sim.impact`, the same loader and file the simulated edge seats use), or from the
story's own targets when there is none. Every segment of a screening is simulated
once at 10 Hz per seat, through the host's real fusion (`audience.fuse`), giving the state
a policy sees at the segment's decision and how well the segment landed
(`audience.segment_reward`), whichever path the policy takes: policies are compared on the
very same audiences, and the best fixed choice in hindsight is exact. The price of that:
viewers carry nothing from one segment into the next (no fatigue, no habituation).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from empathy.host.audience import AudienceState, fuse, segment_reward, trace_states
from empathy.host.story import Story
from empathy.sim.impact import Impact, story_impacts

RATE_HZ = 10.0
MAX_STEPS = 64  # a looping story is cut off here


@dataclass
class SegmentOutcome:
    state: Optional[AudienceState]  # at the close of its decision window (if it has one)
    reward: float  # engagement over the whole segment


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Screening:
    """One simulated audience: every segment's outcome, computed on first use."""

    def __init__(self, story: Story, impact: dict[str, Impact], seed: int, index: int,
                 seats: int = 30):
        self.story, self.impact, self.seed, self.index = story, impact, seed, index
        rng = np.random.default_rng([seed, index])
        taste_c, thrill_c, startle_c = rng.normal(0, 0.7), rng.lognormal(0, 0.35), rng.lognormal(-0.5, 0.4)
        self.taste = np.clip(taste_c + rng.normal(0, 0.3, seats), -1.5, 1.5)
        self.thrill = thrill_c * rng.lognormal(0, 0.25, seats)
        self.startle = startle_c * rng.lognormal(0, 0.3, seats)
        self.base = rng.normal(0, 0.1, seats)
        self.noise = rng.uniform(0.15, 0.35, seats)
        self._cache: dict[str, SegmentOutcome] = {}

    def outcome(self, segment: str) -> SegmentOutcome:
        if segment not in self._cache:
            self._cache[segment] = self._simulate(segment)
        return self._cache[segment]

    def _simulate(self, sid: str) -> SegmentOutcome:
        seg, imp = self.story.segments[sid], self.impact[sid]
        rng = np.random.default_rng([self.seed, self.index, list(self.story.segments).index(sid)])
        n, t = len(self.taste), np.arange(0, seg.duration_s, 1 / RATE_HZ)
        pts = np.array(imp.tension, float)
        tension = np.interp(t, pts[:, 0], pts[:, 1])
        shock = sum(np.where(t >= s, np.exp(-(t - s) / 1.2), 0.0) for s in imp.shocks) \
            if imp.shocks else np.zeros_like(t)
        engage = _sigmoid(3 * self.taste * imp.valence + 2 * (self.thrill - 1) * tension.mean()
                          + 0.3)
        drift = np.cumsum(rng.normal(0, 1, (n, len(t))), axis=1) / np.sqrt(np.arange(1, len(t) + 1))
        arousal = (self.base[:, None] + (self.thrill * engage)[:, None] * tension
                   + 0.6 * self.startle[:, None] * shock
                   + ((1 - engage) * self.noise)[:, None] * drift
                   + rng.normal(0, 0.05, (n, len(t))))
        arousal = np.clip(arousal, -1, 1)
        valence = np.clip(0.5 * imp.valence + 0.6 * (engage - 0.5)[:, None]
                          + rng.normal(0, 0.05, (n, len(t))), -1, 1)
        good = rng.random(n) < 0.92  # some seats lose their signal, as in a real room
        a, v = arousal[good], valence[good]
        state = None
        d = self.story.decision_after(sid)
        if d:
            i0, i1 = int(d.window_s[0] * RATE_HZ), max(int(d.window_s[1] * RATE_HZ), 1)
            state = fuse(int(d.window_s[1] * 1e6), a[:, i1 - 1], v[:, i1 - 1],
                         list(a[:, i0:i1]), n)
        # the show's own reward, from the states its timeline would hold
        reward = segment_reward(*trace_states(a, RATE_HZ), seg.target_arousal)
        return SegmentOutcome(state, reward)


def screenings(story: Story, n: int, impact: Optional[dict] = None, seed: int = 0,
               seats: int = 30) -> list[Screening]:
    impact = impact or story_impacts(story)
    return [Screening(story, impact, seed, i, seats) for i in range(n)]


def play(screening: Screening, choose) -> tuple[float, list[dict]]:
    """Walk the story with `choose(decision, state) -> Choice` (decision already narrowed to
    the options its conditions offer). Returns the screening's reward (mean engagement of
    the segments the decisions chose) and one record per decision."""
    story, seg, variables, records = screening.story, screening.story.start, dict(screening.story.variables), []
    for _ in range(MAX_STEPS):
        d = story.decision_after(seg)
        if d is None:
            seg = story.segments[seg].next
            if seg is None:
                break
            continue
        d = d.offer(variables)
        choice = choose(d, screening.outcome(seg).state)
        variables = d.take(choice.chosen, variables)
        seg = choice.chosen
        records.append({"screening": screening.index, "decision": d.id, "chosen": seg,
                        "propensity": choice.propensity, "scores": choice.scores,
                        "inputs": choice.inputs, "fallback": choice.fallback,
                        "reason": choice.reason, "reward": screening.outcome(seg).reward})
    return (float(np.mean([r["reward"] for r in records])) if records else 0.0), records


def run_policy(policy, shows: list[Screening], learn: bool = True, progress=None):
    """Screen every audience in turn with one policy, teaching it after each screening."""
    from empathy.host.policy import decide

    rewards, log = [], []
    for s in shows:
        r, recs = play(s, lambda d, st: decide(policy, d, st))
        rewards.append(r)
        log.extend(recs)
        if learn and callable(getattr(policy, "learn", None)):
            for rec in recs:
                if not rec["fallback"]:
                    policy.learn(s.story.decisions[rec["decision"]],
                                 AudienceState(**rec["inputs"]), rec["chosen"], rec["reward"])
        if progress:
            progress()
    return np.array(rewards), log


def oracle(story: Story, shows: list[Screening]) -> tuple[float, dict]:
    """The best fixed choice per decision in hindsight: (its mean reward, the plan)."""
    from empathy.host.policy import Choice

    ids = list(story.decisions)
    plans = list(itertools.product(*(story.decisions[i].options for i in ids)))
    if len(plans) > 4096:
        raise ValueError(f"{len(plans)} fixed plans are too many to try in hindsight")
    best, best_plan = -np.inf, {}
    for plan in plans:
        fixed = dict(zip(ids, plan))

        def choose(d, state):
            o = fixed[d.id] if fixed[d.id] in d.options else d.default
            return Choice(d.id, o, {}, "fixed plan")

        mean = float(np.mean([play(s, choose)[0] for s in shows]))
        if mean > best:
            best, best_plan = mean, fixed
    return best, best_plan
