"""Parse and write .cube LUTs: Adobe/IRIDAS 1.0 and Resolve's shaper+3D variant.

We parse ourselves (rather than letting OpenColorIO's FileTransform read the file) so a
colourist gets one precise message naming the line that is wrong, and a malformed file
can never reach the renderer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_3D = 256
MAX_1D = 65536

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUM_RE = re.compile(_NUM, re.ASCII)  # \d took Arabic-Indic digits, as float() does
# A line the fast path takes: three numbers, or blank. A block is read whole when removing
# these leaves nothing (a fullmatch of the repeated line took ~100x the block's memory).
_PLAIN_LINE_RE = re.compile(rf"[ \t]*(?:{_NUM}[ \t]+{_NUM}[ \t]+{_NUM}[ \t]*)?\r?\n", re.ASCII)
_BLOCK_CHARS = 1 << 16  # text per block: its rows as str and float64 stay a few MB
_MAX_LINE = 4096  # a 200 MB line of numbers was split into 100 million words (1.4 GB)
_KEYWORDS = {"TITLE", "LUT_1D_SIZE", "LUT_3D_SIZE", "DOMAIN_MIN", "DOMAIN_MAX",
             "LUT_1D_INPUT_RANGE", "LUT_3D_INPUT_RANGE"}

_NONFINITE = {"nan", "inf", "infinity", "-nan"}
# A domain's bounds: no pixel of a half-float (EXR, ACES) frame lies outside +-65504, and a
# span under 1e-4 of its bounds' scale leaves float32 a few steps across the whole table.
_DOMAIN_LIMIT = 65504.0
_MIN_SPAN = 1e-4

Triple = tuple[float, float, float]
_fmt = "{:.7g}".format  # a float32's digits, written
_SAID = 24  # a word longer than any keyword or number is not echoed: a story may name any
# file as its LUT, and a 32-character operator token would reach the log as a "keyword"


def _said(word: str) -> str:
    return f"'{word}'" if len(word) <= _SAID else f"a {len(word)}-character word"


class CubeError(ValueError):
    """A malformed LUT file (.cube or another format lutfile.py reads); `line` is 1-based (0 when the problem is the whole file)."""

    def __init__(self, path: str | Path, line: int, message: str):
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class Cube:
    title: str = ""
    # Input domain of the first table applied: the 1D shaper when present, else the 3D table.
    domain_min: Triple = (0.0, 0.0, 0.0)
    domain_max: Triple = (1.0, 1.0, 1.0)
    lut1d: np.ndarray | None = None  # (N, 3) float32
    lut3d: np.ndarray | None = None  # (N, N, N, 3) float32, indexed [r][g][b]
    # Resolve shaper+3D only: input domain of the 3D table (it sees the shaper's output).
    shaper_domain_min: Triple | None = None
    shaper_domain_max: Triple | None = None
    name: str = field(default="", compare=False)
    origin: str = field(default="", compare=False)  # format and depths, for `lut check`

    @property
    def kind(self) -> str:
        if self.lut1d is not None and self.lut3d is not None:
            return "shaper+3D"
        return "3D" if self.lut3d is not None else "1D"

    @property
    def lut3d_domain(self) -> tuple[Triple, Triple]:
        """Domain in which the 3D table is indexed."""
        if self.lut1d is not None and self.shaper_domain_min is not None:
            return self.shaper_domain_min, self.shaper_domain_max  # type: ignore[return-value]
        return self.domain_min, self.domain_max


def identity_cube(n: int = 33, title: str = "identity") -> Cube:
    """An n^3 table that maps every colour to itself."""
    if not 2 <= n <= MAX_3D:
        raise ValueError(f"identity cube size must be 2..{MAX_3D}, got {n}")
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    r, g, b = np.meshgrid(ramp, ramp, ramp, indexing="ij")
    return Cube(title=title, lut3d=np.stack([r, g, b], axis=-1), name=title)


def write_cube(path: str | Path, cube: Cube) -> None:
    """Write `cube` in the same dialect we read (shaper+3D uses Resolve's keywords)."""
    if cube.lut1d is None and cube.lut3d is None:
        raise ValueError("cube has no table to write")
    lines = []
    if cube.title:
        lines.append(f'TITLE "{cube.title.replace(chr(34), chr(39))}"')
    both = cube.lut1d is not None and cube.lut3d is not None
    dmin, dmax = cube.domain_min, cube.domain_max
    if both:
        lines += [f"LUT_1D_SIZE {len(cube.lut1d)}",  # type: ignore[arg-type]
                  f"LUT_3D_SIZE {cube.lut3d.shape[0]}"]  # type: ignore[union-attr]
        # Resolve's shaper files carry a scalar range per table.
        lines.append(f"LUT_1D_INPUT_RANGE {_fmt(dmin[0])} {_fmt(dmax[0])}")
        smin, smax = cube.lut3d_domain
        lines.append(f"LUT_3D_INPUT_RANGE {_fmt(smin[0])} {_fmt(smax[0])}")
    else:
        key = "LUT_1D_SIZE" if cube.lut1d is not None else "LUT_3D_SIZE"
        table = cube.lut1d if cube.lut1d is not None else cube.lut3d
        lines += [f"{key} {len(table)}",  # type: ignore[arg-type]
                  "DOMAIN_MIN " + " ".join(map(_fmt, dmin)),
                  "DOMAIN_MAX " + " ".join(map(_fmt, dmax))]
    rows = []
    if cube.lut1d is not None:
        rows.append(np.asarray(cube.lut1d, np.float64).reshape(-1, 3))
    if cube.lut3d is not None:
        # .cube order: red varies fastest, so walk [b][g][r].
        rows.append(np.asarray(cube.lut3d, np.float64).transpose(2, 1, 0, 3).reshape(-1, 3))
    body = "\n".join(" ".join(f"{v:.7g}" for v in row) for row in np.concatenate(rows))
    Path(path).write_text("\n".join(lines) + "\n" + body + "\n", encoding="utf-8")


class _Parser:
    def __init__(self, path: str | Path):
        self.path = path
        self.seen: dict[str, int] = {}
        self.values: dict[str, object] = {}
        # (line, column, error) of the first token that is not a number, and of the first
        # that overflows float64: reported once the rows are counted and the domain read
        self.bad_number: tuple[int, int, CubeError] | None = None
        self.overflow: tuple[int, int, CubeError] | None = None

    def note_bad(self, kind: str, tok: str, ln: int, col: int) -> None:
        if getattr(self, kind) is None:
            try:
                self.number(tok, ln)
            except CubeError as e:
                setattr(self, kind, (ln, col, e))

    def fail(self, line: int, msg: str) -> CubeError:
        return CubeError(self.path, line, msg)

    def number(self, tok: str, ln: int) -> float:
        if not _NUM_RE.fullmatch(tok):
            low = tok.lower().lstrip("+-")
            if low in _NONFINITE:
                raise self.fail(ln, f"non-finite value '{tok}'")
            raise self.fail(ln, f"{_said(tok)} is not a number")
        v = float(tok)
        if not np.isfinite(v):
            raise self.fail(ln, f"non-finite value '{tok}'")
        return v

    def keyword(self, key: str, rest: str, ln: int) -> None:
        if key not in _KEYWORDS:
            raise self.fail(ln, f"unknown keyword {_said(key)}")
        if key in self.seen:
            raise self.fail(ln, f"duplicate {key} (first on line {self.seen[key]})")
        self.seen[key] = ln
        if key == "TITLE":
            m = re.fullmatch(r'"([^"]*)"\s*(?:#.*)?', rest)
            self.values[key] = m.group(1) if m else rest.split("#")[0].strip().strip('"')
            return
        toks = rest.split("#")[0].split()
        if key in ("LUT_1D_SIZE", "LUT_3D_SIZE"):
            hi = MAX_1D if key == "LUT_1D_SIZE" else MAX_3D
            if len(toks) != 1 or not re.fullmatch(r"\+?[0-9]{1,9}", toks[0]):
                raise self.fail(ln, f"{key} needs one integer, got '{' '.join(toks)[:40]}'")
            n = int(toks[0])
            if not 2 <= n <= hi:
                raise self.fail(ln, f"{key} {n} is out of range 2..{hi}")
            self.values[key] = n
        elif key in ("DOMAIN_MIN", "DOMAIN_MAX"):
            if len(toks) != 3:
                raise self.fail(ln, f"{key} needs 3 values, got {len(toks)}")
            self.values[key] = tuple(self.number(t, ln) for t in toks)
        else:  # Resolve *_INPUT_RANGE: one min and one max for all channels
            if len(toks) != 2:
                raise self.fail(ln, f"{key} needs 2 values (min max), got {len(toks)}")
            lo, hi_v = (self.number(t, ln) for t in toks)
            if lo >= hi_v:
                raise self.fail(ln, f"{key} min {lo:g} is not below max {hi_v:g}")
            self.values[key] = ((lo,) * 3, (hi_v,) * 3)

    def domain(self) -> tuple[Triple, Triple, Triple | None, Triple | None]:
        v, s = self.values, self.seen
        n1, n3 = "LUT_1D_SIZE" in v, "LUT_3D_SIZE" in v
        has_dom = "DOMAIN_MIN" in v or "DOMAIN_MAX" in v
        for key, needs in (("LUT_1D_INPUT_RANGE", n1), ("LUT_3D_INPUT_RANGE", n3)):
            if key in v and not needs:
                raise self.fail(s[key], f"{key} given but the file has no {key[:6]}_SIZE")
        first_range = "LUT_1D_INPUT_RANGE" if n1 else "LUT_3D_INPUT_RANGE"
        if has_dom and first_range in v:
            raise self.fail(s[first_range], f"{first_range} conflicts with DOMAIN_MIN/DOMAIN_MAX")
        dmin: Triple = (0.0, 0.0, 0.0)
        dmax: Triple = (1.0, 1.0, 1.0)
        if first_range in v:
            dmin, dmax = v[first_range]  # type: ignore[misc]
        dmin = v.get("DOMAIN_MIN", dmin)  # type: ignore[assignment]
        dmax = v.get("DOMAIN_MAX", dmax)  # type: ignore[assignment]
        names = ("DOMAIN_MIN", "DOMAIN_MAX") if has_dom or first_range not in v else (first_range,) * 2
        self.span(dmin, dmax, *names)
        smin = smax = None
        if n1 and n3:
            smin, smax = v.get("LUT_3D_INPUT_RANGE", ((0.0,) * 3, (1.0,) * 3))  # type: ignore[misc]
            self.span(smin, smax, "LUT_3D_INPUT_RANGE", "LUT_3D_INPUT_RANGE")  # type: ignore[arg-type]
        return dmin, dmax, smin, smax

    def span(self, lo: Triple, hi: Triple, lo_key: str, hi_key: str) -> None:
        """A domain the renderer can scale to [0, 1] in float32: else 1/(max - min) or
        max - min overflows and the colours are silently wrong."""
        s = self.seen
        where = {lo_key: s.get(lo_key, s.get(hi_key, 0)), hi_key: s.get(hi_key, s.get(lo_key, 0))}
        for i, ch in enumerate("RGB"):
            for key, x in ((lo_key, lo[i]), (hi_key, hi[i])):
                if abs(x) > _DOMAIN_LIMIT:
                    raise self.fail(where[key], f"{key} {x:g} (channel {ch}) is outside "
                                                f"±{_DOMAIN_LIMIT:g} (the widest half-float value)")
            if lo[i] >= hi[i]:
                raise self.fail(where[hi_key], f"{lo_key} {lo[i]:g} is not below {hi_key} "
                                               f"{hi[i]:g} (channel {ch})")
            width = hi[i] - lo[i]
            if width < _MIN_SPAN * max(1.0, abs(lo[i]), abs(hi[i])):
                name = lo_key if lo_key == hi_key else f"{lo_key}..{hi_key}"
                raise self.fail(where[hi_key], f"{name} spans only {width:g} (channel {ch}): "
                                               f"under {_MIN_SPAN:g} of its scale, no table "
                                               f"can be indexed in it")


class _Rows:
    """The table, converted a block of text at a time into one float32 array: memory stays
    near the table's own size (every row as a str took ~22x the file)."""

    def __init__(self, expected: int):
        self.expected = expected
        self.data = np.empty((expected, 3), np.float32)
        self.n = 0  # rows read; those beyond `expected` are counted, not kept
        self.extra_line = 0  # line of the first row beyond `expected`
        self.bad: tuple[int, str, str] | None = None  # line, text, why: the first row not
        # finite or past float32 (1e300 is a float64)

    def add(self, vals: np.ndarray, lines: list[int] | None = None,
            texts: list[str] | None = None) -> bool:
        """vals: a block's rows (k, 3) float64. False when a row must be named but the block
        came without lines (the fast path): the caller then reads it again line by line."""
        start, k = self.n, len(vals)
        keep = vals[:max(0, self.expected - start)]
        finite = np.isfinite(keep).all(axis=1)
        large = finite & (np.abs(keep) > 3.0e38).any(axis=1)
        crosses = start <= self.expected < start + k
        if lines is None and (crosses or not finite.all() or large.any()):
            return False
        if crosses:
            self.extra_line = lines[self.expected - start]  # type: ignore[index]
        if self.bad is None and (large.any() or not finite.all()):
            i = int(np.argmax(large | ~finite))
            why = "value too large for float32" if finite[i] else "non-finite value"
            self.bad = (lines[i], texts[i], why)  # type: ignore[index]
        with np.errstate(over="ignore"):  # (`bad` says so, once, without numpy's words)
            self.data[start:start + len(keep)] = keep
        self.n += k
        return True


def _slow_block(p: _Parser, block: str, ln0: int, rows: _Rows | None) -> tuple[_Rows | None, int]:
    """Read a block line by line: keywords, comments, and every problem with its line.
    Returns the table (made at the first row) and the block's line count."""
    lines = block.splitlines()
    toks_all: list[str] = []
    row_lines: list[int] = []
    texts: list[str] = []
    for ln, line in enumerate(lines, ln0):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("<"):
            raise p.fail(ln, "XML, not a .cube (a CLF/CTF? name it .clf and see `empathy lut "
                         "check`'s list of formats)")
        first = s.split(None, 1)[0]
        if (s[0].isalpha() or s[0] == "_") and first.lower() not in _NONFINITE:
            if rows is not None or row_lines:
                raise p.fail(ln, f"keyword {_said(first)} after table data")
            key, rest = (s.split(None, 1) + [""])[:2]  # spaces or tabs after the keyword
            p.keyword(key, rest.strip(), ln)
            continue
        if rows is None and not row_lines and "LUT_1D_SIZE" not in p.values \
                and "LUT_3D_SIZE" not in p.values:
            raise p.fail(ln, "table data before LUT_1D_SIZE or LUT_3D_SIZE")
        toks = s.split("#")[0].split()
        if len(toks) != 3:
            raise p.fail(ln, f"expected 3 values per row, got {len(toks)}")
        for i, tok in enumerate(toks):
            if not _NUM_RE.fullmatch(tok):
                p.note_bad("bad_number", tok, ln, i)
                toks[i] = "nan"
            elif p.overflow is None and not math.isfinite(float(tok)):
                p.note_bad("overflow", tok, ln, i)
        toks_all += toks
        row_lines.append(ln)
        texts.append(" ".join(s.split("#")[0].split()))
    if row_lines:
        if rows is None:
            rows = _Rows((p.values.get("LUT_1D_SIZE") or 0)  # type: ignore[operator]
                         + (p.values.get("LUT_3D_SIZE") or 0) ** 3)  # type: ignore[operator]
        rows.add(np.array(toks_all, dtype=np.float64).reshape(-1, 3), row_lines, texts)
    return rows, len(lines)


def parse_cube(text: str, path: str | Path = "<text>") -> Cube:
    """Parse .cube text; raises CubeError naming the offending line."""
    p = _Parser(path)
    if not re.search(r"\S", text):
        raise p.fail(0, "empty file")
    if "\n" not in text:  # CR-only line ends (old Mac tools): blocks end at a newline
        text = text.replace("\r", "\n")
    rows: _Rows | None = None
    pos, ln = 0, 1
    # Blocks of whole lines, each read with C-level regex and split (short enough not to
    # hold the GIL long enough to stall playback); a block of nothing but rows of three
    # numbers goes straight into the table, any other line by line (_slow_block).
    while pos < len(text):
        end = text.find("\n", pos + _BLOCK_CHARS)
        end = len(text) if end < 0 else end + 1
        if end - pos > _BLOCK_CHARS + _MAX_LINE:  # its last line is longer than that
            raise p.fail(ln + text.count("\n", pos, pos + _BLOCK_CHARS),
                         f"a line over {_MAX_LINE} characters: a .cube's are a row of three "
                         "numbers or a keyword (is this the right file?)")
        block = text[pos:end]
        pos = end
        if block.isspace():  # (a regex match per blank line: 200 MB of them took 26 CPU-s)
            ln += block.count("\n")
            continue
        if rows is not None and not _PLAIN_LINE_RE.sub("", block) \
                and rows.add(np.array(block.split(), dtype=np.float64).reshape(-1, 3)):
            ln += block.count("\n")
            continue
        rows, n_lines = _slow_block(p, block, ln, rows)
        ln += n_lines

    n1 = p.values.get("LUT_1D_SIZE")
    n3 = p.values.get("LUT_3D_SIZE")
    if n1 is None and n3 is None:
        raise p.fail(0, "no LUT_1D_SIZE or LUT_3D_SIZE (not a .cube file?)")
    expected = (n1 or 0) + (n3 or 0) ** 3  # type: ignore[operator]
    found = rows.n if rows is not None else 0
    if found < expected:
        raise p.fail(ln - 1, f"too few rows: expected {expected}, found {found}")
    if found > expected:
        raise p.fail(rows.extra_line,  # type: ignore[union-attr]
                     f"too many rows: expected {expected}, found {found}")
    dmin, dmax, smin, smax = p.domain()
    if p.bad_number is not None:  # named token by token, as an overflow is among them
        raise min(p.bad_number, p.overflow or p.bad_number, key=lambda b: b[:2])[2]
    assert rows is not None  # found == expected >= 2
    if rows.bad is not None:
        raise p.fail(rows.bad[0], f"{rows.bad[2]} in row '{rows.bad[1][:60]}'")
    data = rows.data
    lut1d = lut3d = None
    if n1:
        lut1d = data[:n1].copy()  # a copy: the 3D part need not stay alive with it
    if n3:
        t = data[n1 or 0:].reshape(n3, n3, n3, 3)  # type: ignore[arg-type]
        lut3d = np.ascontiguousarray(t.transpose(2, 1, 0, 3))  # [b][g][r] -> [r][g][b]
    title = str(p.values.get("TITLE", ""))
    return Cube(title=title, domain_min=dmin, domain_max=dmax, lut1d=lut1d, lut3d=lut3d,
                shaper_domain_min=smin, shaper_domain_max=smax,
                name=title or Path(str(path)).stem)


def read_cube(path: str | Path) -> Cube:
    """Read a LUT file in any format we read (lutfile.py names them) as a Cube; every
    problem, I/O included, is a CubeError."""
    from .lutfile import read_lut  # it reads .cube text through parse_cube here

    return read_lut(path)
