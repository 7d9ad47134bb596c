"""Loading a story grows linearly with its segments and decisions: counted in Python calls
(each loop's generator and comprehension is one), not timed; the time is in
bench/bench_story_load.py. Before the decision index, 4x the segments took ~40x the calls."""

import sys

from empathy.bench.bench_story_load import story_text
from empathy.host.story import loads


def _calls(n: int) -> int:
    text, count = story_text(n), 0

    def tick(frame, event, arg):
        nonlocal count
        count += event == "call"

    sys.setprofile(tick)
    try:
        story = loads(text, "long.toml", "/nonexistent", check_files=False)
    finally:
        sys.setprofile(None)
    assert len(story.segments) == n and len(story.decisions) == n // 2 - 1
    return count


def test_loading_is_linear_in_segments_and_decisions():
    loads(story_text(10), "long.toml", "/nonexistent", check_files=False)  # imports done
    small, large = _calls(300), _calls(1200)
    assert large / small < 4.6, (small, large)  # 4x the story: ~4x the work
