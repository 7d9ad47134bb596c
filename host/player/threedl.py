"""Parse Autodesk .3dl 3D LUTs (Flame and Lustre layouts) into the Cube the grade uses.

A .3dl is integer code values: an optional Lustre header (`3DMESH`, `Mesh M O`: a mesh of
2^M + 1 points, O-bit output), a mesh line (the lattice's input codes, e.g. `0 64 ... 1023`
for 17 points over 10-bit input), then one `R G B` row per lattice point with blue varying
fastest, and Lustre's trailer (`LUT8`, `gamma G`, which OpenColorIO ignores too). Flame files
carry no header: the output depth is the smallest of 8, 10, 12 or 16 bits that holds the
largest value (OpenColorIO lets 8..10 bits overshoot to twice their range; we do not, so
a 12-bit table whose values stay under 2048 is not read as 10-bit and graded 4x too bright).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .cube import Cube, CubeError, _said
from .luttext import text_lines, whole

MAX_N = 65  # lattice points per axis: real .3dl files use 17, 33 or 65
DEPTHS = (8, 10, 12, 16)
_INT_RE = re.compile(r"[0-9]{1,6}")  # ASCII: \d took Arabic-Indic digits
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TRAILER_RE = re.compile(r"LUT(?:8|10|12|16)")


def _depth_for(top: int) -> int:
    return next((d for d in DEPTHS if top <= (1 << d) - 1), 16)


class _Reader:
    def __init__(self, path: str | Path):
        self.path = path
        self.mesh: list[int] | None = None
        self.mesh_line = 0
        self.header: tuple[int, int, int] | None = None  # (line, mesh bits, output bits)
        self.values: list[str] = []  # the rows' words, flat (a list per row is ~3x)
        self.row_lines: list[int] = []

    def fail(self, line: int, msg: str) -> CubeError:
        return CubeError(self.path, line, msg)

    def keyword(self, words: list[str], ln: int) -> None:
        key = words[0]
        if key == "3DMESH" and len(words) == 1:
            return
        if _TRAILER_RE.fullmatch(key) and len(words) == 1:
            return
        if key.lower() == "gamma":
            if len(words) != 2 or not _FLOAT_RE.fullmatch(words[1]) \
                    or not 0.0 < float(words[1]) < 100.0:
                raise self.fail(ln, "gamma needs one number above 0 (Lustre's trailer)")
            return
        if key == "Mesh":
            if self.header is not None:
                raise self.fail(ln, f"duplicate Mesh line (first on line {self.header[0]})")
            if self.mesh is not None:
                raise self.fail(ln, "Mesh line after the mesh: the header comes first")
            if len(words) != 3 or not all(whole(w) is not None and len(w) <= 2 for w in words[1:]):
                raise self.fail(ln, "Mesh needs two integers: mesh bits and output bits "
                                "(e.g. 'Mesh 5 12')")
            m, o = int(words[1]), int(words[2])
            if not 1 <= m <= 6:
                raise self.fail(ln, f"Mesh {m} is out of range 1..6 (3..65 lattice points)")
            if o not in DEPTHS:
                raise self.fail(ln, f"output depth {o} bits is not one of "
                                f"{', '.join(map(str, DEPTHS))}")
            self.header = (ln, m, o)
            return
        raise self.fail(ln, f"unknown keyword {_said(key)} in a .3dl (known: 3DMESH, Mesh, "
                        "LUT8..LUT16, gamma)")

    def line(self, s: str, ln: int) -> None:
        words = s.split()
        if words[0][0].isalpha() or words[0] == "3DMESH":
            return self.keyword(words, ln)
        for w in words:
            if not _INT_RE.fullmatch(w):
                if _FLOAT_RE.fullmatch(w):
                    raise self.fail(ln, f"{_said(w)} is not a whole code value: a .3dl holds "
                                    "integers (a table of fractions is a .cube)")
                raise self.fail(ln, f"{_said(w)} is not a number")
        if len(words) > 3:
            if self.mesh is not None:
                raise self.fail(ln, f"a second mesh line (the first is line {self.mesh_line})")
            if self.row_lines:
                raise self.fail(ln, "mesh line after table rows: it comes first")
            if len(words) > MAX_N:
                raise self.fail(ln, f"mesh of {len(words)} points: more than {MAX_N}")
            self.mesh, self.mesh_line = [int(w) for w in words], ln
        elif len(words) == 3:
            if len(self.row_lines) >= MAX_N ** 3:
                raise self.fail(ln, f"too many rows: more than {MAX_N}^3")
            self.values += words
            self.row_lines.append(ln)
        else:
            raise self.fail(ln, f"expected 3 values per row, got {len(words)}")

    def over(self, table: np.ndarray, bits: int, told: str) -> CubeError:
        """The first row with a value above the largest `bits`-bit code."""
        peaks = table.reshape(-1, 3).max(axis=1)
        i = int(np.argmax(peaks > (1 << bits) - 1))
        return self.fail(self.row_lines[i], f"value {peaks[i]} is above {(1 << bits) - 1}, "
                         f"the largest {bits}-bit code {told}")

    def check_mesh(self) -> tuple[int, int]:
        """The lattice size and the input depth, from the mesh line (or the row count)."""
        n_rows = len(self.row_lines)
        if self.mesh is None:
            n = round(n_rows ** (1 / 3))
            if n ** 3 != n_rows or n < 2:
                raise self.fail(0, f"{n_rows} rows with no mesh line: not a cube of "
                                "lattice points (N^3)")
            if self.header is not None and n != (1 << self.header[1]) + 1:
                raise self.fail(self.header[0], f"'Mesh {self.header[1]}' says "
                                f"{(1 << self.header[1]) + 1} points a side, the rows "
                                f"make {n}")
            return n, 0
        mesh, ln = self.mesh, self.mesh_line
        n = len(mesh)
        if self.header is not None and n != (1 << self.header[1]) + 1:
            raise self.fail(ln, f"mesh has {n} points but 'Mesh {self.header[1]}' on line "
                            f"{self.header[0]} says {(1 << self.header[1]) + 1}")
        bits = _depth_for(mesh[-1])
        top = (1 << bits) - 1
        if mesh[0] != 0 or mesh[-1] != top:
            raise self.fail(ln, f"mesh runs {mesh[0]}..{mesh[-1]}: it must span the whole "
                            f"input, 0..{top} ({bits}-bit)")
        ideal = np.arange(n) * (top / (n - 1))
        off = np.abs(np.array(mesh) - ideal)
        if off.max() > 1.0:
            i = int(np.argmax(off))
            raise self.fail(ln, f"mesh point {i + 1} is {mesh[i]}, not evenly spaced "
                            f"(~{ideal[i]:.0f}): an uneven mesh is not read here; bake it "
                            "to a .cube with ociobakelut --format resolve_cube")
        if n_rows != n ** 3:
            where = self.row_lines[min(n ** 3, n_rows - 1)]
            raise self.fail(where, f"too {'many' if n_rows > n ** 3 else 'few'} rows: "
                            f"a {n}-point mesh needs {n ** 3}, found {n_rows}")
        return n, bits


def parse_3dl(text: str, path: str | Path = "<text>") -> Cube:
    """Parse .3dl text; raises CubeError naming the offending line."""
    r = _Reader(path)
    for ln, raw in text_lines(text, path):
        s = raw.strip()
        if s and not s.startswith("#"):
            if s.startswith("<"):
                raise r.fail(ln, "XML, not a .3dl (a CLF/CTF? see `empathy lut check`'s "
                             "list of formats)")
            r.line(s, ln)
    if not r.row_lines:
        raise r.fail(0, "no table rows (R G B code values) in this .3dl")
    n, in_bits = r.check_mesh()
    table = np.array(r.values, dtype=np.int64).reshape(n, n, n, 3)  # blue fastest: [r][g][b]
    top = int(table.max())
    if r.header is not None:
        out_bits, told = r.header[2], f"Mesh line {r.header[0]}"
        if top > (1 << out_bits) - 1:
            raise r.over(table, out_bits, "the Mesh line gives")
    else:
        out_bits, told = _depth_for(top), f"largest value {top}"
        if top > 65535:
            raise r.over(table, 16, "a .3dl holds")
    lut = (table / float((1 << out_bits) - 1)).astype(np.float32)
    mesh = f"{in_bits}-bit input" if in_bits else "no mesh line"
    return Cube(lut3d=lut, name=Path(str(path)).stem,
                origin=f".3dl, {n}-point lattice ({mesh}), {out_bits}-bit output ({told})")
