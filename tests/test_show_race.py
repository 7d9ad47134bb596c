"""The show loop's set_next racing the player past a segment's end (a real Show, a real
GStreamer player to a file).

The show reads which segment is on screen, decides, then queues its successor. On a loaded
machine the player can reach that segment's end in between: it asks the show's fallback
(`_need_next`), which starts the successor itself. A set_next arriving after that must not
queue a second successor (the story's last segment played twice in test_story_new). Here
the two threads are held so the late set_next happens every time, whatever the load."""

from __future__ import annotations

import threading
import time

import pytest
from numbered import frame_number, make_numbered

from empathy.host.player.decode import read_frames
from empathy.host.story import loads
from empathy.keys import Keystore

WAIT_S = 20.0  # longest either thread is held (a hang fails the test, never the suite)
FRAMES = {"a": range(25), "b": range(100, 120), "c": range(200, 220)}  # 1.0, 0.8, 0.8 s
SEGMENTS = """title = "Race"\nstart = "a"
[segments.a]\nmedia = "{a}"\nduration_s = 1.0\n{a_next}
[segments.b]\nmedia = "{b}"\nduration_s = 0.8
"""
DECISION = """[segments.c]\nmedia = "{c}"\nduration_s = 0.8
[decisions.pick]\nafter = "a"\nwindow_s = [0.2, 0.6]\ndefault = "b"
options = {{ b = 0.5, c = 0.5 }}
"""


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("race")
    return {k: make_numbered(d / f"{k}.mp4", r, audio=False) for k, r in FRAMES.items()}


def _show(tmp_path, media, decision: bool):
    from empathy.host.show import Show, ShowConfig

    text = SEGMENTS + DECISION if decision else SEGMENTS
    story = loads(text.format(a_next="" if decision else 'next = "b"', **media),
                  tmp_path / "race.toml")
    keys = Keystore.new([1])
    return Show(story, ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{tmp_path}/o.mp4",
                                  loop=False, width=160, height=96, fps=25, policy="default",
                                  reward_latency_s=0.0),
                keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)


def _until(cond) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.005)
    return cond()


class OneSetNext:
    """Wraps the show's set_next: its first call for `late` runs `_entering` (on the show
    loop's thread) before it reaches the player; `result` is what the player answered,
    `returned` set once it has. Subclasses hold the player's side through `_seen`."""

    def __init__(self, show, late: str):
        self.late, self.result, self.returned = late, None, threading.Event()
        self._entered = False
        self._real = show.player.set_next
        show.player.set_next = self._set_next
        show.subscribe(self._seen)

    def _set_next(self, clip, *args, **kw):
        if clip.id != self.late or self._entered:
            return self._real(clip, *args, **kw)
        self._entered = True
        self._entering()
        try:
            self.result = self._real(clip, *args, **kw)
            return self.result
        finally:
            self.returned.set()


class LateSetNext(OneSetNext):
    """Make the show's set_next of `late` reach the player only once `then_on` is on screen.

    The player waits on the first frame at or past `hold_at_s` until the show loop is inside
    that set_next (so the show has read the segment's state and decided); the show loop then
    waits until the player has left the segment and shown `then_on`'s first frame, and the
    player waits on that frame until the set_next has returned. `before_hold` runs on the
    player thread before it waits (an operator's control, say)."""

    def __init__(self, show, late: str, hold_at_s: float, then_on: str, before_hold=None):
        self.hold_at_s, self.then_on, self.before_hold = hold_at_s, then_on, before_hold
        self.calling, self.on_screen = threading.Event(), threading.Event()
        self._held = False
        super().__init__(show, late)

    def _entering(self) -> None:
        self.calling.set()
        self.on_screen.wait(WAIT_S)

    def _seen(self, kind, data) -> None:  # the player thread
        if kind == "frame" and not self._held and data.clip_t_s >= self.hold_at_s:
            self._held = True
            if self.before_hold:
                self.before_hold()
            self.calling.wait(WAIT_S)
        elif kind == "segment" and data["segment"] == self.then_on and not self.on_screen.is_set():
            self.on_screen.set()
            self.returned.wait(WAIT_S)

    def happened(self) -> bool:
        return self.calling.is_set() and self.on_screen.is_set() and self.returned.is_set()


def _shown(tmp_path, summary) -> tuple[list[str], list[int]]:
    return ([s["segment"] for s in summary["segments"]],
            [frame_number(f.rgb) for f in read_frames(tmp_path / "o.mp4")])

def _played_a_then_b(tmp_path, summary, race) -> None:
    """The race happened, a then b played once each, frame for frame, and the late
    set_next was refused."""
    assert race.happened()
    segments, frames = _shown(tmp_path, summary)
    assert segments == ["a", "b"]
    assert frames == [*FRAMES["a"], *FRAMES["b"]]
    assert race.result is False


def test_a_late_set_next_does_not_play_the_next_segment_twice(tmp_path, media):
    show = _show(tmp_path, media, decision=False)
    race = LateSetNext(show, late="b", hold_at_s=0.0, then_on="b")
    summary = show.run(30)
    _played_a_then_b(tmp_path, summary, race)  # (b already followed a)
    assert summary["frames_dropped"] == 0


