"""An edge unit whose state folder stops answering (a slow or dying SD card: a write can
hang for seconds) keeps sending its samples on time: the viewer baselines are written off
the unit's loop (edge/viewer_state.py), and the last one still reaches the file at shutdown.

The disk is real: a small ext4 image mounted on a loop device and frozen (`fsfreeze`), so
every write to it blocks in the kernel until it is thawed, as on a card that stalls. That
needs root and loop devices; elsewhere the test is skipped with the reason."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.keys import Keystore

STALL_S = 3.0  # how long the card stops answering, from the unit's start (its first save)


def _sh(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def card(tmp_path):
    """A mounted ext4 file system of its own (the unit's state folder) and a way to freeze it."""
    if not all(map(shutil.which, ("mkfs.ext4", "mount", "umount", "fsfreeze"))):
        pytest.skip("needs mkfs.ext4, mount and fsfreeze")
    img, mnt = tmp_path / "card.img", tmp_path / "card"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    made = _sh("mkfs.ext4", "-q", "-F", str(img))
    if made.returncode or _sh("mount", "-o", "loop", str(img), str(mnt)).returncode:
        pytest.skip("cannot make and mount a loop file system here (needs root)")
    try:
        yield mnt
    finally:
        _sh("fsfreeze", "-u", str(mnt))  # never leave a frozen file system behind
        _sh("umount", str(mnt))


@pytest.mark.realtime  # the samples' spacing is real time
def test_a_stalled_state_folder_never_stalls_the_samples(card, tmp_path):
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    cfg = EdgeConfig(unit_id=1, uplink=f"udp://127.0.0.1:{rx.getsockname()[1]}",
                     keystore=str(tmp_path / "k.toml"), seq_file=str(card / "unit1.seq"),
                     sync_hz=0, faces=False, seats=[SeatConfig(1, "sim://seat?seed=1&faces=0")])
    unit = EdgeUnit(cfg)  # its sequence block is reserved on the card before it stalls
    arrivals: list[float] = []
    done = threading.Event()

    def receive():
        while not done.is_set():
            try:
                rx.recv(2048)
                arrivals.append(time.monotonic())
            except socket.timeout:
                pass

    listener = threading.Thread(target=receive, daemon=True)
    listener.start()
    assert _sh("fsfreeze", "-f", str(card)).returncode == 0
    thaw = threading.Timer(STALL_S, _sh, ("fsfreeze", "-u", str(card)))
    thaw.start()
    try:
        start = time.monotonic()
        unit.run(STALL_S + 1.5)
    finally:
        thaw.join()
        done.set()
        listener.join()
        rx.close()
    during = [t - start for t in arrivals if 0.5 < t - start < STALL_S]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) > 8 * STALL_S and max(gaps) < 0.5, (len(during), max(gaps, default=None))
    # the card answered again before the unit stopped: its last snapshot is on it
    doc = json.loads((card / "unit1.viewers.json").read_text())
    assert doc["format"] == 1 and doc["unit_id"] == 1
