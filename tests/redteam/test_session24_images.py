"""Red team, session 24: images a user hands the tools (`lut apply`, `lut preview`,
`calibrate pupil-scale --image`) whose header claims a huge picture.

OpenCV decodes up to 2**30 pixels by default: a 2.6 MB PNG of 30,000 x 30,000 black
pixels took `lut apply` over 5 GB and past 120 s (killed by the test's timeout; a kiosk
Pi's OOM killer may pick the show). One claiming 40,000 x 40,000 made OpenCV raise, and
each tool ended in "unexpected error ... please report it" (exit 70) and a crash file.
Real files, the real commands in their own processes, their memory capped at 3 GB."""

from __future__ import annotations

import re
import resource
import struct
import subprocess
import sys
import time
import zlib

import pytest

from empathy.host.player.cube import identity_cube, write_cube

pytestmark = pytest.mark.timeout(180)


def _png(path, w: int, h: int, rows: bool) -> None:
    """An RGB PNG of black rows (compressed 1000:1), or only its header's claim."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    z = zlib.compressobj(9)
    data = (b"".join(z.compress(b"\x00" * (3 * w + 1)) for _ in range(h)) + z.flush()
            if rows else zlib.compress(b"\x00" * 100))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0,
                                                                        0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _run(*args):
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "empathy.cli", *map(str, args)], capture_output=True,
                       text=True, timeout=150, preexec_fn=cap)
    return r, time.monotonic() - t0


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """One whose header alone claims 40,000 x 40,000; one of 12,000 x 12,000 black pixels
    (over the cap of 134 MP: a 12K frame, 80 MP, is read)."""
    d = tmp_path_factory.mktemp("images")
    _png(d / "claims.png", 40_000, 40_000, rows=False)
    _png(d / "holds.png", 12_000, 12_000, rows=True)
    return {"claims 1.6 GP": d / "claims.png", "holds 144 MP": d / "holds.png"}


@pytest.fixture
def cube(tmp_path):
    path = tmp_path / "id.cube"
    write_cube(path, identity_cube(9))
    return path


@pytest.mark.parametrize("verb", ["lut apply", "lut preview", "calibrate pupil-scale"])
@pytest.mark.parametrize("image", ["claims 1.6 GP", "holds 144 MP"])
def test_an_image_too_large_to_be_a_frame_is_one_line(tmp_path, images, cube, verb, image):
    img = images[image]
    args = {"lut apply": ["lut", "apply", cube, img, tmp_path / "out.png"],
            "lut preview": ["lut", "preview", cube, img, "--out", tmp_path / "out.png"],
            "calibrate pupil-scale": ["calibrate", "pupil-scale", "--image", img]}[verb]
    r, took = _run(*args)
    lines = r.stderr.strip().splitlines()
    assert r.returncode not in (0, 70) and len(lines) == 1, (r.returncode, r.stderr[-2000:])
    assert re.search(r"\d+ (megapixels|MP)", lines[0]) and "unexpected" not in lines[0], lines
    assert took < 60, took
    assert not (tmp_path / "out.png").exists()
