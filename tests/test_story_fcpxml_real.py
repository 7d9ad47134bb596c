"""`empathy story new` on the .fcpxml files otio-fcpx-xml-adapter ships for its own tests (a
library, an event, a project and a browser's clips, exported by Final Cut Pro X 10.4:
FCPXML 1.8), from host/timeline_corpus.py's archive (scripts/install.sh fetches it; absent,
these tests skip and say why).

Each sample is drafted or refused in one line. A drafted one's segments are held to the
file's own fractions, read here with ElementTree by a walk of our own (not the reader's):
the first project's spine, each clip's start less its asset's, compound clips (ref-clip)
over the part of their sequence they show, clips over the part of their video they show."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

from empathy.host.story import load

pytestmark = pytest.mark.timeout(300)
EXPECTED = {  # segments drafted, or the words of the one-line refusal
    "fcpx_clips.fcpxml": "holds no project (a timeline), only clips or events: select the "
                         "project in Final Cut Pro's browser, then File > Export XML",
    "fcpx_event.fcpxml": 6, "fcpx_example.fcpxml": 6, "fcpx_library.fcpxml": 6,
    "fcpx_project.fcpxml": 6,
}
SHOWN = {"asset-clip", "clip", "video", "ref-clip", "gap", "transition", "audio"}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from empathy.host.timeline_corpus import CorpusMissing, extract

    try:
        return extract(tmp_path_factory.mktemp("fcpxml"), fcpx=True)
    except CorpusMissing as e:
        pytest.skip(str(e))


def _t(text, default="0s") -> Fraction:
    num, _, den = (text or default).removesuffix("s").partition("/")
    return Fraction(int(num), int(den or 1))


def _ranges(path: Path) -> list[tuple[Fraction, Fraction]]:
    """(in s from the file's first frame, duration s) of each clip the first project shows."""
    root = ET.parse(path).getroot()
    res = {e.get("id"): e for e in root.find("resources")}
    spine = root.find(".//project/sequence/spine")
    out = []

    def walk(items, t0, t1):
        for e in items:
            assert e.tag in SHOWN or e.get("lane") or e.tag in ("marker", "keyword"), e.tag
            if e.get("lane") is not None or e.tag in ("transition", "audio", "marker"):
                continue
            off = _t(e.get("offset"))
            a, b = max(t0, off), min(t1, off + _t(e.get("duration")))
            if a >= b:
                continue
            if e.tag in ("asset-clip", "video"):
                asset_start = _t(res[e.get("ref")].get("start"))
                out.append((_t(e.get("start"), str(asset_start) + "s") + a - off - asset_start,
                            b - a))
            elif e.tag == "clip":
                walk(list(e), _t(e.get("start")) + a - off, _t(e.get("start")) + b - off)
            elif e.tag == "ref-clip":
                seq = res[e.get("ref")].find("sequence")
                s = _t(e.get("start"), seq.get("tcStart"))
                walk(list(seq.find("spine")), s + a - off, s + b - off)
    walk(list(spine), Fraction(0), Fraction(10 ** 9))
    return out


def test_every_sample_is_drafted_or_refused_in_one_line_its_ranges_the_files(samples, tmp_path):
    table = {}
    for path in samples:
        out = tmp_path / f"{path.stem}.toml"
        r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", str(path),
                            "--out", str(out)], capture_output=True, text=True, timeout=120)
        said = r.stderr.strip().splitlines()
        table[path.name] = said if not out.exists() else [
            (s.in_s, s.out_s) for s in load(out, check_files=False).segments.values()]
        assert "Traceback" not in r.stderr and (out.exists() or len(said) == 1), said
        if out.exists():
            assert table[path.name] == [(round(float(i), 6), round(float(i + d), 6))
                                        for i, d in _ranges(path)], (path.name, table)
            assert "4 connected clips" in r.stderr and ("2 projects; the first" in r.stderr
                                                        or path.name == "fcpx_project.fcpxml")
    print("\n".join(f"{n}: {got}" for n, got in table.items()))
    assert {n: len(v) if isinstance(v[0], tuple) else v[0].split(": ", 2)[-1]
            for n, v in table.items()} == EXPECTED
