"""Red team of the LUT readers added in session 31 (.3dl, .spi3d/.spi1d, .csp, CLF/CTF) and
the .cube reader beside them: a story names its LUT files, so these read files an artist got
from anyone. Each bad file is one CubeError line naming the file (and line), in memory near
the file's own size; `lut check`, `lut apply` and `story check` exit 1 with that line.
"""

import random
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest

from empathy.bench import bench_fuzz
from empathy.host.player.cube import CubeError
from empathy.host.player.lutfile import READ, read_lut

EMPATHY = [sys.executable, "-m", "empathy.cli"]
ROWS3DL = "".join(f"{r * 500} {g * 500} {b * 500}\n" for r in range(3) for g in range(3)
                  for b in range(3))
SPI3D = "SPILUT 1.0\n3 3\n2 2 2\n" + "".join(f"{i} {j} {k} 0 0.5 1\n" for i in range(2)
                                               for j in range(2) for k in range(2))
CSP = "CSPLUTV100\n3D\n" + "2\n0 1\n0 1\n" * 3 + "2 2 2\n" + "0 0.5 1\n" * 8
CUBE = "LUT_3D_SIZE 2\n" + "0 0.5 1\n" * 8


def _clf(array: str = '<Array dim="2 2 2 3">' + "0 " * 24 + "</Array>", extra: str = "") -> str:
    return ('<?xml version="1.0"?>\n<ProcessList id="x" compCLFversion="3">' + extra
            + '<LUT3D inBitDepth="32f" outBitDepth="32f">' + array + "</LUT3D></ProcessList>\n")


def _refused(tmp_path, name: str, text, words: str = "") -> str:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(CubeError) as e:
        read_lut(p)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(p)) and len(msg) < 400, msg
    assert words in msg, msg
    return msg


# '²' passes str.isdigit() and int() raised ValueError (a traceback); Arabic-Indic '٠' passes
# it and \d, and float()/int() read it (OpenColorIO refuses the file); 5,000 digits: int()
# raised ValueError (Python's digit limit). All failed before.
DIGITS = [
    ("a.3dl", "3DMESH\nMesh ² 8\n" + ROWS3DL, "Mesh needs two integers"),
    ("a.3dl", ROWS3DL.replace("500", "٥٠٠"), "is not a number"),
    ("a.spi3d", "SPILUT 1.0\n3 3\n² ² ²\n", "lattice size"),
    ("a.spi3d", f"SPILUT 1.0\n3 3\n{'9' * 5000} 2 2\n", ""),  # (now: a line too long)
    ("a.spi3d", SPI3D.replace("1 1 1 0", "1 1 ¹ 0"), "lattice index"),
    ("a.spi3d", SPI3D.replace("0 0.5 1\n", "٠ 0.5 1\n", 1), "is not a number"),
    ("a.csp", "CSPLUTV100\n3D\n²\n0 1\n0 1\n", "point count"),
    ("a.csp", CSP.replace("2 2 2\n", "² ² ²\n"), "table size"),
    ("a.clf", _clf('<Array dim="² ² ² 3">0</Array>'), "size"),
    ("a.clf", _clf(f'<Array dim="{"9" * 5000} 2 2 3">0</Array>'), "size"),
    ("a.clf", _clf('<Array dim="2 2 2 3">' + "٠ " * 24 + "</Array>"), "is not a number"),
    ("a.cube", CUBE.replace("0 0.5 1\n", "٠ 0.5 1\n", 1), "is not a number"),
    ("a.cube", CUBE.replace("SIZE 2", "SIZE ٢"), "needs one integer"),
]


@pytest.mark.parametrize("name,text,words", DIGITS)
def test_digits_not_ascii_are_refused_in_one_line(tmp_path, name, text, words):
    _refused(tmp_path, name, text, words)


