"""The learner's regret on the policy simulator's tuning seeds, for one reward setting.

    python -m empathy.bench.policy_tuning [--story sample|two_crowds] [--latency S]
                                          [--lag S] [--span S] [--no-credits]
                                          [--noise SD]
                                          [--screenings 200]
                                          [--seeds 100,101,102,103,104]
                                          [--learner evidence|state|blind]
                                          [--teach measured|hidden]

The bandit alone screens each seed's audiences (`sim/audience.py`), taught by the reward
the show would measure with the window shifted by `--latency`, its arousal corrected for
an estimate lag of `--lag` (default: the edge's declared; 0: no correction) and (unless
`--no-credits`) measured on after the film as the show does, its synchrony with each
seat's lag undone, slopes read over `--span` seconds (0: not undone); `--noise` overrides
the bandit's assumed reward noise for the run. `--learner` picks the learner's model: `evidence` (the bandit as
it is: the audience state where the evidence says it matters), `state` (the state's model
always, as the bandit was before) or `blind` (never the state); `--teach hidden` teaches it
the hidden reward instead of the measured one, to tell the learner's faults from the
measured reward's. Per seed and on average it prints the regret against the best fixed
plan in hindsight, over all screenings and over the first and the last fifth.
Tuning only: never run it on a seed whose figures are reported (docs/story.md).
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from empathy.bench.reward_diagnosis import SAMPLE, STORIES
from empathy import wire
from empathy.cli import number_in, numbers_in
from empathy.host import audience
from empathy.host.policies import bandit
from empathy.host.policy import REWARD_LATENCY_S, estimate_lag_s
from empathy.host.policy_settings import MAX_REWARD_LATENCY_S
from empathy.host.story import load
from empathy.sim import audience as sim
from empathy.sim.impact import story_impacts
from empathy.sim.measurement import MeasurementModel


class _Fixed(bandit.BanditPolicy):
    """The bandit with the probability that the state matters held at `p` (1: always the
    state's model, 0: never)."""

    def __init__(self, path, seed, p: float):
        super().__init__(path, seed)
        self.p = p

    def context_probability(self, decision) -> float:
        return self.p


def _learner(kind: str, path: str, seed: int) -> bandit.BanditPolicy:
    if kind == "evidence":
        return bandit.BanditPolicy(path, seed)
    return _Fixed(path, seed, 1.0 if kind == "state" else 0.0)


def seed_regret(story, impact, seed: int, n: int, latency_s: float, credits: bool,
                learner: str = "evidence", teach: str = "measured",
                lag_s: float | None = None) -> np.ndarray:
    """The learner's regret against the best fixed plan, per screening."""
    measure = MeasurementModel.load()
    shows = [sim.Screening(story, impact, seed, i, 30, measure, latency_s, credits, lag_s)
             for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        run = sim.run_policy(_learner(learner, f"{tmp}/b.json", seed), shows,
                             taught="reward" if teach == "measured" else "hidden_reward")
    return sim.hindsight(story, shows)["best_fixed"] - run.reward


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--story", choices=STORIES, default="sample")
    # every number range-checked as --seeds is (nan ran into a traceback, 0 screenings
    # printed regret nan): one line and exit 2
    ap.add_argument("--latency", type=number_in(float, 0, MAX_REWARD_LATENCY_S),
                    default=REWARD_LATENCY_S)  # the host's [show] reward_latency_s range
    ap.add_argument("--lag", type=number_in(float, 0, wire.MAX_ESTIMATE_LAG_MS / 1000),
                    default=None)
    ap.add_argument("--no-credits", action="store_true")
    ap.add_argument("--noise", type=number_in(float, 1e-3, 1.0),  # a reward lives in 0..1
                    default=bandit.NOISE)
    ap.add_argument("--span", type=number_in(float, 0, 120), default=audience.UNLAG_SPAN_S,
                    help="span (s) over which each seat's slope is read where its lag is "
                         "undone for synchrony (0: synchrony's lag not undone)")
    ap.add_argument("--screenings", type=number_in(int, 5, 100_000),  # (fifths: 5 at least)
                    default=200)
    ap.add_argument("--seeds", type=numbers_in(int, 0, 2**32 - 1),  # (under 100: see below)
                    default="100,101,102,103,104")
    ap.add_argument("--learner", choices=("evidence", "state", "blind"), default="evidence")
    ap.add_argument("--teach", choices=("measured", "hidden"), default="measured")
    args = ap.parse_args(argv)
    if min(args.seeds) < 100:
        ap.error("tuning seeds are 100 and above; lower ones are reported")
    bandit.NOISE = args.noise
    audience.UNLAG_SPAN_S = args.span
    file, impact_file = STORIES[args.story]
    story = load(SAMPLE / file, check_files=False)
    impact = story_impacts(story, impact_file)
    rows = []
    for seed in args.seeds:
        r = seed_regret(story, impact, seed, args.screenings, args.latency, not args.no_credits,
                        args.learner, args.teach, args.lag)
        k = len(r) // 5
        rows.append((r.mean(), r[:k].mean(), r[-k:].mean()))
        print(f"seed {seed}: regret {rows[-1][0]:.4f}, first fifth {rows[-1][1]:.4f}, "
              f"last fifth {rows[-1][2]:.4f}", flush=True)
    m = np.mean(rows, axis=0)
    lag = estimate_lag_s() if args.lag is None else args.lag
    print(f"{args.story}, latency {args.latency:g} s, lag {lag:g} s, span {args.span:g} s, "
          f"credits {not args.no_credits}, noise {args.noise:g}, learner {args.learner}, taught the {args.teach} reward: mean over "
          f"seeds: regret {m[0]:.4f}, first fifth {m[1]:.4f}, last fifth {m[2]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
