"""Parse Sony Imageworks .spi3d and .spi1d LUTs into the Cube the grade uses.

.spi3d: `SPILUT 1.0`, `3 3`, `N N N`, then one `i j k R G B` row per lattice point, the
indices explicit (rows may come in any order: each point must come exactly once).
.spi1d: `Version 1`, `From MIN MAX`, `Length N`, `Components 1|3`, then the values inside
`{` `}`, one row per entry (one value applies to all three channels).
Values are floats: each must be finite and within a half-float's range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cube import _DOMAIN_LIMIT, _MIN_SPAN, _NUM_RE, MAX_1D, Cube, CubeError, _said
from .luttext import text_lines, whole

MAX_N = 129  # lattice points per axis (OpenColorIO's own limit)


def _numbers(path, words: list[str], ln: int, limit: float = 3.0e38) -> list[float]:
    """The words as numbers: table values within float32, a domain (limit) within half."""
    for w in words:
        if not _NUM_RE.fullmatch(w):
            raise CubeError(path, ln, f"{_said(w)} is not a number")
    vals = [float(w) for w in words]
    for v, w in zip(vals, words):
        if not abs(v) <= limit:
            raise CubeError(path, ln, f"value {_said(w)} is outside ±{limit:g} (the widest "
                            f"{'half-float' if limit == _DOMAIN_LIMIT else 'float32'} value)")
    return vals


def _content(text: str, path):
    """(line number, words) of each line that says something."""
    for ln, raw in text_lines(text, path):
        words = raw.split("#")[0].split()
        if words:
            yield ln, words


def parse_spi3d(text: str, path: str | Path = "<text>") -> Cube:
    """Parse .spi3d text; raises CubeError naming the offending line."""
    lines = _content(text, path)
    ln, words = next(lines, (0, []))
    if words[:1] != ["SPILUT"]:
        raise CubeError(path, ln, "first line must be 'SPILUT 1.0' (is this a .spi3d?)")
    ln, words = next(lines, (ln, []))
    if words != ["3", "3"]:
        raise CubeError(path, ln, "second line must be '3 3' (RGB in, RGB out)")
    ln, words = next(lines, (0, []))
    if len(words) != 3 or len(set(words)) != 1 or not 2 <= (whole(words[0]) or 0) <= MAX_N:
        raise CubeError(path, ln, f"third line must be the lattice size 'N N N', N 2..{MAX_N}")
    n = int(words[0])
    table = np.zeros((n, n, n, 3), np.float32)
    seen = np.zeros((n, n, n), np.int64)  # line of each lattice point, 0 where not yet read
    for ln, words in lines:
        if len(words) != 6:
            raise CubeError(path, ln, f"expected 'i j k R G B', got {len(words)} values")
        idx = [whole(w) for w in words[:3]]
        if not all(x is not None and x < n for x in idx):
            raise CubeError(path, ln, f"lattice index '{' '.join(words[:3])[:40]}' is not "
                            f"three integers 0..{n - 1}")
        i, j, k = idx  # type: ignore[misc]
        if seen[i, j, k]:
            raise CubeError(path, ln, f"point {i} {j} {k} again (first on line "
                            f"{seen[i, j, k]})")
        seen[i, j, k] = ln
        table[i, j, k] = _numbers(path, words[3:], ln)
    if not seen.all():
        i, j, k = np.argwhere(seen == 0)[0]
        raise CubeError(path, 0, f"lattice point {i} {j} {k} is missing "
                        f"({int((seen == 0).sum())} of {n ** 3} missing)")
    return Cube(lut3d=table, name=Path(str(path)).stem, origin=f".spi3d, {n}-point lattice")


def _header(path, lines) -> tuple[dict[str, tuple[int, list[float]]], int]:
    """The keys before '{' (with their lines), and the line of the '{'."""
    keys: dict[str, tuple[int, list[float]]] = {}
    counts = {"Version": 1, "From": 2, "Length": 1, "Components": 1}
    for ln, words in lines:
        if words == ["{"]:
            return keys, ln
        key = words[0]
        if key not in counts:
            raise CubeError(path, ln, f"unknown keyword {_said(key)} in a .spi1d (known: "
                            "Version, From, Length, Components, then '{')")
        if key in keys:
            raise CubeError(path, ln, f"duplicate {key} (first on line {keys[key][0]})")
        if len(words) != counts[key] + 1:
            raise CubeError(path, ln, f"{key} needs {counts[key]} value(s)")
        limit = _DOMAIN_LIMIT if key == "From" else 3.0e38  # the others: checked below
        keys[key] = (ln, _numbers(path, words[1:], ln, limit))
    raise CubeError(path, 0, "no '{' opening the table")


def parse_spi1d(text: str, path: str | Path = "<text>") -> Cube:
    """Parse .spi1d text; raises CubeError naming the offending line."""
    lines = _content(text, path)
    keys, brace = _header(path, lines)
    for key in ("Version", "Length"):
        if key not in keys:
            raise CubeError(path, brace, f"no {key} line before the table")
    ln, (version,) = keys["Version"]
    if version != 1:
        raise CubeError(path, ln, f"Version {version:g}: only Version 1 is known")
    ln, (length,) = keys["Length"]
    if length != int(length) or not 2 <= length <= MAX_1D:
        raise CubeError(path, ln, f"Length {length:g} is not an integer 2..{MAX_1D}")
    ln, (comps,) = keys.get("Components", (0, [1.0]))
    if comps not in (1, 3):
        raise CubeError(path, ln, f"Components {comps:g}: 1 or 3 are read here")
    ln, (lo, hi) = keys.get("From", (0, [0.0, 1.0]))
    if not hi - lo >= _MIN_SPAN * max(1.0, abs(lo), abs(hi)):
        raise CubeError(path, ln, f"From {lo:g} {hi:g}: the minimum must be below the maximum")
    rows: list[list[float]] = []
    last = brace
    for last, words in lines:
        if words == ["}"]:
            break
        if len(words) != comps:
            raise CubeError(path, last, f"expected {int(comps)} value(s) per row, got "
                            f"{len(words)}")
        if len(rows) == length:
            raise CubeError(path, last, f"too many rows: Length is {int(length)}")
        rows.append(_numbers(path, words, last))
    else:
        raise CubeError(path, last, "no '}' closing the table")
    if len(rows) < length:
        raise CubeError(path, last, f"too few rows: Length is {int(length)}, found {len(rows)}")
    extra = next(lines, None)
    if extra is not None:
        raise CubeError(path, extra[0], "text after the table's '}'")
    lut = np.array(rows, np.float32)
    if comps == 1:
        lut = np.repeat(lut, 3, axis=1)
    return Cube(lut1d=lut, domain_min=(lo,) * 3, domain_max=(hi,) * 3,
                name=Path(str(path)).stem, origin=f".spi1d, {int(length)} entries, "
                f"{int(comps)} component(s)")
