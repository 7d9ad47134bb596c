"""The demo report's timeline on one clock: each segment's start is the show clock (when its
first frame went on screen), and so must the last one's end be. It was `ended_early.at_s` or
`duration_s`, seconds of film (frames rendered / fps), which fall behind the show clock
whenever the player froze or ran late: a demo held 10 s by SIGSTOP then stopped by SIGTERM
had its last segment "from 26.7 s to 21.0 s". A real Show and GStreamer player to a file,
run as fast as it can; the test freezes the player thread until the show's own clock is a
second ahead of the film (orderings only, no timing margin)."""

from __future__ import annotations

import csv
import os
import re
import signal
import time

import pytest
from numbered import make_numbered

from empathy.host.demo_stop import EndEarly
from empathy.host.report import _timeline_html
from empathy.host.story import loads
from empathy.keys import Keystore

FPS = 25
STORY = """title = "Two clocks"\nstart = "a"
[segments.a]\nmedia = "{a}"\nduration_s = 0.4\nnext = "b"
[segments.b]\nmedia = "{b}"\nduration_s = 0.4
"""
FILM_S = 0.8  # the whole film: at most this many seconds of frames are rendered
AHEAD_S = 1.0  # the freeze: the show clock this far past the film's start, > FILM_S


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("clocks")
    return {k: make_numbered(d / f"{k}.mp4", r, audio=False)
            for k, r in {"a": range(10), "b": range(100, 110)}.items()}


class Freeze:
    """On the player thread: frame 3 is held until the show clock is AHEAD_S past its
    start (a loaded kiosk's frozen player); the last segment's first frame, if `ctrl_c`,
    sends this process SIGINT (the demo's Ctrl-C, which stops the show)."""

    def __init__(self, show, ctrl_c: bool):
        self.show, self.ctrl_c, self.signalled = show, ctrl_c, False
        show.subscribe(self._seen)

    def _seen(self, kind, info) -> None:
        if kind != "frame":
            return
        if info.index == 3:
            while (self.show.clock() - self.show.t0_us) / 1e6 < AHEAD_S:
                time.sleep(0.01)
        if self.ctrl_c and info.clip_id == "b" and not self.signalled:
            self.signalled = True
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("ctrl_c", [True, False], ids=["ctrl-c", "played-through"])
def test_the_last_segment_ends_on_the_show_clock(tmp_path, media, ctrl_c):
    from empathy.host.show import Show, ShowConfig

    keys = Keystore.new([1])
    show = Show(loads(STORY.format(**media), tmp_path / "clocks.toml"),
                ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{tmp_path}/o.mp4",
                           loop=False, width=160, height=96, fps=FPS, policy="default",
                           reward_latency_s=0.0),
                keys.units, keys.cue_signing, tmp_path / "frames.csv", realtime=False)
    freeze = Freeze(show, ctrl_c)
    with EndEarly() as stop:  # as `empathy demo` runs the film
        stop.on_stop(show.stop)
        stop.phase("film")
        summary = show.run(600 if ctrl_c else FILM_S)
        returned_us = show.clock()
        ended = stop.record(summary["frames_rendered"] / FPS)
    assert freeze.signalled == ctrl_c and (ended is not None) == ctrl_c
    segs = summary["segments"]
    assert [s["segment"] for s in segs] == ["a", "b"]
    film_s = summary["frames_rendered"] / FPS
    # the two clocks differ: the film's seconds end before the last segment began
    assert film_s <= FILM_S < AHEAD_S < segs[-1]["at_s"], (summary, segs)
    page = _timeline_html({**summary, "duration_s": FILM_S, "ended_early": ended})
    rows = re.findall(r"<tr><td>([\d.]+) s</td><td>([\d.]+) s</td><td><b>(\w+)</b>", page)
    assert [r[2] for r in rows] == ["a", "b"], page
    assert rows[0][1] == rows[1][0] == f"{segs[1]['at_s']:.1f}", rows
    assert float(rows[1][0]) <= float(rows[1][1]), rows  # the last segment ends after it began
    # ...when its last frame left the screen, on the show clock
    end = summary["shown_until_s"]
    assert rows[1][1] == f"{end:.1f}" and segs[-1]["at_s"] <= end - 1 / FPS, (segs, end)
    with open(tmp_path / "frames.csv") as f:
        last_shown_s = float(list(csv.DictReader(f))[-1]["wall_s"]) - show.t0_us / 1e6
    assert last_shown_s <= end - 1 / FPS <= (returned_us - show.t0_us) / 1e6, (last_shown_s, end)
    if ctrl_c:  # ended_early keeps its meaning: seconds of film shown
        assert ended == {"by": "Ctrl-C", "during": "film", "at_s": round(film_s, 2)}
