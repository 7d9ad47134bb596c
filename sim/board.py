"""A simulated sensor board on a real pseudo-terminal, for demos and tests.

It runs the firmware's own streaming loop (sensors/firmware/board.py) over a simulated
MAX30102 whose PPG follows a simulated viewer's heartbeats (`sim://`) and, with `gsr`, a
GSR front end reading that viewer's skin conductance (sim/eda.py), and writes into the
master side of a pty. The slave side is published at a stable path (a symlink, like
/dev/serial/by-id/...), so `serial://PATH` finds it again after `unplug()` / `replug()`.

    python -m empathy.sim.board --link /tmp/board0 --seed 3
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import time
import tty
from pathlib import Path
from typing import Optional

from empathy.clock import now_us
from empathy.sensors.base import Beat, Pupil
from empathy.sensors.firmware.board import Board
from empathy.sim.eda import EdaViewer
from empathy.sim.seat import SimSource

PPG_DC = 120_000  # IR level with a finger on the sensor (18-bit counts)
PPG_AC = 1_500


class SimPPGSensor:
    """MAX30102-shaped: `fs_hz` and `read()` -> IR samples since the last read.

    The pulse wave follows the viewer's RR intervals: each beat is a sharp dip (systole)
    and a slow return, so peaks in the PPG sit where the viewer's heart beat.
    """

    def __init__(self, viewer: SimSource, fs_hz: int = 100):
        self.viewer, self.fs_hz = viewer, fs_hz
        self.rr_ms = 800.0
        self.phase = 0.0
        self.t_us = now_us()
        self.pupils: list[Pupil] = []

    def read(self) -> list[int]:
        until = now_us()  # like the chip's FIFO: what was sampled when the board asked
        for r in self.viewer.read(timeout_s=0):
            if isinstance(r, Beat):
                self.rr_ms = r.rr_ms
            elif isinstance(r, Pupil):
                self.pupils.append(r)
        out = []
        step = 1e6 / self.fs_hz
        while self.t_us + step <= until:
            self.t_us += step
            self.phase = (self.phase + step / 1000.0 / self.rr_ms) % 1.0
            pulse = math.exp(-((self.phase - 0.15) / 0.06) ** 2) + \
                0.3 * math.exp(-((self.phase - 0.45) / 0.1) ** 2)
            out.append(int(PPG_DC - PPG_AC * pulse))
        return out


class SimGsr:
    """The GSR front end's shape (`fs_hz`, `read()` -> nS since the last read) over the
    viewer's skin conductance, which rises and responds with their hidden arousal."""

    def __init__(self, viewer: SimSource, seed: int, fs_hz: int = 16):
        self.viewer, self.fs_hz = viewer, fs_hz
        self.eda = EdaViewer(fs_hz, seed)
        self.t_us = now_us()

    def read(self) -> list[int]:
        n = int((now_us() - self.t_us) * self.fs_hz // 1_000_000)
        if n <= 0:
            return []
        self.t_us += n * 1_000_000 // self.fs_hz
        us = self.eda.take(n, self.viewer.s.arousal)
        return [min(0xFFFE, max(0, int(round(x * 1000)))) for x in us]


class SimBoard:
    """A board plugged into a pty whose slave is reachable at `link`."""

    def __init__(self, link: str | Path, seed: int = 0, fs_hz: int = 100, board_id: int = 0xEE01,
                 gsr: bool = False):
        self.link = Path(link)
        self.viewer = SimSource(f"sim://board?seed={seed}", {"seed": seed, "faces": "0"},
                                faces=False)
        self.sensor = SimPPGSensor(self.viewer, fs_hz)
        self.gsr = SimGsr(self.viewer, seed) if gsr else None
        self.board = Board(self.sensor, self._write, lambda: now_us() & 0xFFFFFFFF, board_id,
                           name="sim-board", gsr=self.gsr)
        self.master: Optional[int] = None
        self.sent = 0  # frames written while plugged in
        self.dropped = 0
        self.replug()

    def _write(self, data: bytes) -> None:
        if self.master is None:
            return
        try:
            os.write(self.master, data)
            self.sent += 1
        except BlockingIOError:  # nobody reading: a USB CDC port drops, it does not stall
            self.dropped += 1

    def replug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)  # the driver opens it by path, like a real /dev/ttyACM0
        os.set_blocking(master, False)
        self.master = master
        tmp = self.link.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        tmp.replace(self.link)
        self.board.boot()  # a board that gets power again starts over

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def step(self) -> None:
        """One firmware loop turn: PPG frames, a STATUS each second, pupil samples."""
        self.board.step()
        for p in self.sensor.pupils:
            self.board.pupil(p.ts_us & 0xFFFFFFFF, int(p.diameter_mm * 1000),
                             int(p.confidence * 255))
        self.sensor.pupils.clear()

    def close(self) -> None:
        self.unplug()
        self.viewer.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--link", required=True, help="path where the board's tty appears")
    ap.add_argument("--seed", type=int, default=0, help="the simulated viewer's seed")
    ap.add_argument("--fs", type=int, default=100, help="PPG sample rate (Hz)")
    ap.add_argument("--gsr", action="store_true", help="with a GSR front end (skin conductance)")
    args = ap.parse_args(argv)
    board = SimBoard(args.link, args.seed, args.fs, gsr=args.gsr)
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while running:
            board.step()
            time.sleep(0.02)
    finally:
        board.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
