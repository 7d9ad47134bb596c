"""Policies: rules with hysteresis, arc tracking that discounts shocks, a bandit that learns,
persists, freezes and resets, and `decide` logging inputs, scores, propensity and reason."""

import json
from pathlib import Path

import numpy as np
import pytest

from empathy.host.audience import AudienceState
from empathy.host.policies.arc import ArcPolicy
from empathy.host.policies.bandit import BanditPolicy
from empathy.host.policies.rules import RulesPolicy
from empathy.host.policy import REWARD_LATENCY_S, decide, learn_from_show, make_policy
from empathy.host.policy_settings import POLICY_NAMES
from empathy.host.story import Decision, load

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml"
D = Decision("turn", "a", (1.0, 8.0), 0.5, "calm", {"calm": -0.3, "wild": 0.4})


def state(arousal=0.3, valence=0.0, synchrony=0.3, rise=0.0, spike=0.0, good=10, total=10):
    return AudienceState(0, arousal, 0.05, valence, 0.05, total, good, synchrony, rise, spike)


def test_every_named_policy_is_made_and_unknown_names_are_refused(tmp_path):
    for name in POLICY_NAMES:
        p = make_policy(name, state_path=str(tmp_path / "b.json"), seed=1)
        assert p.name == name
        assert decide(p, D, state()).chosen in D.options
    with pytest.raises(ValueError, match="unknown policy 'nope'.*bandit"):
        make_policy("nope")


def test_rules_hold_their_mode_between_thresholds():
    p = RulesPolicy(low=0.2, high=0.6)
    assert p.choose(D, state(0.4)).chosen == "calm"  # nothing crossed yet: the default
    assert p.choose(D, state(0.1)).chosen == "wild"  # below low: lift
    c = p.choose(D, state(0.5))  # back in between: keep lifting (hysteresis)
    assert c.chosen == "wild" and "hysteresis" in c.reason
    assert p.choose(D, state(0.7)).chosen == "calm"  # above high: calm
    assert p.choose(D, state(0.3)).chosen == "calm"  # in between again: keep calming
    with pytest.raises(ValueError):
        RulesPolicy(low=0.6, high=0.2)


def test_arc_tells_a_faded_shock_from_sustained_tension():
    # Same arousal now, aim just above it: the tense audience (rise held) is lifted, the
    # startled one (a spike that faded) is not pushed harder.
    d = Decision("turn", "a", (1.0, 8.0), 0.45, "calm", {"calm": -0.1, "wild": 0.3})
    tense = ArcPolicy().choose(d, state(0.3, rise=0.3, spike=0.0))
    shocked = ArcPolicy().choose(d, state(0.3, rise=0.0, spike=0.5))
    assert tense.chosen == "wild"
    assert shocked.chosen == "calm" and "shock, not tension" in shocked.reason
    assert shocked.scores["wild"] < tense.scores["wild"]


def test_decide_logs_inputs_scores_propensity_and_reason(tmp_path):
    c = decide(make_policy("random", seed=3), D, state(0.2))
    assert c.inputs["arousal"] == 0.2 and c.propensity == 0.5 and c.reason
    thin = decide(ArcPolicy(), D, state(0.9, good=1, total=10))
    assert thin.fallback and thin.chosen == "calm" and thin.inputs["seats_good"] == 1


def _teach(p, n, rng):
    """A world where wild lands when the audience is calm (low arousal) and calm lands when
    it is hot: the best option depends on the context."""
    for _ in range(n):
        a = rng.uniform(-0.5, 1.0)
        s = state(a)
        c = p.choose(D, s)
        reward = (0.8 if (c.chosen == "wild") == (a < 0.25) else 0.3) + rng.normal(0, 0.05)
        p.learn(D, s, c.chosen, reward)


def test_bandit_learns_the_context_and_keeps_it_across_restarts(tmp_path):
    path = tmp_path / "bandit.json"
    p = BanditPolicy(path, seed=1)
    first = p.probabilities(D, state(-0.3))
    assert abs(first["wild"] - 0.5) < 0.1  # knows nothing yet: explores evenly
    _teach(p, 300, np.random.default_rng(0))
    p.save()
    again = BanditPolicy(path, seed=2)  # a new screening day, a new process
    assert again.screenings() > 0
    assert again.probabilities(D, state(-0.3))["wild"] > 0.9
    assert again.probabilities(D, state(0.9))["calm"] > 0.9
    assert again.context_probability(D) > 0.99  # here the room decides what lands
    c = again.choose(D, state(-0.3))
    assert "from" in c.reason and 0 < c.propensity <= 1 and set(c.scores) == set(D.options)


def test_bandit_freeze_stops_learning_and_exploring_reset_forgets(tmp_path):
    path = tmp_path / "bandit.json"
    p = BanditPolicy(path, seed=1)
    _teach(p, 200, np.random.default_rng(1))
    p.freeze()
    before = json.loads(path.read_text())
    assert before["frozen"] is True
    p.learn(D, state(0.0), "calm", 1.0)  # ignored while frozen
    p.save()
    assert json.loads(path.read_text())["models"] == before["models"]
    c = p.choose(D, state(-0.3))
    assert c.chosen == "wild" and c.propensity == 1.0 and "frozen" in c.reason
    assert BanditPolicy(path).frozen  # the freeze survives a restart
    p.freeze(False)
    p.reset()
    assert BanditPolicy(path).screenings() == 0 and not json.loads(path.read_text())["models"]


