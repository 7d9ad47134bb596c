"""Audience simulator and offline evaluation: the learning policy against the fixed ones on
the same simulated audiences, and off-policy estimates against the truth."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from empathy.sim import audience as sim
from empathy.host.policy import make_policy
from empathy.host.policy_cli import evaluate, load_logs
from empathy.host.story import load
from empathy.sim import SAMPLE_IMPACT
from empathy.sim.impact import story_impacts

HERE = Path(__file__).resolve().parents[1] / "host" / "sample"
STORY = load(HERE / "neon_rain.toml", check_files=False)
IMPACT = story_impacts(STORY, SAMPLE_IMPACT)


def test_screenings_are_reproducible_and_crowds_differ():
    a, b = sim.screenings(STORY, 40, IMPACT, seed=5), sim.screenings(STORY, 40, IMPACT, seed=5)
    assert [s.outcome("chase").reward for s in a] == [s.outcome("chase").reward for s in b]
    st = a[0].outcome("arrival").state
    assert st.seats_total == 30 and 20 <= st.seats_good <= 30 and a[0].outcome("dawn").state is None
    # hidden traits decide what lands: some crowds want the chase, others the hideout,
    # and crowds that want it hopeful are the ones the dawn lands with
    best = {s.outcome("chase").reward > s.outcome("hideout").reward for s in a}
    assert best == {True, False}
    shows = sim.screenings(STORY, 300, IMPACT, seed=6)
    taste = [s.taste.mean() for s in shows]
    assert np.corrcoef(taste, [s.outcome("dawn").reward for s in shows])[0, 1] > 0.5


def test_learning_policy_beats_fixed_default_and_rules_and_nears_the_oracle(tmp_path):
    shows = sim.screenings(STORY, 500, IMPACT, seed=11)
    mean = {}
    for name in ("default", "rules", "bandit"):
        p = make_policy(name, state_path=str(tmp_path / "b.json"), seed=11)
        mean[name] = sim.run_policy(p, shows)[0].mean()
    oracle, plan = sim.oracle(STORY, shows)
    assert set(plan) == set(STORY.decisions)
    assert mean["bandit"] > mean["default"] and mean["bandit"] > mean["rules"]
    assert mean["bandit"] > 0.97 * oracle, (mean, oracle)


def test_offline_estimates_from_random_logs_match_the_truth(tmp_path):
    shows = sim.screenings(STORY, 1500, IMPACT, seed=21)
    _, log = sim.run_policy(make_policy("random", seed=21), shows)
    by_show = {}
    for r in log:
        by_show.setdefault(r["screening"], []).append(r)
    logged = list(by_show.values())
    for name in ("default", "rules", "arc"):
        truth = sim.run_policy(make_policy(name), shows)[0].mean()
        est = evaluate(make_policy(name), STORY, logged)
        # within 3 standard errors of the truth, and the errors small enough to mean it
        assert est["dr_se"] < 0.015 and abs(est["dr"] - truth) < 3 * est["dr_se"], (name, est, truth)
        assert abs(est["ips"] - truth) < 0.08, (name, est, truth)
        assert 200 < est["effective_screenings"] < 600  # about a quarter of the logs agree
    same = evaluate(make_policy("random"), STORY, logged)
    assert same["ips"] == same["logged"] and same["effective_screenings"] == len(logged)


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "policy", *args],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_simulate_and_evaluate_cli(tmp_path):
    log, plot = tmp_path / "log.jsonl", tmp_path / "curve.png"
    rc, out, err = _cli("simulate", "--story", str(HERE / "neon_rain.toml"), "--impact",
                        str(SAMPLE_IMPACT), "--screenings", "60", "--record", str(log),
                        "--plot", str(plot), "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert set(res) == {"default", "rules", "arc", "bandit", "oracle"}
    assert all(0 < v <= 1 for v in res.values()) and res["oracle"] >= res["default"]
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert len(load_logs([str(log)], STORY)) == 4 * 60  # one group per policy and screening
    rc, out, err = _cli("evaluate", "--story", str(HERE / "neon_rain.toml"), "--recorded",
                        str(log), "--policy", "default", "--policy", "arc", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert [r["policy"] for r in res["results"]] == ["default", "arc"]
    assert res["skipped"] == 0 and res["results"][0]["screenings"] == 240


def test_evaluate_reads_a_show_summary_and_refuses_unusable_logs(tmp_path):
    shows = sim.screenings(STORY, 1, IMPACT, seed=2)
    _, recs = sim.run_policy(make_policy("random", seed=2), shows)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"decisions": recs}))  # as a show writes them
    est = evaluate(make_policy("default"), STORY, load_logs([str(summary)], STORY))
    assert est["screenings"] == 1
    forced = tmp_path / "forced.json"  # an operator's forced branch has no propensity
    forced.write_text(json.dumps({"decisions": [{"decision": "first_turn", "chosen": "chase",
                                                 "reason": "forced by the operator"}]}))
    rc, out, err = _cli("evaluate", "--story", str(HERE / "neon_rain.toml"), "--recorded",
                        str(forced), "--policy", "arc")
    assert rc == 1 and "no usable screenings" in err
    rc, out, err = _cli("simulate", "--story", str(tmp_path / "nope.toml"))
    assert rc == 1 and "nope.toml" in err


def test_evaluate_reads_a_recorded_session(tmp_path):
    """A show recorded by the session store: decisions are rewarded from the recording's own
    segment and audience-state events, as the show itself rewards them."""
    from empathy.host.audience import AudienceState
    from empathy.host.policy import decide
    from empathy.host.session.store import Recorder

    rec = Recorder(tmp_path)
    t0 = 10**12
    d = STORY.decisions["first_turn"]
    seen = AudienceState(t0 + 8_500_000, 0.2, 0.05, 0.0, 0.05, 8, 8, 0.4, 0.1, 0.0)
    choice = decide(make_policy("random", seed=4), d, seen)
    rec("segment", {"segment": "arrival", "start_us": t0, "at_s": 0.0})
    rec("decision", {"at_s": 8.5, "decision": d.id, "chosen": choice.chosen,
                     "scores": choice.scores, "fallback": False,
                     "propensity": choice.propensity, "inputs": choice.inputs})
    rec("segment", {"segment": choice.chosen, "start_us": t0 + 10_000_000, "at_s": 10.0})
    target = STORY.segments[choice.chosen].target_arousal
    for i in range(40):
        rec("state", AudienceState(t0 + i * 500_000, target, 0.05, 0.0, 0.05, 8, 8, 0.6))
    rec.close()
    (screening,) = load_logs([str(rec.path)], STORY)
    assert [(r["decision"], r["chosen"], r["reward"]) for r in screening] == \
        [("first_turn", choice.chosen, 0.8)]  # on target, synchrony 0.6
    assert evaluate(make_policy("random"), STORY, [screening])["ips"] == 0.8
    rc, out, err = _cli("evaluate", "--story", str(HERE / "neon_rain.toml"), "--recorded",
                        str(tmp_path / "missing.session.db"), "--policy", "arc")
    assert rc == 1 and "missing.session.db: no such session file" in err
    assert not (tmp_path / "missing.session.db").exists()
