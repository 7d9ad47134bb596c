"""How each segment really moves people: the simulation's ground truth about the film.

An impact file (TOML, simulation only) gives per segment a tension curve (arousal drive
over seconds into the segment), a valence and the moments of shocks (startles):

    [segments.chase]
    tension = [[0, 0.2], [10, 0.9]]
    valence = -0.3
    shocks = [3.5]

Simulated seats (`sim://`) and simulated audiences (`empathy policy simulate`) read the
same file through this one loader. Without a file, a segment does what the story's own
target says, flat.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Optional

import numpy as np

from empathy import toml_text
from empathy.paths import read_file


class ImpactError(ValueError):
    """An impact file cannot be read or has a bad value; the message names the file."""


@dataclass(frozen=True)
class Impact:
    tension: tuple[tuple[float, float], ...] = ((0.0, 0.0),)  # ((t_s, level), ...)
    valence: float = 0.0
    shocks: tuple[float, ...] = ()  # seconds into the segment

    def drive(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, *self._curve)

    @cached_property
    def _curve(self) -> tuple[np.ndarray, np.ndarray]:  # drive() runs every simulated segment
        return tuple(np.array(a, float) for a in zip(*self.tension))

    def mean_tension(self) -> float:
        """The tension curve's average over its own span (its level if it has one point)."""
        xs, ys = (np.array(a, float) for a in zip(*self.tension))
        if len(xs) < 2 or xs[-1] <= xs[0]:
            return float(ys[-1])
        return float(np.trapezoid(ys, xs) / (xs[-1] - xs[0]))


def _finite(x, what: str, src: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ImpactError(f"{src}: {what} is not a number: {x!r}") from None
    if not math.isfinite(v):
        raise ImpactError(f"{src}: {what} is not finite")
    return v


def load_impacts(path: Optional[str | Path]) -> dict[str, Impact]:
    """segment id -> Impact from an impact file ({} without one)."""
    if not path:
        return {}
    try:
        doc = toml_text.loads(read_file(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ImpactError(f"impact file {path}: {getattr(e, 'strerror', None) or e}") from None
    segs = doc.get("segments", {})
    if not isinstance(segs, dict):
        raise ImpactError(f"{path}: [segments] must be a table")
    out = {}
    for sid, d in segs.items():
        where = f"{path}: segments.{sid}"
        if not isinstance(d, dict):
            raise ImpactError(f"{where} must be a table")
        pts = d.get("tension", [[0, 0]])
        if not isinstance(pts, list) or not pts or not all(
                isinstance(p, list) and len(p) == 2 for p in pts):
            raise ImpactError(f"{where}.tension must be a list of [seconds, level] pairs")
        tension = tuple((_finite(a, "tension time", where), _finite(b, "tension level", where))
                        for a, b in pts)
        shocks = d.get("shocks", [])
        if not isinstance(shocks, list):
            raise ImpactError(f"{where}.shocks must be a list of seconds")
        out[sid] = Impact(tension, _finite(d.get("valence", 0.0), "valence", where),
                          tuple(_finite(s, "shock time", where) for s in shocks))
    return out


def story_impacts(story, path: Optional[str | Path] = None) -> dict[str, Impact]:
    """Every segment of a story: from the impact file where it names one, else the story's
    own target held flat over the segment."""
    out = {sid: Impact(((0.0, s.target_arousal), (s.duration_s, s.target_arousal)),
                       s.target_valence) for sid, s in story.segments.items()}
    given = load_impacts(path)
    if path and not given:
        raise ImpactError(f"impact file {path}: names no segment (add [segments.ID] tables)")
    unknown = sorted(set(given) - set(story.segments))
    if unknown:  # a typo would silently leave that segment on its flat target
        raise ImpactError(f"impact file {path}: segments not in the story: "
                          f"{', '.join(unknown)} (the story's: {', '.join(story.segments)})")
    out.update(given)
    return out
