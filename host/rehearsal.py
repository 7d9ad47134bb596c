"""Rehearsal: the artist's hand on a simulated audience, to walk every branch before opening.

`empathy demo --rehearse` runs the story on simulated seats whose arousal drive takes an
extra push from a number in -1..1 kept in a file (`sim://seat?nudge=PATH`, re-read four
times a second). `Rehearsal` writes that number; the dashboard's rehearsal slider and, in
a terminal, the keyboard (`+`/`-`, arrow keys, `0`) set it through the show's controls, so
the push is logged with every other control. Nothing here touches a real audience: a show
without a rehearsal refuses the control.

`branch_coverage` counts how often each option of each decision was taken, so the artist
can see which branches are still unwalked.
"""

from __future__ import annotations

import logging
import math
import os
import select
import sys
import threading
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger("empathy.host.rehearsal")

STEP = 0.25  # one key press
KEYS = {"+": 1, "=": 1, "\x1b[A": 1, "-": -1, "_": -1, "\x1b[B": -1}  # arrows: up, down


def audience_push(value) -> float:
    """A push on the simulated audience: a finite number within -1..1, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not -1.0 <= value <= 1.0:
        raise ValueError(f"the audience push must be a number within -1..1, got {value!r}")
    return float(value)


class Rehearsal:
    """The push on the simulated audience, in the file its seats read."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.value = 0.0
        self.set(0.0)

    def set(self, value: float) -> None:
        self.value = audience_push(value)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{self.value:.3f}\n")
        os.replace(tmp, self.path)  # the seats never read half a number


class Keyboard:
    """Keys in a terminal push the audience: + / up calmer->excited, - / down, 0 resets.

    Reads the terminal in cbreak mode on its own thread; `close()` puts it back as it was.
    `act(value)` is called with the new push (the show's `nudge_audience`)."""

    def __init__(self, current: Callable[[], float], act: Callable[[float], None],
                 stream=None):
        import termios
        import tty

        self.stream = stream or sys.stdin
        self.fd = self.stream.fileno()
        self.current, self.act = current, act
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="rehearsal-keys", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            key = os.read(self.fd, 8).decode("utf-8", "replace")
            value = self.value_after(key, self.current())
            if value is not None:
                try:
                    self.act(value)
                except ValueError as e:  # the show refused it: say why, keep reading
                    log.warning("rehearsal key %r: %s", key, e)

    @staticmethod
    def value_after(key: str, value: float) -> Optional[float]:
        if key in ("0", " "):
            return 0.0
        if key in KEYS:
            return max(-1.0, min(1.0, round(value + KEYS[key] * STEP, 3)))
        return None

    def close(self) -> None:
        import termios

        self._stop.set()
        self._thread.join(1)
        termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)


def branch_coverage(story, decisions: list[dict]) -> dict[str, dict[str, int]]:
    """decision -> option -> times taken (0: not walked yet), for every decision's options."""
    out = {d.id: {o: 0 for o in d.options} for d in story.decisions.values()}
    for d in decisions:
        if d["decision"] in out and d["chosen"] in out[d["decision"]]:
            out[d["decision"]][d["chosen"]] += 1
    return out


def story_paths(story, limit: int = 64) -> list[tuple[list[str], float]]:
    """Every way through the story from its start to an ending, with its length in seconds
    (conditions aside; a loop is followed once). At most `limit` paths."""
    out: list[tuple[list[str], float]] = []
    todo = [[story.start]]
    while todo and len(out) < limit:
        path = todo.pop()
        nxt = [s for s in story.successors(path[-1]) if s not in path]
        if not nxt:
            out.append((path, sum(story.segments[s].duration_s for s in path)))
        todo.extend(path + [s] for s in reversed(nxt))
    return out
