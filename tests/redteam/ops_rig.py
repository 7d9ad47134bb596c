"""A venue's heart path end to end for the operations red team (test_ops21.py): simulated
Polar straps on a private BlueZ bus worn by simulated viewers, real `empathy edge run`
processes reading them through bleak, and a real host intake on a UDP port."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.sensors.base import Beat
from empathy.sim.seat import SimSource
from empathy.transports import open_receiver
from empathy.wire import Flag


class Wearer:
    """A simulated viewer wearing a strap; keeps the beats the strap was given (the truth)."""

    def __init__(self, seed: int, **query):
        query = {"seed": str(seed), "nuisance": "0", **query}
        self.src = SimSource("sim://strap?" + "&".join(f"{k}={v}" for k, v in query.items()),
                             query, faces=False)
        self.beats: list[tuple[int, float]] = []

    def read(self, timeout_s: float = 0.0):
        got = self.src.read(timeout_s=timeout_s)
        self.beats += [(r.ts_us, r.rr_ms) for r in got if isinstance(r, Beat)]
        return got

    def rate(self) -> float:
        """The mean rate of every beat given, bpm."""
        return 60000.0 / float(np.mean([rr for _, rr in self.beats]))


def straps(bz, seeds) -> list[Wearer]:
    """One Polar H10 per seed (names as Polar's: "Polar H10 " and the device id), worn; each
    wearer's `strap` is its SimStrap."""
    out = []
    for i, seed in enumerate(seeds):
        strap = bz.add_strap(f"C0:FF:EE:00:21:{i:02X}", f"Polar H10 A21B{i:04X}")
        w = Wearer(seed)
        w.strap = strap
        bz.wear(strap, w)
        out.append(w)
    return out


class SecondSlot:
    """A Polar H10 takes two connections, so it goes on advertising while one client holds
    it (the simulated radio stops at the first): this advertises the given straps while
    they are connected and in range, as the simulated radio does the others."""

    def __init__(self, straps, every_s: float = 0.25):
        self.straps, self.every_s, self._stop = straps, every_s, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.wait(self.every_s):
            for s in self.straps:
                if s.in_range and s.connected:
                    s.advertise(-58)

    def close(self):
        self._stop.set()
        self._t.join(2)


class Host:
    """A host's intake on a real UDP port, answering clock sync, in a thread."""

    def __init__(self, keys: Keystore):
        self.rx = open_receiver("udp://127.0.0.1:0")
        self.intake, self._stop = Intake(keys.units, reply=self.rx.reply), threading.Event()
        self.events: list[dict] = []  # the intake's health events, as a show logs them
        self._t = threading.Thread(target=self._serve, daemon=True)
        self._t.start()

    def _serve(self):
        while not self._stop.is_set():
            self.intake.feed(self.rx.recv_batch(0.05))
            self.events += self.intake.check_health()

    def close(self):
        self._stop.set()
        self._t.join(2)
        self.rx.close()

    def hr(self, seat_id: int) -> np.ndarray:
        """(host ts µs, HR with HR_OK else NaN) per sample the host kept for the seat."""
        track = self.intake.seats.get(seat_id)
        rows = [(s.ts_us, s.hr_bpm if s.flags & Flag.HR_OK else np.nan)
                for s in (track.history if track else [])]
        return np.array(rows, float).reshape(-1, 2)


def unit_config(tmp: Path, keys: Keystore, unit: int, port: int, seats: dict[int, str],
                **extra) -> Path:
    """An edge unit's TOML: its seats' sources by seat id."""
    keys.for_unit(unit).save(tmp / f"unit{unit}.keys.toml")
    cfg = tmp / f"edge{unit}.toml"
    lines = [f"unit_id = {unit}", f'uplink = "udp://127.0.0.1:{port}"',
             f'keystore = "{tmp}/unit{unit}.keys.toml"', "faces = false",
             f'seq_file = "{tmp}/seq{unit}"', *(f"{k} = {v}" for k, v in extra.items())]
    for seat, src in seats.items():
        lines += ["[[seats]]", f"seat_id = {seat}", f'source = "{src}"']
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def edge(cfg: Path, duration_s: float) -> subprocess.Popen:
    """`empathy edge run` on cfg (inherits the simulated bus's DBUS_SYSTEM_BUS_ADDRESS)."""
    return subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                             str(cfg), "--duration", str(duration_s), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def shared(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Of seat a's HR_OK samples, the share whose HR is seat b's nearest-in-time HR_OK value
    to the wire's 0.01 bpm (two hearts agree so by chance; one heart read twice always), and
    how many there were."""
    a, b = a[~np.isnan(a[:, 1])], b[~np.isnan(b[:, 1])]
    if not len(a) or not len(b):
        return 0.0, len(a)
    j = np.clip(np.searchsorted(b[:, 0], a[:, 0]), 0, len(b) - 1)
    k = np.clip(j - 1, 0, len(b) - 1)
    same = (np.abs(a[:, 1] - b[j, 1]) < 0.005) | (np.abs(a[:, 1] - b[k, 1]) < 0.005)
    return float(np.mean(same)), len(a)


def wait_for(cond, timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)
