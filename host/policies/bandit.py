"""Bandit: a contextual bandit that learns across screenings (linear Thompson sampling).

For every (decision, option) it keeps a Bayesian linear model of the reward (how well the
chosen segment landed, `audience.engagement`) given the audience state at the decision:
`features(state)`. To choose, it draws one plausible model per option from its posterior
and takes the best draw, so it tries an option exactly as often as it might be the best
one; as screenings accumulate the posteriors narrow and it settles on what works for
audiences like this one.

Whether the room matters at a decision at all is learned too. Nested in each option's
model is the one that ignores the state (its bias weight alone); per decision, the
evidence for the state (the Bayes factor of the two, summed over the options,
`context_probability`) says how probable it is that the audience state predicts which
option lands, and each draw first draws which model holds. Where audiences differ in what
lands the evidence soon favours the state; where they mostly agree (the sample story) six
weights per option would be fitted to noise, their errors shrinking only as sqrt(6/n), and
the learner would keep choosing wrongly for the contexts the noise favoured (docs/story.md
"Why the learner's regret did not shrink on Neon Rain"). The evidence needs no more state
than the model keeps (the sums of squares of the reward are the same in both models and
cancel).

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
from empathy.paths import read_file, state_dir

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


def _model_from(key: str, m: dict) -> dict:
    """One option's statistics as saved, checked: a NaN or a wrongly shaped matrix would
    make every draw NaN (each decision a logged traceback) and be learned into and saved."""
    k = len(FEATURES)
    a, b, n = np.array(m["A"], float), np.array(m["b"], float), m["n"]
    if a.shape != (k, k) or b.shape != (k,):
        raise ValueError(f"model {key!r:.60}: A is {'x'.join(map(str, a.shape)) or 'a number'} "
                         f"and b {'x'.join(map(str, b.shape)) or 'a number'}, not {k}x{k} "
                         f"and {k}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"model {key!r:.60}: A or b holds NaN or infinity")
    # A is the prior's identity plus outer products: symmetric, positive definite
    if not (np.allclose(a, a.T) and np.all(np.linalg.eigvalsh(a) > 0)):
        raise ValueError(f"model {key!r:.60}: A is not a posterior precision (symmetric, "
                         "positive definite)")
    if type(n) is not int or n < 0:
        raise ValueError(f"model {key!r:.60}: n is {n!r:.40}, not a count of screenings")
    return {"A": a, "b": b, "n": n}


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
            doc = json.loads(read_file(self.path))
            if doc.get("features") != list(FEATURES):
                raise ValueError(f"features {doc.get('features')} are not {list(FEATURES)}")
            self.frozen = bool(doc.get("frozen", False))
            self.models = {k: _model_from(k, m) for k, m in doc["models"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            why = getattr(e, "strerror", None) or e
            raise ValueError(f"bandit state {self.path} is unreadable ({why}); move it aside "
                             f"or reset the policy") from None

    # -- learning ------------------------------------------------------------------------
    def _model(self, decision: str, option: str) -> dict:
        k = len(FEATURES)
        return self.models.setdefault(f"{decision}/{option}", {
            "A": PRIOR * np.eye(k), "b": np.zeros(k), "n": 0})

    def learn(self, decision: Decision, state: AudienceState, option: str, reward: float) -> None:
        if self.frozen:
            return
        x = features(state)
        if not (np.isfinite(x).all() and np.isfinite(reward)):  # one NaN spoils the model for good
            log.warning("bandit: not learning from a non-finite state or reward at %s",
                        decision.id)
            return
        m = self._model(decision.id, option)
        m["A"] = m["A"] + np.outer(x, x) / NOISE ** 2
        m["b"] = m["b"] + x * reward / NOISE ** 2
        m["n"] += 1

    def _posterior(self, decision: str, option: str) -> tuple[np.ndarray, np.ndarray]:
        m = self._model(decision, option)
        cov = np.linalg.inv(m["A"])
        return cov @ m["b"], (cov + cov.T) / 2

    def _blind_posterior(self, decision: str, option: str) -> tuple[float, float]:
        """(mean, variance) of the option's reward in the model without the state: the bias
        weight alone, whose posterior precision and data term are A[0, 0] and b[0]."""
        m = self._model(decision, option)
        return float(m["b"][0] / m["A"][0, 0]), float(1 / m["A"][0, 0])

    def context_probability(self, decision: Decision) -> float:
        """Posterior probability (even prior odds) that the audience state predicts the
        rewards at this decision, against the model without it. Per option, the log Bayes
        factor of the linear model with prior N(0, I/PRIOR) and known noise against its
        bias-only sub-model is (b'A^-1 b - b0^2/A00 - log|A| + log A00 + (k-1) log PRIOR)/2
        (the y'y terms cancel); options are independent, so their factors multiply."""
        k, log_bf = len(FEATURES), 0.0
        for o in decision.options:
            m = self.models.get(f"{decision.id}/{o}")
            if not m or not m["n"]:
                continue  # no data: both models say the same
            a, b = m["A"], m["b"]
            full = float(b @ np.linalg.solve(a, b)) - np.linalg.slogdet(a)[1]
            blind = float(b[0] ** 2 / a[0, 0]) - np.log(a[0, 0])
            log_bf += 0.5 * (full - blind + (k - 1) * np.log(PRIOR))
        return float(1 / (1 + np.exp(-np.clip(log_bf, -50, 50))))

    def _means(self, decision: Decision, state: AudienceState, p_context: float) -> dict:
        """Each option's expected reward, averaged over the two models by their probability."""
        x = features(state)
        return {o: p_context * float(self._posterior(decision.id, o)[0] @ x)
                + (1 - p_context) * self._blind_posterior(decision.id, o)[0]
                for o in decision.options}

    # -- choosing ------------------------------------------------------------------------
    def probabilities(self, decision: Decision, state: AudienceState) -> dict[str, float]:
        """How often each option would be chosen for this state (posterior draws)."""
        opts = list(decision.options)
        if self.frozen:
            means = self._means(decision, state, self.context_probability(decision))
            best = max(means, key=means.get)
            return {o: float(o == best) for o in opts}
        draws = self._draws(decision, state, DRAWS, self.context_probability(decision))
        wins = np.bincount(np.argmax(draws, axis=0), minlength=len(opts))
        return {o: float(w) / DRAWS for o, w in zip(opts, wins)}

    def _draws(self, decision: Decision, state: AudienceState, n: int,
               p_context: float) -> np.ndarray:
        """Sampled expected rewards, one row per option, `n` draws each: each draw first
        draws which model holds at this decision (the state's or the blind one)."""
        x = features(state)
        with_state = self.rng.random(n) < p_context
        rows = []
        for o in decision.options:
            mean, cov = self._posterior(decision.id, o)
            b_mean, b_var = self._blind_posterior(decision.id, o)
            # x·θ for θ ~ N(mean, cov) is N(x·mean, xᵀ cov x): one normal per option.
            rows.append(np.where(with_state,
                                 self.rng.normal(x @ mean, np.sqrt(max(x @ cov @ x, 0.0)), n),
                                 self.rng.normal(b_mean, np.sqrt(b_var), n)))
        return np.array(rows)

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        opts = list(decision.options)
        p_context = self.context_probability(decision)
        means = self._means(decision, state, p_context)
        if self.frozen:
            best = max(means, key=means.get)
            p, how = 1.0, "frozen: the best expected reward, no exploring"
        else:
            draws = self._draws(decision, state, DRAWS + 1, p_context)
            best = opts[int(np.argmax(draws[:, 0]))]
            wins = np.argmax(draws[:, 1:], axis=0)
            p = max(float(np.mean(wins == opts.index(best))), 1.0 / DRAWS)
            how = f"sampled: best in {p:.0%} of plausible models"
        n = {o: self.models.get(f"{decision.id}/{o}", {"n": 0})["n"] for o in opts}
        reason = (f"audience arousal {state.arousal:+.2f}, valence {state.valence:+.2f}, "
                  f"synchrony {state.synchrony:.2f}; expected engagement "
                  + ", ".join(f"'{o}' {means[o]:.2f} (from {n[o]} screenings)" for o in opts)
                  + f"; the room matters here with probability {p_context:.2f}; '{best}' {how}")
        return Choice(decision.id, best, {o: round(v, 4) for o, v in means.items()}, reason,
                      propensity=p)
