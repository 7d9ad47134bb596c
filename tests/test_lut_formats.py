"""LUT formats besides .cube: .3dl (Flame/Lustre), .spi3d, .spi1d, .csp, CLF read into the Cube
the grade uses, beside OpenColorIO's own reading of the same file; the formats we do not read
refused in one line with the command that converts them; the real files colour-science
ships (cache/lut-corpus, fetched by scripts/install.sh) read as OpenColorIO reads them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy.cli import main
from empathy.host.player.clf import parse_clf
from empathy.host.player.csp import parse_csp
from empathy.host.player.cube import CubeError
from empathy.host.player.lut_corpus import CorpusMissing, extract, peer
from empathy.host.player.lutfile import read_lut
from empathy.host.player.spi import parse_spi1d, parse_spi3d
from empathy.host.player.threedl import parse_3dl


def _look(r, g, b):
    """A grade with crosstalk, so a swapped axis or a wrong order cannot pass."""
    return (0.8 * r + 0.2 * g, 0.9 * g + 0.1 * b * b, 0.5 * b + 0.3 * r)


def _codes(n: int, top: int) -> np.ndarray:
    """(n^3, 3) integer rows in .3dl order (blue fastest) of _look, scaled to 0..top."""
    x = np.linspace(0.0, 1.0, n)
    r, g, b = np.meshgrid(x, x, x, indexing="ij")
    rows = np.stack(_look(r, g, b), axis=-1).reshape(-1, 3)
    return np.rint(rows * top).astype(int)


def flame(n: int = 17, top: int = 4095) -> str:
    mesh = " ".join(str(min(i * 1024 // (n - 1), 1023)) for i in range(n))
    return mesh + "\n" + "\n".join(" ".join(map(str, r)) for r in _codes(n, top)) + "\n"


def lustre(out_bits: int = 12, top: int | None = None) -> str:
    rows = _codes(17, (1 << out_bits) - 1 if top is None else top)
    return ("3DMESH\nMesh 4 %d\n0 64 128 192 256 320 384 448 512 576 640 704 768 832 896 960 "
            "1023\n\n" % out_bits + "\n".join(" ".join(map(str, r)) for r in rows)
            + "\n\nLUT8\ngamma 1.0\n")


def test_a_flame_3dl_is_checked_graded_and_as_opencolorio_reads_it(tmp_path, capsys):
    """Before: `lut check show.3dl` said 'show.3dl:1: table data before LUT_1D_SIZE or
    LUT_3D_SIZE' (every file was read as a .cube)."""
    path = tmp_path / "show.3dl"
    path.write_text(flame())
    assert main(["lut", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "17-point lattice (10-bit input), 12-bit output (largest value" in out, out
    cube = read_lut(path)
    x = np.linspace(0.0, 1.0, 17)
    want = np.stack(_look(*np.meshgrid(x, x, x, indexing="ij")), axis=-1)
    assert np.abs(cube.lut3d - want).max() <= 0.5 / 4095 + 1e-7
    mx, _, _ = peer(path)
    assert mx <= 1e-6


def test_lut_apply_grades_a_picture_with_a_3dl(tmp_path):
    import cv2

    path = tmp_path / "show.3dl"
    path.write_text(flame())
    img = np.full((8, 8, 3), 200, np.uint8)
    cv2.imwrite(str(tmp_path / "in.png"), img)
    assert main(["lut", "apply", str(path), str(tmp_path / "in.png"),
                 str(tmp_path / "out.png")]) == 0
    out = cv2.imread(str(tmp_path / "out.png"))[..., ::-1].astype(float)  # RGB
    want = 255 * np.array(_look(200 / 255, 200 / 255, 200 / 255))
    assert np.abs(out[0, 0] - want).max() <= 1.5


def test_a_lustre_3dl_takes_its_depth_from_the_mesh_line(tmp_path):
    path = tmp_path / "lustre.3dl"
    path.write_text(lustre())
    assert read_lut(path).origin.endswith("12-bit output (Mesh line 2)")
    assert peer(path)[0] <= 1e-6
    # A dark 12-bit grade (no value over 2047): OpenColorIO guesses 10-bit from the values
    # and grades it 4x too bright; the Mesh line says 12, and the 3DL spec has it say so.
    path.write_text(lustre(top=1800))
    assert abs(read_lut(path).lut3d.max() - 1800 / 4095) < 1e-6
    assert peer(path)[0] > 0.5


def test_spi3d_in_any_row_order_and_spi1d_read_as_opencolorio_reads_them(tmp_path):
    n = 5
    x = np.linspace(0.0, 1.0, n)
    rows = [f"{i} {j} {k} " + " ".join(f"{v:.6f}" for v in _look(x[i], x[j], x[k]))
            for i in range(n) for j in range(n) for k in range(n)]
    spi3d = tmp_path / "look.spi3d"
    spi3d.write_text(f"SPILUT 1.0\n3 3\n{n} {n} {n}\n" + "\n".join(rows[::-1]) + "\n")
    assert read_lut(spi3d).lut3d.shape == (n, n, n, 3)
    spi1d = tmp_path / "curve.spi1d"
    vals = "\n".join(f"  {v:.6f}" for v in np.linspace(0.0, 1.0, 64) ** 2.2)
    spi1d.write_text(f"Version 1\nFrom -0.25 1.5\nLength 64\nComponents 1\n{{\n{vals}\n}}\n")
    c = read_lut(spi1d)
    assert (c.kind, c.domain_min, c.domain_max) == ("1D", (-0.25,) * 3, (1.5,) * 3)
    for p in (spi3d, spi1d):
        assert peer(p)[0] <= 1e-6, p


def _csp(pre_in: str, pre_out: str, n: int = 3) -> str:
    x = np.linspace(0.0, 1.0, n)
    rows = [" ".join(f"{v:.6f}" for v in _look(x[r], x[g], x[b]))
            for b in range(n) for g in range(n) for r in range(n)]  # red fastest
    k = len(pre_in.split())
    pre = f"{k}\n{pre_in}\n{pre_out}\n" * 3
    return (f"CSPLUTV100\n3D\n\nBEGIN METADATA\nRagged 3D\nEND METADATA\n\n{pre}\n"
            f"{n} {n} {n}\n" + "\n".join(rows) + "\n")


def test_a_csp_with_a_ragged_prelut_is_read_as_opencolorio_reads_it(tmp_path):
    """Before: 'grade.csp:1: unknown keyword 'CSPLUTV100''. The prelut is Cinespace's cubic
    through unevenly spaced points, sampled as OpenColorIO does."""
    path = tmp_path / "grade.csp"
    path.write_text(_csp("-0.1 0.05 0.3 0.7 1.4", "0 0.2 0.45 0.8 1"))
    c = read_lut(path)
    assert (c.kind, c.domain_min, c.domain_max) == ("shaper+3D", (-0.1,) * 3, (1.4,) * 3)
    assert peer(path)[0] <= 1e-5
    path.write_text(_csp("0 1", "0 1", n=5))  # an identity prelut is left out
    assert read_lut(path).kind == "3D" and peer(path)[0] <= 1e-6


def _clf(*nodes: str, head: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}<ProcessList id="g" '
            f'compCLFversion="3">\n<Description>a grade</Description>\n' + "".join(nodes)
            + "</ProcessList>\n")


def _lut1d(n: int = 9) -> str:
    vals = "\n".join(str(round(1023 * (i / (n - 1)) ** 0.8)) for i in range(n))
    return (f'<LUT1D inBitDepth="32f" outBitDepth="10i">\n<Array dim="{n} 1">\n{vals}\n'
            "</Array>\n</LUT1D>\n")


def _lut3d(n: int = 5) -> str:
    rows = "\n".join(" ".join(map(str, r)) for r in _codes(n, 4095))  # blue fastest
    return (f'<LUT3D inBitDepth="10i" outBitDepth="12i">\n<Array dim="{n} {n} {n} 3">\n'
            f"{rows}\n</Array>\n</LUT3D>\n")


def test_a_clf_of_tables_is_read_as_opencolorio_reads_it(tmp_path):
    """Before: a .clf was refused (and before that read as a .cube)."""
    path = tmp_path / "shaper.clf"
    path.write_text(_clf(_lut1d(), _lut3d()))
    c = read_lut(path)
    assert (c.kind, c.origin) == ("shaper+3D", "CLF, LUT1D 9 then LUT3D 5")
    assert peer(path)[0] <= 1e-5
    path = tmp_path / "look.ctf"
    path.write_text(_clf(_lut3d(17)))
    assert read_lut(path).kind == "3D" and peer(path)[0] <= 1e-5


BAD = [  # (file name, text, line, message start)
    ("a.3dl", flame().replace(" 1023\n", " 1000\n", 1), 1, "mesh runs 0..1000: it must span"),
    ("a.3dl", flame().replace("0 64 128", "0 90 128", 1), 1, "mesh point 2 is 90, not evenly"),
    ("a.3dl", flame() + "0 0 0\n", 4915, "too many rows: a 17-point mesh needs 4913"),
    ("a.3dl", flame().replace("\n0 0 0\n", "\n0 0 0.5\n"), 2, "'0.5' is not a whole code"),
    ("a.3dl", flame().replace("\n0 0 0\n", "\n0 0\n"), 2, "expected 3 values per row, got 2"),
    ("a.3dl", flame().replace("\n0 0 0\n", "\n0 0 70000\n"), 2, "value 70000 is above 65535"),
    ("a.3dl", lustre().replace("Mesh 4 12", "Mesh 5 12"), 3, "mesh has 17 points but 'Mesh 5'"),
    ("a.3dl", lustre().replace("Mesh 4 12", "Mesh 4 10"), 13, "value 1024 is above 1023,"),
    ("a.3dl", lustre().replace("LUT8", "LUT9"), 4919, "unknown keyword 'LUT9' in a .3dl"),
    ("a.3dl", '<?xml version="1.0"?>\n', 1, "XML, not a .3dl"),
    ("a.spi3d", "SPILUT 1.0\n3 3\n2 2 2\n" + "0 0 0 0 0 0\n" * 8, 5, "point 0 0 0 again"),
    ("a.spi3d", "SPILUT 1.0\n3 3\n2 2 2\n0 0 2 0 0 0\n", 4, "lattice index '0 0 2' is not"),
    ("a.spi3d", "SPILUT 1.0\n3 3\n2 2 2\n0 0 0 0 0 nan\n", 4, "'nan' is not a number"),
    ("a.spi3d", "SPILUT 1.0\n3 1\n", 2, "second line must be '3 3'"),
    ("a.spi1d", "Version 1\nLength 3\n{\n0\n1\n}\n", 6, "too few rows: Length is 3, found 2"),
    ("a.spi1d", "Version 1\nFrom 1 0\nLength 2\n{\n0\n1\n}\n", 2, "From 1 0: the minimum"),
    ("a.spi1d", "Version 1\nLength 99999\n{\n}\n", 2, "Length 99999 is not an integer 2..65536"),
    ("a.spi1d", "Version 1\nLength 2\n{\n0\n1e39\n}\n", 5, "value '1e39' is outside"),
    ("a.clf", _clf('<Matrix inBitDepth="32f" outBitDepth="32f"/>\n'), 4,
     "process node 'Matrix' is not read here (a LUT1D and/or a LUT3D are); bake it"),
    ("a.clf", _clf(_lut3d(), head='<!DOCTYPE lol [<!ENTITY a "aaaa">]>\n'), 2,
     "a DTD or entity declaration: refused"),
    ("a.clf", _clf(_lut3d().replace("</Array>", "0 0 0\n</Array>")), 5,
     "Array has 378 values, its dim needs 375"),
    ("a.clf", _clf(_lut1d().replace('outBitDepth="10i"', 'outBitDepth="10i" '
                                    'halfDomain="true"')), 4, "a LUT1D with 'halfDomain'"),
    ("a.clf", _clf(_lut3d()).replace("</LUT3D>", "</LUT1D>"), 132, "not well-formed XML"),
    ("a.csp", _csp("0 0.5 0.4", "0 0.5 1"), 9, "red prelut: input points must incr"),
    ("a.csp", _csp("0 1", "0 1").replace("3 3 3", "2 3 4"), 18, "a 2x3x4 table: only equal"),
    ("a.csp", _csp("0 1", "0 1") + "0 0 0\n", 46, "too many rows: the table has 27"),
    ("a.csp", _csp("0 1", "0 1").replace("\n2\n0 1\n0 1\n", "\n2\n0 1\n0\n", 1), 10,
     "red prelut: expected 2 outputs, got 1"),
]


@pytest.mark.parametrize("name,text,line,words", BAD)
def test_a_malformed_file_names_its_line(tmp_path, name, text, line, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CubeError) as e:
        read_lut(path)
    assert (e.value.line, e.value.message[:len(words)]) == (line, words), str(e.value)


@pytest.mark.parametrize("name,head", [("grade.cdl", "<ColorDecisionList>\n"),
                                       ("grade.mga", "LUT8\n"),
                                       ("grade.spimtx", "1 0 0 0\n0 1 0 0\n0 0 1 0\n")])
def test_a_format_we_do_not_read_is_refused_with_the_command_that_converts_it(
        tmp_path, capsys, name, head):
    path = tmp_path / name
    path.write_text(head)
    assert main(["lut", "check", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "are not read here" in err[0], err
    assert f"ociobakelut --lut {path} --format resolve_cube {path.with_suffix('.cube')}" \
        in err[0]


def test_a_3dl_named_otherwise_is_told_by_its_mesh_line(tmp_path):
    path = tmp_path / "grade.txt"
    path.write_text(flame())
    assert read_lut(path).origin.startswith(".3dl, 17-point")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([(parse_3dl, "3DMESH\nMesh 1 8\n0 511 1023\n"),
                        (parse_spi3d, "SPILUT 1.0\n3 3\n2 2 2\n"),
                        (parse_spi1d, "Version 1\nFrom 0 1\nLength 2\n{\n"),
                        (parse_csp, "CSPLUTV100\n3D\n2\n0 1\n0 1\n"),
                        (parse_clf, '<ProcessList><LUT3D inBitDepth="32f" outBitDepth="8i">')]),
       st.lists(st.sampled_from(list("0123456789 \n.-+e#{}<MeshLUTgamn\t/>=\"&")
                                + ["<Array dim=\"2 2 2 3\">", "</LUT3D>", "<LUT1D ",
                                   "</ProcessList>", "<!DOCTYPE x>"]), max_size=300))
def test_fuzz_text_only_one_line_errors(parser_head, words):
    parser, head = parser_head
    text = "".join(words)
    try:
        c = parser(head + text)
    except CubeError as e:
        assert "\n" not in str(e)
        return
    assert c.lut1d is not None or c.lut3d is not None


def test_the_real_files_colour_science_ships_read_as_opencolorio_reads_them():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            files = extract(Path(tmp))
        except CorpusMissing as e:
            pytest.skip(str(e))
        read = 0
        for p in files:
            try:
                mx, mean, what = peer(p)
            except CubeError as e:
                assert "\n" not in str(e) and str(p) in str(e)  # one line naming the file
                continue
            if np.isnan(mx):  # OpenColorIO refuses Resolve's TITLE; we read those
                continue
            # a .csp's 1D table after a prelut is composed into one shaper: ~1e-5
            assert mx <= (5e-5 if p.suffix == ".csp" else 1e-6), (p, what, mx)
            read += 1
        assert read >= 26, read  # 12 .cube, 2 .spi1d, 2 .spi3d, 10 .csp are read by both
