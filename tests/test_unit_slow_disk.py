"""An edge unit whose state folder stops answering (a slow or dying SD card: a write can
hang for seconds) keeps sending its samples on time: the viewer baselines are written off
the unit's loop (edge/viewer_state.py), and the last one still reaches the file at shutdown.

The disk is real: a small ext4 image mounted on a loop device and frozen (`fsfreeze`), so
every write to it blocks in the kernel until it is thawed, as on a card that stalls. That
needs root and loop devices; elsewhere the test is skipped with the reason."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from empathy import wire
from empathy.bench.unit_state_disk import NoCard, freeze, listening, loop_card, thaw
from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.edge.sequence import SeqReserve
from empathy.edge.viewer_state import FORMAT
from empathy.keys import Keystore

STALL_S = 3.0  # how long the card stops answering, from the unit's start (its first save)


@pytest.fixture
def card(tmp_path):
    """A mounted ext4 file system of its own (the unit's state folder) to freeze."""
    try:
        with loop_card(tmp_path) as mnt:
            yield mnt
    except NoCard as e:
        pytest.skip(str(e))


@pytest.fixture
def rx():
    """Where the unit sends (a UDP port here)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


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
    timer = threading.Timer(STALL_S, thaw, (card,))
    timer.start()
    try:
        with listening(rx, arrivals):
            start = time.monotonic()
            unit.run(STALL_S + 1.5)
    finally:
        timer.join()
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
    timer = threading.Timer(stall_s, thaw, (card,))

    def on_packet(n):
        if n == 3 * SeqReserve.BLOCK // 4:  # a quarter block short of the limit
            freeze(card)
            timer.start()

    try:
        with listening(rx, arrivals, on_packet):
            unit.run(6.0)
    finally:
        if timer.ident:  # started by the packets (an assert below says if not)
            timer.join()
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

    def thaw_now():
        thawed.append(time.monotonic())
        thaw(card)

    freeze(card)
    timer = threading.Timer(2.5, thaw_now)
    timer.start()
    try:
        with listening(rx, arrivals):
            unit.run(4.0)
    finally:
        timer.join()
    before = sum(t < thawed[0] for t in arrivals)
    assert before == wire.seq_delta(saved, unit.seqs.start) == SeqReserve.BLOCK
    assert len(arrivals) > before + 10  # and it went on once the card answered
