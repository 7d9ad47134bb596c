"""A watcher on a lifeline (edge/lifeline.py) for processes that cannot watch one
themselves: `empathy demo`'s private mosquitto (`--transport mqtt`) and the BlueZ-shaped
bus of `--ble-seat` (its dbus-daemon and dbusmock's mock on it). Killed without a word, the
demo left them running for ever.

A small process of its own, given pidfds of the processes it guards and the lifeline's
clients line (edge/lifeline.py): once that ends (the demo has gone, and the seat units that
use them after it) it sends each SIGTERM, SIGKILL after GRACE_S, and exits; once they have
all exited (stopped by the demo, or failed) it exits having done nothing. Each pidfd is
opened by the process that started them, before it could reap them, so it names that very
process, never a reused pid. The guarded are started as before, so their errors are the
demo's as before. Not PR_SET_PDEATHSIG: mosquitto started as root drops to its own user,
which clears it. Not their parent: dbusmock starts its bus and mock itself, and a parent
killed alone (a stop's fallback) leaves them as orphaned as ever. In a process group of
its own, so a kill of the demo's whole group leaves it to do its work.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys
import time

from empathy.edge.lifeline import OPTION, Lifeline, add_option

log = logging.getLogger("empathy.edge")
GRACE_S = 3.0  # from SIGTERM to SIGKILL: mosquitto and dbus-daemon end in milliseconds


def guard(line: Lifeline, pids: list[int], what: str, out) -> subprocess.Popen:
    """Starts a watcher of the processes `pids` (the caller's children, not yet waited for)
    on `line`'s clients line; it writes to `out` (a file) why it stopped them. `release`
    it once they have been stopped."""
    fds = [os.pidfd_open(pid) for pid in pids]
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "empathy.edge.watcher", what, *map(str, fds), OPTION,
             str(line.clients)], pass_fds=(line.clients, *fds), process_group=0,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    finally:
        for fd in fds:
            os.close(fd)


def release(watcher: subprocess.Popen) -> None:
    """Waits for a watcher whose processes have all been stopped: it ends with them."""
    try:
        watcher.wait(2 * GRACE_S)
    except subprocess.TimeoutExpired:
        watcher.kill()
        watcher.wait()


def _signal(fd: int, sig: int) -> None:
    try:
        signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:  # ended meanwhile
        pass


def _events(poller: select.poll, alive: set[int], timeout_s: float | None) -> set[int]:
    """The descriptors ready within `timeout_s` (None: till one is); the processes among
    them have exited, and leave `alive`."""
    ready = {fd for fd, _ in poller.poll(None if timeout_s is None else timeout_s * 1000)}
    for fd in alive & ready:
        alive.discard(fd)
        poller.unregister(fd)
    return ready


def watch(line: int, pidfds: list[int], what: str) -> None:
    poller, alive = select.poll(), set(pidfds)
    for fd in (*pidfds, line):
        poller.register(fd, select.POLLIN)
    while alive:  # the line ready: its end (nothing is written to it)
        if line in _events(poller, alive, None) and alive:
            break
    if not alive:
        return
    poller.unregister(line)
    log.warning("%s: the process that started it is gone: stopping", what)
    for fd in alive:
        _signal(fd, signal.SIGTERM)
    end = time.monotonic() + GRACE_S
    while alive and time.monotonic() < end:
        _events(poller, alive, max(0.0, end - time.monotonic()))
    for fd in alive:
        log.warning("%s: still running %.0f s after SIGTERM: killed", what, GRACE_S)
        _signal(fd, signal.SIGKILL)


def pidfd_arg(text: str) -> int:
    """An argparse type: an open pidfd of this process's (a number alone could be any file,
    and signalling through it would hit nothing or fail later, mid-stop)."""
    try:
        fd = int(text)
        if fd < 0 or os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:[pidfd]":
            raise ValueError
    except (ValueError, OSError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text}: not an open pidfd (given by the process "
                                         "that starts the watcher)") from None
    return fd


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m empathy.edge.watcher",
                                description="stop processes once a lifeline ends (for "
                                            "`empathy demo`; see edge/watcher.py)")
    p.add_argument("what", help="what is watched, for the log")
    p.add_argument("pidfds", type=pidfd_arg, nargs="+",
                   help="pidfds of what is watched, opened and passed by the demo")
    add_option(p)
    a = p.parse_args(argv)
    if a.lifeline is None:
        p.error(f"{OPTION} is required")
    logging.basicConfig(format="%(asctime)s empathy watcher: %(message)s")
    watch(a.lifeline, a.pidfds, a.what)


if __name__ == "__main__":
    main()
