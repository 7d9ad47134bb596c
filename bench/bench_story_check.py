"""What the cut-short check (story_cutshort.cut_short: container sizes against the file's)
adds to `empathy story check`: the whole check of the sample story with and without it, and
the scan itself on the sample's clips and on hour-long films (an MP4; a Matroska file written
to a pipe, whose unknown-size segment makes the scan walk every cluster).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from empathy.host import story_check
from empathy.host.story import load

SAMPLE = Path(__file__).resolve().parent.parent / "host" / "sample" / "neon_rain.toml"
REPEATS = 7


def _median_s(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _entry(name, value, unit, peer=None, peer_value=None) -> dict:
    return {"name": name, "value": value, "unit": unit, "peer": peer, "peer_value": peer_value,
            "ratio": value / peer_value if peer_value else None}


def _hour_long(folder: Path) -> dict[str, Path]:
    """One hour of a 16x16 picture at 1 fps: the container's layout of a long film."""
    src = ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=gray:s=16x16:r=1",
           "-t", "3600", "-c:v", "libx264"]
    mp4, mkv = folder / "hour.mp4", folder / "hour_piped.mkv"
    subprocess.run([*src, str(mp4)], check=True, timeout=600)
    with mkv.open("wb") as out:
        subprocess.run([*src, "-f", "matroska", "-"], stdout=out, check=True, timeout=600)
    return {"mp4": mp4, "mkv_piped": mkv}


def run() -> list[dict]:
    story = load(SAMPLE)  # renders the sample's media if it is not cached yet
    real, times = story_check.cut_short, {True: [], False: []}
    try:
        for i in range(2 * REPEATS):  # alternated: the machine's load drifts between runs
            story_check.cut_short = real if i % 2 else (lambda path: None)  # None: as before
            times[bool(i % 2)].append(_median_s(lambda: story_check.check_files(story), 1))
    finally:
        story_check.cut_short = real
    with_cut, without = statistics.median(times[True]), statistics.median(times[False])
    clips = [s.media for s in story.segments.values()]
    per_clip = _median_s(lambda: [real(p) for p in clips], 50) / len(clips)
    out = [_entry("story check, sample (5 clips)", with_cut, "s", "without the cut check", without),
           _entry("cut check per sample clip", per_clip * 1e6, "us")]
    if shutil.which("ffmpeg"):
        with tempfile.TemporaryDirectory() as tmp:
            for kind, path in _hour_long(Path(tmp)).items():
                assert real(path) is None, path
                out.append(_entry(f"cut check, 1-h {kind}", _median_s(lambda: real(path), 20) * 1e6,
                                  "us"))
    return out