def _peak(fn) -> int:
    """Bytes Python allocated at the peak of fn() (the file's text is made before)."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


M = 1 << 20
# (file, text, words): each ~8-20 MB; before, each took 10-60x its size (every line or word
# as a str), the CLF elements 300x: now refused at the first line or element too many.
HUGE = [
    ("a.3dl", lambda: "0 " * (8 * M) + "\n" + ROWS3DL, "line of"),  # a mesh line of 8M codes
    ("a.3dl", lambda: "3DMESH\nMesh 1 12\n" + "\n" * (20 * M) + ROWS3DL, None),  # 20M blank lines
    ("a.csp", lambda: "CSPLUTV100\n3D\n2\n" + "0 " * (8 * M) + "\n", "line of"),
    ("a.cube", lambda: "LUT_3D_SIZE 2\n" + "0 " * (8 * M) + "\n", "line over"),
    ("a.txt", lambda: "\n" * (20 * M) + CUBE, None),  # sniffed, then read: a valid .cube
    ("a.clf", lambda: _clf(extra="<a/>" * (2 * M)), "XML elements"),  # 2M elements
    ("a.clf", lambda: _clf(extra="<a>" * 100_000 + "</a>" * 100_000), "levels"),
    ("a.clf", lambda: _clf('<Array dim="2 2 2 3">' + "0 " * (8 * M) + "</Array>"), "more text"),
]


@pytest.mark.parametrize("name,make,words", HUGE)
def test_a_huge_file_is_read_or_refused_in_bounded_memory(tmp_path, name, make, words):
    text = make()
    (tmp_path / name).write_text(text)
    size = len(text)
    del text
    if words is None:
        assert _peak(lambda: read_lut(tmp_path / name)) < 3 * size
        return
    peak = _peak(lambda: _refused(tmp_path, name, (tmp_path / name).read_bytes(), words))
    assert peak < 4 * size  # the file's bytes and its text: ~2x


def test_many_process_nodes_are_named_in_a_short_line(tmp_path):
    """3,000 LUT1D nodes were all named: an 18 KB 'line'."""
    node = '<LUT1D inBitDepth="32f" outBitDepth="32f"><Array dim="2 1">0 1</Array></LUT1D>'
    msg = _refused(tmp_path, "a.clf", "<ProcessList>" + node * 3000 + "</ProcessList>",
                   "(3000 nodes)")
    assert len(msg) < 300


def test_xml_attacks_are_refused_or_harmless(tmp_path):
    for doc in ('<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><ProcessList>&b;'
                "</ProcessList>", '<!DOCTYPE l SYSTEM "file:///etc/passwd"><ProcessList/>'):
        _refused(tmp_path, "a.clf", '<?xml version="1.0"?>' + doc, "DTD")
    _refused(tmp_path, "a.clf", _clf(extra='<xi:include xmlns:xi="http://www.w3.org/2001/'
                                     'XInclude" href="/etc/passwd"/>'), "xi:include")
    _refused(tmp_path, "a.clf", _clf().encode("utf-16"), "UTF-16 text: save it as UTF-8")
    (tmp_path / "ok.clf").write_text(_clf('<Array dim="2 2 2 3"><![CDATA[' + "0 " * 12
                                          + "]]><!-- c -->" + "0 " * 12 + "</Array>"))
    assert read_lut(tmp_path / "ok.clf").lut3d.shape == (2, 2, 2, 3)


def test_format_sniffing_and_line_ends(tmp_path):
    _refused(tmp_path, "a.cube", _clf(), "XML, not a .cube")  # was "table data before ..."
    _refused(tmp_path, "a.txt", "١ ٢ ٣ ٤\n" + CUBE, "table data before")  # not sniffed .3dl
    for name, text in (("a.CUBE", CUBE), ("a.txt", CUBE), ("a.cube", CUBE.replace("\n", "\r")),
                       ("b.cube", "\ufeff" + CUBE.replace("\n", "\r\n")),
                       ("a.3dl", "3DMESH\rMesh 1 12\r" + ROWS3DL.replace("\n", "\r")),
                       ("a.3dl.cube", CUBE)):
        (tmp_path / name).write_text(text)
        assert read_lut(tmp_path / name).lut3d.shape[0] in (2, 3), name


def test_the_commands_say_one_line_and_exit_1(tmp_path):
    bad = tmp_path / "look.3dl"
    bad.write_text("3DMESH\nMesh ² 8\n" + ROWS3DL)  # a traceback before
    story = tmp_path / "s.toml"
    story.write_text('title = "t"\nstart = "a"\n[segments.a]\nmedia = "a.mp4"\n'
                     'lut = "look.3dl"\nduration_s = 1.0\n')
    for args in (["lut", "check", str(bad)], ["lut", "apply", str(bad), str(bad), "o.png"],
                 ["story", "check", str(story)]):
        r = subprocess.run(EMPATHY + args, capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
        out = r.stdout + r.stderr
        assert r.returncode == 1 and "Traceback" not in out, out
        said = [ln for ln in out.splitlines() if "look.3dl" in ln]
        assert said and all("Mesh needs two integers" in ln for ln in said), out


def test_mutations_of_real_files_raise_only_cube_error():
    """Each format's files (the tests' own, and colour-science's where cached) mutated
    bytewise and linewise: only CubeError may come out."""
    from empathy.host.player import lut_corpus

    seeds = [(s, t.encode()) for s, t in ((".3dl", ROWS3DL), (".spi3d", SPI3D), (".csp", CSP),
                                          (".clf", _clf()), (".cube", CUBE))]
    with tempfile.TemporaryDirectory() as d:
        try:
            seeds += [(p.suffix.lower(), p.read_bytes()) for p in lut_corpus.extract(Path(d))
                      if p.stat().st_size < 64_000]
        except Exception:  # the corpus is optional (not cached): the tests' files stay
            pass
    rng, n = random.Random(32), 0
    for k in range(3000):
        suffix, seed = seeds[k % len(seeds)]
        data = bench_fuzz.mutate(rng, seed, [s for _, s in seeds])
        try:
            READ[suffix](data.decode("utf-8", "replace"), "f")
        except CubeError as e:
            assert "\n" not in str(e)
        n += 1
    assert n == 3000


def test_a_large_clf_is_read_in_memory_near_its_size(tmp_path):
    """Every value of the Array as a str: a 129^3 CLF of 24 MB took 628 MB (now 211 MB);
    this 65^3 one 22x its size in Python objects (now 8x)."""
    n = 65
    text = _clf(f'<Array dim="{n} {n} {n} 3">' + " ".join(["0.5"] * (n ** 3 * 3)) + "</Array>")
    (tmp_path / "big.clf").write_text(text)
    size = len(text)
    del text
    cube = None

    def read():
        nonlocal cube
        cube = read_lut(tmp_path / "big.clf")

    # 8x: its bytes, its text thrice, the values in float64 twice
    assert _peak(read) < 12 * size and cube.lut3d.shape == (n, n, n, 3)
