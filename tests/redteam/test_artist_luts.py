"""An artist's own .cube files and screenplay, as their tools write them. The .cube parser
refuses what is malformed line by line (tests/test_cube.py, the fuzzers); here: a large
table that is perfectly legal (LUT_3D_SIZE up to 256) must not take the kiosk's memory
with it, and a screenplay saved with a byte-order mark keeps its title."""

import os
import tracemalloc

from empathy.host.player.cube import identity_cube, read_cube, write_cube


def test_a_large_lut_is_read_in_memory_near_its_size(tmp_path):
    write_cube(tmp_path / "big.cube", identity_cube(33))  # small enough to trace quickly
    size = os.path.getsize(tmp_path / "big.cube")
    tracemalloc.start()
    try:
        cube = read_cube(tmp_path / "big.cube")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cube.lut3d.shape == (33, 33, 33, 3)
    # the bytes, their text and the tables (float64 while parsing) fit in 8x the file
    assert peak < 8 * size, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.2f} MB file"


def test_a_screenplay_saved_with_a_byte_order_mark_keeps_its_title():
    """`story arc` headed a Notepad-saved screenplay with its file name: the BOM hid the
    title page's `Title:` key (host/arc.py)."""
    from pathlib import Path

    from empathy.host.arc import screenplay_title

    sample = Path(__file__).resolve().parents[2] / "host" / "sample" / "neon_rain.fountain"
    assert screenplay_title("\ufeff" + sample.read_text().replace("\n", "\r\n")) == "Neon Rain"
