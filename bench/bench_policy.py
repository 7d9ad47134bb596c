"""Policies on the audience simulator: 500 screenings of the sample story, three seeds.

The learning policy (bandit) against the fixed default branch, the rules policy, arc
tracking and the best fixed choice per decision in hindsight (the oracle), all on the very
same simulated audiences; then the offline estimators (doubly robust vs plain IPS) judging
the default from screenings logged by a random policy, against the on-policy truth.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from empathy.sim import SAMPLE_IMPACT, audience as sim
from empathy.sim.impact import story_impacts
from empathy.host.policy import make_policy
from empathy.host.policy_cli import evaluate
from empathy.host.story import load

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample"
SCREENINGS = 500
SEEDS = (0, 1, 2)


def _fig(name, value, unit, peer=None, peer_value=None):
    return {"name": name, "value": float(value), "unit": unit, "peer": peer,
            "peer_value": None if peer_value is None else float(peer_value),
            "ratio": None if peer_value is None else float(value) / float(peer_value)}


def run() -> list[dict]:
    story = load(SAMPLE / "neon_rain.toml", check_files=False)
    impact = story_impacts(story, SAMPLE_IMPACT)
    means = {n: [] for n in ("default", "rules", "arc", "bandit", "bandit_last100", "oracle")}
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in SEEDS:
            shows = sim.screenings(story, SCREENINGS, impact, seed)
            for name in ("default", "rules", "arc", "bandit"):
                p = make_policy(name, state_path=f"{tmp}/bandit{seed}.json", seed=seed)
                r = sim.run_policy(p, shows)[0]
                means[name].append(r.mean())
                if name == "bandit":
                    means["bandit_last100"].append(r[-100:].mean())
            means["oracle"].append(sim.oracle(story, shows)[0])
    rate = len(SEEDS) * SCREENINGS * 4 / (time.perf_counter() - t)
    m = {k: float(np.mean(v)) for k, v in means.items()}

    shows = sim.screenings(story, 2000, impact, seed=99)
    _, log = sim.run_policy(make_policy("random", seed=99), shows)
    by_show: dict = {}
    for r in log:
        by_show.setdefault(r["screening"], []).append(r)
    truth = sim.run_policy(make_policy("default"), shows)[0].mean()
    est = evaluate(make_policy("default"), story, list(by_show.values()))

    n = f"{SCREENINGS} screenings"
    return [
        _fig(f"bandit mean reward, {n}", m["bandit"], "reward", "fixed default branch", m["default"]),
        _fig(f"bandit mean reward, {n}", m["bandit"], "reward", "rules policy", m["rules"]),
        _fig(f"bandit mean reward, {n}", m["bandit"], "reward", "arc policy", m["arc"]),
        _fig(f"bandit mean reward, {n}", m["bandit"], "reward", "best fixed (hindsight)", m["oracle"]),
        _fig("bandit mean reward, last 100 screenings", m["bandit_last100"], "reward",
             "best fixed (hindsight)", m["oracle"]),
        _fig("simulated screenings per second", rate, "screen/s"),
        _fig("offline estimate error, DR (2000 logs)", abs(est["dr"] - truth), "reward",
             "IPS", abs(est["ips"] - truth)),
    ]
