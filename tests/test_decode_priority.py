"""Decode-ahead work yields to the frame due next: decoder threads run nicer, candidates
pre-roll one at a time and only a frame deep, and output threads stay at normal priority."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from empathy.host.player import gst
from empathy.host.player.decode import DECODE_NICE, Decoder
from empathy.host.player.outputs import VideoWriter
from empathy.host.player.player import Clip, Player

W, H, FPS = 320, 180, 25


def _nice_by_thread() -> dict[int, tuple[str, int]]:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue  # the thread ended while we looked
        out[int(tid)] = (name, int(stat.rsplit(")", 1)[1].split()[16]))
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prio") / "c.mp4"
    w = VideoWriter(f"file:{path}", W, H, FPS)
    rng = np.random.default_rng(1)
    for i in range(50):
        w.push(rng.integers(0, 255, (H, W, 3), np.uint8), i / FPS, 1 / FPS)
    assert w.close()
    return path


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    """A still picture for 30 s (0.75 CPU-s to encode): on screen while the candidates are
    checked. Behind the 2-s clip, they were checked after it had ended at load 14-21."""
    path = tmp_path_factory.mktemp("prio") / "still.mp4"
    w = VideoWriter(f"file:{path}", W, H, FPS)
    for i in range(30 * FPS):
        w.push(np.full((H, W, 3), 90, np.uint8), i / FPS, 1 / FPS)
    assert w.close()
    return path


needs_renice = pytest.mark.skipif(not gst._renice_allowed(),
                                  reason="this process may not lower a nice value again")


@needs_renice
def test_decoder_threads_run_nicer_and_outputs_do_not(clip, tmp_path):
    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    before = set(_nice_by_thread())
    dec = Decoder(clip, W, H, FPS, queue_size=2)
    deadline = time.monotonic() + 10
    while dec.first_frame_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dec.first_frame_at is not None
    new = {t: v for t, v in _nice_by_thread().items() if t not in before}
    demux = [n for name, n in new.values() if "demux" in name or "multiqueue" in name]
    assert demux and all(n == base + DECODE_NICE for n in demux), new
    dec.stop()
    dec.join(5)
    # A pooled thread the decoder used may now serve the output: it must be normal again
    # while it streams for the output.
    w = VideoWriter(f"file:{tmp_path / 'o.mp4'}", W, H, FPS)
    seen: dict[int, tuple[str, int]] = {}
    for i in range(25):
        w.push(np.zeros((H, W, 3), np.uint8), i / FPS, 1 / FPS)
        seen.update(_nice_by_thread())
    assert w.close()
    src = [n for name, n in seen.values() if name.startswith("src:")]
    assert src and all(n == base for n in src), seen


def test_candidates_preroll_one_at_a_time_and_one_frame_deep(clip, still, tmp_path):
    p = Player("null", W, H, FPS, tmp_path / "frames.csv", realtime=True, audio=False)
    p.start(Clip("a", still, None))
    try:
        p.prepare([Clip("b", clip, None), Clip("c", clip, None)])
        b, c = (p._upcoming._ready[(k, str(clip))] for k in ("b", "c"))
        for d in (b, c):  # a wait, not a bound: the decoders run nicer than the load
            assert d.primed.wait(60)
        assert c.first_frame_at >= b.first_frame_at
        time.sleep(0.3)
        assert b.queue.qsize() == 1 and c.queue.qsize() == 1  # the decoders wait there
        p.set_next(Clip("c", clip, None))
        deadline = time.monotonic() + 5
        while c.queue.qsize() < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert c.queue.qsize() >= 4  # chosen: it runs ahead again
        assert p._upcoming.play == 0, "a ended before c was checked: c plays, not queued"
    finally:
        p.stop()
        assert p.wait(10)
