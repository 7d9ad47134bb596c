"""The operator's kill switch and forced branches against the story's variables and a late
decision (a real Show, a real GStreamer player to a file, run as fast as it can: the player
thread is held where the show loop must act first, so the outcome never depends on load)."""

from __future__ import annotations

import pytest
from numbered import make_numbered
from test_show_race import LateSetNext, _until

from empathy.host.story import loads
from empathy.keys import Keystore

FRAMES = {"a": range(25), "b": range(100, 120), "c": range(200, 220)}  # 1.0, 0.8, 0.8 s
# a -> pick: b (default) or c, which the story remembers -> d -> then: e (default), or f
# only for whoever saw c.
STORY = """title = "Operator"\nstart = "a"
[variables]\nseen_c = false
[segments.a]\nmedia = "{a}"\nduration_s = 1.0
[segments.b]\nmedia = "{b}"\nduration_s = 0.8\nnext = "d"
[segments.c]\nmedia = "{c}"\nduration_s = 0.8\nnext = "d"
[segments.d]\nmedia = "{a}"\nduration_s = 1.0
[segments.e]\nmedia = "{b}"\nduration_s = 0.8
[segments.f]\nmedia = "{c}"\nduration_s = 0.8
[decisions.pick]\nafter = "a"\nwindow_s = [0.2, 0.6]\ndefault = "b"
options = {{ b = 0.5, c = 0.5 }}\nsets = {{ c = {{ seen_c = true }} }}
[decisions.then]\nafter = "d"\nwindow_s = [0.2, 0.6]\ndefault = "e"
options = {{ e = 0.5, f = 0.5 }}\nwhen = {{ f = "seen_c" }}
"""


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("operator")
    return {k: make_numbered(d / f"{k}.mp4", r, audio=False) for k, r in FRAMES.items()}


def _show(tmp_path, media, loop: bool = False):
    from empathy.host.show import Show, ShowConfig

    keys = Keystore.new([1])
    return Show(loads(STORY.format(**media), tmp_path / "operator.toml"),
                ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{tmp_path}/o.mp4",
                           loop=loop, width=160, height=96, fps=25, policy="default",
                           reward_latency_s=0.0),
                keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)


class Hold:
    """Hold the player on the first frame at or past `at_s` into the `nth` play of
    `segment` until the show's segment on screen has been decided (its successor queued),
    running `then` (on the player thread) first if given."""

    def __init__(self, show, segment: str, at_s: float, nth: int = 1, then=None):
        self.show, self.segment, self.at_s, self.nth, self.then = show, segment, at_s, nth, then
        self.plays, self.held = set(), False
        show.subscribe(self._seen)

    def _seen(self, kind, data) -> None:
        if kind != "frame" or data.clip_id != self.segment or self.held:
            return
        self.plays.add(data.play)
        if len(self.plays) == self.nth and data.clip_t_s >= self.at_s:
            idx = len(self.show.segment_log) - 1
            self.held = _until(lambda: self.show.decided_for == idx)
            if self.then:
                self.then()


def _record(summary) -> list[tuple]:
    return [(d["decision"], d["chosen"], sorted(d["scores"]), d["reason"])
            for d in summary["decisions"]]


def test_a_branch_undone_by_the_kill_switch_leaves_nothing_in_the_story(tmp_path, media):
    """c was queued, then the kill switch undid it: b played, so the story must not
    remember c (seen_c): the later decision offers f only to those who saw c."""
    show = _show(tmp_path, media)
    show.force_branch("c")

    def kill_undo_then_force_f():
        show.kill_switch(True)   # undoes c: b is queued instead
        show.kill_switch(False)  # the audience decides again...
        show.force_branch("f")   # ...and the operator wants f, if the story offers it
        assert _until(lambda: show.forced == "f" and show.controls.empty())

    holds = [Hold(show, "a", 0.8, then=kill_undo_then_force_f), Hold(show, "d", 0.8)]
    summary = show.run(30)
    assert all(h.held for h in holds)
    assert [s["segment"] for s in summary["segments"]] == ["a", "b", "d", "e"]
    assert _record(summary) == [
        ("pick", "c", ["b", "c"], "forced by the operator: 'c'"),
        ("pick", "b", ["b", "c"], "kill switch: the director's default cut"),
        ("then", "e", ["e"], "fallback: only 0/0 seats with signal")]  # f not offered
    assert show.story_vars == {"seen_c": False}
    assert show.forced == "f"  # still waiting for a decision that offers it


def test_a_forced_branch_that_came_too_late_is_kept_for_the_next_decision(tmp_path, media):
    """The operator forced c; the segment ended before the show's choice reached the player,
    so the default b played. The operator is told, and c is still forced: the next time the
    story offers it (the story loops), c plays."""
    show = _show(tmp_path, media, loop=True)
    show.force_branch("c")
    health = []
    show.subscribe(lambda kind, data: health.append(data) if kind == "health" else None)
    race = LateSetNext(show, late="c", hold_at_s=0.6, then_on="b")
    hold = Hold(show, "a", 0.8, nth=2)  # the loop's second pass decides in time
    summary = show.run(1.0 + 0.8 + 1.0 + 0.8 + 1.0 + 0.8 + 1.0)  # a b d e a c d: f offered
    assert race.happened() and race.result is False and hold.held
    assert [s["segment"] for s in summary["segments"]][:6] == ["a", "b", "d", "e", "a", "c"]
    assert [(d["decision"], d["chosen"], d["fallback"]) for d in summary["decisions"]][:3] == \
        [("pick", "b", True), ("then", "e", True), ("pick", "c", False)]
    assert summary["decisions"][2]["reason"] == "forced by the operator: 'c'"
    missed = [h for h in health if h["event"] == "forced_branch_fault"]
    assert missed == [{"event": "forced_branch_fault", "decision": "pick", "option": "c",
                       "played": "b", "why": "the segment ended before the decision; still "
                       "forced at the next decision that offers it"}]
    assert show.forced is None  # c played: the force is used up


def test_a_forced_default_played_by_the_fallback_is_used_up(tmp_path, media):
    """Forced b, the default: the fallback played it, so nothing was missed and the force
    does not wait for a later decision."""
    show = _show(tmp_path, media)
    show.force_branch("b")
    health = []
    show.subscribe(lambda kind, data: health.append(data) if kind == "health" else None)
    race = LateSetNext(show, late="b", hold_at_s=0.6, then_on="b")
    summary = show.run(30)
    assert race.happened() and race.result is False
    assert [s["segment"] for s in summary["segments"]] == ["a", "b", "d", "e"]
    assert show.forced is None and not [h for h in health if "forced" in h["event"]]

