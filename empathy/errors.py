"""What the CLI's error boundary (empathy/cli.py) treats as the user's mistake.

A user error is something a person can fix: a wrong path, a bad config value, a sensor
that is not plugged in, a broker that is down. It is shown as one line,
``empathy <noun> <verb>: what went wrong (what to do)``, with a non-zero exit. Anything
else is a bug: a short line and the full trace saved to a file.

Modules raise their own error classes (ConfigError, SourceError, ...); they are named
here by import path, so the CLI needs no import to recognise them, with the hint shown
when the error carries none of its own.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Optional


class UserError(Exception):
    """A mistake the user can fix. `hint` says how; `exit_code` defaults to 1."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", exit_code: Optional[int] = None):
        super().__init__(message)
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


# class (module.qualname) -> what to do about it
KNOWN: dict[str, str] = {
    "empathy.errors.UserError": "",
    "empathy.config.ConfigError": "fix the file; `empathy config check FILE` lists every problem",
    "empathy.sensors.base.SourceError": "check the source URL and that the device is plugged "
                                        "in: `empathy sensors scan`",
    "empathy.transports.TransportError": "check the URL and that the host or broker runs: "
                                         "`empathy doctor --config FILE`",
    "empathy.host.story.StoryError": "`empathy story check FILE` explains each problem",
    "empathy.keys.KeyError_": "`empathy keys new UNITS --keystore PATH` makes a keystore",
    "empathy.host.player.cube.CubeError": "`empathy lut check FILE` says what is wrong",
    "empathy.host.player.outputs.OutputError": "check the display and sound device with "
                                               "`empathy doctor --config FILE`, or add a "
                                               "fallback: output = [\"kms\", \"file:PATH\"]",
    "empathy.calibration.recording.RecordingError": "check the recording's format "
                                                    "(docs/calibration.md)",
    "empathy.edge.signal_columns.SignalFileError": "see `empathy signal hr --help` for the "
                                                "file formats",
    "empathy.edge.infer.ModelError": "`empathy doctor` checks the models and their runtime",
    "empathy.sim.impact.ImpactError": "check the impact file (docs/story.md)",
    "empathy.host.session.store.SessionError": "`empathy session list` shows the sessions",
    "empathy.wire.WireError": "",
}

_OS_HINTS = {
    errno.ENOENT: "check the path",
    errno.EACCES: "check the file's permissions and the user running this",
    errno.EPERM: "check the file's permissions and the user running this",
    errno.EISDIR: "give a file, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOSPC: "free some disk space",
    errno.EROFS: "the file system is read-only: choose a writable place",
    errno.EADDRINUSE: "another program uses that port: choose another or stop it",
    errno.ECONNREFUSED: "nothing listens there: start it, or check host and port",
    errno.EHOSTUNREACH: "check the network and the address",
    errno.ENODEV: "the device is not there: check it is plugged in",
    errno.ENXIO: "the device is not there: check it is plugged in",
    errno.EBUSY: "another program has it open",
}


def classify(exc: BaseException) -> Optional[tuple[str, str, int]]:
    """(message, hint, exit code) for a user error, None for a bug."""
    for cls in type(exc).__mro__:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in KNOWN:
            hint = getattr(exc, "hint", "") or KNOWN[name]
            return str(exc) or type(exc).__name__, hint, int(getattr(exc, "exit_code", 1))
    if isinstance(exc, ModuleNotFoundError):
        return (f"this install lacks the Python package {exc.name!r}",
                "install the role that has it: scripts/install.sh --role edge|camera|host|dev", 1)
    if isinstance(exc, OSError):  # the machine, the network, a path: not our bug
        return _os_message(exc), _os_hint(exc), 1
    return None


def _os_message(e: OSError) -> str:
    what = e.strerror or str(e)
    if e.filename is not None:
        return f"{e.filename}: {what.lower() if what else what}"
    return what


def _os_hint(e: OSError) -> str:
    if e.errno == errno.ENOENT and e.filename:
        parent = Path(str(e.filename)).parent
        if not parent.exists():
            return f"the folder {parent} does not exist: create it or choose another path"
    return _OS_HINTS.get(e.errno, "")
