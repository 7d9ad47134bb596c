"""Simulated hardware for `empathy demo --serial-seat --ble-seat`: seats fed through the
real drivers instead of `sim://`.

- serial: a simulated sensor board process (sim/board.py, running the
  firmware's own loop) writes our protocol into a real pty; the seat reads
  `serial://<pty>` with the pyserial driver.
- BLE: a private BlueZ-shaped system bus (sim/strap.py) with one strap worn by
  a simulated viewer; the seat reads `ble://<address>` with the bleak driver. Edge units
  started after this inherit DBUS_SYSTEM_BUS_ADDRESS, so they talk to that bus.

These viewers do not watch the film (they get no screen cues), so they write no truth file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from empathy.sensors.base import SourceError

STRAP_ADDRESS = "C0:FF:EE:00:0D:01"


class DemoRigs:
    def __init__(self, folder: Path, serial_seat: Optional[int], ble_seat: Optional[int],
                 seed: int = 1):
        if ble_seat is not None and ble_seat < 1:
            raise SourceError("--serial-seat and --ble-seat together need at least 2 seats")
        folder.mkdir(parents=True, exist_ok=True)
        self.sources: dict[int, str] = {}
        self._board: Optional[subprocess.Popen] = None
        self._bluez = None
        self._notified: Optional[int] = None
        try:
            if serial_seat:
                self._start_board(folder, serial_seat, seed)
            if ble_seat:
                self._start_strap(folder, ble_seat, seed)
        except BaseException:
            self.close()
            raise

    def _start_board(self, folder: Path, seat: int, seed: int) -> None:
        link, log = folder / f"board_seat{seat}.tty", folder / f"board_seat{seat}.log"
        self._board_log = open(log, "w")
        self._board = subprocess.Popen(
            [sys.executable, "-m", "empathy.sim.board", "--link", str(link),
             "--seed", str(seed * 1000 + seat)], stdout=self._board_log,
            stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while not link.exists():
            if self._board.poll() is not None or time.monotonic() > end:
                raise SourceError(f"simulated sensor board did not start (see {log})")
            time.sleep(0.05)
        self.sources[seat] = f"serial://{link}"

    def _start_strap(self, folder: Path, seat: int, seed: int) -> None:
        try:
            from empathy.sim.strap import BluezSim
        except ImportError as e:
            raise SourceError(f"--ble-seat needs the test extras (python-dbusmock, "
                              f"dbus-python): pip install 'empathy-engine[test]' ({e})") from None
        from empathy.sim.seat import SimSource

        self._bluez = BluezSim(str(folder / "bluez_mock.log"))
        strap = self._bluez.add_strap(STRAP_ADDRESS, f"Polar H10 seat {seat}")
        s = seed * 1000 + seat
        self._bluez.wear(strap, SimSource(f"sim://strap?seed={s}", {"seed": s}, faces=False))
        self.sources[seat] = f"ble://{STRAP_ADDRESS}"

    def stats(self) -> dict:
        """Where the hardware seats read from, and how many strap notifications went out."""
        out: dict = {"sources": {str(k): v for k, v in self.sources.items()}}
        if self._bluez is not None:
            self._notified = sum(s.notified for s in self._bluez.straps)
        if self._notified is not None:
            out["ble_notifications"] = self._notified
        return out

    def close(self) -> None:
        if self._board is not None:
            self._board.terminate()
            try:
                self._board.wait(10)
            except subprocess.TimeoutExpired:
                self._board.kill()
            self._board_log.close()
            self._board = None
        if self._bluez is not None:
            self.stats()  # keep the counts: the bus is gone after this
            self._bluez.close()
            self._bluez = None
