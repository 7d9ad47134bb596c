"""Bandit: a contextual bandit that learns across screenings (linear Thompson sampling).

For every (decision, option) it keeps a Bayesian linear model of the reward (how well the
chosen segment landed, `audience.engagement`) given the audience state at the decision:
`features(state)`. To choose, it draws one plausible model per option from its posterior
and takes the best draw, so it tries an option exactly as often as it might be the best
one; as screenings accumulate the posteriors narrow and it settles on what works for
audiences like this one.

State (the per-option sufficient statistics) is a JSON file per story that survives
restarts.
The operator can `freeze()` it (no more learning, and no more exploring: the posterior
mean decides) or `reset()` it to nothing learned.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from empathy.host.audience import AudienceState
from empathy.host.policy import Choice
from empathy.host.story import Decision
from empathy.paths import state_dir

log = logging.getLogger("empathy.host.policies.bandit")

FEATURES = ("bias", "arousal", "valence", "synchrony", "rise", "spike")
PRIOR = 1.0  # prior precision of each weight: without data, rewards are 0 ± 1
NOISE = 0.15  # reward noise (sd) per screening; engagement lives in 0..1
DRAWS = 500  # posterior draws used to estimate how likely each option was


def features(state: AudienceState) -> np.ndarray:
    return np.array([1.0, state.arousal, state.valence, state.synchrony, state.rise,
                     state.spike])


def default_state_path(story: str = "default") -> Path:
    """One state file per story: what works for one film says nothing about another."""
    return state_dir("bandit", f"{story}.json")


class BanditPolicy:
    name = "bandit"

    def __init__(self, state_path: str | Path, seed: Optional[int] = None):
        self.path = Path(state_path)
        self.rng = np.random.default_rng(seed)
        self.frozen = False
        self.models: dict[str, dict] = {}  # "decision/option" -> {A, b, n}
        self._load()

    # -- what the operator and the show call ---------------------------------------------
    def freeze(self, on: bool = True) -> None:
        self.frozen = bool(on)
        self.save()

    def reset(self) -> None:
        self.models = {}
        self.save()

    def screenings(self) -> int:
        return max((m["n"] for m in self.models.values()), default=0)

    def save(self) -> None:
        """Write the state atomically (a crash mid-write leaves the old file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": 1, "features": list(FEATURES), "frozen": self.frozen,
               "models": {k: {"A": m["A"].tolist(), "b": m["b"].tolist(), "n": m["n"]}
                          for k, m in self.models.items()}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".bandit.")
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, self.path)

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            doc = json.loads(self.path.read_text())
            if doc.get("features") != list(FEATURES):
                raise ValueError(f"features {doc.get('features')} are not {list(FEATURES)}")
            self.frozen = bool(doc.get("frozen", False))
            self.models = {k: {"A": np.array(m["A"], float), "b": np.array(m["b"], float),
                               "n": int(m["n"])} for k, m in doc["models"].items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"bandit state {self.path} is unreadable ({e}); move it aside "
                             f"or reset the policy") from None

    # -- learning ------------------------------------------------------------------------
    def _model(self, decision: str, option: str) -> dict:
        k = len(FEATURES)
        return self.models.setdefault(f"{decision}/{option}", {
            "A": PRIOR * np.eye(k), "b": np.zeros(k), "n": 0})

    def learn(self, decision: Decision, state: AudienceState, option: str, reward: float) -> None:
        if self.frozen:
            return
        m, x = self._model(decision.id, option), features(state)
        m["A"] = m["A"] + np.outer(x, x) / NOISE ** 2
        m["b"] = m["b"] + x * reward / NOISE ** 2
        m["n"] += 1

    def _posterior(self, decision: str, option: str) -> tuple[np.ndarray, np.ndarray]:
        m = self.models.get(f"{decision}/{option}") or self._model(decision, option)
        cov = np.linalg.inv(m["A"])
        return cov @ m["b"], (cov + cov.T) / 2

    # -- choosing ------------------------------------------------------------------------
    def probabilities(self, decision: Decision, state: AudienceState) -> dict[str, float]:
        """How often each option would be chosen for this state (posterior draws)."""
        opts = list(decision.options)
        if self.frozen:
            means = {o: float(self._posterior(decision.id, o)[0] @ features(state)) for o in opts}
            best = max(means, key=means.get)
            return {o: float(o == best) for o in opts}
        draws = self._draws(decision, state, DRAWS)
        wins = np.bincount(np.argmax(draws, axis=0), minlength=len(opts))
        return {o: float(w) / DRAWS for o, w in zip(opts, wins)}

    def _draws(self, decision: Decision, state: AudienceState, n: int) -> np.ndarray:
        """Sampled expected rewards, one row per option, `n` draws each."""
        x = features(state)
        rows = []
        for o in decision.options:
            mean, cov = self._posterior(decision.id, o)
            # x·θ for θ ~ N(mean, cov) is N(x·mean, xᵀ cov x): one normal per option.
            rows.append(self.rng.normal(x @ mean, np.sqrt(max(x @ cov @ x, 0.0)), n))
        return np.array(rows)

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        opts = list(decision.options)
        x = features(state)
        means = {o: float(self._posterior(decision.id, o)[0] @ x) for o in opts}
        if self.frozen:
            best = max(means, key=means.get)
            p, how = 1.0, "frozen: the best expected reward, no exploring"
        else:
            draws = self._draws(decision, state, DRAWS + 1)
            best = opts[int(np.argmax(draws[:, 0]))]
            wins = np.argmax(draws[:, 1:], axis=0)
            p = max(float(np.mean(wins == opts.index(best))), 1.0 / DRAWS)
            how = f"sampled: best in {p:.0%} of plausible models"
        n = {o: self.models.get(f"{decision.id}/{o}", {"n": 0})["n"] for o in opts}
        reason = (f"audience arousal {state.arousal:+.2f}, valence {state.valence:+.2f}, "
                  f"synchrony {state.synchrony:.2f}; expected engagement "
                  + ", ".join(f"'{o}' {means[o]:.2f} (from {n[o]} screenings)" for o in opts)
                  + f"; '{best}' {how}")
        return Choice(decision.id, best, {o: round(v, 4) for o, v in means.items()}, reason,
                      propensity=p)
