"""A frame's header read by `story new`, `story check` and the player cannot take the
host's memory: a TIFF whose description tag says 256 MB (a sparse file: 256 MB of zeros
on no disk) was read whole by Pillow as it opened the header, at every frame (1 GB: 2 GB
of RSS and 4.6 s of CPU). Pillow reads the header through a file that gives it 16 MB at
most; what it reads past that, or any error no reader expects, is one line naming the
file."""

from __future__ import annotations

import resource
import struct
import subprocess
import sys

import numpy as np
from PIL import Image

from empathy.host.player.imgseq_read import FrameError, header

CLAIM = 256 << 20  # bytes the tag says, in a sparse file
TESTS = __import__("pathlib").Path(__file__).resolve().parent


def tag_bomb(path, claim: int = CLAIM):
    """A 160x96 TIFF written by Pillow whose ImageDescription then says `claim` bytes,
    lying at the file's end, the file run on sparse to hold them."""
    Image.fromarray(np.zeros((96, 160, 3), np.uint8)).save(path, tiffinfo={270: "x" * 100})
    b = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", b, 4)[0]
    for k in range(struct.unpack_from("<H", b, ifd)[0]):
        if struct.unpack_from("<H", b, ifd + 2 + 12 * k)[0] == 270:
            struct.pack_into("<II", b, ifd + 2 + 12 * k + 4, claim, len(b))
    path.write_bytes(b)
    with open(path, "r+b") as fh:
        fh.truncate(len(b) + claim)
    return path


def test_a_tiff_tag_of_256_mb_is_one_line_not_read(tmp_path):
    bomb = tag_bomb(tmp_path / "s.1001.tif")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        header(bomb)
        raise AssertionError("its header was read")
    except FrameError as e:
        assert str(e).startswith("s.1001.tif: over 16 MB read for its header"), e
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 64 << 10  # KB: < 64 MB
    good = tmp_path / "g.1001.tif"
    Image.fromarray(np.zeros((96, 160, 3), np.uint8)).save(good, tiffinfo={270: "x" * 100})
    assert header(good)[0].width == 160  # a tag that says what it holds is read


def _story(*args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", *map(str, args)],
                          capture_output=True, text=True, timeout=180)


def test_story_new_and_check_say_it_in_one_line(tmp_path):
    shot = tmp_path / "media" / "s"
    shot.mkdir(parents=True)
    tag_bomb(shot / "s.1001.tif")
    Image.fromarray(np.zeros((96, 160, 3), np.uint8)).save(shot / "s.1002.tif")
    new = _story("new", tmp_path / "media", "--out", tmp_path / "new.toml", "--fps", "24")
    assert "Traceback" not in new.stderr, new.stderr
    assert "s.1001.tif: over 16 MB read for its header" in new.stderr, new.stderr
    story = tmp_path / "s.toml"
    story.write_text('title = "t"\nstart = "a"\n[segments.a]\nmedia = "media/s/s.####.tif"\n'
                     "fps = 24\nduration_s = 1\n")
    check = _story("check", story)
    assert check.returncode != 0 and "Traceback" not in check.stderr + check.stdout
    said = [ln for ln in (check.stdout + check.stderr).splitlines() if "s.1001.tif" in ln]
    assert len(said) == 1 and "over 16 MB read for its header" in said[0], check.stdout


# A TIFF whose description says 7 MB (under the 16 MB its header may read: Pillow reads a
# TIFF's tags twice), read as `story check` (clip_info) and `story new` (describe) read a
# sequence's first frame: once free, then with the address space limited to what is mapped
# and 3 MB, so that Pillow's read of the tag fails as on a host out of memory. Its
# MemoryError has no message: the line said "s.1001.tif: " and nothing else.
SHORT = """import resource, sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from test_showsafe2_header import tag_bomb
from empathy.host.player.imgseq import SequenceError, clip_info, describe, find
from empathy.host.player.probe import ProbeError

shot = Path(sys.argv[1])
tag_bomb(shot / "s.1001.tif", 7 << 20)
tag_bomb(shot / "s.1002.tif", 7 << 20)
pattern = shot / "s.####.tif"
print("FREE", clip_info(pattern, 24, None)[0].width, flush=True)
vm = next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + (3 << 20), resource.RLIM_INFINITY))
for name, read in (("CHECK", lambda: clip_info(pattern, 24, None)),
                   ("NEW", lambda: describe(find(pattern)))):
    try:
        read()
        print(name, "read", flush=True)
    except (ProbeError, SequenceError) as e:
        print(name, str(e), flush=True)
"""


def test_a_header_out_of_memory_is_one_line_naming_it(tmp_path):
    r = subprocess.run([sys.executable, "-c", SHORT, str(tmp_path), str(TESTS)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stdout + r.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert said["FREE"] == "160"
    for name in ("CHECK", "NEW"):
        assert said[name] == "s.####.tif: its first frame: s.1001.tif: MemoryError", said
