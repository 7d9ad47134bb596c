"""Read ACES CLF / Autodesk CTF (XML) LUTs that are tables into the Cube the grade uses.

A ProcessList of one LUT3D, one LUT1D, or a LUT1D then a LUT3D (a shaper) is read; any other
process node (Matrix, Range, Log, ASC_CDL...) is refused with the command that bakes the file
to a .cube. The XML goes through expat with every DTD and entity declaration refused (no
entity expansion, no external fetch), each problem naming its line. Array values are scaled
by the node's outBitDepth (`10i`: 1023 is 1.0; `16f`/`32f`: as written); a LUT3D's values
come blue fastest.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from xml.parsers import expat

import numpy as np

from .cube import _NUM_RE, MAX_1D, Cube, CubeError, _said
from .luttext import whole
from .spi import MAX_N

DEPTHS = {"8i": 255.0, "10i": 1023.0, "12i": 4095.0, "16i": 65535.0, "16f": 1.0, "32f": 1.0}
_IGNORED = {"Description", "InputDescriptor", "OutputDescriptor", "Info"}
_ATTRS = {"id", "name", "inBitDepth", "outBitDepth", "interpolation"}
_BAKE = "bake it to a .cube with ociobakelut --format resolve_cube"
# A CLF of tables has a dozen elements a few deep: every element was kept, so 50 MB of
# `<a/>` (13 million of them) ran a reader past 3 GB (MemoryError)
MAX_ELEMENTS, MAX_DEPTH = 10_000, 32
_SPACE_RE = re.compile(r"\s")
_CHARS_PER_VALUE = 40  # an Array's text beyond its dim's values, this long each, is refused


class _Node:
    def __init__(self, tag: str, attrs: dict, line: int):
        self.tag, self.attrs, self.line = tag, attrs, line
        self.children: list[_Node] = []
        self.text: list[str] = []
        self.room = 0  # an Array's characters still allowed


def _tree(path, text: str) -> _Node:
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    root: list[_Node] = []
    count = [0]

    def refuse(*_):
        raise CubeError(path, p.CurrentLineNumber, "a DTD or entity declaration: refused "
                        "(a CLF needs none)")

    def start(tag, attrs):
        count[0] += 1
        if count[0] > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise CubeError(path, p.CurrentLineNumber, f"more than {MAX_ELEMENTS} XML elements "
                            f"or {MAX_DEPTH} levels: a CLF of tables has a few (is this a CLF?)")
        node = _Node(tag, attrs, p.CurrentLineNumber)
        if tag == "Array":  # its text, bounded by its dim (200 MB of values took 1.4 GB)
            dims = [whole(w) or 0 for w in str(attrs.get("dim", "")).split()[:4]]
            node.room = min(math.prod(dims), MAX_N ** 3 * 3) * _CHARS_PER_VALUE + 1024
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def chars(data):
        if stack and stack[-1].tag == "Array":
            a = stack[-1]
            a.room -= len(data)
            if a.room < 0:
                raise CubeError(path, a.line, "Array holds more text than the values its dim "
                                f"'{str(a.attrs.get('dim', ''))[:30]}' needs")
            a.text.append(data)

    p.StartDoctypeDeclHandler = p.EntityDeclHandler = refuse
    p.StartElementHandler, p.EndElementHandler = start, lambda tag: stack.pop()
    p.CharacterDataHandler = chars
    try:
        p.Parse(text, True)
    except expat.ExpatError as e:
        raise CubeError(path, e.lineno, f"not well-formed XML: {expat.ErrorString(e.code)}") \
            from None
    if root[0].tag != "ProcessList":
        raise CubeError(path, root[0].line, f"root element is {_said(root[0].tag)}, not a "
                        "ProcessList (is this a CLF?)")
    return root[0]


def _blocks(text: str, size: int = 1 << 16):
    """The text in pieces of about `size` characters, cut between values: a 129^3 Array's
    values as one list of str took 628 MB for a 24 MB file."""
    pos = 0
    while pos < len(text):
        m = _SPACE_RE.search(text, pos + size)
        end = m.start() if m else len(text)
        yield text[pos:end]
        pos = end


def _array(path, node: _Node, dims: tuple[int, ...]) -> np.ndarray:
    arrays = [c for c in node.children if c.tag == "Array"]
    if len(arrays) != 1:
        raise CubeError(path, node.line, f"{node.tag} needs one Array, has {len(arrays)}")
    a = arrays[0]
    words = str(a.attrs.get("dim", "")).split()
    if not all(whole(w) is not None and len(w) < 7 for w in words) or \
            tuple(int(w) for w in words[:len(dims)]) != dims[:len(words)] or \
            len(words) != len(dims):
        raise CubeError(path, a.line, f"Array dim '{' '.join(words)[:30]}' is not "
                        f"{node.tag}'s {' '.join(map(str, dims))}")
    text, count = "".join(a.text), math.prod(dims)
    found = sum(len(block.split()) for block in _blocks(text))
    if found != count:
        raise CubeError(path, a.line, f"Array has {found} values, its dim needs {count}")
    vals, k = np.empty(count, np.float64), 0
    for block in _blocks(text):
        toks = block.split()
        bad = next((t for t in toks if not _NUM_RE.fullmatch(t)), None)
        if bad is not None:
            raise CubeError(path, a.line, f"Array value {_said(bad)} is not a number")
        vals[k:k + len(toks)] = np.array(toks, np.float64)
        k += len(toks)
    if not (np.abs(vals) <= 3.0e38).all():
        raise CubeError(path, a.line, "Array value outside the float32 range")
    depth = node.attrs.get("outBitDepth", "")
    if depth not in DEPTHS:
        raise CubeError(path, node.line, f"{node.tag} outBitDepth {_said(depth)} is not one "
                        f"of {', '.join(DEPTHS)}")
    return (vals / DEPTHS[depth]).reshape(dims)


def _size(path, node: _Node, top: int) -> int:
    arrays = [c for c in node.children if c.tag == "Array"]
    word = (str(arrays[0].attrs.get("dim", "")).split() or ["?"])[0] if arrays else "?"
    if not 2 <= (whole(word) or 0) <= top:
        raise CubeError(path, arrays[0].line if arrays else node.line,
                        f"{node.tag} size {_said(word)} is not 2..{top}")
    return int(word)


def parse_clf(text: str, path: str | Path = "<text>") -> Cube:
    """Parse CLF/CTF text; raises CubeError naming the offending line."""
    root = _tree(path, text)
    nodes = [c for c in root.children if c.tag not in _IGNORED]
    for n in nodes:
        if n.tag not in ("LUT1D", "LUT3D"):
            raise CubeError(path, n.line, f"process node {_said(n.tag)} is not read here (a "
                            f"LUT1D and/or a LUT3D are); {_BAKE}")
        extra = sorted(set(n.attrs) - _ATTRS) + [c.tag for c in n.children
                                                 if c.tag not in ("Array", "Description")]
        if extra:  # halfDomain, rawHalfs, hueAdjust, IndexMap change what the Array means
            raise CubeError(path, n.line, f"a {n.tag} with {_said(extra[0])} is not read "
                            f"here; {_BAKE}")
        if n.attrs.get("inBitDepth") not in DEPTHS:
            raise CubeError(path, n.line, f"{n.tag} inBitDepth "
                            f"{_said(str(n.attrs.get('inBitDepth', '')))} is not one of "
                            f"{', '.join(DEPTHS)}")
    tags = [n.tag for n in nodes]
    if tags not in (["LUT3D"], ["LUT1D"], ["LUT1D", "LUT3D"]):  # named up to 4 (100,000 were)
        said = " ".join(tags[:4]) + (f" ... ({len(tags)} nodes)" if len(tags) > 4 else "")
        raise CubeError(path, root.line, f"process nodes {said or '(none)'}: one LUT3D, one "
                        f"LUT1D, or a LUT1D then a LUT3D are read; {_BAKE}")
    lut1d = lut3d = None
    for n in nodes:
        if n.tag == "LUT3D":
            size = _size(path, n, MAX_N)
            lut3d = _array(path, n, (size, size, size, 3)).astype(np.float32)  # [r][g][b]
        else:
            size = _size(path, n, MAX_1D)
            arrays = [c for c in n.children if c.tag == "Array"]
            comps = (str(arrays[0].attrs.get("dim", "")).split() + ["?", "?"])[1]
            table = _array(path, n, (size, 3 if comps == "3" else 1))
            lut1d = np.repeat(table, 3 // table.shape[1], axis=1).astype(np.float32)
    kind = " then ".join(f"{n.tag} {_size(path, n, MAX_1D)}" for n in nodes)
    return Cube(title=str(root.attrs.get("name", "")), lut1d=lut1d, lut3d=lut3d,
                shaper_domain_min=(0.0,) * 3 if lut1d is not None else None,
                shaper_domain_max=(1.0,) * 3 if lut1d is not None else None,
                name=Path(str(path)).stem, origin=f"CLF, {kind}")
