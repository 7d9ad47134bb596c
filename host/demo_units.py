"""The demo's seat units watched while it plays (`empathy demo`, its kiosk): the first time
none is left running, the operator is told in one line, and the summary and report keep it;
and what they sent, from their stats once they have stopped. Its run folder, its own; free
UDP ports for the units' cues and uplink."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from empathy.errors import UserError
from empathy.paths import Held, hold_lock

log = logging.getLogger("empathy.host.demo")


class UnitsWatch:
    """The demo's seat units, watched: the first time none is left running, one line says
    which went how and where their logs are, and `exited` keeps it for the summary (the show
    goes on, every decision after it the director's default: nobody is measured)."""

    def __init__(self, procs: list, edge_dir: Path, into: str = "the film",
                 then: str = "the show goes on with the director's default at every decision"):
        self.procs, self.edge_dir, self.into, self.then = procs, edge_dir, into, then
        self.exited: dict | None = None
        self._due = 0.0  # polled once a second: the show's loop asks every 20 ms

    def all_gone(self, at_s: float, before_film: bool) -> bool:
        if self.exited is not None or time.monotonic() < self._due:
            return self.exited is not None
        self._due = time.monotonic() + 1.0
        if all(p.poll() is not None for p in self.procs):
            codes = {str(i + 1): p.returncode for i, p in enumerate(self.procs)}
            self.exited = {"at_s": round(at_s, 1), "before_film": before_film,
                           "units": codes}
            log.warning("%s exited %s (%s; logs: %s/unitN.log): %s",
                        "the seat unit has" if len(codes) == 1 else
                        f"all {len(codes)} seat units have", "before the film" if before_film
                        else f"{at_s:.1f} s into {self.into}", exits(codes), self.edge_dir,
                        self.then)
        return self.exited is not None


def exits(codes: dict) -> str:
    """{"1": -9, "2": 1} -> "unit 1 killed (SIGKILL), unit 2 exit 1"."""
    return ", ".join(f"unit {u} " + (f"killed ({signal.Signals(-c).name})"
                                     if c < 0 and -c in signal.valid_signals() else f"exit {c}")
                     for u, c in codes.items())


def edge_stats(out: Path, seats: int) -> tuple[int, set]:
    """(packets the edge units sent, the expression models they used)."""
    sent, models = 0, set()
    for i in range(seats):
        f = out / "edge" / f"unit{i + 1}.stats.json"
        if f.exists():
            try:
                stats = json.loads(f.read_text(errors="replace"))
                sent += int(stats.get("packets_sent", 0))
            except (OSError, ValueError, AttributeError, TypeError) as e:
                log.warning("%s: not a unit's stats (%s; the unit killed as it wrote "
                            "them?): its packets are not counted", f, e)
                continue
            models.add(stats.get("face_model"))
    models.discard(None)
    return sent, models


@contextmanager
def own_folder(out: Path):
    """The run folder (made if need be) is this demo's while it runs. A second demo in it
    (the default --out, typed in two terminals) had its seat units refused, their sequence
    files held by the first's, played to nobody, and crashed on the truth files the first's
    units went on writing."""
    try:
        fd = hold_lock(out / ".demo.lock")
    except Held as e:
        raise UserError(f"another demo runs in {out} (pid {e.pid})",
                        "wait for it to end, or give this one its own --out") from None
    except OSError as e:
        raise UserError(f"--out {out}: {e.strerror or e}", "give it a folder you can write")
    try:
        yield
    finally:
        os.close(fd)


def free_udp_ports(n: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
