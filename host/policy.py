"""Policies: (decision, audience state) -> a choice with every option's score and a reason.

One protocol, several policies chosen by name. Whatever a policy does, the show falls back
to the decision's default when the audience signal is too thin to trust or the policy fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from empathy.host.audience import AudienceState
from empathy.host.story import Decision

log = logging.getLogger("empathy.host.policy")


@dataclass(frozen=True)
class Choice:
    decision: str
    chosen: str
    scores: dict[str, float]
    reason: str
    fallback: bool = False


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


class ArcPolicy:
    """Keep the audience on the screenplay's arc: predicted arousal after each option is the
    measured arousal plus the option's expected lift; pick the one nearest the aim."""

    name = "arc"

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        scores = {o: -abs(state.arousal + lift - decision.aim_arousal)
                  for o, lift in decision.options.items()}
        best = max(scores, key=scores.get)
        lift = decision.options[best]
        reason = (f"audience arousal {state.arousal:+.2f} ±{state.arousal_se:.2f} "
                  f"({state.seats_good}/{state.seats_total} seats); arc aims at "
                  f"{decision.aim_arousal:+.2f}; '{best}' ({lift:+.2f}) lands nearest at "
                  f"{state.arousal + lift:+.2f}")
        return Choice(decision.id, best, scores, reason)


POLICIES = {p.name: p for p in (DefaultPolicy, ArcPolicy)}


def make_policy(name: str) -> Policy:
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICIES)})")
    return POLICIES[name]()


def decide(policy: Policy, decision: Decision, state: AudienceState,
           min_good_fraction: float = 0.25) -> Choice:
    """Run the policy, falling back to the default cut on thin signal or any error."""
    if state.good_fraction < min_good_fraction:
        return default_choice(
            decision, f"fallback: only {state.seats_good}/{state.seats_total} seats with signal")
    try:
        choice = policy.choose(decision, state)
        if choice.chosen not in decision.options:
            raise ValueError(f"policy chose {choice.chosen!r}, not an option")
        return choice
    except Exception as e:  # a broken policy must not stop the film
        log.exception("policy %s failed at %s", policy.name, decision.id)
        return default_choice(decision, f"fallback: policy error: {e}")
