"""Operations, pass 26: the show's recording after a fault: a host killed mid-show, and one
started again over the crashed show's file. Real GStreamer, ffprobe and `empathy host run`."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path



RECORD = """
import os, sys, time, numpy as np
from empathy.host.player.outputs import VideoWriter
from empathy.host.player import audio
w = VideoWriter("file:" + sys.argv[1], 160, 90, 25, audio=True)
for i in range(250):
    w.push(np.full((90, 160, 3), i % 256, np.uint8), i / 25, 1 / 25)
    w.push_audio(np.zeros((audio.RATE // 25, audio.CHANNELS), np.float32), i / 25)
if sys.argv[2] == "close":
    print(w.close(), flush=True)
else:  # the host killed mid-show (systemd's SIGKILL past TimeoutStopSec, the OOM killer)
    time.sleep(1)
    os.kill(os.getpid(), 9)
"""


def _probe(path: Path) -> tuple[int, str]:
    """(video frames ffprobe decodes, its complaint)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
                        "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                        str(path)], capture_output=True, text=True, timeout=60)
    return int(r.stdout.strip() or 0), r.stderr.strip()


def _boxes(path: Path) -> list[str]:
    """The MP4's top-level boxes."""
    data, i, out = path.read_bytes(), 0, []
    while i + 8 <= len(data):
        n, kind = int.from_bytes(data[i:i + 4], "big"), data[i + 4:i + 8].decode("latin-1")
        n = int.from_bytes(data[i + 8:i + 16], "big") if n == 1 else n or len(data) - i
        out.append(kind)
        i += n
    return out


def test_the_show_s_recording_plays_after_the_host_is_killed(tmp_path):
    """A file output finished only at its EOS: a host killed mid-show (SIGKILL, OOM), or
    a close whose EOS never came through, left an MP4 with no index (moov), which nothing
    plays: ffprobe read 0 of 250 frames. The muxer now writes fragments as it goes (its
    first moov up front) and rewrites them as one plain MP4 at a clean close: killed, all
    but the last second or so plays; closed, the file is as before (ftyp, mdat, moov)."""
    killed, closed = tmp_path / "killed.mp4", tmp_path / "closed.mp4"
    for path, how in ((killed, "kill"), (closed, "close")):
        r = subprocess.run([sys.executable, "-c", RECORD, str(path), how],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == (-9 if how == "kill" else 0), r.stderr[-2000:]
    n, why = _probe(killed)
    print("killed:", n, why, _boxes(killed)[:6])
    assert n >= 200, why
    n, why = _probe(closed)
    assert n == 250 and not why, why
    assert "moof" not in _boxes(closed) and _boxes(closed)[-1] == "moov", _boxes(closed)


def test_a_host_started_again_after_a_crash_keeps_the_crashed_show_s_recording(tmp_path):
    """The host crashed mid-show (SIGKILL) and systemd started it again: the new run opened
    its file output on the same path and wrote over the crashed show's recording, which
    (now fragmented) would have played. Now a host run keeps the recording it finds
    beside the new one, named by when it was last written (the last KEEP_RECORDINGS of
    them: a host started each day must not fill the disk). Real `empathy host run`."""
    from empathy.keys import Keystore
    from empathy.host.player.outputs import KEEP_RECORDINGS
    from redteam_rig import Host, free_udp_port, wait_for

    host = Host(tmp_path, f"udp://127.0.0.1:{free_udp_port()}", Keystore.new([1]))
    frames = tmp_path / "frames.csv"
    old = [tmp_path / f"screen.2026010{i}-200000.mp4" for i in range(1, KEEP_RECORDINGS + 1)]
    for p in old:  # the shows kept before
        p.write_bytes(b"old")
    try:
        host.start()
        wait_for(lambda: frames.exists() and len(frames.read_text().splitlines()) > 60, 90,
                 "six seconds of film")
        host.stop(signal.SIGKILL)
        crashed = _probe(tmp_path / "screen.mp4")[0]
        host.start()
        wait_for(lambda: "keeping the last recording" in host.log(), 30, "the line")
        wait_for(lambda: _probe(tmp_path / "screen.mp4")[0] > 0, 60, "the new recording")
        host.stop()
    finally:
        host.stop(signal.SIGKILL)
    kept = sorted(set(tmp_path.glob("screen.*.mp4")) - set(old))
    print(crashed, kept, [_probe(p) for p in kept])
    assert crashed > 30 and len(kept) == 1 and _probe(kept[0])[0] == crashed, kept
    assert _probe(tmp_path / "screen.mp4")[0] > 0  # the new run's own
    assert not old[0].exists() and all(p.exists() for p in old[1:])  # the oldest went
