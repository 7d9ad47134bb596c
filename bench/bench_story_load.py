"""Loading a long story (`story.loads`, what `empathy story check` and `host run` do first):
a generated branching story of 300, 1000 and 3000 segments (a cinema's long interactive
feature, a generated installation story), its time and its time per segment against the
300-segment one's (1 = linear). Before the decision index (the commit that added this
bench) loading was quadratic and worse: 3000 segments took 55 s, 1000 took 2.4 s.
"""

from __future__ import annotations

import statistics
import time

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
    text, times = story_text(n), []
    for _ in range(repeats):
        t = time.perf_counter()
        loads(text, "long.toml", "/nonexistent", check_files=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run() -> list[dict]:
    load_s(10, 1)  # the first load imports the policies
    times = {n: load_s(n) for n in SIZES}
    base = times[SIZES[0]] / SIZES[0]
    out = []
    for n, t in times.items():
        per = t / n
        out.append({"name": f"story load, {n} segments", "value": t, "unit": "s", "peer": None,
                    "peer_value": None, "ratio": None})
        out.append({"name": f"per segment, {n} segments", "value": per * 1e6, "unit": "us",
                    "peer": f"per segment, {SIZES[0]}", "peer_value": base * 1e6,
                    "ratio": per / base})
    return out
