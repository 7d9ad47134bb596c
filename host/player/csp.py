"""Parse Rising Sun / Cinespace .csp LUTs into the Cube the grade uses.

A .csp is `CSPLUTV100`, `1D` or `3D`, an optional `BEGIN METADATA` .. `END METADATA` block,
then a prelut per channel (a count, a line of input points, a line of the outputs there:
any spacing, per channel) and the table (`N` and N rows for 1D, `N N N` and N^3 rows with
red fastest for 3D), indexed over 0..1 by the prelut's output.

The prelut is a cubic through its points (Cinespace's interpolator, as OpenColorIO runs it);
like OpenColorIO we sample it at 65536 points over its input range into the 1D shaper, and
leave it out where every channel's prelut is the identity. A 1D table after a prelut is
composed into that one shaper (a Cube holds one 1D table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cube import _DOMAIN_LIMIT, _MIN_SPAN, MAX_1D, Cube, CubeError
from .luttext import text_lines, whole
from .spi import MAX_N, _numbers

SAMPLES = 65536  # the prelut resampled, as OpenColorIO does


def spline(x: np.ndarray, stims: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Cinespace's prelut interpolation at x (clamped to the end values outside)."""
    n = len(stims)
    seg = np.clip(np.searchsorted(stims, x, side="right") - 1, 0, n - 2)
    width = stims[1:] - stims[:-1]
    z = (x - stims[seg]) / width[seg]
    f0, f1 = vals[seg], vals[seg + 1]
    if n == 2:
        out = f0 + z * (f1 - f0)
    else:
        # a point's slope (per unit of the next segment's width): the chord over its
        # neighbours, weighted by their spacing; the end segments are quadratics
        lo = np.maximum(seg - 1, 0)
        hi = np.minimum(seg + 2, n - 1)
        d0 = (f1 - vals[lo]) / (1 + (stims[seg] - stims[lo]) / width[seg])
        d1 = (vals[hi] - f0) / (1 + (stims[hi] - stims[seg + 1]) / width[seg])
        cubic = f0 + z * (d0 + z * (-3 * f0 - 2 * d0 + 3 * f1 - d1 + z * (2 * f0 + d0 - 2 * f1
                                                                             + d1)))
        first = f0 + z * ((-2 * f0 + 2 * f1 - d1) + z * (f0 - f1 + d1))
        last = f0 + z * (d0 + z * (-f0 + f1 - d0))
        out = np.where(seg == 0, first, np.where(seg == n - 2, last, cubic))
    return np.where(x < stims[0], vals[0], np.where(x > stims[-1], vals[-1], out))


def _lines(text: str, path):
    """(line number, words) of each line with words, the metadata block left out."""
    meta = False
    for ln, raw in text_lines(text, path, MAX_1D * 40):  # a prelut's line: 65536 points
        s = raw.strip()
        if s == "BEGIN METADATA":
            meta = True
        elif s == "END METADATA":
            meta = False
        elif s and not meta:
            yield ln, s.split()


def _prelut(path, lines, ch: str) -> tuple[np.ndarray, np.ndarray]:
    ln, words = next(lines, (0, []))
    if len(words) != 1 or not 2 <= (whole(words[0]) or 0) <= MAX_1D:
        raise CubeError(path, ln, f"{ch} prelut: expected its point count 2..{MAX_1D}")
    n = int(words[0])
    got = []
    for what in ("input points", "outputs"):
        ln, words = next(lines, (ln, []))
        if len(words) != n:
            raise CubeError(path, ln, f"{ch} prelut: expected {n} {what}, got {len(words)}")
        got.append(np.array(_numbers(path, words, ln, _DOMAIN_LIMIT), np.float64))
        if what == "input points":
            steps = np.diff(got[0])
            if not (steps > 0).all():
                raise CubeError(path, ln, f"{ch} prelut: input points must increase")
            if got[0][-1] - got[0][0] < _MIN_SPAN * max(1.0, *np.abs(got[0][[0, -1]])):
                raise CubeError(path, ln, f"{ch} prelut: input points span almost nothing")
    return got[0], got[1]


def parse_csp(text: str, path: str | Path = "<text>") -> Cube:
    """Parse .csp text; raises CubeError naming the offending line."""
    lines = _lines(text, path)
    ln, words = next(lines, (0, []))
    if words != ["CSPLUTV100"]:
        raise CubeError(path, ln, "first line must be 'CSPLUTV100' (is this a .csp?)")
    ln, words = next(lines, (ln, []))
    if words not in (["1D"], ["3D"]):
        raise CubeError(path, ln, "second line must be '1D' or '3D'")
    three = words == ["3D"]
    pre = [_prelut(path, lines, ch) for ch in ("red", "green", "blue")]
    ln, words = next(lines, (ln, []))
    size_ok = all(whole(w) is not None for w in words) and len(words) == (3 if three else 1)
    n = int(words[0]) if size_ok else 0
    top = MAX_N if three else MAX_1D
    if size_ok and len(set(words)) != 1:
        raise CubeError(path, ln, f"a {'x'.join(words)} table: only equal sizes (N N N) are "
                        "read (OpenColorIO refuses it too)")
    if not size_ok or not 2 <= n <= top:
        raise CubeError(path, ln, f"expected the table size ({'N N N' if three else 'N'}, "
                        f"N 2..{top})")
    want = n ** 3 if three else n
    vals: list[float] = []
    for ln, words in lines:
        if len(words) != 3:
            raise CubeError(path, ln, f"expected 3 values per row, got {len(words)}")
        if len(vals) == 3 * want:
            raise CubeError(path, ln, f"too many rows: the table has {want}")
        vals += _numbers(path, words, ln)
    if len(vals) < 3 * want:
        raise CubeError(path, ln, f"too few rows: expected {want}, found {len(vals) // 3}")
    table = np.array(vals, np.float64).reshape(-1, 3)
    used = [not (len(i) == len(o) and np.allclose(o, i, rtol=1e-6, atol=0)) for i, o in pre]
    dmin = tuple(float(i[0]) for i, _ in pre) if any(used) else (0.0,) * 3
    dmax = tuple(float(i[-1]) for i, _ in pre) if any(used) else (1.0,) * 3
    shaper = None
    if any(used):
        t = np.linspace(0.0, 1.0, SAMPLES)
        shaper = np.stack([spline(i[0] + t * (i[-1] - i[0]), i, o) for i, o in pre], axis=-1)
    kind = f"{n}-point lattice" if three else f"{n}-entry 1D table"
    origin = f".csp, {kind}" + (", prelut" if shaper is not None else "")
    if three:
        lut3d = table.reshape(n, n, n, 3).transpose(2, 1, 0, 3).astype(np.float32)  # red fastest
        return Cube(lut1d=None if shaper is None else shaper.astype(np.float32), lut3d=lut3d,
                    domain_min=dmin, domain_max=dmax,  # type: ignore[arg-type]
                    shaper_domain_min=(0.0,) * 3, shaper_domain_max=(1.0,) * 3,
                    name=Path(str(path)).stem, origin=origin)
    if shaper is not None:  # the 1D table (linear over 0..1) after the prelut, sampled
        grid = np.linspace(0.0, 1.0, n)
        table = np.stack([np.interp(np.clip(shaper[:, c], 0, 1), grid, table[:, c])
                          for c in range(3)], axis=-1)
    return Cube(lut1d=table.astype(np.float32), domain_min=dmin, domain_max=dmax,  # type: ignore
                name=Path(str(path)).stem, origin=origin)
