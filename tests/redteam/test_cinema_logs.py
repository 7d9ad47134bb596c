"""`empathy policy evaluate --recorded` on logs a cinema collects from several places
(shows, simulations, other tools): records that are JSON but not what a show writes.
Findings (host/policy_cli.py): a line holding a list, or a summary.json that is one, was
"'list' object has no attribute 'get'"; a propensity written as text, a chosen option
that is a list, were TypeErrors: each an unexpected error (exit 70, a crash report). A
Latin-1 file gave the codec's message without its name. Now a record that is not an
object is named by file:line, and a screening with a record evaluate() cannot read is
skipped like one with an operator's forced branch."""

import json
import os

import pytest

from empathy import cli
from empathy.host.policy import make_policy
from empathy.host.story import load
from empathy.sim import SAMPLE_IMPACT
from empathy.sim import audience as sim
from empathy.sim.impact import story_impacts

STORY_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "host", "sample",
                          "neon_rain.toml")


@pytest.fixture(scope="module")
def honest():
    """One simulated screening's decision records, as a show logs them."""
    story = load(STORY_PATH, check_files=False)
    shows = sim.screenings(story, 1, story_impacts(story, SAMPLE_IMPACT), seed=4)
    return sim.run_policy(make_policy("random", seed=4), shows).log


def evaluate(tmp_path, capfd, monkeypatch, name: str, text: bytes):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / name).write_bytes(text)
    rc = cli.main(["policy", "evaluate", "--story", STORY_PATH, "--recorded",
                   str(tmp_path / name), "--policy", "arc", "--json"])
    out, err = capfd.readouterr()
    assert "unexpected error" not in err and "Traceback" not in err, err
    return rc, out, err


@pytest.mark.parametrize("name, text, says", [
    ("log.jsonl", b"[1, 2]\n", "log.jsonl:1: a JSON object is needed, not list"),
    ("summary.json", b"[]", "summary.json: a JSON object is needed, not list"),
    ("summary.json", b'{"decisions": [1]}', "summary.json: decisions must be a list of objects"),
    ("log.jsonl", "{\"note\": \"caf\xe9\"}\n".encode("latin-1"), "log.jsonl: not UTF-8 text")])
def test_a_log_that_is_not_a_shows_is_named(tmp_path, capfd, monkeypatch, name, text, says):
    rc, out, err = evaluate(tmp_path, capfd, monkeypatch, name, text)
    assert rc == 1 and says in err, err


@pytest.mark.parametrize("bend", [
    {"propensity": "high"}, {"chosen": ["chase"]}, {"inputs": {"mood": 1}},
    {"inputs": "calm"}, {"reward": float("nan")}, {"decision": 7}, {"scores": 3}])
def test_a_screening_with_a_bent_record_is_skipped_and_the_others_count(
        tmp_path, capfd, monkeypatch, honest, bend):
    lines = [json.dumps({**r, "screening": 0}) for r in honest]
    lines += [json.dumps({**r, "screening": 1, **(bend if k == 0 else {})})
              for k, r in enumerate(honest)]
    rc, out, err = evaluate(tmp_path, capfd, monkeypatch, "log.jsonl",
                            "\n".join(lines).encode())
    assert rc == 0, err
    res = json.loads(out)
    assert res["skipped"] == 1 and res["results"][0]["screenings"] == 1, res
