"""A chosen branch whose clip cannot play (missing, torn or not video): the decision's
default plays in its place, as the kill switch's would, and the story does not remember the
branch (a real Show and GStreamer player to a file, run as fast as it can, as
test_show_operator's)."""

from __future__ import annotations

from test_show_operator import Hold, _record, _show, media  # noqa: F401  (media: the fixture)


def test_a_forced_branch_that_cannot_play_gives_way_to_the_default(tmp_path, media):  # noqa: F811
    broken = tmp_path / "c.mp4"
    broken.write_bytes(b"not a video at all " * 200)
    show = _show(tmp_path, {**media, "c": broken})
    show.force_branch("c")
    # the player held till each decision is queued: the outcome never depends on load
    holds = [Hold(show, "a", 0.8), Hold(show, "d", 0.8)]
    summary = show.run(30)
    assert all(h.held for h in holds)
    # Before: c's failure played what follows c (d), skipping the branch for the default.
    assert [s["segment"] for s in summary["segments"]] == ["a", "b", "d", "e"]
    assert _record(summary) == [
        ("pick", "c", ["b", "c"], "forced by the operator: 'c'"),
        ("pick", "b", ["b", "c"], "fallback: c could not play"),
        ("then", "e", ["e"], "fallback: only 0/0 seats with signal")]  # f not offered
    assert show.story_vars == {"seen_c": False}


def test_the_default_that_cannot_play_goes_on_to_what_follows_it(tmp_path, media):  # noqa: F811
    broken = tmp_path / "b.mp4"
    broken.write_bytes(b"")
    show = _show(tmp_path, {**media, "b": broken})
    holds = [Hold(show, "a", 0.8), Hold(show, "d", 0.8)]
    summary = show.run(30)
    assert all(h.held for h in holds)
    # b was the default: what follows b plays (d); e shares b's file, and nothing follows it
    assert [s["segment"] for s in summary["segments"]] == ["a", "d"]
    assert [d["chosen"] for d in summary["decisions"]] == ["b", "e"]
