"""Audience simulator for policy work: crowds of the same simulated people as the seats.

Each screening draws a crowd (a late-night crowd that wants it dark and loud, a matinee that
wants hope...; `sim/mind.py`, the hidden-affect model the simulated seats use too) and
walks the story with a policy. Every segment is simulated at 10 Hz per seat; the viewers
carry their state from one segment into the next (where arousal stood, how many shocks they
have already jumped at). What the host would fuse comes through the measurement model
(`sim/measurement.py`: the real edge's noise, derived by running it on simulated bodies), so
a policy sees estimated states, never the hidden truth, and learns from the reward the
show would measure.

Segments are simulated once per path prefix and cached, with random numbers keyed by the
segment and its place in the show, so every policy and every fixed plan meets the very same
audiences: the best fixed plan in hindsight (`best_fixed`) and the best plan for each
screening in hindsight (`ceiling`) are exact, and regret can be read against both. How a
segment landed is the show's own reward (`audience.segment_reward`), from the hidden
traces over the segment's own time (the truth: what the show would measure with perfect,
instant sensors, its states' trailing windows reaching into the segment before) and from
the seen ones over that time
shifted by the host's reward latency, running into the segment played next, its arousal
corrected for the estimate's lag, as the live show measures it
(`audience.measured_segment_reward`; what a learner is taught with).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from empathy.host import audience as host_audience
from empathy.host.audience import (STATE_HZ, SYNC_WINDOW_S, AudienceState, fuse,
                                   measured_segment_reward, segment_reward, trace_states)
from empathy.host.policy import REWARD_LATENCY_S, estimate_lag_s
from empathy.host.policy_settings import MAX_REWARD_LATENCY_S
from empathy.host.story import Story
from empathy.sim.impact import Impact, story_impacts
from empathy.sim.measurement import MeasurementModel, SeatsSeen
from empathy.sim.mind import Mind, draw_crowd

RATE_HZ = 10.0
SYNC_N = round(SYNC_WINDOW_S * RATE_HZ)  # samples in synchrony's trailing window
MAX_STEPS = 64  # a looping story is cut off here
MAX_PLANS = 4096
END = "(after the film)"  # the credits: the audience, still in its seats, after the story ends


@dataclass
class SegmentOutcome:
    state: Optional[AudienceState]  # what the host fuses at its decision window's close
    reward: float  # how well the segment landed with the hidden audience (the truth)
    seen: np.ndarray  # seats x samples: arousal as the host fuses it (nan: no signal)
    hidden: np.ndarray  # seats x samples: the hidden arousal


class PolicyRun(NamedTuple):
    reward: np.ndarray  # per screening, hidden (what really happened)
    measured: np.ndarray  # per screening, as the show measured it
    log: list  # one record per decision


def _window_states(traces: list[np.ndarray], parts: tuple[int, int],
                   latency_s: float, lag_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The audience states (arousal, synchrony) the show's timeline would hold through a
    segment's reward window: `traces` holds the traces before the segment (SYNC_WINDOW_S of
    them for the states' trailing windows, UNLAG_SPAN_S more where a lag is undone), the
    segment and the one after (if any);
    `parts` the samples of the first two. The window runs from the segment's start to its
    end, both shifted by `latency_s`, cut where the traces end (as the show's end cuts it),
    over the seats with signal throughout (nan: no signal); with `lag_s` the synchrony is
    the one the show's reward reads, each seat's estimate lag undone (`trace_states`)."""
    x = np.concatenate(traces, axis=1)
    x = x[~np.isnan(x).any(axis=1)]
    arousal, sync = trace_states(x, RATE_HZ, lag_s=lag_s)
    step = max(1, round(RATE_HZ / STATE_HZ))
    t = np.arange(step - 1, x.shape[1], step)[:len(arousal)]
    lo = parts[0] + latency_s * RATE_HZ
    keep = (t >= lo) & (t <= lo + parts[1])
    if not keep.any() or not len(x):
        return np.zeros(1), np.zeros(1)
    return arousal[keep], sync[keep]