def test_a_choice_made_after_the_segment_ended_is_not_queued_after_the_default(tmp_path, media):
    show = _show(tmp_path, media, decision=True)
    show.force_branch("c")  # the show's choice differs from the fallback's default
    race = LateSetNext(show, late="c", hold_at_s=0.6, then_on="b")
    summary = show.run(30)
    _played_a_then_b(tmp_path, summary, race)
    # the decision log says what played: the default, taken when the segment ended undecided
    assert [(d["chosen"], d["fallback"]) for d in summary["decisions"]] == [("b", True)]
    assert summary["decisions"][0]["reason"].startswith("fallback: no decision")


def test_a_kill_switch_too_late_to_undo_the_branch_queues_nothing(tmp_path, media):
    show = _show(tmp_path, media, decision=True)
    show.force_branch("c")

    def kill_once_c_is_queued():
        assert _until(lambda: show.decided_for == 0)
        show.kill_switch(True)

    race = LateSetNext(show, late="b", hold_at_s=0.6, then_on="c",
                       before_hold=kill_once_c_is_queued)
    summary = show.run(30)
    assert race.happened()
    segments, frames = _shown(tmp_path, summary)
    assert segments == ["a", "c"]
    assert frames == [*FRAMES["a"], *FRAMES["c"]]
    assert race.result is False
    assert [(d["chosen"], d["reason"]) for d in summary["decisions"]] == \
        [("c", "forced by the operator: 'c'")]


def test_a_decision_is_stamped_before_the_switch_it_queued(tmp_path, media):
    """A choice is recorded once set_next has accepted it; the player may switch to it in
    between (a decision in the segment's last frame). It must carry the time it was made,
    or learning (which takes a decision's segment as the first that starts at or after it)
    would give its reward to the segment after the chosen one. The player waits at the
    window's close until c is queued; the show's set_next returns once c is on screen."""
    show = _show(tmp_path, media, decision=True)
    show.force_branch("c")
    queued, switched = threading.Event(), threading.Event()

    def seen(kind, data):  # the player thread
        if kind == "frame" and data.clip_id == "a" and data.clip_t_s >= 0.6:
            queued.wait(WAIT_S)
        elif kind == "segment" and data["segment"] == "c":
            switched.set()

    show.subscribe(seen)
    real = show.player.set_next

    def set_next_then_switch(clip, *args, **kw):
        ok = real(clip, *args, **kw)
        if clip.id == "c":
            queued.set()
            assert switched.wait(WAIT_S)  # the player is on c before the show records it
        return ok

    show.player.set_next = set_next_then_switch
    summary = show.run(30)
    assert [s["segment"] for s in summary["segments"]] == ["a", "c"]
    (d,) = summary["decisions"]
    assert (d["chosen"], d["fallback"]) == ("c", False)
    assert d["at_s"] < summary["segments"][1]["at_s"]


class PauseAfterFirstCheck(OneSetNext):
    """The player's lock, released: the first time inside the show's set_next of `late`,
    the show loop waits there (the play checked, nothing taken yet) until the player has
    left the segment and asked the show's fallback, which waits until that set_next has
    returned."""

    def __init__(self, show, late: str):
        self.show, self.upcoming = show, show.player._upcoming
        self.lock, self.upcoming._lock = self.upcoming._lock, self
        self.checked, self.asked = threading.Event(), threading.Event()
        self.inside: threading.Thread | None = None
        super().__init__(show, late)

    def __enter__(self):
        self.lock.acquire()

    def __exit__(self, *exc):
        self.lock.release()
        if self.inside is threading.current_thread() and not self.checked.is_set():
            self.checked.set()
            assert self.asked.wait(WAIT_S)

    def _entering(self) -> None:
        self.inside = threading.current_thread()

    def _seen(self, kind, data) -> None:  # the player thread
        if kind == "frame" and data.clip_t_s >= 0.6 and not self.checked.is_set():
            assert _until(lambda: self.show.prepared_for == 0)
            for dec in list(self.upcoming._ready.values()):  # every candidate pre-rolled
                assert dec.primed.wait(WAIT_S)
            assert self.checked.wait(WAIT_S)
        elif kind == "decision" and data["fallback"] and not self.asked.is_set():
            self.asked.set()  # inside the player's advance: the segment has been left
            assert self.returned.wait(WAIT_S)


def test_a_refused_set_next_leaves_the_prepared_candidates_alone(tmp_path, media):
    """The show's choice c passed the player's first check of the play it follows; the
    segment then ended, and the fallback's default b took over. The refused c must not
    have stopped b's pre-rolled decoder: b starts from its prepared frames."""
    show = _show(tmp_path, media, decision=True)
    show.force_branch("c")
    race = PauseAfterFirstCheck(show, late="c")
    summary = show.run(30)
    assert race.checked.is_set() and race.asked.is_set() and race.result is False
    segments, frames = _shown(tmp_path, summary)
    assert segments == ["a", "b"] and frames == [*FRAMES["a"], *FRAMES["b"]]
    (switch,) = summary["switches"]
    assert (switch["to"], switch["prepared"]) == ("b", True)
