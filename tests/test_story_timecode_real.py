"""Real editors' sample EDLs (host/timeline_corpus.py, as tests/test_story_timelines_real.py
reads them) cut against clips stamped as their sources were: each clip file made by ffmpeg,
named after the EDL's clip, its timecode starting at the hour of its first source in point
(01:00:00:00 in these samples, as VFX plates and masters are). Drafted with those files, each
segment's in point moves by exactly its file's start and nothing else changes; drafted with
none here, the in points are the EDL's source timecode as before."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict

import pytest
from test_story_timelines_real import FPS, _draft, corpus  # noqa: F401 (a fixture)

from empathy.host.story import load

pytestmark = [pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg"),
              pytest.mark.timeout(300)]
SAMPLES = ("25fps.edl", "screening_example.edl", "transition_duration.edl")


def _segments(out):
    return [(s.media.name, s.in_s, s.out_s) for s in load(out, check_files=False)
            .segments.values()]


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_edls_count_from_their_clips_start_timecode(corpus, tmp_path, name):  # noqa: F811
    edl = next(p for p in corpus if p.name == name)
    bare = tmp_path / "bare"
    bare.mkdir()
    r = _draft(edl, tmp_path / "before.toml", bare)
    assert (tmp_path / "before.toml").exists(), r.stderr
    before = _segments(tmp_path / "before.toml")
    span = defaultdict(lambda: [float("inf"), 0.0])  # each clip's first in, last out (s)
    for media, in_s, out_s in before:
        span[media] = [min(span[media][0], in_s), max(span[media][1], out_s)]
    media_dir, fps, start = tmp_path / "media", FPS.get(name, 24), {}
    media_dir.mkdir()
    for media, (first, last) in span.items():
        start[media] = int(first // 3600) * 3600
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"color=c=gray:size=64x64:rate={fps}", "-t", str(last - start[media] + 1),
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                        "-timecode", f"{start[media] // 3600:02d}:00:00:00",
                        str(media_dir / f"{media}.mov")], check=True, timeout=120)
    r = _draft(edl, tmp_path / "after.toml", media_dir)
    assert r.returncode == 0 and "no start timecode" not in r.stderr, r.stderr
    after = _segments(tmp_path / "after.toml")
    assert len(after) == len(before)
    for (media, in_s, out_s), (file, in2, out2) in zip(before, after):
        assert file == f"{media}.mov"
        assert abs(in2 - (in_s - start[media])) < 1e-5, (media, in_s, in2)
        assert abs((out2 - in2) - (out_s - in_s)) < 1e-5, (media, out_s, out2)
    assert all(v == 3600 for v in start.values()), start  # these samples' clips: 01:00:00:00
