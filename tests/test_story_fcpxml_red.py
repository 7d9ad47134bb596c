"""Red team of the .fcpxml reader (host/story_fcpxml.py): an artist drafts stories from
timelines anyone sent them. Each hostile file is `empathy story new` in a child held to
1.5 GiB of address space: one line naming the file, exit 1, no traceback; a file whose clips
name odd files is drafted and `story check`'s lines name them."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from test_story_fcpxml import CUT, NESTED

pytestmark = pytest.mark.timeout(300)
HEAD, TAIL = CUT.split("<spine>")[0] + "<spine>", "</spine>" + CUT.split("</spine>")[1]
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))


def _cap():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))


def _new(tmp_path, text, name="cut.fcpxml"):
    src = tmp_path / name
    src.write_bytes(text.encode())
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", str(src), "--out",
                        str(tmp_path / "s.toml")], capture_output=True, text=True, timeout=240,
                       preexec_fn=_cap)
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr[-2000:]
    return r.stderr.strip().splitlines()


def _compound_fan_out(levels: int = 15, uses: int = 10) -> str:
    """Compound clip i shows compound i+1 `uses` times over its 10^-i s: 10^15 clips."""
    media = "".join(
        f'<media id="c{i}"><sequence format="f" duration="1/{uses ** i}s"><spine>' + "".join(
            (f'<ref-clip ref="c{i + 1}"' if i + 1 < levels else '<asset-clip ref="a"')
            + f' offset="{k}/{uses ** (i + 1)}s" duration="1/{uses ** (i + 1)}s"/>'
            for k in range(uses)) + "</spine></sequence></media>" for i in range(levels))
    return NESTED.replace('<media id="c"', media + '<media id="c"').replace(
        'ref="c" offset="0s" start="3603s"', 'ref="c0" offset="0s" start="0s"')


HOSTILE = [
    ("billion laughs", CUT.replace("<!DOCTYPE fcpxml>", f"<!DOCTYPE fcpxml [{LAUGHS}]>")
     .replace('name="Day 1"', 'name="&l9;"'), "a DTD or entity declaration: refused"),
    ("an external entity", CUT.replace("<!DOCTYPE fcpxml>", '<!DOCTYPE fcpxml [<!ENTITY x '
     'SYSTEM "file:///etc/passwd">]>').replace('name="Day 1"', 'name="&x;"'), "refused"),
    ("an external DTD", CUT.replace("<!DOCTYPE fcpxml>", '<!DOCTYPE fcpxml SYSTEM '
     '"file:///etc/passwd">'), "a DTD or entity declaration: refused"),
    ("an entity never declared", CUT.replace('name="Day 1"', 'name="&x;"'), "undefined entity"),
    ("100 MB of nested elements", HEAD + "<clip>" * 16_700_000 + TAIL, "over 64 MB"),
    ("30 MB of nested elements", HEAD + "<clip>" * 5_000_000 + TAIL, "64 levels"),
    ("30 MB of empty elements", HEAD + "<md/>" * 6_000_000 + TAIL, "2000000 XML elements"),
    ("a spine of 1,000,000 clips", HEAD + '<asset-clip ref="r2" offset="3600s" '
     'duration="1/24s"/>' * 1_000_000 + TAIL, "more than 100000 clips"),
    ("a time 1/0s", CUT.replace('start="3600s"', 'start="1/0s"', 1), "a denominator of 0"),
    ("a time of 10^20 s", CUT.replace('start="3600s"', 'start="99999999999999999999/1s"', 1),
     "over 10000000 s"),
    ("a negative duration", CUT.replace('duration="72072/24000s"', 'duration="-1s"'),
     "not a time"),
    ("a frame of 0 s", CUT.replace('frameDuration="1001/24000s"', 'frameDuration="0/1s"'),
     "not a frame rate above 0"),
    ("a compound clip that holds itself", NESTED.replace('ref="a" offset="3600s"',
                                                         'ref="c" offset="3600s"', 1)
     .replace('<asset-clip ref="c"', '<ref-clip ref="c"'), "holds itself"),
    ("10^15 clips through nested compound clips", _compound_fan_out(), "20000 clips shown"),
]


@pytest.mark.parametrize("text, said", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_a_hostile_file_is_one_line(tmp_path, text, said):
    lines = _new(tmp_path, text)
    assert len(lines) == 1 and said in lines[0] and str(tmp_path) in lines[0], lines
    assert len(lines[0]) < 400 and not (tmp_path / "s.toml").exists(), lines


@pytest.mark.parametrize("src, said", [
    ("file:///dev/zero", "/dev/zero is not a regular file"),
    ("../../etc/passwd", "etc/passwd not found"),  # relative: from the timeline's folder
])
def test_a_clip_naming_a_device_or_a_relative_path_is_drafted_and_named(tmp_path, src, said):
    lines = _new(tmp_path, CUT.replace("file:///Volumes/Shoot%20Day%201/A001%20take.mov", src))
    assert (tmp_path / "s.toml").exists() and any(
        "segment 'a001_take'" in line and said in line for line in lines), lines
