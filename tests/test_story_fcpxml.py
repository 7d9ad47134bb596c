"""`empathy story new` on Final Cut Pro X's .fcpxml and the .fcpxmld bundle FCP 10.6+ writes
(host/story_fcpxml.py). Both were refused in one line before ("export ... FCP 7 XML"): these
tests failed then. Expected in/out points are worked out here from the file's fractions."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

from empathy.host.story import load

# as FCP 10.6 writes it: 23.976 fps, assets stamped 01:00:00:00 and 00:59:56:09, their files
# under a volume with a space in its name (percent-encoded in media-rep's URL)
CUT = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" name="FFVideoFormat1080p2398" frameDuration="1001/24000s" width="1920" height="1080"/>
    <asset id="r2" name="A001" start="3600s" duration="240240/24000s" hasVideo="1" format="r1" hasAudio="1">
      <media-rep kind="original-media" sig="0A" src="file:///Volumes/Shoot%20Day%201/A001%20take.mov"/>
      <metadata><md key="com.apple.proapps.studio.reel" value="A001"/></metadata>
    </asset>
    <asset id="r3" name="B002" start="86313/24s" duration="480480/24000s" hasVideo="1" format="r1">
      <media-rep kind="original-media" sig="0B" src="file:///Volumes/Shoot%20Day%201/B002.mov"/>
    </asset>
    <effect id="r4" name="Basic Title" uid=".../Basic Title.moti"/>
  </resources>
  <library location="file:///Users/me/Movies/Empathy.fcpbundle/">
    <event name="Day 1">
      <project name="empathy story new cut">
        <sequence format="r1" duration="144144/24000s" tcStart="3600s" tcFormat="NDF">
          <spine>
            <asset-clip ref="r2" offset="3600s" name="A001 take" start="86424337/24000s" duration="48048/24000s">
              <title ref="r4" lane="1" offset="86424337/24000s" name="Hello" duration="24024/24000s"/>
              <marker start="86424337/24000s" duration="1001/24000s" value="beat"/>
            </asset-clip>
            <gap name="Gap" offset="86448385/24000s" duration="24024/24000s" start="3600s"/>
            <transition name="Cross Dissolve" offset="86460397/24000s" duration="24024/24000s"/>
            <asset-clip ref="r3" offset="86472409/24000s" name="B002" start="86337/24s" duration="72072/24000s">
              <timeMap>
                <timept time="86313/24s" value="86313/24s" interp="smooth2"/>
                <timept time="87274/24s" value="173587/48s" interp="smooth2"/>
              </timeMap>
            </asset-clip>
          </spine>
        </sequence>
      </project>
    </event>
  </library>
</fcpxml>
"""
IN_A = F(86424337, 24000) - 3600  # the clip's start less its asset's (its file's timecode)
IN_B = F(86337, 24) - F(86313, 24)  # B002 at half speed: its timeMap halves the file's time
WANT = [(IN_A, IN_A + F(48048, 24000)), (IN_B / 2, (IN_B + F(72072, 24000)) / 2)]


