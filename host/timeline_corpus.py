"""Timelines real editors wrote (Avid, Premiere, Nucoda, Hiero, Resolve and others' EDLs, FCP 7
XML, Final Cut Pro X's .fcpxml and .otio), as OpenTimelineIO and its adapters ship them for
their own tests.

Nothing is downloaded at run time: `scripts/install.sh` fetches the four source distributions
with `pip download --no-deps` into `cache/timeline-corpus/` (git-ignored;
`EMPATHY_TIMELINE_CORPUS` points elsewhere), each held to its sha256.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from empathy.cached_dist import CorpusMissing, cache_folder, checked_dist  # noqa: F401 (callers catch it)

DISTS = {
    "otio_cmx3600_adapter-1.0.0.tar.gz": "otio-cmx3600-adapter==1.0.0 --no-binary :all:",
    "otio_fcp_adapter-1.0.0.tar.gz": "otio-fcp-adapter==1.0.0 --no-binary :all:",
    "otio_fcpx_xml_adapter-1.0.0.tar.gz": "otio-fcpx-xml-adapter==1.0.0 --no-binary :all:",
    # its own build needs cmake: only it is taken as source, its build tools as wheels
    "opentimelineio-0.18.1.tar.gz": "opentimelineio==0.18.1 --no-binary opentimelineio",
}
SHA256 = {
    "otio_cmx3600_adapter-1.0.0.tar.gz":
        "a10cca794617795bbc147d784ec33e6381a57eb6157e87d2b74b65b02516b621",
    "otio_fcp_adapter-1.0.0.tar.gz":
        "38544c1064cc85e169428c8c3436bd7c36b90bad99a253851db130d9d7298ce6",
    "otio_fcpx_xml_adapter-1.0.0.tar.gz":
        "78919c194f078f57ce9a6464c1c607a494499aaab3d8c35159ce5e71d5fcd235",
    "opentimelineio-0.18.1.tar.gz":
        "a4e5086e2accd4ca9853ab48bf531e0c148eff47889363a6da3a03f662fbf5e8",
}
SUFFIXES = (".edl", ".xml", ".otio")
FCPX_DIST = "otio_fcpx_xml_adapter-1.0.0.tar.gz"  # its .fcpxml samples, read apart (fcpx=True)


def corpus_dir() -> Path:
    return cache_folder("timeline-corpus", "EMPATHY_TIMELINE_CORPUS")


def extract(dest: Path, fcpx: bool = False) -> list[Path]:
    """Every sample timeline (tests/sample_data/*) of the archives, or (fcpx) the .fcpxml ones
    of otio-fcpx-xml-adapter's, written flat under dest; a name two archives share is prefixed
    by its package (cmx3600_enabled.otio)."""
    out, suffixes = [], (".fcpxml",) if fcpx else SUFFIXES
    for name, sha in SHA256.items():
        if (name == FCPX_DIST) != fcpx:
            continue
        package = name.split("-")[0].removeprefix("otio_").removesuffix("_adapter")
        with tarfile.open(checked_dist(corpus_dir(), name, sha, DISTS[name])) as t:
            for m in t.getmembers():
                if m.isfile() and "/tests/sample_data/" in m.name and \
                        m.name.lower().endswith(suffixes):
                    path = dest / Path(m.name).name
                    if path.exists():
                        path = dest / f"{package}_{path.name}"
                    path.write_bytes(t.extractfile(m).read())
                    out.append(path)
    return sorted(out)
