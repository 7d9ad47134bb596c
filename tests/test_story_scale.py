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


def test_lines_of_similar_ids_in_a_long_story():
    """`line` looks only at lines holding the key: s1 is not s10, nor d1's `after = "s1"`."""
    text = story_text(300)
    story = loads(text, "long.toml", "/nonexistent", check_files=False)
    rows = text.splitlines()
    for sid in ("s1", "s10", "s100", "s299"):
        header = rows.index(f"[segments.{sid}]") + 1
        assert story.line(sid) == header
        assert story.line(sid, "out_s") == header + 3 and rows[header + 2].startswith("out_s")
    assert story.line("d10", "options") == rows.index("[decisions.d10]") + 5
    assert story.line("s1", "nope") == story.line("s1") and story.line("s3000") is None


def test_ids_for_thousands_of_cuts_from_one_file_are_found_without_a_search_each():
    """An EDL of a feature cuts from one master file again and again: each cut's id was
    searched from `_2` up (8,000 cuts: 15 s). Counted in lookups, not timed."""
    from empathy.host.story_new import _Idents

    class Counted(set):
        looked = 0

        def __contains__(self, item):
            Counted.looked += 1
            return super().__contains__(item)

    ident = _Idents()
    ident.taken = Counted()
    ids = [ident(name) for name in ["master.mov"] * 3000 + ["master_3.mov", "Master.MOV"]]
    assert ids[:3] == ["master", "master_2", "master_3"] and ids[2999] == "master_3000"
    assert ids[3000:] == ["master_3_2", "master_3001"] and len(set(ids)) == len(ids)
    assert Counted.looked < 3 * len(ids), Counted.looked
