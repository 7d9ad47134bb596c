"""HDR clips (a phone's HLG or PQ, BT.2020) shown on the SDR Rec.709 screen the looks are made
for. GStreamer decodes them to R'G'B' still in their own curve and primaries (videoconvert
changes the matrix only): shown as they are, HLG came out flat and dim (reference white at
191 of 255, saturation 0.69 of the SDR clip's) and PQ washed out (white 148, 2 % grey 47
not 21, saturation 0.47). So each clip's colorimetry picks a conversion to Rec.709 SDR that
is composed with the look into the one 3D table the grade already applies: a converted
clip costs what a graded one does, and the GL path bakes the same composed table.

The conversion, all in scene light, 100 % reflectance at SDR's 100 %:
  HLG: BT.2100's inverse OETF (OpenColorIO's builtin); reference white is HLG 75 %
       (ITU-R BT.2408 Table 1).
  PQ:  BT.2100's PQ EOTF, then the HLG display OOTF inverted for a 1000 cd/m² display: the
       PQ -> HLG transcoding of ITU-R BT.2408 (OpenColorIO's builtins), then as HLG.
  then a soft knee for what lies above reference white (ours: SDR has no room there),
  BT.2020 -> BT.709 primaries in linear light with out-of-gamut colours clipped (ITU-R
  BT.2407's matrix and its simplest method), and the BT.709 OETF.
A clip whose transfer is not HLG or PQ (SDR, or not said) is left as it is.

An image sequence's scene-referred curves (imgseq.py) take the same road from scene light:
  linear: (an EXR's) scene-linear Rec.709 already; 0..1 of it (imgseq_read.py clips above);
  cineon: a film scan's printing-density log, 10-bit codes: Kodak's Cineon conversion
       (reference white 685, black 95, 0.002 density a code, negative gamma 0.6) as an
       OpenColorIO log transform, to scene-linear with 1.0 at reference white;
  then the knee and the BT.709 OETF as above (no primaries to change).
"""

from __future__ import annotations

import threading

import numpy as np
import PyOpenColorIO as ocio

from .cube import Cube, CubeError
from .grade import Grade, _cube_key, _lattice, crossfade

SIZE = 49  # lattice of the composed table. Its error against the exact curves, 8-bit codes,
# on every 10-bit grey: HLG 0.44 / PQ 0.88 at most (33: 0.80 / 1.75; 65: 0.26 / 0.53); on
# random colours, 99th percentile 1.5 / 2.4 (33: 3.1 / 4.9), the worst at the gamut clip's
# kink. A 1080p frame grades in the same time at any size, but a crossfade blends a new
# table each frame: +5-8 ms CPU a frame at 49, +12 at 65 (bench/bench_hdr.py)
KNEE = 0.8  # scene light (1.0 = reference white) above which highlights are compressed:
# SDR has no room above its white, HLG has up to 3.8x and PQ more; below it, nothing bends
_BT2020_TO_709 = np.array([[1.6605, -0.5876, -0.0728], [-0.1246, 1.1329, -0.0083],
                           [-0.0182, -0.1006, 1.1187]])  # ITU-R BT.2407
_TO_XYZ = {"": np.array([[0.636958, 0.144617, 0.168881], [0.262700, 0.677998, 0.059302],
                         [0.0, 0.028073, 1.060985]]),  # BT.2020 primaries, D65 white
           "709": np.array([[0.412391, 0.357584, 0.180481], [0.212639, 0.715169, 0.072192],
                            [0.019331, 0.119195, 0.950532]])}  # BT.709's

CURVES = ("linear", "cineon")  # an image sequence's colours converted here
_CINEON_BLACK = 10 ** ((95 - 685) * 0.002 / 0.6)  # linear light of code 95

_config = ocio.Config.CreateRaw()
_lock = threading.Lock()
_tables: dict[str, np.ndarray] = {}
_composed: dict[tuple, Grade] = {}
_COMPOSED_MAX = 64


def source_of(colorimetry: str | None) -> str | None:
    """'hlg' or 'pq' (with '-709' when the primaries are not BT.2020) from a caps colorimetry
    string ('bt2100-hlg', '1:1:15:7'); None for anything else, including no string."""
    from .gst import GstVideo

    V = GstVideo()
    c = V.VideoColorimetry()
    if not colorimetry or not c.from_string(colorimetry):
        return None
    curve = {V.VideoTransferFunction.ARIB_STD_B67: "hlg",
             V.VideoTransferFunction.SMPTE2084: "pq"}.get(c.transfer)
    if curve is None:
        return None
    return curve if c.primaries == V.VideoColorPrimaries.BT2020 else f"{curve}-709"


def of_caps(caps) -> str | None:
    """source_of a caps' first structure."""
    if caps is None or not caps.get_size():
        return None
    return source_of(caps.get_structure(0).get_string("colorimetry"))


def describe(source: str | None) -> str:
    """One phrase for `story check`: what the clip is and what the player does with it."""
    if source is None:
        return "SDR"
    if source in CURVES:
        return f"{source}: converted to Rec.709 before its look"
    curve, _, prims = source.partition("-")
    return (f"HDR {curve.upper()}, {'BT.709' if prims else 'BT.2020'} primaries: "
            "converted to SDR Rec.709 before its look")


def _matrix(m: np.ndarray) -> ocio.MatrixTransform:
    flat = [0.0] * 16
    for i in range(3):
        flat[i * 4:i * 4 + 3] = [float(v) for v in m[i]]
    flat[15] = 1.0
    return ocio.MatrixTransform(matrix=flat)


