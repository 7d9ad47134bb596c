"""Real LUT files written by colourists' tools, and our reading of them beside OpenColorIO's.

Nothing is downloaded at run time. The files live inside a published wheel (colour-science
ships the LUTs its own readers are tested on: Resolve and IRIDAS .cube, Imageworks
.spi1d/.spi3d, Cinespace .csp); `scripts/install.sh` fetches it with `pip download
--no-deps` into `cache/lut-corpus/` (git-ignored; `EMPATHY_LUT_CORPUS` points elsewhere).

`python -m empathy.host.player.lut_corpus [FILE...]` grades one test image through our reader
(the Cube the player grades with) and through OpenColorIO's own FileTransform of the same
file, and prints the largest and mean difference per file (docs/playback.md's table).
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from empathy.cached_dist import CorpusMissing, cache_folder, checked_dist

WHEEL = "colour_science-0.4.7-py3-none-any.whl"
DISTS = {WHEEL: "colour-science==0.4.7 --only-binary :all:"}
SHA256 = {WHEEL: "fe2383d86e507fc11a4b5206ff31a7399031e0dce527e22ec06eeb491d45d9a7"}
RESOURCES = "colour/io/luts/tests/resources/"
SUFFIXES = (".cube", ".3dl", ".spi1d", ".spi3d", ".csp", ".clf", ".ctf")
# colour-science's own deliberately broken file (its test of a reader's refusal)
BROKEN = {"sony_spi1d/Exception_Raising.spi1d"}




def corpus_dir() -> Path:
    return cache_folder("lut-corpus", "EMPATHY_LUT_CORPUS")


def wheel_path() -> Path:
    """The cached wheel, its sha256 checked."""
    return checked_dist(corpus_dir(), WHEEL, SHA256[WHEEL], DISTS[WHEEL])


def extract(dest: Path) -> list[Path]:
    """The wheel's LUT files, written under dest (kept in their format folders)."""
    out = []
    with zipfile.ZipFile(wheel_path()) as z:
        for name in sorted(z.namelist()):
            if name.startswith(RESOURCES) and name.lower().endswith(SUFFIXES):
                path = dest / name[len(RESOURCES):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(z.read(name))
                out.append(path)
    return out


def test_image(dmin, dmax, n: int = 37) -> np.ndarray:
    """An n^3 grid of colours over [dmin, dmax] (37 points: between a 17/33/65 lattice's),
    as one float32 image."""
    ramps = [np.linspace(dmin[i], dmax[i], n, dtype=np.float32) for i in range(3)]
    grid = np.stack(np.meshgrid(*ramps, indexing="ij"), axis=-1)
    return np.ascontiguousarray(grid.reshape(n * n, n, 3))


def peer(path: Path) -> tuple[float, float, str]:
    """(max, mean) |ours - OpenColorIO's| over the test image, and what we read; raises
    CubeError where we refuse the file."""
    import PyOpenColorIO as ocio

    from .grade import Grade
    from .lutfile import read_lut

    cube = read_lut(path)
    img = test_image(cube.domain_min, cube.domain_max)
    ours = Grade(cube).apply(img)
    ocio.ClearAllCaches()  # OpenColorIO keeps a file by its path: a rewritten one too
    config = ocio.Config.CreateRaw()
    interp = ocio.INTERP_LINEAR if cube.lut3d is None else ocio.INTERP_TETRAHEDRAL  # as ours
    theirs = img.copy()
    try:
        proc = config.getProcessor(ocio.FileTransform(src=str(path), interpolation=interp))
    except ocio.Exception as e:
        return float("nan"), float("nan"), f"{cube.origin}; OpenColorIO refuses: " \
            f"{str(e).splitlines()[-1].strip()[:120]}"
    proc.getDefaultCPUProcessor().applyRGB(theirs)
    diff = np.abs(ours.astype(np.float64) - theirs)
    return float(diff.max()), float(diff.mean()), cube.origin


def table(paths: list[Path], root: Path | None = None) -> list[str]:
    """Markdown rows: file, what we read, max and mean difference (or why not read)."""
    from .cube import CubeError

    rows = ["| file | read as | max diff | mean diff |", "|---|---|---|---|"]
    for p in paths:
        name = p.relative_to(root) if root else p
        try:
            mx, mean, what = peer(p)
            rows.append(f"| {name} | {what} | {mx:.2e} | {mean:.2e} |")
        except CubeError as e:
            rows.append(f"| {name} | refused: {e.message[:70]} | - | - |")
    return rows


def main(argv: list[str]) -> int:
    if argv:
        print("\n".join(table([Path(a) for a in argv])))
        return 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(table(extract(Path(tmp)), Path(tmp))))
    except CorpusMissing as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
