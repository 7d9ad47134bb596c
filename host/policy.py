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

from empathy.host.audience import AudienceState, measured_segment_reward
from empathy.host.policy_settings import REWARD_LATENCY_S, check_name
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


def show_policy(name: str, story: Story) -> Policy:
    """The show's policy; where its learned state cannot be used (`make_policy` says why in
    one line), the director's cut: a broken file must not stop the film, nor be learned into."""
    try:
        return make_policy(name, story=story)
    except ValueError as e:
        log.error("%s; the show plays the director's default cut", e)
        return DefaultPolicy()


def make_policy(name: str, state_path: Optional[str] = None, seed: Optional[int] = None,
                story: Optional[Story] = None) -> Policy:
    """A policy by name. `state_path`/`story` matter only to the learning one (`bandit`),
    whose state lives in `state_path` (default: the user's state folder, one file per
    story); `seed` to those that draw at random."""
    policies = _policies()
    check_name(name)
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


def estimate_lag_s() -> float:
    """How late the edge's arousal estimate answers the body, as the edge declares it
    (`edge.latency.ESTIMATE_LATENCY_S`): what the measured reward corrects its arousal
    for (`audience.measured_segment_reward`)."""
    from empathy.edge.latency import ESTIMATE_LATENCY_S

    return float(ESTIMATE_LATENCY_S)


def segment_engagement(story: Story, segment: str, start_s: float, end_s: float,
                       timeline: list[dict], t0_us: int, latency_s: float = REWARD_LATENCY_S,
                       until_s: Optional[float] = None,
                       lag_s: Optional[float] = None) -> Optional[float]:
    """The reward for a segment that played from start_s to end_s (show seconds), from the
    show's audience timeline over [start_s, end_s] shifted by `latency_s` (the body's
    response latency), cut at `until_s` when the show ended before that window closed, its
    arousal corrected for the estimate's lag `lag_s` (default: the lag the seats' units
    declared, in the states, else the edge's default) and its synchrony the one with each
    seat's lag undone where the states hold it (`audience.measured_segment_reward`); None
    when the segment was cut short or too little of its window had signal to judge."""
    seg = story.segments[segment]
    lo, hi = start_s + latency_s, end_s + latency_s
    if until_s is not None:
        hi = min(hi, until_s)
    if end_s - start_s < seg.duration_s / 2 or hi - lo < seg.duration_s / 2:
        return None
    inside = [s for s in timeline if s["seats_good"] > 0
              and lo <= (s["ts_us"] - t0_us) / 1e6 <= hi]
    if len(inside) < 3:
        return None
    if lag_s is None:
        declared = [s["lag_s"] for s in inside if s.get("lag_s") is not None]
        lag_s = float(np.mean(declared)) if declared else estimate_lag_s()
    # a timeline recorded before the states held it: synchrony as the estimate shows it
    sync = [s["synchrony"] if s.get("synchrony_unlagged") is None else s["synchrony_unlagged"]
            for s in inside]
    return measured_segment_reward([(s["ts_us"] - t0_us) / 1e6 for s in inside],
                                   [s["arousal"] for s in inside], sync, seg.target_arousal,
                                   lag_s)


def learn_from_show(policy, story: Story, decisions: list[dict], segments: list[dict],
                    timeline: list[dict], t0_us: int, end_s: float,
                    latency_s: float = REWARD_LATENCY_S, final: bool = True,
                    lag_s: Optional[float] = None) -> list[dict]:
    """Reward each audience-driven decision whose segment's measurement window has closed by
    `end_s` (show seconds) with how the segment it chose landed (written into its record as
    `reward`; None when it cannot be judged), teach the policy (if it learns) and save what
    it learned. The show calls this as its timeline grows (`final=False`: windows still
    open wait) and once when it ends (`final=True`: what is left is judged on the window up
    to the end). A record that has a `reward` key has been judged and is never judged
    again, so a reward is neither lost nor counted twice. `lag_s`: the estimate's lag the
    reward corrects for (`segment_engagement`). Returns [{decision, chosen, reward}] for the
    rewards given now."""
    out = []
    for d in decisions:
        if "reward" in d or not d.get("inputs") or d["decision"] not in story.decisions:
            continue  # judged already, or an operator's choice: nothing measured to learn from
        # The segment that played next; if it isn't the chosen one (the kill switch undid
        # the choice), this choice was never seen.
        later = [i for i, s in enumerate(segments) if s["at_s"] >= d["at_s"]]
        if not later:
            if final:
                d["reward"] = None
            continue
        if segments[later[0]]["segment"] != d["chosen"]:
            d["reward"] = None
            continue
        i = later[0]
        ended = i + 1 < len(segments)
        if not final and not (ended and end_s >= segments[i + 1]["at_s"] + latency_s):
            continue  # its window is still open
        end = segments[i + 1]["at_s"] if ended else end_s
        r = segment_engagement(story, d["chosen"], segments[i]["at_s"], end, timeline, t0_us,
                               latency_s, until_s=end_s, lag_s=lag_s)
        d["reward"] = None if r is None else round(r, 4)  # serves offline evaluation too
        if r is None:
            continue
        out.append({"decision": d["decision"], "chosen": d["chosen"], "reward": d["reward"]})
        if not d.get("fallback") and callable(getattr(policy, "learn", None)):
            policy.learn(story.decisions[d["decision"]], AudienceState(**d["inputs"]),
                         d["chosen"], r)
    if out and callable(getattr(policy, "save", None)):
        policy.save()
    return out
