"""Policies on the audience simulator: regret curves on the sample story and on Two Crowds.

Every policy screens the same 500 simulated audiences per seed (seeds 0-2), seeing states
through the measurement model and judged on the hidden engagement. The figures: each
policy's mean regret against the best fixed plan in hindsight (negative = better than any
fixed plan), the learner's regret curve (mean regret over each block of 50 screenings,
1-50 to 451-500), how the reward the show measures follows the hidden one (r over the
learner's decisions), its regret against the ceiling (the best plan for each screening in
hindsight), the simulator's speed, and the offline estimators (doubly robust vs plain IPS)
judging the default from screenings logged by a random policy, against the on-policy truth.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from empathy.host.policy import make_policy
from empathy.host.policy_cli import evaluate
from empathy.host.policy_sim import reward_agreement
from empathy.host.story import load
from empathy.sim import HERE as SIM, SAMPLE_IMPACT, audience as sim
from empathy.sim.impact import story_impacts

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample"
STORIES = {"sample": ("neon_rain.toml", SAMPLE_IMPACT),
           "two crowds": ("two_crowds.toml", SIM / "two_crowds_impact.toml")}
SCREENINGS = 500
SEEDS = (0, 1, 2)
POLICIES = ("default", "rules", "arc", "bandit")
BLOCK = 50
CURVE_AT = tuple(range(BLOCK, SCREENINGS + 1, BLOCK))  # the regret of the block ending there


def _fig(name, value, unit, peer=None, peer_value=None):
    return {"name": name, "value": float(value), "unit": unit, "peer": peer,
            "peer_value": None if peer_value is None else float(peer_value),
            "ratio": None if peer_value is None else float(value) / float(peer_value)}


def _story_figures(label: str, story, impact) -> tuple[list[dict], float]:
    regret = {n: [] for n in POLICIES}
    curve, vs_ceiling, agree, t = [], [], [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in SEEDS:
            shows = sim.screenings(story, SCREENINGS, impact, seed)
            runs = {n: sim.run_policy(make_policy(n, state_path=f"{tmp}/b{seed}.json", seed=seed),
                                      shows) for n in POLICIES}
            hind = sim.hindsight(story, shows)
            for n, run in runs.items():
                regret[n].append(hind["best_fixed"] - run.reward)
            curve.append((hind["best_fixed"] - runs["bandit"].reward).reshape(-1, BLOCK).mean(1))
            vs_ceiling.append((hind["ceiling"] - runs["bandit"].reward).mean())
            agree.append(reward_agreement(runs["bandit"].log)["r"])
    rate = len(SEEDS) * SCREENINGS / (time.perf_counter() - t)
    m = {n: float(np.mean(np.concatenate(r))) for n, r in regret.items()}
    out = [_fig(f"{label}: bandit regret vs best fixed", m["bandit"], "reward", f"{n} regret", m[n])
           for n in POLICIES if n != "bandit"]
    mean_curve = np.mean(curve, axis=0)
    for n in CURVE_AT:
        out.append(_fig(f"{label}: bandit regret, screenings {n - BLOCK + 1}-{n}",
                        mean_curve[n // BLOCK - 1], "reward"))
    out.append(_fig(f"{label}: measured vs hidden reward r (bandit's decisions)",
                    np.mean(agree), "r"))
    out.append(_fig(f"{label}: bandit regret vs ceiling", np.mean(vs_ceiling), "reward"))
    return out, rate


def run() -> list[dict]:
    out, rates = [], []
    for label, (file, impact_file) in STORIES.items():
        story = load(SAMPLE / file, check_files=False)
        figs, rate = _story_figures(label, story, story_impacts(story, impact_file))
        out += figs
        rates.append(rate)
    out.append(_fig("screenings per second (4 policies + hindsight)", np.mean(rates), "screen/s"))

    story = load(SAMPLE / "neon_rain.toml", check_files=False)
    shows = sim.screenings(story, 2000, story_impacts(story, SAMPLE_IMPACT), seed=99)
    log = sim.run_policy(make_policy("random", seed=99), shows).log
    by_show: dict = {}
    for r in log:
        by_show.setdefault(r["screening"], []).append(r)
    truth = sim.run_policy(make_policy("default"), shows).measured.mean()
    est = evaluate(make_policy("default"), story, list(by_show.values()))
    out.append(_fig("offline estimate error, DR (2000 logs)", abs(est["dr"] - truth), "reward",
                    "IPS", abs(est["ips"] - truth)))
    return out
