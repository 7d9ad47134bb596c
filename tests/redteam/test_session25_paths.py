"""Red team, session 25: the files `policy`, `keys provision` and `demo` read, named as a
FIFO, a device or a typo. Session 23 made stories, configs and LUTs refuse what is no file;
these were still read with a plain read_text(): a FIFO held each command for ever (no line
at all), /dev/zero was read until memory ran out. `demo --impact` with the sample story
passed the path on unread to every simulated seat: a typo'd path ended each seat's unit in
its own log while the demo waited with no output (still running after 90 s of a 2-s demo).
A bandit state file holding a JSON list was "unexpected error: AttributeError" (exit 70).
Real files, the real commands in their own processes, their memory capped at 2 GB."""

from __future__ import annotations

import os
from functools import partial

import pytest

from redteam_rig import run_capped, sample_story

pytestmark = pytest.mark.timeout(300)

_run = partial(run_capped, timeout=40, memory=2 << 30)


def _verbs(tmp_path, bad) -> dict[str, list]:
    story = sample_story(tmp_path)
    sim = ["policy", "simulate", "--story", story, "--screenings", "2"]
    return {"simulate --impact": [*sim, "--impact", bad],
            "simulate --measurement": [*sim, "--measurement", bad],
            "simulate --state": [*sim, "--policy", "bandit", "--state", bad],
            "evaluate --recorded": ["policy", "evaluate", "--story", story, "--recorded", bad,
                                    "--policy", "default"],
            "keys provision --template": ["keys", "provision", "--template", bad, "--out",
                                          tmp_path / "bundles", "1"],
            "demo --impact": ["demo", "--impact", bad, "--duration", "2", "--out",
                              tmp_path / "demo"]}


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_a_file_that_is_a_pipe_or_a_device_is_one_line_naming_it(tmp_path, target):
    if target == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    verbs = _verbs(tmp_path, target)
    for verb in verbs if target != "/dev/zero" else ("simulate --impact", "evaluate --recorded"):
        r = _run(*verbs[verb])
        last = r.stderr.strip().splitlines()[-1:]  # the demo draws its progress first
        assert r.returncode == 1 and last, (verb, r.returncode, r.stderr[-1500:])
        assert str(target) in last[0] and "it is a" in last[0], (verb, last)
        assert "unexpected" not in r.stderr, (verb, r.stderr[-1500:])


def test_a_demo_given_an_impact_file_that_is_not_there_says_so_at_once(tmp_path):
    r = _run("demo", "--impact", tmp_path / "typo.toml", "--duration", "2",
             "--out", tmp_path / "demo")
    assert r.returncode == 1, (r.returncode, r.stderr[-1500:])
    assert r.stderr.strip().splitlines()[-1] == \
        f"empathy demo: impact file {tmp_path / 'typo.toml'}: No such file or directory"


def test_a_bandit_state_that_is_not_an_object_is_one_line(tmp_path):
    state = tmp_path / "bandit.json"
    state.write_text("[1, 2]\n")
    r = _run(*_verbs(tmp_path, state)["simulate --state"])
    assert r.returncode == 1 and r.stderr.strip() == (
        f"empathy policy simulate: bandit state {state} is unreadable ('list' object has no "
        "attribute 'get'); move it aside or reset the policy"), (r.returncode, r.stderr[-1500:])
