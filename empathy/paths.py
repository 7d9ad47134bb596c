"""Where the product keeps files on a machine: one home for each folder (XDG base dirs).

    state_dir()  $XDG_STATE_HOME/empathy (default ~/.local/state/empathy): what a process
                 carries over its restarts (a unit's packet sequence, a policy's memory)
    data_dir()   $XDG_DATA_HOME/empathy (default ~/.local/share/empathy): what people made
                 and keep (the calibration store)
    runtime_dir() what lasts one boot (a unit's sequence reserve when its card is read-only)
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from empathy.errors import UserError

STATE_ENV = "XDG_STATE_HOME"  # a harness (a bench) points a whole run elsewhere with it


def _xdg(var: str, default: str) -> Path:
    base = os.environ.get(var) or ""
    # The XDG spec: a relative path in these variables is invalid and must be ignored.
    return Path(base) if os.path.isabs(base) else Path.home() / default


def state_dir(*parts: str, home: Path | None = None) -> Path:
    """`home`: another process's XDG_STATE_HOME (a service's, as `empathy doctor` finds it)."""
    return (home or _xdg(STATE_ENV, ".local/state")).joinpath("empathy", *parts)


def data_dir(*parts: str) -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share").joinpath("empathy", *parts)


def runtime_dir() -> Path | None:
    """What lasts this boot and no longer (a tmpfs, writable where a card is not):
    systemd's RuntimeDirectory= ($RUNTIME_DIRECTORY), else $XDG_RUNTIME_DIR/empathy;
    None where neither is set."""
    given = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if os.path.isabs(given):
        return Path(given)
    xdg = os.environ.get("XDG_RUNTIME_DIR") or ""
    return Path(xdg) / "empathy" if os.path.isabs(xdg) else None


def not_a_file(path: str | Path) -> str:
    """What stands at `path` where it is there and is no regular file ("" where it is one,
    or nothing is: opening it says why): a FIFO blocks open() for ever, a device reads
    without end (and a rename over it as root replaces it), a folder takes no file's text."""
    try:
        return kind_of(os.stat(path).st_mode)
    except OSError:
        return ""


def kind_of(mode: int) -> str:
    """What a stat's st_mode is where it is no regular file; "" where it is one."""
    if stat.S_ISREG(mode):
        return ""
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device")


def state_file(path: str | Path, what: str) -> Path:
    """`path` for a file a process reads back or writes; one line (UserError) where
    something other than a file stands there."""
    if (kind := not_a_file(path)):
        raise UserError(f"{what} {path} is {kind}, not a file: give the path of a file")
    return Path(path)


def read_file(path: str | Path, limit: int = 64 << 20) -> bytes:
    """A file's bytes, or OSError with a `strerror` for one line where it is no regular
    file (a FIFO held the reader for ever, /dev/zero filled its memory) or over `limit`."""
    if (kind := not_a_file(path)):
        raise OSError(errno.EINVAL, f"it is {kind}, not a file", str(path))
    if os.stat(path).st_size > limit:
        raise OSError(errno.EFBIG, f"over {limit >> 20} MB, larger than any file it names",
                      str(path))
    return Path(path).read_bytes()


def log_file(path: str | Path, what: str, header: str) -> Path:
    """`path` for a CSV log that begins with `header`: refused (UserError) where a file of
    something else is there. A log opened on a keystore or sequence file named by mistake
    overwrote it (a unit's key gone at its next start) or wrote rows into it."""
    path = state_file(path, what)
    try:
        with open(path, "rb") as f:
            first = f.read(len(header.encode()))
    except OSError:
        return path  # nothing there yet, or opening it says why
    if first and first != header.encode():
        raise UserError(f"{what} {path} holds something else (not this log's column names): "
                        "left as it is; give the log a file of its own")
    return path


class Held(Exception):
    """Another live process holds the lock; `pid`: what it wrote there ('?' if nothing)."""

    def __init__(self, pid: str):
        super().__init__(pid)
        self.pid = pid


def hold_lock(lock: Path, folder_mode: int = 0o777) -> int:
    """Holds `lock` (an exclusive flock, its folder made) for this process's life, the
    holder's pid written in it: the kernel lets go at any death, SIGKILL too. Gives the
    descriptor to keep open; Held where another process holds it, OSError where the lock
    cannot be made (a read-only card, a folder not ours)."""
    lock.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 16).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise Held(pid) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
