"""Segments as time ranges of one master file: the player plays exactly [in_s, out_s),
gaplessly from range to range (real GStreamer pipelines, frames read back from the output)."""

from __future__ import annotations

import numpy as np
import pytest
from numbered import FPS, H, W, frame_number, make_numbered

from empathy.host.player import framelog
from empathy.host.player.decode import read_frames
from empathy.host.player.player import Clip, Player


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    return make_numbered(tmp_path_factory.mktemp("master") / "master.mp4", range(150))  # 6 s


def test_numbers_survive_encoding(master):
    frames = [frame_number(f.rgb) for f in read_frames(master)]
    assert frames == list(range(150))


def _play(master, clips, out, realtime=False, prepare=False):
    order = iter(clips[1:])
    p = Player(f"file:{out}", W, H, FPS, out.with_suffix(".csv"), realtime=realtime,
               on_need_next=lambda c: next(order, None))
    p.start(clips[0])
    if prepare:  # the show's way: candidates pre-roll (seeking to their in points)...
        p.prepare(clips[1:])
        for dec in list(p._upcoming._ready.values()):
            assert dec.primed.wait(10)
        p.set_next(clips[1])  # ...then one is chosen
    assert p.wait(60) and p.error is None
    return p


def test_ranges_play_exactly_and_gaplessly(master, tmp_path):
    clips = [Clip("one", master, None, in_s=1.0, out_s=2.0),      # frames 25..49
             Clip("two", master, None, in_s=0.4, out_s=0.8),      # 10..19
             Clip("three", master, None, in_s=3.0, out_s=3.6),    # 75..89
             Clip("rest", master, None, in_s=5.2)]                # 130..149 (to the end)
    out = tmp_path / "show.mp4"
    p = _play(master, clips, out)
    want = list(range(25, 50)) + list(range(10, 20)) + list(range(75, 90)) + list(range(130, 150))
    got = [frame_number(f.rgb) for f in read_frames(out)]
    assert got == want
    s = framelog.summarise(out.with_suffix(".csv"))
    assert s["dropped"] == 0 and p.frames_rendered == len(want)
    rows = framelog.read(out.with_suffix(".csv"))  # segment time starts at 0 in each range
    firsts = [r for r in rows if abs(float(r["clip_t_s"])) < 1e-6]
    assert [r["clip_id"] for r in firsts] == ["one", "two", "three", "rest"]
    assert max(float(r["clip_t_s"]) for r in rows if r["clip_id"] == "one") == pytest.approx(0.96)


def test_range_sound_follows_its_picture(master, tmp_path):
    """Each output frame's sound is the master's sound of the frame it shows."""
    clips = [Clip("one", master, None, in_s=2.0, out_s=2.4), Clip("two", master, None,
                                                                   in_s=0.2, out_s=0.6)]
    out = tmp_path / "sound.mp4"
    _play(master, clips, out)
    frames = list(read_frames(out))
    shown = [frame_number(f.rgb) for f in frames]
    assert shown == list(range(50, 60)) + list(range(5, 15))
    for k, (f, n) in enumerate(zip(frames, shown)):
        if k in (0, 10):  # the first 5 ms of a switch are a crossfade
            continue
        level = float(np.median(f.audio[:, 0]))
        assert abs(level - n / 256) < 0.01, (k, n, level)


def test_prepared_ranges_switch_on_the_next_frame_in_real_time(master, tmp_path):
    clips = [Clip("one", master, None, in_s=0.0, out_s=1.0),
             Clip("two", master, None, in_s=4.0, out_s=4.4),
             Clip("three", master, None, in_s=2.0, out_s=2.4)]
    out = tmp_path / "live.mp4"
    p = _play(master, clips, out, realtime=True, prepare=True)
    got = [frame_number(f.rgb) for f in read_frames(out)]
    assert got[:25] == list(range(25)) and got[25:35] == list(range(100, 110))
    assert p.switches[0]["prepared"] and p.switches[0]["on_time"]