def _new(source: Path, out: Path, *args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", str(source),
                           "--out", str(out), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _segments(out: Path) -> list:
    return list(load(out, check_files=False).segments.values())


def _media(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("A001 take.mov", "B002.mov"):
        (media / name).write_bytes(b"")
    return media


@pytest.mark.parametrize("bundle", [False, True])
def test_a_final_cut_pro_x_project_is_drafted_from_its_files_own_timecode(tmp_path, bundle):
    if bundle:  # FCP 10.6+: File > Export XML writes a folder holding Info.fcpxml
        src = tmp_path / "empathy story new cut.fcpxmld"
        src.mkdir()
        (src / "Info.fcpxml").write_text(CUT)
    else:
        src = tmp_path / "empathy story new cut.fcpxml"
        src.write_text(CUT)
    media = _media(tmp_path)
    r = _new(src, tmp_path / "s.toml", "--media-root", media)
    segs = _segments(tmp_path / "s.toml")
    assert [(s.in_s, s.out_s) for s in segs] == [
        (round(float(a), 6), round(float(b), 6)) for a, b in WANT], r.stderr
    assert [s.media for s in segs] == [media / "A001 take.mov", media / "B002.mov"]
    for said in ("1 connected clips (lanes above or below the primary storyline) left out "
                 "('Hello')", "1 gaps left out ('Gap')", "1 transitions left out",
                 "1 clips with a speed effect play at normal speed in the story ('B002')"):
        assert said in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


# a compound clip (ref-clip) whose sequence starts at 01:00:00:00 and ends in an audition, a
# multicam clip showing angle B's video (angle A's audio) and a sync-clip, at 25 fps; files
# named by FCPXML 1.8's asset src. An audition shows its first child where the audition
# stands (FCP writes no offset on it: read at 0 s, the compound's was not shown).
NESTED = """<?xml version="1.0"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.8">
  <resources>
    <format id="f" frameDuration="1/25s"/>
    <asset id="a" name="a" src="file:///x/a.mov" start="0s" duration="100s" hasVideo="1"/>
    <asset id="b" name="b" src="file:///x/b.mov" start="36000s" duration="100s" hasVideo="1"/>
    <asset id="s" name="snd" src="file:///x/snd.wav" start="0s" duration="100s" hasVideo="0"/>
    <media id="c" name="compound">
      <sequence format="f" tcStart="3600s" duration="20s">
        <spine>
          <asset-clip ref="a" offset="3600s" start="10s" duration="5s" name="inner a"/>
          <audition offset="3605s">
            <asset-clip ref="b" start="36020s" duration="15s" name="inner b"/>
            <asset-clip ref="a" start="0s" duration="15s" name="alternative"/>
          </audition>
        </spine>
      </sequence>
    </media>
    <media id="m" name="multi">
      <multicam format="f" tcStart="0s">
        <mc-angle name="A" angleID="A1"><asset-clip ref="a" offset="0s" duration="100s"/></mc-angle>
        <mc-angle name="B" angleID="B1"><asset-clip ref="b" offset="0s" start="36000s" duration="100s" name="angle b"/></mc-angle>
      </multicam>
    </media>
  </resources>
  <project name="p">
    <sequence format="f" duration="40s">
      <spine>
        <ref-clip ref="c" offset="0s" start="3603s" duration="4s" name="compound"/>
        <mc-clip ref="m" offset="4s" start="30s" duration="2s" name="multi">
          <mc-source angleID="A1" srcEnable="audio"/><mc-source angleID="B1" srcEnable="video"/>
        </mc-clip>
        <sync-clip offset="6s" start="2s" duration="3s" name="synced">
          <asset-clip ref="a" offset="0s" start="40s" duration="10s" name="sync a"/>
          <asset-clip ref="s" offset="0s" duration="10s" lane="-1" name="sound"/>
        </sync-clip>
      </spine>
    </sequence>
  </project>
</fcpxml>
"""


def test_compound_multicam_sync_clips_and_auditions_are_read_as_what_they_show(tmp_path):
    src = tmp_path / "n.fcpxml"
    src.write_text(NESTED)
    r = _new(src, tmp_path / "n.toml")
    got = [(s.id, s.media.name, s.in_s, s.out_s) for s in _segments(tmp_path / "n.toml")]
    assert got == [("inner_a", "a.mov", 13.0, 15.0),  # the compound's 3603-3607 s
                   ("inner_b", "b.mov", 20.0, 22.0),
                   ("angle_b", "b.mov", 30.0, 32.0),  # angle B, from the multicam's start
                   ("sync_a", "a.mov", 42.0, 45.0)], r.stderr
    assert "connected" not in r.stderr, r.stderr  # the sync-clip's sound shows no picture


CLIPS_ONLY = CUT.split("<library")[0] + "<event><asset-clip ref='r2' duration='1s'/></event></fcpxml>"


def _dur(value: str) -> str:
    return CUT.replace('duration="48048/24000s"', f'duration="{value}"')


@pytest.mark.parametrize("text, said", [  # (more: tests/test_story_fcpxml_red.py)
    (CLIPS_ONLY, "holds no project (a timeline), only clips or events: select the project"),
    (_dur("0s"), "lasts 0 s"), (_dur("1e3s"), "not a time"), (_dur("\u0661s"), "not a time"),
    (CUT.replace('frameDuration="1001/24000s"', 'frameDuration="1/5000s"'),
     "not a frame rate above 0 and at most 1000 fps"),
    (CUT.replace('frameDuration="1001/24000s"', ''), "<format> has no frameDuration"),
    (CUT.replace('start="86424337/24000s"', 'start="3500s"'), "starts 100 s before its file's"),
    (CUT.replace('start="86424337/24000s"', 'start="3700s"'), "past its file's end"),
    (CUT.replace('ref="r3"', 'ref="r9"'), "ref='r9' names no asset in <resources>"),
    (CUT.replace("<spine>", "<spine><unclosed>"), "not well-formed XML"),
    (CUT.replace("file:///Volumes", "https://example.com/Volumes"), "is not a local file"),
])
def test_what_cannot_be_read_is_refused_in_one_line(tmp_path, text, said):
    src = tmp_path / "cut.fcpxml"
    src.write_text(text)
    r = _new(src, tmp_path / "s.toml")
    lines = r.stderr.strip().splitlines()  # (a file's URL is read after what is left out)
    assert r.returncode == 1 and said in lines[-1] and "Traceback" not in r.stderr, lines
    assert len(lines) == 1 or "local file" in said, lines
    assert not (tmp_path / "s.toml").exists()


def test_a_bundle_without_its_info_fcpxml_is_one_line(tmp_path):
    src = tmp_path / "cut.fcpxmld"
    src.mkdir()
    r = _new(src, tmp_path / "s.toml")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "Info.fcpxml" in lines[0], lines


# FCP's own cases (as Final Cut Pro 10.7 exports them, FCPXML 1.11): 25 fps media conformed to a
# 24 fps timeline (Automatic Speed: 24 of the file's frames a second, so 2.25 s of timeline
# show 2.16 s of file), a disabled clip, a freeze frame (a timeMap holding one time), a clip
# of an asset with sound only
FCP = """<?xml version="1.0"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.11">
  <resources>
    <format id="r1" frameDuration="100/2400s"/>
    <format id="r3" frameDuration="100/2500s"/>
    <asset id="r2" name="v" start="0s" duration="738000/25000s" hasVideo="1" format="r3">
      <media-rep kind="original-media" src="file:///x/v.m4v"/>
    </asset>
    <asset id="r4" name="snd" start="0s" duration="60s" hasAudio="1">
      <media-rep kind="original-media" src="file:///x/snd.wav"/>
    </asset>
  </resources>
  <library><event><project name="p">
    <sequence format="r1" tcStart="3600s" duration="20s">
      <spine>
        <asset-clip ref="r2" offset="3600s" name="conformed" start="684/25s" duration="9/4s" format="r3">
          <conform-rate srcFrameRate="25"/>
        </asset-clip>
        <asset-clip ref="r2" offset="14481/4s" name="off" duration="1s" enabled="0"/>
        <asset-clip ref="r2" offset="14485/4s" name="held" start="5s" duration="3s">
          <conform-rate scaleEnabled="0" srcFrameRate="25"/>
          <timeMap><timept time="0s" value="5s"/><timept time="10s" value="5s"/></timeMap>
        </asset-clip>
        <asset-clip ref="r4" offset="14497/4s" name="music" duration="2s"/>
      </spine>
    </sequence>
  </project></event></library>
</fcpxml>
"""


def test_fcp_s_rate_conform_disabled_clips_freeze_frames_and_sound_are_read_as_fcp_shows(tmp_path):
    src = tmp_path / "fcp.fcpxml"
    src.write_text(FCP)
    r = _new(src, tmp_path / "s.toml")
    got = [(s.id, s.in_s, s.out_s) for s in _segments(tmp_path / "s.toml")]
    assert got == [("conformed", 27.36, round(27.36 + 2.25 * 24 / 25, 6)),  # the file's end
                   ("held", 5.0, 8.0)], r.stderr  # its frame, played on for as long
    assert "1 disabled items left out ('off')" in r.stderr, r.stderr
    assert "2 clips with a speed effect play at normal speed in the story ('conformed', " \
        "'held')" in r.stderr, r.stderr
    src.write_text(FCP.replace('ref="r2"', 'ref="r4"'))
    r = _new(src, tmp_path / "a.toml")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "shows no video file, only sound (3 audio clips)" in \
        lines[0], lines
