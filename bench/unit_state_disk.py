"""An edge unit's state folder as an SD card sees it (edge/viewer_state.py).

`python -m empathy.bench.unit_state_disk [--stall 3]`

1. The loop under a stalled card: a unit with one simulated seat sends to a UDP port here
   while its state folder (a 16 MB ext4 image on a loop device) is frozen (`fsfreeze`:
   every write blocks in the kernel, as on a card that stops answering) for `--stall` s
   from its start; the longest gap between its packets, and how many came in the stall.
   Needs root (mount, fsfreeze); skipped with a line elsewhere.
   Then the same where the card stops answering a quarter of a sequence block (edge/
   sequence.py, made `--block` numbers long so the case comes in seconds) before the unit
   reaches its saved limit: the packets must go on (the next block was saved ahead).
2. Writes an hour: a seat's viewer baselines saved every SAVE_EVERY_S over a simulated hour
   in four cases; a write is counted by the file's `saved_us` changing (each write stamps it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from empathy.cli import number_in
from empathy.edge.features import SeatFeatures
from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.edge.sequence import SeqReserve
from empathy.edge.viewer_state import SAVE_EVERY_S, ViewerKeep
from empathy.keys import Keystore
from empathy.sensors.base import Beat

T0 = 7_000_000_000
HOUR_S = 3600


def _sh(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


class NoCard(Exception):
    """This machine cannot make a loop file system to freeze (why, in one line)."""


@contextlib.contextmanager
def loop_card(tmp: Path):
    """A mounted 16 MB ext4 file system of its own under `tmp` (the unit's state folder),
    thawed and unmounted after; NoCard where that needs what this machine lacks."""
    if not all(map(shutil.which, ("mkfs.ext4", "mount", "umount", "fsfreeze"))):
        raise NoCard("needs mkfs.ext4, mount and fsfreeze")
    img, card = tmp / "card.img", tmp / "card"
    card.mkdir()
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    if _sh("mkfs.ext4", "-q", "-F", str(img)).returncode \
            or _sh("mount", "-o", "loop", str(img), str(card)).returncode:
        raise NoCard("cannot make and mount a loop file system here (needs root)")
    try:
        yield card
    finally:
        thaw(card)  # never leave a frozen file system behind
        _sh("umount", str(card))


def freeze(card: Path) -> None:
    """Every write to `card` blocks in the kernel from now, as on a card that stalls."""
    if _sh("fsfreeze", "-f", str(card)).returncode:
        raise RuntimeError(f"fsfreeze -f {card} failed")


def thaw(card: Path) -> None:
    _sh("fsfreeze", "-u", str(card))


@contextlib.contextmanager
def listening(rx: socket.socket, arrivals: list, on_packet=None):
    """Each packet's arrival time on `rx` appended to `arrivals` (then `on_packet(count)`
    called) on a thread of its own while the block runs."""
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


def stall(seconds: float, tmp: Path, block: int = 0) -> str:
    """`block`: the sequence block's length, the card frozen a quarter block short of its
    limit; 0: the usual block, the card frozen from the start."""
    tmp = tmp / f"stall{block}"
    tmp.mkdir()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    usual, SeqReserve.BLOCK = SeqReserve.BLOCK, block or SeqReserve.BLOCK
    try:
        with loop_card(tmp) as card:
            timer = threading.Timer(seconds, thaw, (card,))
            Keystore.new([1]).for_unit(1).save(tmp / "k.toml")
            unit = EdgeUnit(EdgeConfig(
                unit_id=1, uplink=f"udp://127.0.0.1:{rx.getsockname()[1]}",
                keystore=str(tmp / "k.toml"), seq_file=str(card / "u.seq"), sync_hz=0,
                faces=False, seats=[SeatConfig(1, "sim://seat?seed=1&faces=0")]))
            got: list[float] = []

            def on_packet(n):
                if block and n == 3 * block // 4:
                    freeze(card)
                    timer.start()

            with listening(rx, got, on_packet):
                if not block:
                    freeze(card)
                    timer.start()
                start = time.monotonic()
                unit.run(seconds + 2.0 + (block / 10 if block else 0))
                stopped = time.monotonic() - start
                if timer.ident:  # (never started where too few packets came)
                    timer.join()
    except NoCard as e:
        return f"stall: skipped ({e})"
    finally:
        SeqReserve.BLOCK = usual
        rx.close()
    t = [x - start for x in got]
    gap = max(b - a for a, b in zip(t, t[1:]))
    if block:
        return (f"stall {seconds:g} s a quarter block ({block} numbers) before the saved "
                f"limit: longest gap between packets {gap:.2f} s; packets {len(t)}")
    during = sum(0.5 < x < seconds for x in t)
    return (f"stall {seconds:g} s: longest gap between packets {gap:.2f} s; packets in "
            f"0.5..{seconds:g} s: {during}; unit stopped after {stopped:.1f} s")


def writes_an_hour(tmp: Path, source: str, viewer_s: float) -> int:
    """Saves over an hour of a seat whose viewer's strap beats for the first `viewer_s`."""
    path = tmp / f"{abs(hash((source, viewer_s)))}.json"
    cfg = EdgeConfig(unit_id=1, seats=[SeatConfig(1, source)])
    f = SeatFeatures(cfg.baseline_s, rebaseline_after_s=cfg.rebaseline_after_s)
    keep, stamps, beat = ViewerKeep(path, cfg, [f]), set(), 0
    for s in range(int(SAVE_EVERY_S), HOUR_S, int(SAVE_EVERY_S)):
        while beat < min(s, viewer_s):
            f.add(Beat(T0 + beat * 1_000_000, 1000.0))
            f.estimate(T0 + beat * 1_000_000 + 1000)
            beat += 1
        keep.save(T0 + s * 1_000_000)
        stamps.add(json.loads(path.read_text())["saved_us"])
    return len(stamps)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stall", type=number_in(float, 0.1, 600), default=3.0, help="seconds the card is frozen")
    ap.add_argument("--block", type=number_in(int, 8, 4096), default=32,
                    help="sequence block length for the block case (default 32)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(stall(args.stall, tmp))
        print(stall(args.stall, tmp, args.block))
        strap = "ble://C0:FF:EE:00:00:01"
        for what, source, viewer_s in (("a viewer all hour", strap, HOUR_S),
                                       ("a viewer 10 min, then nobody", strap, 600),
                                       ("nobody all hour", strap, 0),
                                       ("no live seat (sim://)", "sim://seat?seed=1", HOUR_S)):
            print(f"writes an hour, {what}: {writes_an_hour(tmp, source, viewer_s)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
