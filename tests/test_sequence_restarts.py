"""A unit killed (SIGKILL) at arbitrary points and started again never sends a sequence
number twice: the host would refuse the repeats as replays (edge/sequence.py saves the
next block ahead on a thread of its own; nothing past the saved limit may go out)."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time

from empathy import wire
from empathy.keys import Keystore
from polling import wait_for

BLOCK = 16  # short blocks: a kill often falls while the next one is being saved
UNIT = r"""
import sys
from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.edge.sequence import SeqReserve
SeqReserve.BLOCK = int(sys.argv[4])
EdgeUnit(EdgeConfig(unit_id=1, uplink=f"udp://127.0.0.1:{sys.argv[1]}", keystore=sys.argv[2],
                    seq_file=sys.argv[3], sync_hz=0, faces=False,
                    seats=[SeatConfig(s, f"sim://seat?seed={s}&faces=0") for s in range(1, 9)])
         ).run()
"""


def _seq(packet: bytes, keys) -> int:
    if wire.kind_of(packet) == wire.KIND_HEALTH:
        return wire.decode_health(packet, keys).seq
    return wire.decode(packet, keys).seq


def test_a_unit_killed_anywhere_never_sends_a_number_twice(tmp_path):
    ks = Keystore.new([1])
    ks.for_unit(1).save(tmp_path / "k.toml")
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.05)
    rng = random.Random(19)
    runs: list[list[int]] = []
    try:
        for _ in range(6):
            unit = subprocess.Popen([sys.executable, "-c", UNIT, str(rx.getsockname()[1]),
                                     str(tmp_path / "k.toml"), str(tmp_path / "u.seq"),
                                     str(BLOCK)])
            got: list[int] = []

            def take() -> bool:
                try:
                    got.append(_seq(rx.recv(2048), ks.units))
                    return True
                except socket.timeout:
                    return False

            wait_for(lambda: take() or got, 30, "the unit's first packet", every_s=0)
            end = time.monotonic() + rng.uniform(0.05, 1.0)  # ~80 packets a second
            while time.monotonic() < end:
                take()
            unit.send_signal(signal.SIGKILL)
            unit.wait(10)
            while take():  # what it sent before it died
                pass
            runs.append(got)
    finally:
        rx.close()
    every = [s for run in runs for s in run]
    assert len(every) == len(set(every)), "a sequence number was sent twice"
    for before, after in zip(runs, runs[1:]):  # each start goes on past the last run
        assert wire.seq_delta(min(after), max(before)) > 0
    assert len(runs) == 6 and min(map(len, runs)) >= 1
