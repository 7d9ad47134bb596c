"""A lifeline: a process that must not outlive the one that started it (`empathy demo`'s
seat units and simulated boards) stops once its parent is gone, however the parent went.

SIGKILL, the OOM killer or a crashed terminal's session kill send the child nothing, so it
would go on for ever. Instead the parent holds the write end of a pipe and passes only the
read end to its children (`pass_fds`, its number on their command line); the kernel closes
the write end when the parent dies, and a child's blocking read of the pipe then ends (EOF):
it stops as it would on SIGTERM, through its own clean stop. Not PR_SET_PDEATHSIG: it is set
in `preexec_fn`, unsafe while the parent's threads run, and fires when the parent *thread*
that started the child ends. A process started without a lifeline (a seat's `empathy edge
run` under systemd) watches nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import stat
import subprocess
import threading
from typing import Callable

log = logging.getLogger("empathy.edge")
OPTION = "--lifeline"
# systemd's stop, Ctrl-C, a closed terminal (or ssh session): the same clean stop
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stopped(Exception):
    """A stop was asked for while the unit was still starting: the start ends there."""


class Stop:
    """A unit's stop, asked by a signal or its lifeline. Caught first thing (`catch`, before
    the unit's imports, models and sources: seconds on a Pi): with the handlers set only once
    the unit was built, a SIGTERM in its start killed it by Python's default action (no
    line, no stats) and a Ctrl-C by KeyboardInterrupt wherever it fell (exit 130 or 1;
    once a unit still running 120 s on). The start checks it between its steps (`check`),
    so one asked for then ends the start there and closes what was opened."""

    def __init__(self, what: str = "edge unit"):
        self.what, self.by = what, ""
        self.asked = threading.Event()
        self._was: dict = {}  # the handlers `catch` replaced, given back by `release`

    def catch(self) -> None:
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:  # `nohup`, `cmd &`: left ignored
                self._was[sig] = signal.signal(sig, self._signal)

    def release(self) -> None:
        """The handlers as they were before `catch`, once the unit has stopped: a caller in
        the same process (a test, a script calling `edge run`'s main) keeps its own."""
        for sig, was in self._was.items():
            signal.signal(sig, was)
        self._was = {}

    def _signal(self, signum, _frame) -> None:
        self.ask(signal.Signals(signum).name)

    def ask(self, by: str = "") -> None:
        """Stop (`by`: the signal's name, said in one line; a second one changes nothing)."""
        if self.asked.is_set():
            return
        if by:
            log.info("%s: %s: ending the show", self.what, by)
        self.by = by
        self.asked.set()

    def check(self) -> None:
        if self.asked.is_set():
            raise Stopped(self.by)


class Lifeline:
    """The parent's end, one for all the children it starts. `os.pipe` makes both ends
    non-inheritable, so nothing else it starts (GStreamer, a broker) holds the write end
    and keeps the line alive after it; `close` when the children have been stopped.

    A second line, `clients`, ends once the parent and every child started as a client
    (a seat unit) have gone, each holding its write end: what watches it (edge/watcher.py)
    stops a service they use (the broker, the BLE bus) after them, as the parent's own stop
    does; a BLE unit whose bus went first took 21 s to stop instead of 1."""

    def __init__(self):
        self.fd, self._write = os.pipe()
        self.clients, self._clients_write = os.pipe()

    def popen(self, argv: list[str], client: bool = False, **kw) -> subprocess.Popen:
        """`subprocess.Popen(argv + [--lifeline FD])`, the read end passed to it alone (a
        client: the clients line's write end too)."""
        fds = (self.fd, self._clients_write) if client else (self.fd,)
        return subprocess.Popen([*argv, OPTION, str(self.fd)], pass_fds=fds, **kw)

    def close(self) -> None:
        for fd in (self.fd, self._write, self.clients, self._clients_write):
            os.close(fd)


def fd_arg(text: str) -> int:
    """An argparse type: the lifeline's file descriptor, which must be an open pipe."""
    try:
        fd = int(text)
        if fd < 0 or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise ValueError
    except (ValueError, OSError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"{text}: not an open pipe (a lifeline is given by the process that starts this "
            "one; leave it out to run on your own)") from None
    return fd


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(OPTION, type=fd_arg, metavar="FD",
                        help="stop cleanly once this inherited pipe's other end closes (the "
                             "process that started this one has gone): for `empathy demo`")


def watch(fd: int, stop: Callable[[], None], what: str) -> threading.Thread:
    """Calls `stop()` once the lifeline `fd` reaches its end: the parent has gone. Never
    passed on to this process's own children."""
    os.set_inheritable(fd, False)

    def wait() -> None:
        try:
            while os.read(fd, 512):  # the parent never writes: only its end comes
                pass
        except OSError as e:  # not a line any more: no one can stop us by it
            log.warning("%s: lifeline unreadable (%s): watched no more", what, e)
            return
        log.warning("%s: the process that started it is gone: stopping", what)
        stop()

    t = threading.Thread(target=wait, name="lifeline", daemon=True)
    t.start()
    return t
