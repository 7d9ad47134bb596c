"""Image sequences attacked: each answer one line, bounded time and memory, no traceback."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib

import pytest
from imgseq_media import make_sequence

from empathy.host.player.imgseq import FRAMES_MAX, SequenceError, find
from empathy.host.player.imgseq_read import FrameError, header
from empathy.host.story import StoryError, load


def cli(*args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", *map(str, args)],
                          capture_output=True, text=True, timeout=180)


def one_line(r) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    return r.stderr


def story(tmp_path, media: str, extra: str = "fps = 24\nduration_s = 1\n"):
    p = tmp_path / "s.toml"
    p.write_text(f'title = "t"\nstart = "a"\n[segments.a]\nmedia = "{media}"\n{extra}')
    return p


def test_a_hundred_thousand_tiny_frames_are_one_sequence(tmp_path):
    shot = make_sequence(tmp_path, "many", range(1), start=1)
    one = shot / "many.0001.png"
    data = one.read_bytes()
    one.unlink()
    for n in range(1, 100_001):  # links: 100,000 names, a file per 50,000 (ext4's limit)
        if n % 50_000 == 1:
            src = shot / f"many.{n:06d}.png"
            src.write_bytes(data)
        else:
            os.link(src, shot / f"many.{n:06d}.png")
    seq = find(shot / "many.######.png")
    assert (seq.first, seq.last, seq.gaps) == (1, 100_000, ())
    out = tmp_path / "film.toml"
    r = cli("new", tmp_path, "--out", out, "--fps", "25")
    assert r.returncode == 0, one_line(r)
    assert load(out).segments["many"].duration_s == 4000.0


def test_a_far_off_number_is_refused_not_allocated(tmp_path):
    shot = make_sequence(tmp_path, "stray", range(2))
    os.link(shot / "stray.1001.png", shot / f"stray.{FRAMES_MAX + 5000:07d}.png")
    with pytest.raises(SequenceError, match="stray file"):
        find(shot / "stray.####.png")


def _png_claiming(path, w: int, h: int) -> None:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk +
                     struct.pack(">I", zlib.crc32(chunk)) + b"\0" * 64)


def test_a_60000_square_frame_in_its_header_is_refused_before_any_pixel(tmp_path):
    shot = make_sequence(tmp_path, "huge", range(2), ext="dpx")
    for f in shot.iterdir():
        b = bytearray(f.read_bytes())
        b[772:780] = struct.pack("<II", 60000, 60000)  # ffmpeg's DPX is little-endian
        f.write_bytes(bytes(b))
    with pytest.raises(FrameError, match="60000x60000"):
        header(shot / "huge.1001.dpx")
    big = tmp_path / "big"
    big.mkdir()
    for n in (1, 2):
        _png_claiming(big / f"big.{n:04d}.png", 60000, 60000)
    with pytest.raises(FrameError, match="60000x60000"):
        header(big / "big.0001.png")
    r = cli("check", story(tmp_path, f"{shot}/huge.####.dpx"))
    assert r.returncode == 1 and "60000x60000" in one_line(r)


def test_a_truncated_first_frame_is_one_line(tmp_path):
    shot = make_sequence(tmp_path, "cut", range(3), ext="exr")
    f = shot / "cut.1001.exr"
    f.write_bytes(f.read_bytes()[:300])
    r = cli("check", story(tmp_path, f"{shot}/cut.####.exr"))
    assert r.returncode == 1 and "cut.1001.exr" in one_line(r)


def test_symlink_loops_end(tmp_path):
    make_sequence(tmp_path, "shot010", range(3))
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    r = cli("new", tmp_path, "--out", tmp_path / "out" / "film.toml", "--fps", "24")
    assert r.returncode == 0, one_line(r)
    r = cli("check", story(tmp_path, "a/x.####.png"))
    assert r.returncode == 1 and "a" in one_line(r)


@pytest.mark.parametrize("name", ["shot.%n.png", "shot.%s.png", "shot.%08x.png",
                                  "shot.%04d.%04d.png", "shot%04d/../x.####.png",
                                  "shot.####.txt.png.%p"])
def test_format_strings_and_folders_in_patterns_are_refused(tmp_path, name):
    with pytest.raises(StoryError, match="segment 'a'"):
        load(story(tmp_path, name))


def test_a_pattern_up_a_folder_is_a_path_like_any(tmp_path):
    make_sequence(tmp_path, "shot010", range(3))
    (tmp_path / "stories").mkdir()
    p = story(tmp_path / "stories", "../shot010/shot010.####.png", "fps = 24\nduration_s = 0.125\n")
    assert load(p).segments["a"].rate == 24.0
