"""`empathy story new`: from a folder of clips or an editor's timeline (OpenTimelineIO, EDL,
FCP XML) to a story that checks clean and plays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from numbered import FPS, frame_number, make_numbered

from empathy.host.player.cube import identity_cube, write_cube
from empathy.host.player.decode import read_frames
from empathy.host.story import load


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", *map(str, args)],
                          capture_output=True, text=True, timeout=180, cwd=cwd)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("rushes")
    return {"opening": make_numbered(d / "opening.mp4", range(200, 250)),  # 2 s
            "master": make_numbered(d / "master reel.mp4", range(150)),    # 6 s, a space
            "dir": d}


def write_timeline(media, *outs: Path) -> None:
    """The 3-clip timeline, made with the OpenTimelineIO API (tests/otio_timeline.py)."""
    r = subprocess.run([sys.executable, str(Path(__file__).with_name("otio_timeline.py")),
                        media["opening"].resolve().as_uri(), media["master"].resolve().as_uri(),
                        *map(str, outs)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def play(story_path: Path, out: Path) -> list[int]:
    """A real show of the story (no seats: every decision falls back), to an MP4."""
    from empathy.host.show import Show, ShowConfig
    from empathy.keys import Keystore

    story = load(story_path)
    keys = Keystore.new([1])
    show = Show(story, ShowConfig(listen="udp://127.0.0.1:0", output=f"file:{out}", loop=False,
                                  width=160, height=96, fps=FPS, policy="default"),
                keys.units, keys.cue_signing, out.with_suffix(".csv"), realtime=False)
    summary = show.run(30)
    assert summary["frames_dropped"] == 0
    return [frame_number(f.rgb) for f in read_frames(out)]


def test_otio_timeline_becomes_a_story_that_checks_clean_and_plays(media, tmp_path):
    tl_path = tmp_path / "cut.otio"
    write_timeline(media, tl_path)
    story_path = tmp_path / "film" / "my_film.toml"
    r = cli("new", tl_path, "--out", story_path)
    assert r.returncode == 0, r.stderr
    assert "3 segments" in r.stdout and "checks clean" in r.stdout
    story = load(story_path)
    assert list(story.segments) == ["opening", "the_chase", "ending"]
    ranges = [(s.media.name, s.in_s, s.out_s, s.duration_s) for s in story.segments.values()]
    assert ranges == [("opening.mp4", 0.0, 2.0, 2.0), ("master reel.mp4", 1.0, 2.2, 1.2),
                      ("master reel.mp4", 4.0, 4.8, 0.8)]
    assert 'media = "../' in story_path.read_text()  # relative to the story file
    r = cli("check", story_path, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] and not json.loads(r.stdout)["warnings"]
    shown = play(story_path, tmp_path / "screen.mp4")
    assert shown == list(range(200, 250)) + list(range(25, 55)) + list(range(100, 120))


@pytest.mark.parametrize("suffix, extra", [(".edl", ["--fps", "25"]), (".xml", [])])
def test_edl_and_fcp_xml_give_the_same_story(media, tmp_path, suffix, extra):
    exported = tmp_path / f"cut{suffix}"
    write_timeline(media, tmp_path / "cut.otio", exported)  # the otio-cmx3600 / otio-fcp adapters
    assert cli("new", tmp_path / "cut.otio", "--out", tmp_path / "a.toml").returncode == 0
    r = cli("new", exported, "--out", tmp_path / "b.toml", *extra)
    assert r.returncode == 0, r.stderr
    a, b = load(tmp_path / "a.toml"), load(tmp_path / "b.toml")
    assert [(s.media, s.in_s, s.out_s) for s in a.segments.values()] == \
        [(s.media, s.in_s, s.out_s) for s in b.segments.values()]


def test_a_folder_of_clips_becomes_a_story(media, tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    make_numbered(folder / "02 street.mp4", range(10), audio=True)
    make_numbered(folder / "10 roof.mp4", range(20), audio=True)
    make_numbered(folder / "1 intro.mp4", range(25), audio=True)
    write_cube(folder / "10 roof.cube", identity_cube(5))
    (folder / "luts").mkdir()  # a colourist's .3dl in luts/ (12-bit, a 5-point mesh)
    steps = (0, 1024, 2048, 3072, 4095)
    (folder / "luts" / "02 street.3dl").write_text("0 256 512 768 1023\n" + "".join(
        f"{r} {g} {b}\n" for r in steps for g in steps for b in steps))
    (folder / "notes.txt").write_text("not a clip")
    (folder / "broken.mp4").write_text("not a clip either")
    out = tmp_path / "story.toml"
    r = cli("new", folder, "--out", out, "--title", "Three Clips")
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stderr and "broken.mp4" in r.stderr
    story = load(out)
    assert story.title == "Three Clips" and story.start == "s1_intro"
    assert [(sid, s.duration_s) for sid, s in story.segments.items()] == \
        [("s1_intro", 1.0), ("s02_street", 0.4), ("s10_roof", 0.8)]  # natural name order
    assert story.segments["s10_roof"].lut.name == "10 roof.cube"
    assert story.segments["s02_street"].lut.name == "02 street.3dl"
    assert story.successors("s1_intro") == ["s02_street"] and story.successors("s10_roof") == []
    assert cli("check", out).returncode == 0
    # run from inside the folder, as `story new . --out ...`: the folder is named, not ""
    r = cli("new", ".", "--out", tmp_path / "here.toml", cwd=folder)
    assert r.returncode == 0 and "3 segments from clips" in r.stdout, r
    assert "from clips: segments" in (tmp_path / "here.toml").read_text()


def test_bad_sources_get_one_line_errors(media, tmp_path):
    tl = tmp_path / "cut.edl"
    write_timeline(media, tl)
    r = cli("new", tl, "--out", tmp_path / "s.toml")
    assert r.returncode == 1 and "--fps" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "s.toml").write_text("keep me")
    r = cli("new", media["dir"], "--out", tmp_path / "s.toml")
    assert r.returncode == 1 and "exists" in r.stderr and (tmp_path / "s.toml").read_text() == "keep me"
    r = cli("new", tmp_path / "nothing.otio", "--out", tmp_path / "n.toml")
    assert r.returncode == 1 and "no such file" in r.stderr
    (tmp_path / "junk.otio").write_text("{not json")
    r = cli("new", tmp_path / "junk.otio", "--out", tmp_path / "n.toml")
    assert r.returncode == 1 and "cannot read the timeline" in r.stderr and "Traceback" not in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("new", empty, "--out", tmp_path / "n.toml")
    assert r.returncode == 1 and "no video clips" in r.stderr


DISSOLVE_EDL = """TITLE: {title}
FCM: NON-DROP FRAME

