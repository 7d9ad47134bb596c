"""Hand-driven rehearsal: the artist pushes the simulated audience and walks every branch."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from empathy.host.rehearsal import Keyboard, Rehearsal, audience_push, story_paths
from empathy.host.story import load

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml"


def _get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def _post(url, token, doc):
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def _push_for(decision, option) -> float:
    """Which way to push so the rules policy picks `option`: a calm audience is lifted (the
    option with the most lift), an excited one calmed (the least)."""
    lifts = decision.options
    if lifts[option] == max(lifts.values()):
        return -1.0
    return 1.0 if lifts[option] == min(lifts.values()) else 0.0


def _wanted(story, decision_id, walked) -> str:
    """The option of this decision that leads to the most branches not yet walked."""
    def unwalked(seg, seen=()):
        d = story.decision_after(seg)
        if d is None or seg in seen:
            return 0
        return sum((walked[d.id][o] == 0) + unwalked(o, seen + (seg,)) for o in d.options)

    d = story.decisions[decision_id]
    return max(d.options, key=lambda o: ((walked[d.id][o] == 0) + unwalked(o), -d.options[o]))


def test_the_dashboard_walks_every_branch_of_the_sample_story_in_one_run(tmp_path):
    story = load(SAMPLE, check_files=False)
    assert len(story_paths(story)) == 4  # 4 ways through: 120 s of film by default
    # The rules policy lifts a calm audience and calms an excited one, nothing else (the arc
    # policy also discounts startles, so its choices depend on the impact file's shocks).
    out = tmp_path / "rehearsal"
    err = tmp_path / "stderr"
    with open(err, "w") as e:
        demo = subprocess.Popen([sys.executable, "-m", "empathy.cli", "demo", "--rehearse",
                                 # 4 ways through the story, and one spare pass
                                 "--duration", "150",
                                 "--policy", "rules", "--seats", "2", "--baseline", "3",
                                 "--no-faces", "--json", "--out", str(out)],
                                stdout=subprocess.PIPE, stderr=e, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (m := re.search(r"dashboard: (http\S+)#token=(\S+)", err.read_text())):
            assert demo.poll() is None and time.monotonic() < deadline, err.read_text()[-2000:]
            time.sleep(0.2)
        url, token = m.group(1), m.group(2)
        assert _post(url + "api/v1/control", token,
                     {"action": "audience", "push": 3})["error"].startswith("the audience push")
        while _get(url + "api/v1/state", token)["segment"] is None:  # resting baseline
            refused = _post(url + "api/v1/control", token, {"action": "audience", "push": 1})
            assert refused["ok"] or "film has not started" in refused["error"]
            time.sleep(0.25)
        pushed = None
        while demo.poll() is None:
            try:
                s = _get(url + "api/v1/state", token)
            except OSError:
                break  # the show ended and took the dashboard with it
            r = s["rehearsal"]
            walked = r["branches"]
            nd, ld = s["next_decision"], s["last_decision"]
            if nd and not nd["decided"]:
                target = nd["id"]  # the decision on screen now
            elif ld:  # decided: get ready for the one after the chosen segment
                nxt = story.decision_after(ld["chosen"])
                target = (nxt or story.decision_after(story.start)).id
            else:
                target = story.decision_after(story.start).id
            want = _push_for(story.decisions[target], _wanted(story, target, walked))
            if want != pushed:
                assert _post(url + "api/v1/control", token,
                             {"action": "audience", "push": want}) == {"ok": True}
                pushed = want
            time.sleep(0.25)
        brief = json.loads(demo.communicate(timeout=120)[0])
    finally:
        if demo.poll() is None:
            demo.kill()
    summary = json.loads((out / "summary.json").read_text())
    assert brief["baselines_before_film"] is True
    branches = summary["branches"]
    assert all(n >= 1 for opts in branches.values() for n in opts.values()), branches
    # every branch taken by the audience through the policy, never forced, never a fallback
    assert all(not d["fallback"] and "forced" not in d["reason"] for d in summary["decisions"])
    assert "Branches walked: 6 of 6" in (out / "report.html").read_text()


def test_a_show_that_is_not_a_rehearsal_refuses_the_push_and_bad_pushes_are_refused(tmp_path):
    for bad in (1.5, float("nan"), "up", True, None):
        with pytest.raises(ValueError, match="within -1..1"):
            audience_push(bad)
    r = Rehearsal(tmp_path / "nudge")
    r.set(-0.5)
    assert (tmp_path / "nudge").read_text().strip() == "-0.500"
    with pytest.raises(ValueError):
        r.set(2)
    assert r.value == -0.5 and (tmp_path / "nudge").read_text().strip() == "-0.500"


def test_keys_in_a_terminal_push_the_audience():
    master, slave = os.openpty()
    got, value = [], [0.0]

    def act(v):
        value[0] = v
        got.append(v)

    with os.fdopen(slave, "r") as tty_in:
        kb = Keyboard(lambda: value[0], act, stream=tty_in)
        try:
            for key in (b"+", b"\x1b[A", b"x", b"-", b"\x1b[B", b"\x1b[B", b"0"):
                os.write(master, key)
                time.sleep(0.3)
        finally:
            kb.close()
    os.close(master)
    assert got == [0.25, 0.5, 0.25, 0.0, -0.25, 0.0]
