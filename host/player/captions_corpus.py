"""Real captions files, read through our reader (captions.py).

Nothing is downloaded at run time. The files live inside a published source distribution:
pysubs2's sdist ships the subtitle files its own tests read (Aegisub .ass with attached
fonts and images, TTML from Apple and others with their .ass conversions);
`scripts/install.sh` fetches it with `pip download --no-deps --no-binary :all:` into
`cache/captions-corpus/` (git-ignored; `EMPATHY_CAPTIONS_CORPUS` points elsewhere).

`python -m empathy.host.player.captions_corpus` prints each file read or refused, and why.
"""

from __future__ import annotations

import sys
import tarfile
from collections import Counter
from pathlib import Path

from empathy.cached_dist import CorpusMissing, cache_folder, checked_dist

from .captions import CaptionsError, read_captions

SDIST = "pysubs2-1.8.1.tar.gz"
DISTS = {SDIST: "pysubs2==1.8.1 --no-binary :all:"}
SHA256 = {SDIST: "af3a288643da87db6bb13dbde70e94c9570765cc8f6423b1c21de11f16d734da"}
DATA = "pysubs2-1.8.1/tests/data/"
NOT_SUBTITLES = (".ttf", ".txt")  # the fonts its .ass files attach, and their licence


def corpus_dir() -> Path:
    return cache_folder("captions-corpus", "EMPATHY_CAPTIONS_CORPUS")


def extract(dest: Path) -> list[Path]:
    """The sdist's subtitle files, written under dest."""
    out = []
    with tarfile.open(checked_dist(corpus_dir(), SDIST, SHA256[SDIST], DISTS[SDIST])) as t:
        for m in t.getmembers():
            if m.isfile() and m.name.startswith(DATA) and not m.name.endswith(NOT_SUBTITLES):
                path = dest / m.name[len(DATA):]
                path.write_bytes(t.extractfile(m).read())
                out.append(path)
    return sorted(out)


def read_all(paths: list[Path]) -> dict[Path, str]:
    """path -> "N cues" or the one line that refused it."""
    said = {}
    for p in paths:
        try:
            said[p] = f"{len(read_captions(p).cues)} cues"
        except CaptionsError as e:
            said[p] = f"refused: {e.message}"
    return said


def main(argv: list[str]) -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        try:
            paths = [Path(a) for a in argv] or extract(Path(d))
        except CorpusMissing as e:
            print(f"captions_corpus: {e}", file=sys.stderr)
            return 1
        said = read_all(paths)
        for p, s in said.items():
            print(f"{p.name}: {s}")
        kinds = Counter("refused" if s.startswith("refused") else "read" for s in said.values())
        print(f"{len(said)} files: {kinds['read']} read, {kinds['refused']} refused")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
