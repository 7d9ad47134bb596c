"""Loading a long story (`story.loads`, what `empathy story check` and `host run` do first)
and finding the line of a problem in each of its segments (what the check's report does):
a generated branching story of 300, 1000 and 3000 segments (a cinema's long interactive
feature, a generated installation story), the time and the time per segment against the
300-segment one's (1 = linear). Before the decision index (the commit that added this
bench) loading was quadratic and worse: 3000 segments took 55 s, 1000 took 2.4 s; before
the lines were looked up from the keys' own lines, 3000 of them took 11.8 s.
"""

from __future__ import annotations

import re

from empathy.bench.bench_story_check import _median_s
from empathy.host.story import loads

SIZES = (300, 1000, 3000)


def story_text(n: int) -> str:
    """n segments of one master clip: every even segment a decision between the next two,
    every odd one leads on to the next; the last one ends the story."""
    lines = ['title = "Long"', 'start = "s0"', ""]
    for i in range(n):
        lines += [f"[segments.s{i}]", 'media = "master.mp4"', f"in_s = {i * 10}.0",
                  f"out_s = {i * 10 + 10}.0"]
        if i + 1 < n and (i % 2 or i + 2 >= n):
            lines.append(f'next = "s{i + 1}"')
        lines.append("")
    for i in range(0, n - 2, 2):
        lines += [f"[decisions.d{i}]", f'after = "s{i}"', "window_s = [1.0, 8.0]",
                  f'default = "s{i + 1}"', f"options = {{ s{i + 1} = 0.1, s{i + 2} = -0.1 }}",
                  ""]
    return "\n".join(lines)


def load_s(n: int, repeats: int = 5) -> float:
    text = story_text(n)
    return _median_s(lambda: loads(text, "long.toml", "/nonexistent", check_files=False),
                     repeats)


def lines_s(n: int, repeats: int = 3) -> float:
    """The lines of a problem in every segment (a moved media folder: every clip missing),
    as `story check` looks them up for its report. re's cache of compiled patterns is
    emptied first: a check compiles each key's pattern once, and a 300-segment story's would
    otherwise stay in it between repeats."""
    story = loads(story_text(n), "long.toml", "/nonexistent", check_files=False)
    return _median_s(lambda: (re.purge(), [story.line(sid, "media") for sid in story.segments]),
                     repeats)


def _entries(what: str, times: dict) -> list[dict]:
    base = times[SIZES[0]] / SIZES[0]
    out = []
    for n, t in times.items():
        per = t / n
        out.append({"name": f"{what}, {n} segments", "value": t, "unit": "s", "peer": None,
                    "peer_value": None, "ratio": None})
        out.append({"name": f"{what} per segment, {n}", "value": per * 1e6, "unit": "us",
                    "peer": f"per segment, {SIZES[0]}", "peer_value": base * 1e6,
                    "ratio": per / base})
    return out


def run() -> list[dict]:
    load_s(10, 1)  # the first load imports the policies
    return (_entries("story load", {n: load_s(n) for n in SIZES})
            + _entries("problem lines", {n: lines_s(n) for n in SIZES}))