def _to_scene(curve: str, prims: str = "") -> ocio.GroupTransform:
    """Signal -> scene light (OCIO's HLG curve: 3x BT.2100's E), in BT.2020 primaries for PQ
    (the HLG display it goes through is BT.2100's) and in the source's own for HLG."""
    g = ocio.GroupTransform()
    if curve == "pq":
        g.appendTransform(ocio.BuiltinTransform("CURVE - ST-2084_to_LINEAR"))  # cd/m² / 100
        g.appendTransform(_matrix(_TO_XYZ[prims]))
        g.appendTransform(ocio.BuiltinTransform("DISPLAY - CIE-XYZ-D65_to_REC.2100-HLG-1000nit"))
    g.appendTransform(ocio.BuiltinTransform("CURVE - HLG-OETF-INVERSE"))
    return g


def _apply(group: ocio.GroupTransform, rgb: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(rgb, np.float32).reshape(-1, 3).copy()
    _config.getProcessor(group).getDefaultCPUProcessor().applyRGB(out)
    return out.reshape(rgb.shape)


def _oetf709(e: np.ndarray) -> np.ndarray:
    """BT.709's OETF (no OCIO builtin encodes it)."""
    return np.where(e < 0.018, 4.5 * e, 1.099 * np.power(e, 0.45) - 0.099)


def _cineon() -> ocio.LogAffineTransform:
    """Cineon code (0..1 of 1023) -> scene light: the inverse of
    code = 300/1023 log10(lin (1 - black) + black) + 685/1023."""
    t = ocio.LogAffineTransform(logSideSlope=[300 / 1023] * 3, logSideOffset=[685 / 1023] * 3,
                                linSideSlope=[1 - _CINEON_BLACK] * 3,
                                linSideOffset=[_CINEON_BLACK] * 3,
                                direction=ocio.TRANSFORM_DIR_INVERSE)
    t.setBase(10.0)
    return t


def convert(source: str, rgb: np.ndarray) -> np.ndarray:
    """Float R'G'B' in [0, 1] of `source` -> BT.709 SDR R'G'B' in [0, 1]: the exact curve the
    table samples."""
    curve, _, prims = source.partition("-")
    if curve in CURVES:
        g = ocio.GroupTransform()
        if curve == "cineon":
            g.appendTransform(_cineon())
        lin = np.maximum(_apply(g, rgb), 0.0)
    else:
        white = _apply(_to_scene("hlg"), np.full((1, 3), 0.75))[0, 0]  # BT.2408 ref. white
        lin = np.maximum(_apply(_to_scene(curve, prims), rgb) / white, 0.0)
    # the knee before the primaries: after them, a highlight's clipped channels turned a
    # near-white 5000 cd/m² green-white cyan; a colour of Rec.709 below it is not touched
    over = np.maximum(lin - KNEE, 0.0)
    lin = np.minimum(lin, KNEE) + (1 - KNEE) * (1 - np.exp(-over / (1 - KNEE)))
    if curve == "pq" or not prims and curve not in CURVES:
        lin = lin @ _BT2020_TO_709.T.astype(np.float32)
    # out of Rec.709's gamut: clipped (BT.2407)
    return np.clip(_oetf709(np.clip(lin, 0.0, 1.0)), 0.0, 1.0).astype(np.float32)


def table(source: str) -> np.ndarray:
    """The conversion sampled on a SIZE^3 lattice over [0, 1], indexed [r][g][b]; kept."""
    with _lock:
        t = _tables.get(source)
    if t is None:
        t = convert(source, _lattice(SIZE, (0.0,) * 3, (1.0,) * 3))
        with _lock:
            _tables[source] = t
    return t


def for_source(grade: Grade, source: str | None) -> Grade:
    """`grade` as it must be applied to a clip of `source`: the conversion, then the look,
    as one table. None (SDR, or not said): `grade` itself, untouched."""
    if source is None:
        return grade
    key = (None if grade.cube is None else _cube_key(grade.cube), grade.strength, source,
           grade.threads)
    with _lock:
        hit = _composed.get(key)
    if hit is not None:
        return hit
    conv = table(source)
    looked = grade.apply(conv.reshape(1, -1, 3)).reshape(conv.shape)
    cube = Cube(title=f"{source}>{grade.name}", lut3d=np.ascontiguousarray(looked, np.float32))
    object.__setattr__(cube, "_key", f"{source}:{key[0]}:{grade.strength}")
    g = Grade(cube, 1.0, grade.threads, name=grade.name)
    with _lock:
        if len(_composed) >= _COMPOSED_MAX:
            _composed.pop(next(iter(_composed)))
        _composed[key] = g
    return g


def warm(lut, strength: float, threads: int | None, source: str) -> None:
    """for_source for a clip's own look, composed ahead (by its decoder, before its first
    frame). A LUT that does not parse is the player's to report, once: identity here."""
    try:
        look = Grade.from_file(lut, strength, threads)
    except CubeError:
        look = Grade(None, 1.0, threads)
    for_source(look, source)


def fade(a: Grade, b: Grade, t: float, source: str | None, threads: int) -> Grade | None:
    """crossfade(a, b, t) for a clip of `source`, None for SDR: the two composed tables
    blended, which is the blend composed, at a crossfade's cost (no composing per frame)."""
    if source is None:
        return None
    return crossfade(for_source(a, source), for_source(b, source), t, threads)
