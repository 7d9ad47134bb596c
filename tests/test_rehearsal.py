"""Hand-driven rehearsal: the artist pushes the simulated audience and walks every branch."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from empathy.host.rehearsal import Keyboard, Rehearsal, audience_push, story_paths
from empathy.host.story import load
from polling import wait_for

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


PUSH = 0.6  # enough to cross the rules policy's thresholds; a full swing from +1 to -1
# drops the simulated heart rate ~30 bpm within seconds, which the edge's beat checks
# rightly doubt, so the seats lose their heart rate for a while


def _push_for(decision, option) -> float:
    """Which way to push so the rules policy picks `option`: a calm audience is lifted (the
    option with the most lift), an excited one calmed (the least)."""
    lifts = decision.options
    if lifts[option] == max(lifts.values()):
        return -PUSH
    return PUSH if lifts[option] == min(lifts.values()) else 0.0


def _wanted(story, decision_id, walked) -> str:
    """The option of this decision that leads to the most branches not yet walked."""
    def unwalked(seg, seen=()):
        d = story.decision_after(seg)
        if d is None or seg in seen:
            return 0
        return sum((walked[d.id][o] == 0) + unwalked(o, seen + (seg,)) for o in d.options)

    d = story.decisions[decision_id]
    return max(d.options, key=lambda o: ((walked[d.id][o] == 0) + unwalked(o), -d.options[o]))


def walk_every_branch(story_file: Path, out: Path, extra: list[str]) -> dict:
    """Run `empathy demo --rehearse` on `story_file` and push the audience from the
    dashboard, decision by decision, towards the branches not walked yet; once every one
    is walked and the last on screen, Ctrl-C, as the artist would: the summary."""
    story = load(story_file, check_files=False)
    err = out.parent / f"{out.name}.stderr"
    with open(err, "w") as e:
        demo = subprocess.Popen([sys.executable, "-m", "empathy.cli", "demo", "--rehearse",
                                 "--story", str(story_file), "--policy", "rules",
                                 "--seats", "2", "--baseline", "3", "--no-faces", "--json",
                                 "--out", str(out), *extra],
                                stdout=subprocess.PIPE, stderr=e, text=True)
    try:
        deadline = time.monotonic() + 120
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
            walked = s["rehearsal"]["branches"]
            nd, ld = s["next_decision"], s["last_decision"]
            if all(n for opts in walked.values() for n in opts.values()) and \
                    (s["segment"] or {}).get("id") == ld["chosen"]:
                demo.send_signal(signal.SIGINT)  # (the film may just have ended by itself)
                break
            if nd and not nd["decided"]:
                target = nd["id"]  # the decision on screen now
            elif ld and story.decision_after(ld["chosen"]):  # get ready for the next one
                target = story.decision_after(ld["chosen"]).id
            else:  # the story starts again next
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
    assert brief["baselines_before_film"] is True
    assert brief["ended_early"] is None or brief["ended_early"]["by"] == "Ctrl-C"
    summary = json.loads((out / "summary.json").read_text())
    branches = summary["branches"]
    assert all(n >= 1 for opts in branches.values() for n in opts.values()), branches
    # every branch taken by the audience through the policy, never forced, never a fallback
    assert all(not d["fallback"] and "forced" not in d["reason"] for d in summary["decisions"])
    total = sum(len(o) for o in branches.values())
    assert f"Branches walked: {total} of {total}" in (out / "report.html").read_text()
    return summary


def test_the_dashboard_walks_both_branches_of_an_artists_film(tmp_path):
    from artist_film import make_film

    film = make_film(tmp_path / "film")
    # two ways through (14 s of film) and three spare passes: the estimate describes the
    # audience ~9 s back (its declared latency) and the simulated body answers a push over
    # seconds, so a push shows at the decision one or two 7-s passes later
    s = walk_every_branch(film / "story.toml", tmp_path / "walk", ["--duration", "35"])
    assert s["story"] == "Tidewater"


@pytest.mark.slow
def test_the_dashboard_walks_every_branch_of_the_sample_story_in_one_run(tmp_path):
    """The sample's 3 decisions, 6 branches: 4 ways through (120 s of film), one spare."""
    assert len(story_paths(load(SAMPLE, check_files=False))) == 4
    walk_every_branch(SAMPLE, tmp_path / "walk", ["--duration", "150"])


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
        try:  # one key a read, as a person types: the next once this one has acted
            for key in (b"+", b"\x1b[A", b"x", b"-", b"\x1b[B", b"\x1b[B", b"0"):
                before = len(got)
                os.write(master, key)
                if key == b"x":  # no push to wait for: the time a key took before
                    time.sleep(0.3)
                else:
                    wait_for(lambda: len(got) > before, 10, f"the push of key {key!r}", 0.01)
        finally:
            kb.close()
    os.close(master)
    assert got == [0.25, 0.5, 0.25, 0.0, -0.25, 0.0]


@pytest.mark.skipif(not (os.path.exists("/usr/bin/chromium")
                         and os.path.exists("/usr/bin/chromedriver")),
                    reason="chromium and chromium-driver (apt) are not installed")
def test_the_dashboards_rehearsal_panel_pushes_the_audience(tmp_path):
    """In a real browser: the panel appears for a rehearsal, its buttons push the audience
    (the push lands in the seats' file and the show's control log), and it lists the
    branches with how often each was walked."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    from artist_film import make_film

    film = make_film(tmp_path / "film")
    out, err = tmp_path / "walk", tmp_path / "stderr"
    with open(err, "w") as e:
        demo = subprocess.Popen([sys.executable, "-m", "empathy.cli", "demo", "--rehearse",
                                 "--story", str(film / "story.toml"), "--seats", "1",
                                 "--baseline", "2", "--no-faces", "--duration", "14",
                                 "--json", "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=e)
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1280,1000"):
        opts.add_argument(flag)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        deadline = time.monotonic() + 90
        while not (m := re.search(r"dashboard: (http\S+)", err.read_text())):
            assert demo.poll() is None and time.monotonic() < deadline, err.read_text()[-2000:]
            time.sleep(0.2)
        browser.get(m.group(1))
        wait = WebDriverWait(browser, 60, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,))
        panel = browser.find_element(By.ID, "rehearsal")
        wait.until(lambda d: panel.is_displayed() and d.find_element(By.ID, "segment").text
                   not in ("-", ""))  # the film runs: pushes are taken
        for now in ("0.25", "0.50"):  # a click adds to the push the page shows: the next
            browser.find_element(By.ID, "push-up").click()  # once the show has taken it
            wait.until(lambda d: d.find_element(By.ID, "push-now").text == now)
        assert (out / "edge" / "nudge").read_text().strip() == "0.500"
        browser.find_element(By.ID, "push-calm").click()
        wait.until(lambda d: d.find_element(By.ID, "push-now").text == "0.25")
        # the table is redrawn with each state: its rows are read whole, and again if a
        # redraw replaced them mid-read (CI once caught a stale row)
        rows = wait.until(lambda d: [r.text for r in d.find_elements(
            By.CSS_SELECTOR, "#branches tbody tr")] or False)
        assert len(rows) == 1 and "the_turn" in rows[0] and "undertow" in rows[0]
        assert "audience" in browser.find_element(By.ID, "control-log").text
    finally:
        browser.quit()
        if demo.poll() is None:  # all of it is checked: Ctrl-C, as the artist would (the
            demo.send_signal(signal.SIGINT)  # rest of the film skipped, its report written)
        demo.wait(120)
