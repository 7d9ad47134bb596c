"""Where the product keeps files on a machine: one home for each folder (XDG base dirs).

    state_dir()  $XDG_STATE_HOME/empathy (default ~/.local/state/empathy): what a process
                 carries over its restarts (a unit's packet sequence, a policy's memory)
    data_dir()   $XDG_DATA_HOME/empathy (default ~/.local/share/empathy): what people made
                 and keep (the calibration store)
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "XDG_STATE_HOME"  # a harness (a bench) points a whole run elsewhere with it


def _xdg(var: str, default: str) -> Path:
    base = os.environ.get(var) or ""
    # The XDG spec: a relative path in these variables is invalid and must be ignored.
    return Path(base) if os.path.isabs(base) else Path.home() / default


def state_dir(*parts: str) -> Path:
    return _xdg(STATE_ENV, ".local/state").joinpath("empathy", *parts)


def data_dir(*parts: str) -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share").joinpath("empathy", *parts)