def test_bandit_refuses_a_corrupt_state_file_clearly(tmp_path):
    path = tmp_path / "bandit.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable.*reset"):
        BanditPolicy(path)


def test_learn_from_show_rewards_the_segment_each_decision_chose(tmp_path):
    story = load(SAMPLE, check_files=False)
    d = story.decisions["first_turn"]
    p = BanditPolicy(tmp_path / "b.json", seed=0)
    choice = decide(p, d, state(0.3))
    entry = {"at_s": 8.5, "decision": d.id, "chosen": choice.chosen, "fallback": False,
             "inputs": choice.inputs}
    segments = [{"segment": "arrival", "at_s": 0.0}, {"segment": choice.chosen, "at_s": 10.0}]
    target = story.segments[choice.chosen].target_arousal
    t0 = 1_000_000
    # the film ends at 20 s; the show measures on through the credits for the latency
    timeline = [{"ts_us": t0 + int(t * 1e6), "arousal": target, "synchrony": 0.6,
                 "seats_good": 8} for t in np.arange(0, 20 + REWARD_LATENCY_S, 0.5)]
    out = learn_from_show(p, story, [entry], segments, timeline, t0, 20.0 + REWARD_LATENCY_S)
    # right on target with synchrony 0.6: 0.5 * 0.6 + 0.5 * 1.0
    assert out == [{"decision": d.id, "chosen": choice.chosen, "reward": 0.8}]
    assert entry["reward"] == 0.8
    assert BanditPolicy(tmp_path / "b.json").screenings() == 1
    # a choice the kill switch undid (the default played instead) was never seen
    other = "chase" if choice.chosen == "hideout" else "hideout"
    undone = [{"segment": "arrival", "at_s": 0.0}, {"segment": other, "at_s": 10.0},
              {"segment": choice.chosen, "at_s": 40.0}]
    long = [{**timeline[0], "ts_us": t0 + int(t * 1e6)} for t in np.arange(0, 50, 0.5)]
    assert learn_from_show(p, story, [dict(entry)], undone, long, t0, 50.0) == []
    # a segment cut short by the end of the show teaches nothing
    short = {k: v for k, v in entry.items() if k != "reward"}
    assert learn_from_show(p, story, [short], segments, timeline, t0, 12.0) == []


@pytest.mark.slow
def test_demo_with_the_bandit_learns_and_keeps_its_state(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    out = tmp_path / "demo"
    # 20 s: the chosen segment plays whole, and its reward window (shifted by the 4-s
    # response latency) has the 6 s of it the show saw judged at the end.
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "demo", "--seats", "3", "--duration",
                        "20", "--baseline", "3", "--policy", "bandit", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text())
    d = s["decisions"][0]
    assert s["policy"] == "bandit" and d["decision"] == "first_turn"
    assert 0 < d["propensity"] <= 1 and d["inputs"]["seats_total"] == 3
    assert 0 <= d["reward"] <= 1  # the chosen segment played long enough to judge
    state = json.loads((tmp_path / "state" / "empathy" / "bandit" / "neon_rain.json").read_text())
    assert state["models"][f"first_turn/{d['chosen']}"]["n"] == 1
    page = (out / "report.html").read_text()
    assert "expected engagement" in page and "p = " in page


def _neon_room(rng):
    """Audience states spread as they are at Neon Rain's decisions (`empathy policy
    simulate`, random policy: arousal sd 0.15, valence 0.02, synchrony 0.18, rise 0.09,
    spike 0.04)."""
    return state(rng.normal(0.15, 0.15), rng.normal(0, 0.03), rng.uniform(0, 0.5),
                 rng.normal(0.07, 0.09), abs(rng.normal(0.04, 0.03)))


def test_bandit_settles_on_the_better_option_where_the_room_does_not_matter(tmp_path):
    """Where what lands does not depend on the audience state (wild 0.55, calm 0.50, the
    measured reward's noise sd 0.15), the learner must settle on wild in every room, not
    keep a linear model of noise. Before it weighed the state as much where it told nothing
    as where it did: after 200 screenings, frozen, it chose wild in 82 % of rooms on
    average over these seeds (this test failed there), and its regret on Neon Rain did not
    shrink (docs/story.md "Why the learner's regret did not shrink on Neon Rain")."""
    frozen, late = [], []
    for seed in range(8):
        p, rng = BanditPolicy(tmp_path / f"b{seed}.json", seed=seed), np.random.default_rng(seed)
        wrong = []
        for _ in range(200):
            s = _neon_room(rng)
            c = p.choose(D, s)
            wrong.append(c.chosen != "wild")
            p.learn(D, s, c.chosen, (0.55 if c.chosen == "wild" else 0.50) + rng.normal(0, 0.15))
        assert p.context_probability(D) < 0.05  # the evidence says the room does not matter
        p.freeze()
        frozen.append(np.mean([p.choose(D, _neon_room(rng)).chosen == "wild" for _ in range(100)]))
        late.append(np.mean(wrong[-40:]))
    assert np.mean(frozen) > 0.97 and min(frozen) > 0.9, frozen
    assert np.mean(late) < 0.15, late
