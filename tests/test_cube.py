"""The .cube parser: valid dialects round-trip, every malformed file names its line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy.host.player.cube import (Cube, CubeError, identity_cube, parse_cube, read_cube,
                                      write_cube)


def rows3d(n: int, fn=lambda r, g, b: (r, g, b)) -> str:
    out = []
    for b in range(n):  # red varies fastest
        for g in range(n):
            for r in range(n):
                v = fn(r / (n - 1), g / (n - 1), b / (n - 1))
                out.append(" ".join(f"{x:.6f}" for x in v))
    return "\n".join(out)


def test_3d_order_and_header():
    text = '# made by hand\nTITLE "swap"\n\nLUT_3D_SIZE 3\n' + rows3d(3, lambda r, g, b: (b, g, r))
    c = parse_cube(text)
    assert c.title == "swap" and c.kind == "3D" and c.lut1d is None
    assert c.lut3d.shape == (3, 3, 3, 3) and c.lut3d.dtype == np.float32
    # indexed [r][g][b]: the node at r=1, g=0, b=0 holds (b, g, r) = (0, 0, 1)
    assert c.lut3d[2, 0, 0].tolist() == [0.0, 0.0, 1.0]
    assert c.lut3d[0, 1, 2].tolist() == [1.0, 0.5, 0.0]


def test_size2_and_domain():
    c = parse_cube("LUT_3D_SIZE 2\nDOMAIN_MIN -0.5 0 0\nDOMAIN_MAX 2 1 4\n" + rows3d(2))
    assert c.domain_min == (-0.5, 0.0, 0.0) and c.domain_max == (2.0, 1.0, 4.0)
    assert c.lut3d.shape[0] == 2


def test_1d_with_comments_and_crlf():
    text = "TITLE \"g\"\r\nLUT_1D_SIZE 4 # four\r\n# c\r\n0 0 0\r\n0.1 0.1 0.1\r\n0.5 0.5 0.5\r\n1 1 1\r\n"
    c = parse_cube(text)
    assert c.kind == "1D" and c.lut1d.shape == (4, 3) and c.lut1d[2, 0] == pytest.approx(0.5)


def test_resolve_shaper_plus_3d():
    shaper = "\n".join(f"{v} {v} {v}" for v in np.linspace(0, 1, 5) ** 0.5)
    text = ("LUT_1D_SIZE 5\nLUT_3D_SIZE 2\nLUT_1D_INPUT_RANGE 0 4\nLUT_3D_INPUT_RANGE 0 1\n"
            + shaper + "\n" + rows3d(2))
    c = parse_cube(text)
    assert c.kind == "shaper+3D"
    assert c.domain_max == (4.0, 4.0, 4.0) and c.shaper_domain_max == (1.0, 1.0, 1.0)
    assert c.lut1d.shape == (5, 3) and c.lut3d.shape == (2, 2, 2, 2 + 1)


def test_write_read_roundtrip(tmp_path):
    c = identity_cube(5)
    c.lut3d = c.lut3d ** 2.2
    c.domain_max = (1.0, 0.9, 1.0)
    write_cube(tmp_path / "a.cube", c)
    back = read_cube(tmp_path / "a.cube")
    np.testing.assert_allclose(back.lut3d, c.lut3d, atol=1e-6)
    assert back.domain_max == (1.0, 0.9, 1.0) and back.name == "a"
    s = Cube(lut1d=np.linspace(0, 1, 7, dtype=np.float32)[:, None].repeat(3, 1),
             lut3d=identity_cube(2).lut3d, domain_max=(2.0,) * 3,
             shaper_domain_min=(0.0,) * 3, shaper_domain_max=(1.0,) * 3)
    write_cube(tmp_path / "s.cube", s)
    back = read_cube(tmp_path / "s.cube")
    assert back.kind == "shaper+3D" and back.domain_max == (2.0,) * 3


BAD = [
    # (text, line, words in the message)
    ("LUT_3D_SIZE 2\n" + rows3d(2).rsplit("\n", 1)[0] + "\n", 8, "too few rows"),
    ("LUT_3D_SIZE 2\n" + rows3d(2) + "\n1 1 1\n", 10, "too many rows"),
    ("LUT_3D_SIZE 2\n0 0\n", 2, "expected 3 values per row, got 2"),
    ("LUT_3D_SIZE 2\n0 0 0 0\n", 2, "got 4"),
    ("LUT_3D_SIZE 2\n0 zero 0\n" + rows3d(2).split("\n", 1)[1], 2, "'zero' is not a number"),
    ("LUT_3D_SIZE 2\n0 0 0\nnan 0 0\n" + rows3d(2).split("\n", 2)[2], 3, "non-finite"),
    ("LUT_3D_SIZE 2\n" + rows3d(2).replace("1.000000 1.000000 1.000000", "inf 1 1"), 9,
     "non-finite"),
    ("LUT_3D_SIZE 2\n" + rows3d(2).replace("1.000000 1.000000 1.000000", "1e999 1 1"), 9,
     "non-finite"),
    ("0 0 0\n", 1, "before LUT_1D_SIZE or LUT_3D_SIZE"),
    ('TITLE "x"\n', 0, "no LUT_1D_SIZE or LUT_3D_SIZE"),
    ("LUT_3D_SIZE 1000\n", 1, "out of range 2..256"),
    ("LUT_3D_SIZE 1\n", 1, "out of range"),
    ("LUT_1D_SIZE 70000\n", 1, "out of range 2..65536"),
    ("LUT_3D_SIZE two\n", 1, "needs one integer"),
    ("LUT_3D_SIZE 2.5\n", 1, "needs one integer"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 0 1\n" + rows3d(2), 3,
     "DOMAIN_MIN 0 is not below DOMAIN_MAX 0 (channel G)"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 0 0\n", 2, "DOMAIN_MIN needs 3 values"),
    # absurd domains: 1/width or max - min would overflow in the renderer's scale
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1e-320 1 1\n" + rows3d(2), 3,
     "DOMAIN_MIN..DOMAIN_MAX spans only"),  # (a subnormal: 9.99989e-321)
    ("LUT_3D_SIZE 2\nDOMAIN_MIN -1e308 0 0\nDOMAIN_MAX 1 1 1\n" + rows3d(2), 2,
     "DOMAIN_MIN -1e+308 (channel R) is outside"),
    ("LUT_3D_SIZE 2\nDOMAIN_MAX 1 1 1e308\n" + rows3d(2), 2,
     "DOMAIN_MAX 1e+308 (channel B) is outside"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 nan\n" + rows3d(2), 3, "non-finite"),
    ("LUT_1D_SIZE 2\nLUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 0 1e-9\n0 0 0\n1 1 1\n" + rows3d(2),
     3, "LUT_3D_INPUT_RANGE spans only 1e-09"),
    ("LUT_3D_SIZE 2\nLUT_3D_SIZE 2\n", 2, "duplicate LUT_3D_SIZE (first on line 1)"),
    ('TITLE "a"\nTITLE "b"\nLUT_3D_SIZE 2\n', 2, "duplicate TITLE"),
    ("LUT_3D_SIZE 2\nLUT_SIZE_FOO 3\n", 2, "unknown keyword 'LUT_SIZE_FOO'"),
    ("LUT_3D_SIZE 2\n" + rows3d(2).replace("\n", "\nTITLE \"late\"\n", 1), 3,
     "after table data"),
    ("LUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 1 0\n", 2, "min 1 is not below max 0"),
    ("LUT_3D_SIZE 2\nLUT_1D_INPUT_RANGE 0 1\n" + rows3d(2), 2, "has no LUT_1D_SIZE"),
    ("", 0, "empty file"),
    ("  \n\n# only a comment\n", 0, "no LUT_1D_SIZE"),
]


@pytest.mark.parametrize("text,line,words", BAD, ids=[b[2][:30] for b in BAD])
def test_malformed_names_line(text, line, words, tmp_path):
    p = tmp_path / "bad.cube"
    p.write_text(text)
    with pytest.raises(CubeError) as ei:
        read_cube(p)
    e = ei.value
    assert isinstance(e, ValueError)
    assert words in e.message, e.message
    assert e.line == line, str(e)
    assert str(p) in str(e)


BIG = rows3d(17).split("\n")  # 4913 rows, ~130 KB: past the parser's first 64-KB block
BIG_BAD = [  # (row 4000 becomes, words, line)
    ("0 zero 0", "'zero' is not a number", 4002),
    ("1e999 1 1", "non-finite value in row '1e999 1 1'", 4002),
    ("0 0", "expected 3 values per row, got 2", 4002),
    ('TITLE "late"', "after table data", 4002),
    # the row that is one too many is the file's last: 4913 rows + 3 lines + the header
    ("0 0 0\n# a comment\n\n0 0 0", "too many rows: expected 4913, found 4914", 4917)]


@pytest.mark.parametrize("new,words,line", BIG_BAD, ids=[b[1][:30] for b in BIG_BAD])
def test_a_large_table_still_names_the_line(new, words, line):
    rows = BIG[:4000] + [new] + BIG[4001:]
    with pytest.raises(CubeError) as ei:
        parse_cube("LUT_3D_SIZE 17\n" + "\n".join(rows))
    assert words in ei.value.message and ei.value.line == line, str(ei.value)


def test_a_large_table_reads_every_value_and_counts_every_line():
    c = parse_cube("# x\nLUT_3D_SIZE 17\r\n" + "\r\n".join(BIG) + "\r\n\r\n")
    np.testing.assert_allclose(c.lut3d, identity_cube(17).lut3d, atol=1e-6)
    with pytest.raises(CubeError, match="too few rows") as ei:
        parse_cube("LUT_3D_SIZE 17\n" + "\n".join(BIG[:-1]) + "\n\n")
    assert ei.value.line == len(BIG) + 1


def test_binary_and_missing_files(tmp_path):
    p = tmp_path / "bin.cube"
    p.write_bytes(b"LUT_3D_SIZE 2\n\x00\x01\x02")
    with pytest.raises(CubeError, match="binary") as ei:
        read_cube(p)
    assert ei.value.line == 2
    p.write_bytes(b"LUT_3D_SIZE 2\n\xff\xfe 0 0\n")
    with pytest.raises(CubeError, match="not UTF-8"):
        read_cube(p)
    with pytest.raises(CubeError, match="cannot read"):
        read_cube(tmp_path / "missing.cube")
    with pytest.raises(CubeError, match="cannot read"):
        read_cube(tmp_path)  # a directory


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("LUT_3DSIZE1D0.5 -+e#\n\"TITLEDOMAINXnaf\t")),
               max_size=300))
def test_fuzz_text_only_cube_error(text):
    try:
        c = parse_cube(text)
    except CubeError:
        return
    assert c.lut1d is not None or c.lut3d is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_bytes_only_cube_error(data):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.cube"
        p.write_bytes(b"LUT_3D_SIZE 2\n" + data)
        try:
            read_cube(p)
        except CubeError:
            pass


def test_cli_check(tmp_path, capsys):
    import json

    from empathy.cli import main

    good = tmp_path / "good.cube"
    write_cube(good, identity_cube(4))
    assert main(["lut", "check", str(good), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] and d["kind"] == "3D" and d["size_3d"] == 4
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\n0 0\n")
    assert main(["lut", "check", str(bad)]) == 1
    assert f"{bad}:3: expected 3 values per row, got 2" in capsys.readouterr().err