class Screening:
    """One simulated audience: every path's segments, computed on first use."""

    def __init__(self, story: Story, impact: dict[str, Impact], seed: int, index: int,
                 seats: int = 30, measure: Optional[MeasurementModel] = None,
                 latency_s: float = REWARD_LATENCY_S, credits: bool = True,
                 lag_s: Optional[float] = None):
        self.story, self.impact, self.seed, self.index = story, impact, seed, index
        self.latency_s, self.credits = latency_s, credits
        # the estimate's lag the show's reward corrects for (default: the edge's declared)
        self.lag_s = estimate_lag_s() if lag_s is None else lag_s
        rng = np.random.default_rng([seed, index])
        self.traits = draw_crowd(rng, seats)
        self._seen = (measure or MeasurementModel.load()).start(seats, rng)
        self._order = {sid: i for i, sid in enumerate(story.segments)}
        self._cache: dict[tuple, tuple[SegmentOutcome, Mind, SeatsSeen]] = {}
        self._measured: dict[tuple, float] = {}  # (k, path to k + 1) -> reward
        # Samples of the audience after the film that the reward windows asked for so far
        # (`_simulate` plays only these; a longer window plays them again, identically).
        self._end_samples = _end_samples(latency_s)

    @property
    def taste(self) -> np.ndarray:
        return self.traits.taste

    def outcome(self, path: tuple[str, ...]) -> SegmentOutcome:
        """The last segment of `path`, played after the ones before it."""
        return self._after(tuple(path))[0]

    def measured(self, path: tuple[str, ...], k: int) -> float:
        """path[k] as the show would measure it: its window shifted by the reward latency
        runs into path[k + 1] (or is cut where the path ends)."""
        key = (k, tuple(path[:k + 2]))  # k too: for the last segment path[:k + 2] is path[:k + 1]
        if key not in self._measured:
            arousal, sync = self.window_states(path, k, "seen", self.latency_s, self.lag_s)
            self._measured[key] = measured_segment_reward(
                np.arange(len(arousal)) / STATE_HZ, arousal, sync,
                self.story.segments[path[k]].target_arousal, self.lag_s)
        return self._measured[key]

    def window_states(self, path: tuple[str, ...], k: int, which: str, latency_s: float,
                      lag_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The states through path[k]'s reward window shifted by latency_s, from the
        `which` ("seen" or "hidden") traces, the synchrony with each seat's lag of lag_s
        undone (`_window_states`)."""
        # the states' trailing windows reach into the segment before; where a lag is undone
        # the slopes at their start reach further, into earlier segments, as the show's
        # history does
        need = SYNC_N + (round(host_audience.UNLAG_SPAN_S * RATE_HZ) if lag_s else 0)
        lead, j = [], k
        while j > 0 and need > 0 and (lag_s or not lead):
            lead.insert(0, getattr(self.outcome(path[:j]), which)[:, -need:])
            need, j = need - lead[0].shape[1], j - 1
        parts = [np.concatenate(lead, axis=1)] if lead else []
        parts.append(getattr(self.outcome(path[:k + 1]), which))
        tail = _end_samples(latency_s)
        if k + 1 < len(path):
            parts.append(getattr(self.outcome(path[:k + 2]), which)[:, :tail])
        elif self.credits and tail > 1:  # the show measures on through the credits
            if tail > self._end_samples:  # a longer window than played so far: play it again
                self._end_samples = tail
                for p in [p for p in self._cache if p[-1] == END]:
                    del self._cache[p]
            parts.append(getattr(self.outcome(path[:k + 1] + (END,)), which)[:, :tail])
        pre = parts[0].shape[1] if k > 0 else 0
        return _window_states(parts, (pre, parts[k > 0].shape[1]), latency_s, lag_s)

    def _after(self, path: tuple) -> tuple[SegmentOutcome, Mind, SeatsSeen]:
        if path not in self._cache:
            if len(path) > 1:
                _, mind, seen = self._after(path[:-1])
                mind, seen = mind.copy(), seen.copy()
            else:
                mind, seen = Mind(self.traits), self._seen.copy()
            self._cache[path] = (self._simulate(path, mind, seen), mind, seen)
        return self._cache[path]

    def _simulate(self, path: tuple, mind: Mind, seen: SeatsSeen) -> SegmentOutcome:
        sid = path[-1]
        if sid == END:  # nothing on screen that moves anyone, long enough for any latency
            duration_s, imp, target = MAX_REWARD_LATENCY_S + 1, Impact(), 0.0
        else:
            seg, imp = self.story.segments[sid], self.impact[sid]
            duration_s, target = seg.duration_s, seg.target_arousal
        rng = np.random.default_rng([self.seed, self.index, len(path),
                                     self._order.get(sid, len(self._order))])
        dt = 1 / RATE_HZ
        steps = max(1, int(round(duration_s * RATE_HZ)))
        # After the film only the samples a reward window reaches are played; the random
        # numbers of the rest are drawn all the same (two per viewer and step), and the
        # sensors see the whole stretch, so what is played is what playing it all gave.
        played = min(steps, self._end_samples) if sid == END else steps
        a, v = np.empty((len(self.traits), steps)), np.empty((len(self.traits), steps))
        a_played, v_played, _ = mind.play(dt, sid, np.arange(played) * dt, imp, rng)
        a[:, :played], v[:, :played] = a_played.T, v_played.T
        rng.standard_normal((2 * (steps - played), len(self.traits)))
        a[:, played:], v[:, played:] = a[:, played - 1:played], v[:, played - 1:played]
        a_seen, v_seen, good = seen.see(a, v, dt, rng)
        if sid == END:  # nothing after the film is judged or decided
            return SegmentOutcome(None, float("nan"), np.where(good[:, None], a_seen, np.nan)
                                  [:, :played], a[:, :played])
        state = None
        d = self.story.decision_after(sid)
        if d:
            i0 = int(d.window_s[0] * RATE_HZ)
            i1 = min(steps, max(int(d.window_s[1] * RATE_HZ), i0 + 1))
            g = a_seen[good]
            # synchrony over its longer window, as far back as this segment goes
            state = fuse(int(d.window_s[1] * 1e6), g[:, i1 - 1], v_seen[good, i1 - 1],
                         list(g[:, i0:i1]), len(self.traits),
                         sync_traces=list(g[:, max(0, i1 - SYNC_N):i1]))
        # How it landed: the show's reward from the states its timeline would hold through
        # the segment's own time with perfect, instant sensors; the states' trailing windows
        # reach into the segment before, as the show's do.
        lead = [self._cache[path[:-1]][0].hidden[:, -SYNC_N:]] \
            if len(path) > 1 else []
        landed = segment_reward(*_window_states([*lead, a], (lead[0].shape[1] if lead else 0,
                                                             steps), 0.0), target)
        return SegmentOutcome(state, landed, np.where(good[:, None], a_seen, np.nan), a)


def _end_samples(latency_s: float) -> int:
    """Samples of the audience after the film that a reward window shifted by latency_s
    reaches (`Screening.window_states`)."""
    return round(latency_s * RATE_HZ) + 1


def screenings(story: Story, n: int, impact: Optional[dict] = None, seed: int = 0,
               seats: int = 30, measure: Optional[MeasurementModel] = None,
               latency_s: float = REWARD_LATENCY_S,
               lag_s: Optional[float] = None) -> list[Screening]:
    impact = impact or story_impacts(story)
    measure = measure or MeasurementModel.load()
    lag_s = estimate_lag_s() if lag_s is None else lag_s
    return [Screening(story, impact, seed, i, seats, measure, latency_s, lag_s=lag_s)
            for i in range(n)]


def play(screening: Screening, choose) -> tuple[float, float, list[dict]]:
    """Walk the story with `choose(decision, state) -> Choice` (decision already narrowed to
    the options its conditions offer). Returns the screening's hidden and measured rewards
    (mean over the segments the decisions chose) and one record per decision; a record's
    `reward` is the measured one, as a show logs it, `hidden_reward` the truth."""
    story = screening.story
    path, variables, records = (story.start,), dict(story.variables), []
    for _ in range(MAX_STEPS):
        d = story.decision_after(path[-1])
        if d is None:
            nxt = story.segments[path[-1]].next
            if nxt is None:
                break
            path += (nxt,)
            continue
        d = d.offer(variables)
        choice = choose(d, screening.outcome(path).state)
        variables = d.take(choice.chosen, variables)
        path += (choice.chosen,)
        records.append({"screening": screening.index, "decision": d.id, "chosen": choice.chosen,
                        "propensity": choice.propensity, "scores": choice.scores,
                        "inputs": choice.inputs, "fallback": choice.fallback,
                        "reason": choice.reason, "at": len(path) - 1,
                        "hidden_reward": screening.outcome(path).reward})
    # Measured once the path is known: a segment's window runs into the next one.
    for r in records:
        r["reward"] = screening.measured(path, r.pop("at"))
    if not records:
        return 0.0, 0.0, records
    return (float(np.mean([r["hidden_reward"] for r in records])),
            float(np.mean([r["reward"] for r in records])), records)


def run_policy(policy, shows: list[Screening], learn: bool = True, progress=None,
               taught: str = "reward") -> PolicyRun:
    """Screen every audience in turn with one policy, teaching it after each screening with
    the rewards the show would have measured (`taught="hidden_reward"`: how the segments
    really landed, to tell a learner's faults from the measured reward's)."""
    from empathy.host.policy import decide

    hidden, measured, log = [], [], []
    for s in shows:
        h, m, recs = play(s, lambda d, st: decide(policy, d, st))
        hidden.append(h)
        measured.append(m)
        log.extend(recs)
        if learn and callable(getattr(policy, "learn", None)):
            for rec in recs:
                if not rec["fallback"]:
                    policy.learn(s.story.decisions[rec["decision"]],
                                 AudienceState(**rec["inputs"]), rec["chosen"], rec[taught])
        if progress:
            progress()
    return PolicyRun(np.array(hidden), np.array(measured), log)


def fixed_plans(story: Story) -> list[dict[str, str]]:
    """Every fixed choice per decision (an option a condition hides plays the default)."""
    ids = list(story.decisions)
    n = int(np.prod([len(story.decisions[i].options) for i in ids])) if ids else 1
    if n > MAX_PLANS:
        raise ValueError(f"{n} fixed plans are too many to try in hindsight (at most {MAX_PLANS})")
    return [dict(zip(ids, p)) for p in itertools.product(*(story.decisions[i].options
                                                            for i in ids))]


def plan_rewards(story: Story, shows: list[Screening]) -> tuple[list[dict], np.ndarray]:
    """(plans, hidden reward of every plan on every screening: screenings x plans)."""
    from empathy.host.policy import Choice

    plans = fixed_plans(story)
    out = np.empty((len(shows), len(plans)))
    for j, plan in enumerate(plans):
        def choose(d, state, plan=plan):
            o = plan[d.id] if plan[d.id] in d.options else d.default
            return Choice(d.id, o, {}, "fixed plan")

        for i, s in enumerate(shows):
            out[i, j] = play(s, choose)[0]
    return plans, out


def hindsight(story: Story, shows: list[Screening]) -> dict:
    """The best fixed plan in hindsight and the ceiling (the best plan for each screening),
    each with its per-screening rewards, for regret."""
    plans, r = plan_rewards(story, shows)
    best = int(np.argmax(r.mean(axis=0)))
    return {"plan": plans[best], "best_fixed": r[:, best], "ceiling": r.max(axis=1),
            "plans": plans, "rewards": r}