001  AX       V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00
* FROM CLIP NAME: opening.mp4
002  AX       V     C        00:00:01:00 00:00:01:00 01:00:01:00 01:00:01:00
002  AX       V     D    010 00:00:01:00 00:00:02:00 01:00:01:00 01:00:02:00
* FROM CLIP NAME: opening.mp4
* TO CLIP NAME: opening.mp4
"""


def test_an_edl_number_repeated_for_a_dissolve_reads_and_a_latin1_edl_is_one_line(media, tmp_path):
    """A repeated event number is refused only on a cut (tests/redteam/test_artist_media.py):
    on a dissolve's second line it is what CMX 3600 means."""
    edl = tmp_path / "cut.edl"
    edl.write_text(DISSOLVE_EDL.format(title="cut"), encoding="utf-8")
    r = cli("new", edl, "--out", tmp_path / "s.toml", "--fps", "25", "--media-root", media["dir"])
    assert r.returncode == 0 and "2 segments" in r.stdout and "Dissolve" in r.stderr, r.stderr
    edl.write_bytes(DISSOLVE_EDL.format(title="caf\u00e9").encode("latin-1"))
    r = cli("new", edl, "--out", tmp_path / "t.toml", "--fps", "25", "--media-root", media["dir"])
    assert (r.returncode, r.stderr) == (1, f"empathy story new: {edl}:1: not UTF-8 text (byte 0xe9): save "
                                           "the file as UTF-8\n")


def test_bidi_controls_in_clip_and_folder_names_are_escaped_in_the_story(tmp_path):
    """A clip named with U+202E (right-to-left override) put the raw control into the
    story's lines, where an editor or terminal shows the line's text reordered: the story
    says `\\u202e`, TOML reads it back as the same path, and accents stay as they are."""
    folder = tmp_path / "rushes\u202e"
    folder.mkdir()
    make_numbered(folder / "caf\u00e9 \u202egnp.mp4", range(10))
    out = tmp_path / "story.toml"
    r = cli("new", folder, "--out", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "\u202e" not in text and "\\u202e" in text and "caf\u00e9" in text
    seg = next(iter(load(out).segments.values()))
    assert seg.media.name == "caf\u00e9 \u202egnp.mp4"


def test_a_clip_named_with_a_superscript_digit_is_sorted_not_a_crash(tmp_path):
    """'²' passes str.isdigit(): the natural sort's int() raised ValueError, exit 70
    (session 32's review). Here the one file is no clip: skipped, and said in one line."""
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "1\u00b22.mp4").write_text("not a clip")
    r = cli("new", folder, "--out", tmp_path / "s.toml")
    assert r.returncode == 1 and "unexpected" not in r.stderr and "no video clips" in r.stderr, r
