"""Policies: (decision, audience state) -> a choice with every option's score and a reason.

One protocol, several policies chosen by name (`make_policy`): `default` (the director's
cut) and `random` (an A/B test) here, and one module each under `host/policies/` for
`rules` (thresholds with hysteresis), `arc` (track the screenplay's arc, discounting
faded shocks) and `bandit` (Thompson sampling that learns across screenings). Whatever a
policy does, `decide` falls back to the decision's default when the audience signal is
too thin to trust or the policy fails, and every choice carries its inputs, each
option's score, the probability the policy had of making it (for offline evaluation)
and a reason a person can read.

A policy that learns also has `learn(decision, state, option, reward)`, `freeze(on)`,
`reset()` and `save()`; `learn_from_show` feeds it a finished screening.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Optional, Protocol

import numpy as np

from empathy.host.audience import AudienceState, segment_reward
from empathy.host.story import Decision, Story

log = logging.getLogger("empathy.host.policy")


@dataclass(frozen=True)
class Choice:
    decision: str
    chosen: str
    scores: dict[str, float]
    reason: str
    fallback: bool = False
    propensity: float = 1.0  # P(policy picks `chosen` | inputs): offline evaluation needs it
    inputs: dict = field(default_factory=dict)  # the AudienceState it was given


def default_choice(decision: Decision, reason: str, fallback: bool = True) -> Choice:
    """The director's default cut, with every option scored 0."""
    return Choice(decision.id, decision.default, {o: 0.0 for o in decision.options}, reason,
                  fallback)


class Policy(Protocol):
    name: str

    def choose(self, decision: Decision, state: AudienceState) -> Choice: ...


class DefaultPolicy:
    """Always the director's default cut (the kill switch uses this too)."""

    name = "default"

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        return default_choice(decision, "default cut", fallback=False)


class RandomPolicy:
    """Every offered option equally likely: an A/B test, and the fairest logging policy
    for judging other policies offline (`empathy policy evaluate`)."""

    name = "random"

    def __init__(self, seed: Optional[int] = None):
        self.rng = np.random.default_rng(seed)

    def probabilities(self, decision: Decision, state: AudienceState) -> dict[str, float]:
        return {o: 1 / len(decision.options) for o in decision.options}

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        opts = list(decision.options)
        pick = opts[self.rng.integers(len(opts))]
        return Choice(decision.id, pick, self.probabilities(decision, state),
                      f"random: each of {len(opts)} options equally likely",
                      propensity=1 / len(opts))


def _policies() -> dict:
    from empathy.host.policies import arc, bandit, rules

    return {p.name: p for p in (DefaultPolicy, rules.RulesPolicy, arc.ArcPolicy,
                                bandit.BanditPolicy, RandomPolicy)}


POLICY_NAMES = ("default", "rules", "arc", "bandit", "random")


def make_policy(name: str, state_path: Optional[str] = None, seed: Optional[int] = None,
                story: Optional[Story] = None) -> Policy:
    """A policy by name. `state_path`/`story` matter only to the learning one (`bandit`),
    whose state lives in `state_path` (default: the user's state folder, one file per
    story); `seed` to those that draw at random."""
    policies = _policies()
    if name not in policies:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(policies)})")
    if name == "bandit":
        from empathy.host.policies.bandit import default_state_path

        path = state_path or default_state_path(story.path.stem if story else "default")
        return policies[name](state_path=path, seed=seed)
    return policies[name](seed=seed) if name == "random" else policies[name]()


def decide(policy: Policy, decision: Decision, state: AudienceState,
           min_good_fraction: float = 0.25) -> Choice:
    """Run the policy, falling back to the default cut on thin signal or any error."""
    inputs = asdict(state)
    if state.good_fraction < min_good_fraction:
        return replace(default_choice(
            decision, f"fallback: only {state.seats_good}/{state.seats_total} seats with signal"),
            inputs=inputs)
    try:
        choice = policy.choose(decision, state)
        if choice.chosen not in decision.options:
            raise ValueError(f"policy chose {choice.chosen!r}, not an option")
        return replace(choice, inputs=inputs)
    except Exception as e:  # a broken policy must not stop the film
        log.exception("policy %s failed at %s", policy.name, decision.id)
        return replace(default_choice(decision, f"fallback: policy error: {e}"), inputs=inputs)


def segment_engagement(story: Story, segment: str, start_s: float, end_s: float,
                       timeline: list[dict], t0_us: int) -> Optional[float]:
    """The reward for a segment that played from start_s to end_s (show seconds), from the
    show's audience timeline; None when too little of it played with signal to judge."""
    seg = story.segments[segment]
    if end_s - start_s < seg.duration_s / 2:
        return None
    inside = [s for s in timeline if s["seats_good"] > 0
              and start_s <= (s["ts_us"] - t0_us) / 1e6 <= end_s]
    if len(inside) < 3:
        return None
    return segment_reward([s["arousal"] for s in inside], [s["synchrony"] for s in inside],
                          seg.target_arousal)


def learn_from_show(policy, story: Story, decisions: list[dict], segments: list[dict],
                    timeline: list[dict], t0_us: int, end_s: float) -> list[dict]:
    """After a screening: reward each audience-driven decision with how the segment it chose
    landed (written into its record as `reward`), teach the policy (if it learns) and save
    what it learned. Returns [{decision, chosen, reward}]."""
    out = []
    for d in decisions:
        if not d.get("inputs") or d["decision"] not in story.decisions:
            continue  # an operator's choice: nothing measured to learn from
        # The segment that played next; if it isn't the chosen one (the kill switch undid
        # the choice), this choice was never seen.
        later = [i for i, s in enumerate(segments) if s["at_s"] >= d["at_s"]]
        if not later or segments[later[0]]["segment"] != d["chosen"]:
            continue
        i = later[0]
        end = segments[i + 1]["at_s"] if i + 1 < len(segments) else end_s
        r = segment_engagement(story, d["chosen"], segments[i]["at_s"], end, timeline, t0_us)
        if r is None:
            continue
        d["reward"] = round(r, 4)  # the record now serves offline evaluation too
        out.append({"decision": d["decision"], "chosen": d["chosen"], "reward": d["reward"]})
        if not d.get("fallback") and callable(getattr(policy, "learn", None)):
            policy.learn(story.decisions[d["decision"]], AudienceState(**d["inputs"]),
                         d["chosen"], r)
    if out and callable(getattr(policy, "save", None)):
        policy.save()
    return out
