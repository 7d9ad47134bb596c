"""The real sample EDLs that name EXR frames (the Avid, Nucoda and Premiere examples of the
cmx_3600 adapter: ZZ100_501.take_1.0001.exr, ZZ100_502A.take_2.0101.exr, each event at
source 01:00:0x) drafted against EXR sequences made here with the names they expect,
numbered from the frame each names and stamped, as VFX plates are, 01:00:00:00 at that
frame (`--sequence-start`, as tests/test_story_timecode_real.py stamps clips). Each draft
checks clean and each segment decodes exactly the frames its event takes."""

from __future__ import annotations

import shutil

import pytest
from imgseq_media import make_sequence
from test_image_sequence import needs_exr
from test_story_new import cli
from test_story_timeline_media import shown
from test_story_timelines_real import corpus  # noqa: F401 (a fixture)

from empathy.host.story import load

pytestmark = [pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg"),
              needs_exr, pytest.mark.timeout(300)]
SAMPLES = ("avid_example.edl", "nucoda_example.edl", "premiere_example.edl")
# (frames from 01:00:00:00 to each event's source in, its length) at 24 fps
EVENTS = [(4 * 24 + 5, 31), (6 * 24 + 13, 50)]


@pytest.fixture(scope="module")
def plates(tmp_path_factory):
    """Both runs in one folder, as the EDLs' paths name them: frame N shows N % 256."""
    d = tmp_path_factory.mktemp("plates")
    for name, first, n in (("ZZ100_501.take_1", 1, 140), ("ZZ100_502A.take_2", 101, 210)):
        shot = make_sequence(d, name, range(first, first + n), ext="exr", start=first)
        for f in shot.iterdir():
            f.rename(d / f.name)
    return d


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_edls_naming_exr_frames_draft_playable_sequences(corpus, plates, tmp_path,  # noqa: F811
                                                                 name):
    edl = next(p for p in corpus if p.name == name)
    out = tmp_path / "s.toml"
    r = cli("new", edl, "--fps", 24, "--media-root", plates, "--sequence-start", "01:00:00:00",
            "--out", out)
    assert r.returncode == 0 and "checks clean" in r.stdout, r.stdout + r.stderr
    segs = list(load(out).segments.values())
    assert [s.media.name for s in segs] == ["ZZ100_501.take_1.####.exr",
                                            "ZZ100_502A.take_2.####.exr"]
    assert all((s.rate, s.colour) == (24, "linear") for s in segs)
    for seg, first, (at, n) in zip(segs, (1, 101), EVENTS):
        assert shown(seg) == [(first + at + k) % 256 for k in range(n)], seg
