"""docs/guide-artist.md, run: every command in it, in order, on a small generated film.

The guide's fenced blocks are its steps: ```sh blocks are commands (one a line), run in a
temporary folder that holds the artist's `my-film/` (three clips, two .cube looks);
```toml file=PATH blocks are files the artist writes, written there before the next
command. Any other fenced block fails the test: nothing in the guide goes unrun. A command
whose verb this build does not have yet (the story engineer's `story new`) is skipped, and
says so; every other command must exit 0.

The kiosk rehearsal the guide runs is checked against the issue's bar: three visits, three
sessions, each baseline within 5 bpm of that visitor's true resting heart rate, and nothing
of one visitor in another's session.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import proc_group
from artist_film import make_film

# The module's fixture runs the guide's three demos in real time (143 s of the first test's
# setup on a quiet machine): pytest-timeout's 300 s ran out at load 10-21 and errored all 16.
pytestmark = pytest.mark.timeout(600)
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide-artist.md"
FENCE = re.compile(r"^```(\S*)(?:\s+file=(\S+))?\s*$")


def steps(text: str) -> list[tuple[str, str]]:
    """("run", command) and ("write", path) steps, in the guide's order; ("write") carry
    their content after a NUL."""
    out, block, lines = [], None, []
    for line in text.splitlines():
        m = FENCE.match(line.strip()) if line.startswith("```") else None
        if block is None and m:
            block, lines = (m.group(1), m.group(2)), []
        elif block is not None and line.startswith("```"):
            kind, path = block
            if kind == "sh":
                out += [("run", c) for c in lines if c.strip() and not c.startswith("#")]
            elif kind == "toml" and path:
                out.append(("write", path + "\0" + "\n".join(lines) + "\n"))
            else:
                raise AssertionError(f"guide block ```{kind} is neither sh nor toml file=PATH")
            block = None
        elif block is not None:
            lines.append(line)
    assert block is None, "a fenced block in the guide is never closed"
    return out


STEPS = steps(GUIDE.read_text())
COMMANDS = [(i, s) for i, (kind, s) in enumerate(STEPS) if kind == "run"]


def _verb_missing(argv: list[str], env: dict) -> bool:
    """`empathy NOUN VERB` where this build has no such verb (argparse: invalid choice).
    Asked only of a command that failed: one process per command, not two."""
    if len(argv) < 3 or argv[0] != "empathy":
        return False
    r = subprocess.run([argv[0], argv[1], argv[2], "--help"], capture_output=True, text=True,
                       env=env, timeout=60)
    return r.returncode != 0 and "invalid choice" in r.stderr


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """Run the whole guide once; command index -> (returncode, stdout, stderr) or "skipped"."""
    home = tmp_path_factory.mktemp("artist")
    make_film(home / "my-film", story=False)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "XDG_STATE_HOME": str(home / "state"), "OMP_NUM_THREADS": "1"}
    results = {}
    for i, (kind, what) in enumerate(STEPS):
        if kind == "write":
            path, content = what.split("\0", 1)
            (home / path).parent.mkdir(parents=True, exist_ok=True)
            (home / path).write_text(content)
            continue
        argv = shlex.split(what)
        r = proc_group.run(argv, 600, cwd=home, env=env, stdin=subprocess.DEVNULL)
        results[i] = "skipped" if r.returncode and _verb_missing(argv, env) else \
            (r.returncode, r.stdout, r.stderr)
    return home, results


def test_the_guide_covers_the_whole_path():
    text = " ".join(c for _, c in COMMANDS)
    for verb in ("lut check", "lut preview", "story new", "story check", "demo --story",
                 "--rehearse", "--impact", "demo --kiosk", "config check", "session purge"):
        assert verb in text, verb
    assert [p.split("\0")[0] for k, p in STEPS if k == "write"] == \
        ["my-film/story.toml", "my-film/impact.toml", "kiosk/host.toml", "kiosk/edge.toml"]


@pytest.mark.parametrize("index, command", COMMANDS, ids=[c[:60] for _, c in COMMANDS])
def test_every_command_in_the_guide_runs(walked, index, command):
    _, results = walked
    got = results[index]
    if got == "skipped":
        pytest.skip(f"not in this build yet: {' '.join(shlex.split(command)[:3])}")
    code, out, err = got
    assert code == 0, f"{command}\n{out[-2000:]}\n{err[-3000:]}"
    assert "Traceback" not in err


def test_the_rehearsal_speaks_the_artists_names(walked):
    """`empathy demo --story`: the sample demo's outputs, the artist's names throughout."""
    home, _ = walked
    out = home / "rehearsal"
    s = json.loads((out / "summary.json").read_text())
    assert s["story"] == "Tidewater" and s["baseline"]["all_calibrated_before_film"]
    # one pass of the longest path by default: 4 s + 3 s of film
    assert s["duration_s"] == 7.0 and abs(s["frames_rendered"] - 7 * 25) <= 3
    assert [d["decision"] for d in s["decisions"]] == ["the_turn"]
    chosen = s["decisions"][0]["chosen"]
    assert [g["segment"] for g in s["segments"]] == ["first_light", chosen]
    assert s["branches"] == {"the_turn": {"still_water": int(chosen == "still_water"),
                                          "undertow": int(chosen == "undertow")}}
    with open(out / "frames.csv") as f:
        assert {row["clip_id"] for row in csv.DictReader(f)} == {"first_light", chosen}
    page = re.sub(r"data:image/png;base64,[\w+/=]+", "", (out / "report.html").read_text())
    assert "Tidewater — show report" in page and "<h2>Timeline</h2>" in page
    for name in ("first_light", chosen, "the_turn", "still_water", "undertow"):
        assert name in page
    assert "neon" not in page.lower() and "arrival" not in page  # nothing of the sample
    assert (out / "screen.mp4").stat().st_size > 10_000
    # no impact file: the simulated audience followed the story's own targets
    assert (out / "edge" / "impact.toml").read_text().count("[segments.") == 3
    walk = json.loads((home / "walk" / "summary.json").read_text())
    assert walk["duration_s"] == 14.0 and len(walk["decisions"]) == 2  # every path once


def test_the_kiosk_rehearsal_serves_each_visitor_on_their_own(walked):
    home, _ = walked
    out = home / "kiosk-rehearsal"
    visits = json.loads((out / "summary.json").read_text())["visits"]
    assert len(visits) == 3 and len({v["session"] for v in visits}) == 3
    assert [v["visitor"] for v in visits] == [0, 1, 2]
    for v in visits:
        assert abs(v["baseline_bpm"] - v["true_resting_bpm"]) <= 5.0, v
        assert not v["baseline_fallback"] and v["segments"][0] == "first_light"
    # no visitor's data in another's session (the seat's truth says who sat there when)
    with open(out / "edge" / "truth_seat1.csv") as f:
        rows = [(int(r["ts_us"]), int(r["visitor"])) for r in csv.DictReader(f)]
    spans = {w: (min(t for t, x in rows if x == w), max(t for t, x in rows if x == w))
             for w in {x for _, x in rows if x >= 0}}
    for v in visits:
        db = sqlite3.connect(out / "sessions" / f"{v['session']}.session.db")
        ts = np.array([t for (t,) in db.execute("SELECT ts_us FROM samples")])
        db.close()
        assert len(ts) > 50
        for who, (a, b) in spans.items():
            if who != v["visitor"]:
                assert not np.any((ts >= a) & (ts <= b)), (v["visit"], who)
    # and the guide's purge kept them: they are younger than 30 days
    assert len(list((out / "sessions").glob("*.session.db"))) == 3
