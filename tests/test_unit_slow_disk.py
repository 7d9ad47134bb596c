"""An edge unit whose state folder stops answering (a slow or dying SD card: a write can
hang for seconds) keeps sending its samples on time: the viewer baselines are written off
the unit's loop (edge/viewer_state.py), and the last one still reaches the file at shutdown.

The disk is real: a small ext4 image mounted on a loop device and frozen (`fsfreeze`), so
every write to it blocks in the kernel until it is thawed, as on a card that stalls. That
needs root and loop devices; elsewhere the test is skipped with the reason."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from empathy import wire
from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.edge.sequence import SeqReserve
from empathy.edge.viewer_state import FORMAT
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


def freeze(card) -> None:
    assert _sh("fsfreeze", "-f", str(card)).returncode == 0


@pytest.fixture
def rx():
    """Where the unit sends (a UDP port here)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


@contextlib.contextmanager
def listening(rx, arrivals: list, on_packet=None):
    """Each packet's arrival time appended to `arrivals` (then `on_packet(count)` called)
    on a thread of its own while the block runs."""
    done = threading.Event()

    def receive():
        while not done.is_set():
            try:
                rx.recv(2048)
            except socket.timeout:
                continue
            arrivals.append(time.monotonic())
            if on_packet:
                on_packet(len(arrivals))

    listener = threading.Thread(target=receive, daemon=True)
    listener.start()
    try:
        yield
    finally:
        done.set()
        listener.join()


def one_seat_unit(card, tmp_path, rx) -> EdgeUnit:
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    return EdgeUnit(EdgeConfig(
        unit_id=1, uplink=f"udp://127.0.0.1:{rx.getsockname()[1]}",
        keystore=str(tmp_path / "k.toml"), seq_file=str(card / "unit1.seq"), sync_hz=0,
        faces=False, seats=[SeatConfig(1, "sim://seat?seed=1&faces=0")]))


@pytest.mark.realtime  # the samples' spacing is real time
def test_a_stalled_state_folder_never_stalls_the_samples(card, tmp_path, rx):
    unit = one_seat_unit(card, tmp_path, rx)  # its sequence block is on the card before it stalls
    arrivals: list[float] = []
    freeze(card)
    thaw = threading.Timer(STALL_S, _sh, ("fsfreeze", "-u", str(card)))
    thaw.start()
    try:
        with listening(rx, arrivals):
            start = time.monotonic()
            unit.run(STALL_S + 1.5)
    finally:
        thaw.join()
    during = [t - start for t in arrivals if 0.5 < t - start < STALL_S]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) > 8 * STALL_S and max(gaps) < 0.5, (len(during), max(gaps, default=None))
    # the card answered again before the unit stopped: its last snapshot is on it
    doc = json.loads((card / "unit1.viewers.json").read_text())
    assert doc["format"] == FORMAT and doc["unit_id"] == 1


@pytest.mark.realtime
def test_a_sequence_block_crossed_while_the_card_stalls_never_stalls_the_samples(
        card, tmp_path, rx, monkeypatch):
    """The unit reserves its sequence numbers on the card a block at a time (edge/sequence.py).
    The card stops answering a quarter block before the unit reaches its saved limit, for
    longer than that quarter takes to send: the next block was saved ahead (from the
    half-way point), so the samples go on; once the card answers they catch up with the
    next reservation, and no number went out beyond what the card held."""
    monkeypatch.setattr(SeqReserve, "BLOCK", 32)  # ~3 s of one seat's packets, not ~90 s
    unit = one_seat_unit(card, tmp_path, rx)
    start_seq, arrivals, stall_s = unit.seq, [], 2.0
    thaw = threading.Timer(stall_s, _sh, ("fsfreeze", "-u", str(card)))

    def on_packet(n):
        if n == 3 * SeqReserve.BLOCK // 4:  # a quarter block short of the limit
            freeze(card)
            thaw.start()

    try:
        with listening(rx, arrivals, on_packet):
            unit.run(6.0)
    finally:
        if thaw.ident:  # started by the packets (an assert below says if not)
            thaw.join()
    assert len(arrivals) > SeqReserve.BLOCK + 4  # it did cross the stalled block boundary
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert max(gaps) < 0.5, max(gaps)
    saved = int((card / "unit1.seq").read_text())
    assert 0 < wire.seq_delta(saved, start_seq) and wire.seq_delta(unit.seq, saved) < 0


@pytest.mark.realtime
def test_a_card_stalled_past_the_saved_limit_holds_the_packets_back(
        card, tmp_path, rx, monkeypatch):
    """No sequence number beyond what the card holds ever goes out: frozen from the start
    for longer than a block takes, the unit sends the block saved before, then waits."""
    monkeypatch.setattr(SeqReserve, "BLOCK", 16)  # ~1.5 s of one seat's packets
    unit = one_seat_unit(card, tmp_path, rx)
    saved = int((card / "unit1.seq").read_text())
    arrivals: list[float] = []
    thawed: list[float] = []

    def thaw():
        thawed.append(time.monotonic())
        _sh("fsfreeze", "-u", str(card))

    freeze(card)
    timer = threading.Timer(2.5, thaw)
    timer.start()
    try:
        with listening(rx, arrivals):
            unit.run(4.0)
    finally:
        timer.join()
    before = sum(t < thawed[0] for t in arrivals)
    assert before == wire.seq_delta(saved, unit.seqs.start) == SeqReserve.BLOCK
    assert len(arrivals) > before + 10  # and it went on once the card answered
