"""`empathy story check` checks every file the show will touch, with the player's own code."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empathy import cli
from empathy.host.player.cube import identity_cube, write_cube
from empathy.host.player.outputs import VideoWriter
from empathy.host.story_cutshort import cut_short

SAMPLE = Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml"
FPS = 25


def make_clip(path: Path, seconds: float, size=(160, 90), fps: float = FPS,
              audio: bool = False) -> Path:
    w, h = size
    out = VideoWriter(f"file:{path}", w, h, fps, audio=audio)
    n = int(round(seconds * fps))
    for i in range(n):
        f = np.full((h, w, 3), 60, np.uint8)
        f[:8, : (i % w) + 1] = 255
        out.push(f, i / fps, 1 / fps)
        if audio:
            a, b = round(i * 48000 / fps), round((i + 1) * 48000 / fps)
            out.push_audio(np.zeros((b - a, 2), np.float32), a / 48000)
    assert out.close()
    return path


def run_check(*args, cwd=None):
    """As a user runs it: a process of its own."""
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", *map(str, args)],
                       capture_output=True, text=True, timeout=180, cwd=cwd)
    return r


@pytest.fixture
def check(capfd, monkeypatch, request):
    """`empathy story check ARGS` in this process: the same main(), exit code and output
    (file descriptors too, so GStreamer's own complaints), without a new interpreter's
    start-up (~0.6 of each run's ~1 CPU-s; 20 runs here). The root logger as it was after."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # main() replaces them
    request.addfinalizer(lambda level=root.level: root.setLevel(level))

    def run(*args, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capfd.readouterr()
        try:
            rc = cli.main(["story", "check", *map(str, args)])
        except SystemExit as e:  # argparse
            rc = e.code
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(args, rc, out, err)

    return run


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> Path:
    """The issue's 3-clip film: a corrupt LUT, a text file named .mp4, 30 s on a 5 s clip."""
    d = tmp_path_factory.mktemp("film")
    (d / "clips").mkdir()
    (d / "looks").mkdir()
    make_clip(d / "clips" / "opening.mp4", 5.0)
    make_clip(d / "clips" / "middle.mp4", 3.0)
    (d / "clips" / "fake.mp4").write_text("this is not a video\n")
    write_cube(d / "looks" / "warm.cube", identity_cube(5))
    (d / "looks" / "broken.cube").write_text("TITLE \"broken\"\nLUT_3D_SIZE 2\n0 0 0\n1 oops 1\n")
    (d / "film.toml").write_text("""title = "My Film"
start = "opening"

[segments.opening]
media = "clips/opening.mp4"
lut = "looks/broken.cube"
duration_s = 30

[segments.middle]
media = "clips/middle.mp4"
lut = "looks/warm.cube"
duration_s = 3.0
next = "ending"

[segments.ending]
media = "clips/fake.mp4"
duration_s = 4.0

[decisions.d]
after = "opening"
window_s = [1.0, 4.0]
default = "middle"
options = { middle = 0.0, ending = 0.2 }
""")
    return d / "film.toml"


def test_the_issue_film_gets_three_named_errors(film):
    r = run_check(film)
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith(f"{film}:")
              and ": warning:" not in ln]
    assert len(errors) == 3, r.stderr
    lut, dur, fake = sorted(errors, key=lambda e: ("broken.cube" not in e, "30" not in e))
    assert lut.startswith(f"{film}:6: ") and "broken.cube:4" in lut  # the LUT's own line
    assert dur.startswith(f"{film}:7: ") and "duration_s = 30" in dur and "opening.mp4" in dur
    assert fake.startswith(f"{film}:16: ") and "fake.mp4" in fake and "not a video" in fake
    assert "FAILED (3 errors" in r.stderr


def test_json_lists_errors_warnings_and_what_each_clip_is(film, check):
    r = check(film, "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and len(out["errors"]) == 3
    assert out["file"] == str(film) and out["line"] == 6  # the first error, as before
    clip = out["clips"]["opening"]
    assert (clip["width"], clip["height"], clip["fps"], clip["video_codec"]) == (160, 90, 25, "h264")
    assert abs(clip["duration_s"] - 5.0) < 0.05 and clip["audio_codec"] == ""
    assert "ending" not in out["clips"]


def test_the_same_film_fixed_checks_clean(film, tmp_path, check):
    text = film.read_text().replace("broken.cube", "warm.cube").replace("duration_s = 30", "duration_s = 5") \
        .replace("clips/fake.mp4", "clips/middle.mp4").replace("duration_s = 4.0", "duration_s = 3.0")
    fixed = film.with_name("fixed.toml")
    fixed.write_text(text)
    r = check(fixed)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout and r.stderr == ""


def test_mismatched_segments_platform_codecs_and_missing_root(film, tmp_path, check):
    make_clip(tmp_path / "a.mp4", 2.0)
    make_clip(tmp_path / "b.mp4", 2.0)
    make_clip(tmp_path / "odd.mp4", 2.0, size=(320, 180), fps=30, audio=True)
    story = tmp_path / "s.toml"
    story.write_text('start = "a"\n[segments.a]\nmedia = "a.mp4"\nduration_s = 2\nnext = "b"\n'
                     '[segments.b]\nmedia = "b.mp4"\nduration_s = 1.0\nnext = "odd"\n'
                     '[segments.odd]\nmedia = "odd.mp4"\nduration_s = 2\n')
    r = check(story, "--platform", "desktop")
    assert r.returncode == 0, r.stderr  # differences are warnings: the player converts
    warn = [ln for ln in r.stderr.splitlines() if ": warning: " in ln]
    assert any("'odd'" in w and "resolution" in w and "320x180" in w for w in warn)
    assert any("'odd'" in w and "frame rate" in w and "30 fps" in w for w in warn)
    assert any("'a'" in w and "no sound" in w for w in warn)
    assert any("'b'" in w and "the whole clip plays" in w for w in warn)
    r = check(story, "--platform", "pi5")
    assert sum("Raspberry Pi 5 cannot decode in hardware" in ln and "H.264" in ln
               for ln in r.stderr.splitlines()) == 3
    r = check(story, "--platform", "jetson-orin")
    assert "cannot decode in hardware" not in r.stderr  # NVDEC takes H.264
    r = check(story, "--media-root", tmp_path / "nowhere")
    assert r.returncode == 1 and "nowhere is not a folder" in r.stderr
    story.write_text('media_root = "usb/film"\n' + story.read_text())
    r = check(story, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["line"] == 1 and "usb/film is not a folder" in out["error"]


def test_a_clip_much_longer_than_declared_is_a_warning(tmp_path, check):
    make_clip(tmp_path / "long.mp4", 3.0)
    story = tmp_path / "s.toml"
    story.write_text('start = "a"\n[segments.a]\nmedia = "long.mp4"\nduration_s = 1.0\n')
    r = check(story)
    assert r.returncode == 0
    assert f"{story}:4: warning: segment 'a': long.mp4 lasts 3.00 s" in r.stderr


def test_the_summary_counts_in_words(tmp_path, check):
    """The artist guide's one-decision film read "3 segments, 1 decisions"."""
    make_clip(tmp_path / "a.mp4", 1.0)
    story = tmp_path / "s.toml"
    story.write_text('start = "a"\n[segments.a]\nmedia = "a.mp4"\nduration_s = 1.0\n'
                     '[segments.b]\nmedia = "a.mp4"\nduration_s = 1.0\n'
                     '[segments.c]\nmedia = "a.mp4"\nduration_s = 1.0\n'
                     '[decisions.d]\nafter = "a"\nwindow_s = [0.1, 0.5]\ndefault = "b"\n'
                     'options = { b = 0.0, c = 0.3 }\n')
    r = check(story)
    assert r.returncode == 0, r.stderr
    assert ": 3 segments, 1 decision, starts at 'a' — ok" in r.stdout, r.stdout


def test_the_sample_story_checks_clean_with_no_flags(tmp_path, check):
    r = check(SAMPLE, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Neon Rain" in r.stdout and "— ok" in r.stdout and "warning" not in r.stderr


def test_a_host_config_gives_the_media_root_platform_and_rate(film, tmp_path, check):
    make_clip(tmp_path / "m" / "a.mp4", 1.0)
    story = tmp_path / "s.toml"
    story.write_text('start = "a"\n[segments.a]\nmedia = "a.mp4"\nduration_s = 1\n')
    host = tmp_path / "host.toml"
    host.write_text(f'story = "{story}"\nmedia_root = "{tmp_path / "m"}"\n'
                    '[show]\noutput = "kms"\nfps = 30\n')
    r = check(story, "--config", host)
    assert r.returncode == 0, r.stderr
    assert "Raspberry Pi 5 cannot decode in hardware" in r.stderr  # kms: a Pi
    assert "a.mp4 is 25 fps; the show runs at 30 fps (frames are repeated" in r.stderr
    # an output chain (tried in order): the platform is its first output's
    host.write_text(f'story = "{story}"\nmedia_root = "{tmp_path / "m"}"\n'
                    '[show]\noutput = ["kms", "file:/tmp/show.mp4"]\n')
    r = check(story, "--config", host)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "Raspberry Pi 5 cannot decode in hardware" in r.stderr
    host.write_text("story = 3\n")
    r = check(story, "--config", host)
    assert r.returncode == 1 and "story" in r.stderr and "Traceback" not in r.stderr


def encode(path: Path, encoder: str, mux: str = "mp4mux") -> Path:
    """A 1 s test clip through a real encoder (x265enc: HEVC, vp9enc: VP9)."""
    from empathy.host.player.gst import Gst

    Gst_ = Gst()
    pipe = Gst_.parse_launch(f"videotestsrc num-buffers=25 ! video/x-raw,width=160,height=90,"
                             f"framerate=25/1 ! videoconvert ! {encoder} ! {mux} ! "
                             f"filesink location={path}")
    pipe.set_state(Gst_.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(60 * Gst_.SECOND,
                                            Gst_.MessageType.EOS | Gst_.MessageType.ERROR)
    pipe.set_state(Gst_.State.NULL)
    assert msg is not None and msg.type == Gst_.MessageType.EOS
    return path


def test_hardware_decoders_per_platform(tmp_path, check):
    encode(tmp_path / "hevc.mp4", "x265enc ! h265parse")
    encode(tmp_path / "vp9.webm", "vp9enc deadline=1", "webmmux")
    story = tmp_path / "s.toml"
    story.write_text('start = "a"\n[segments.a]\nmedia = "hevc.mp4"\nduration_s = 1\nnext = "b"\n'
                     '[segments.b]\nmedia = "vp9.webm"\nduration_s = 1\n')
    out = json.loads(check(story, "--platform", "pi5", "--json").stdout)
    assert out["ok"] and out["clips"]["a"]["video_codec"] == "h265"
    assert [w["line"] for w in out["warnings"] if "in hardware" in w["reason"]] == [7]  # VP9 only
    out = json.loads(check(story, "--platform", "jetson-orin", "--json").stdout)
    hw = [w["reason"] for w in out["warnings"] if "in hardware" in w["reason"]]
    assert len(hw) == 1 and "VP9" in hw[0] and "Jetson Orin" in hw[0]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
@pytest.mark.parametrize("fmt, args", [
    ("mp4", ["-c:v", "libx264", "-movflags", "+faststart"]), ("mkv", ["-c:v", "libx264"]),
    ("webm", ["-c:v", "libvpx"]), ("avi", ["-c:v", "mpeg4"])])
def test_a_clip_cut_short_in_copying_is_one_error_on_its_line(tmp_path, fmt, args, check):
    """The header survives the cut (tests/redteam/test_artist_media.py: the probe said 2 s
    and the first frame decoded); the container's own sizes say data is missing."""
    full = tmp_path / f"full.{fmt}"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=25", "-t", "2", "-pix_fmt", "yuv420p", *args,
                    str(full)], check=True, timeout=60)
    data = full.read_bytes()
    (tmp_path / f"a.{fmt}").write_bytes(data[:len(data) * 7 // 10])
    story = tmp_path / "s.toml"
    story.write_text(f'start = "a"\n[segments.a]\nmedia = "a.{fmt}"\nduration_s = 2\n')
    r = check(story)
    assert r.returncode == 1 and f"{story}:3: segment 'a': a.{fmt} is cut short" in r.stderr \
        and f"ends at {len(data) * 7 // 10:,} (70%): copy it again" in r.stderr, r.stderr
    story.write_text(story.read_text().replace(f"a.{fmt}", f"full.{fmt}"))
    r = check(story)
    assert r.returncode == 0, r.stderr


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from([b"\x1a\x45\xdf\xa3", b"RIFF", b"\0\0\0\x20ftyp", b"\0\0\0\x08mdat"]),
       rest=st.binary(max_size=64))
def test_the_cut_check_reads_any_bytes_and_ends(tmp_path_factory, head, rest):
    p = tmp_path_factory.getbasetemp() / "fuzz.bin"
    p.write_bytes(head + rest)
    cut = cut_short(p)
    assert cut is None or (isinstance(cut[0], str) and cut[1] > cut[2] == len(head + rest))
