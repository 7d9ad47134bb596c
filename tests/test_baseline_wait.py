"""The wait for the seats' baselines before the film, against a real Show on a real UDP
socket fed signed packets: units that are slow to start (the demo's own, on a loaded machine
or a Pi) do not use up the time the baseline itself may take."""

from __future__ import annotations

import socket
import threading
import time

from numbered import make_numbered

from empathy import wire
from empathy.clock import now_us
from empathy.host.baseline import wait_for_baselines
from empathy.host.story import loads
from empathy.keys import Keystore

STORY = 'title = "Wait"\nstart = "a"\n[segments.a]\nmedia = "{m}"\nduration_s = 2.0\n'


def _show(tmp_path):
    from empathy.host.show import Show, ShowConfig

    clip = tmp_path / "clip.mp4"
    make_numbered(clip, range(50), audio=False)
    keys = Keystore.new([1])
    story = loads(STORY.format(m=clip), tmp_path / "wait.toml")
    show = Show(story, ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{tmp_path}/o.mp4",
                                  loop=False, width=160, height=96, fps=25),
                keys.units, keys.cue_signing, tmp_path / "frames.csv")
    return show, keys.units[1]


def _units_heard_after(show, key: bytes, delay_s: float, stop: threading.Event) -> None:
    """Two seats, silent for delay_s (starting up), then a second resting, then CALIBRATED."""
    port = show.receiver.sock.getsockname()[1]
    if stop.wait(delay_s):
        return
    t_on, seq = time.monotonic(), 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not stop.is_set():
            flags = wire.Flag.HR_OK | (wire.Flag.CALIBRATED if time.monotonic() - t_on > 1 else 0)
            for seat in (1, 2):
                s.sendto(wire.encode(wire.SeatSample(1, seat, seq, now_us(), hr_bpm=70.0,
                                                     flags=flags), key), ("127.0.0.1", port))
                seq += 1
            time.sleep(0.05)


def _wait(tmp_path, delay_s: float | None, **kw) -> dict:
    show, key = _show(tmp_path)
    stop = threading.Event()
    feeder = threading.Thread(target=_units_heard_after, args=(show, key, delay_s, stop),
                              daemon=True)
    if delay_s is not None:
        feeder.start()
    try:
        return wait_for_baselines(show, 2, **kw)
    finally:
        stop.set()
        if delay_s is not None:
            feeder.join(5)
        show.receiver.close()


def test_units_slow_to_start_do_not_use_up_the_baseline_wait(tmp_path):
    # heard 2.5 s after the wait began, ready 1 s later: a 2-s timeout alone gives up first
    alone = _wait(tmp_path / "a", 2.5, timeout_s=2.0)
    assert alone["fallback"] and alone["waited_s"] < 2.5
    given = _wait(tmp_path / "b", 2.5, timeout_s=2.0, startup_s=20.0)
    assert not given["fallback"] and 3.4 <= given["waited_s"] < 6, given
    # and units never heard: the start-up time and then the timeout, no more
    never = _wait(tmp_path / "c", None, timeout_s=0.5, startup_s=1.0)
    assert never["fallback"] and 1.5 <= never["waited_s"] < 2.5, never
