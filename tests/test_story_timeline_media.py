"""`empathy story new` on timelines whose clips are image sequences (VFX shots) or have
captions beside them (host/story_timeline_seq.py, story_new.from_timeline).

Before: an .otio ImageSequenceReference was "no clip on the first video track names a file",
an EDL's or FCP XML's `shot010.1001.dpx` drafted as that one frame's file, and a clip's
`plate.srt` was not picked up (a folder scan's was). The sequences here are real (ffmpeg's
DPX from OpenCV's numbered PNGs, tests/imgseq_media.py); what a draft plays is read back by
the player's Decoder, frame by frame."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from imgseq_media import make_sequence
from numbered import frame_number, make_numbered
from test_story_new import cli

from empathy.host.story import load

pytestmark = [pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg"),
              pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """shot010/shot010.1001.dpx .. 1024.dpx, frame 1001 + k showing the number 40 + k."""
    return make_sequence(tmp_path_factory.mktemp("vfx"), "shot010", range(40, 64), ext="dpx")


def shown(seg) -> list[int]:
    """The numbers of the frames the player decodes for a segment, [in_s, out_s) (a deep
    frame's 16-bit values read as 8-bit: the grade converts its colour later)."""
    from empathy.host.player.decode import Decoder, End

    dec = Decoder(seg.media, fps=seg.rate, in_s=seg.in_s, out_s=seg.out_s, rate=seg.rate,
                  colour=seg.colour)
    got = []
    try:
        while not isinstance(item := dec.get(timeout=30.0), End):
            assert item is not None, "no frame within 30 s"
            got.append(frame_number(item.rgb // 257 if item.rgb.itemsize > 1 else item.rgb))
    finally:
        dec.stop()
        dec.join(10.0)
    assert not item.error, item.error
    return got


def only_segment(out: Path):
    segs = list(load(out, check_files=False).segments.values())
    assert len(segs) == 1, segs
    return segs[0]


def test_an_otio_image_sequence_reference_drafts_the_sequence_by_frame(shot, tmp_path):
    import opentimelineio as otio  # its core only: no adapter, no plugin manifest here

    rt = lambda f: otio.opentime.RationalTime(f, 24)  # noqa: E731
    ref = otio.schema.ImageSequenceReference(
        target_url_base=shot.as_uri() + "/", name_prefix="shot010.", name_suffix=".dpx",
        start_frame=1001, frame_zero_padding=4, rate=24,
        available_range=otio.opentime.TimeRange(rt(86400), rt(24)))  # stamped 01:00:00:00
    clip = otio.schema.Clip(name="sh010 comp v3", media_reference=ref,
                            source_range=otio.opentime.TimeRange(rt(86404), rt(10)))
    otio.core.serialize_json_to_file(otio.schema.Timeline(tracks=[otio.schema.Track(
        children=[clip])]), str(tmp_path / "cut.otio"))
    r = cli("new", tmp_path / "cut.otio", "--out", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    seg = only_segment(tmp_path / "s.toml")
    assert (seg.media.resolve(), seg.rate, seg.colour) == (shot / "shot010.####.dpx", 24, "srgb")
    assert (seg.in_s, seg.out_s) == (round(4 / 24, 6), round(14 / 24, 6))
    assert shown(seg) == list(range(44, 54))


EDL = """TITLE: vfx
FCM: NON-DROP FRAME

001  SH010    V     C        {} {} 00:00:00:00 00:00:00:10
* FROM CLIP NAME: shot010.1001.dpx
"""


def test_an_edl_naming_one_frame_drafts_the_sequence_frame_numbers_as_timecode(shot, tmp_path):
    """00:00:41:21 at 24 fps is frame 1005: the EDL's event is frames 1005-1014."""
    edl = tmp_path / "cut.edl"
    edl.write_text(EDL.format("00:00:41:21", "00:00:42:07"))
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    seg = only_segment(tmp_path / "s.toml")
    assert (seg.media.resolve(), seg.rate, seg.in_s, seg.out_s) == (
        shot / "shot010.####.dpx", 24, round(4 / 24, 6), round(14 / 24, 6))
    assert shown(seg) == list(range(44, 54))


def test_an_edl_of_plates_stamped_at_the_hour_takes_sequence_start_else_one_line(shot,
                                                                                  tmp_path):
    edl = tmp_path / "cut.edl"
    edl.write_text(EDL.format("01:00:00:04", "01:00:00:14"))
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "s.toml")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, lines
    assert "frames 86404-86413 of shot010.####.dpx, whose frames here are 1001-1024" in lines[0]
    assert "--sequence-start" in lines[0]
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "s.toml",
            "--sequence-start", "01:00:00:00")
    assert r.returncode == 0, r.stderr
    assert shown(only_segment(tmp_path / "s.toml")) == list(range(44, 54))
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "x.toml",
            "--sequence-start", "1h")
    assert r.returncode == 1 and "a timecode hh:mm:ss:ff" in r.stderr, r.stderr


def _otio_write(tl_json: Path, out: Path) -> None:
    """An FCP 7 XML written by its adapter, in a process of its own (tests/otio_timeline.py
    says why)."""
    code = ("import sys, opentimelineio as otio; otio.adapters.write_to_file("
            "otio.adapters.read_from_file(sys.argv[1]), sys.argv[2])")
    r = subprocess.run([sys.executable, "-c", code, str(tl_json), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_an_fcp7_xml_whose_file_is_one_frame_drafts_the_sequence(shot, tmp_path):
    import opentimelineio as otio

    rt = lambda f: otio.opentime.RationalTime(f, 24)  # noqa: E731
    ref = otio.schema.ExternalReference(target_url=(shot / "shot010.1001.dpx").as_uri(),
                                        available_range=otio.opentime.TimeRange(rt(0), rt(24)))
    clip = otio.schema.Clip(name="shot010.1001.dpx", media_reference=ref,
                            source_range=otio.opentime.TimeRange(rt(6), rt(12)))
    otio.core.serialize_json_to_file(otio.schema.Timeline(name="vfx", tracks=[
        otio.schema.Track(children=[clip])]), str(tmp_path / "cut.otio"))
    _otio_write(tmp_path / "cut.otio", tmp_path / "cut.xml")
    r = cli("new", tmp_path / "cut.xml", "--out", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    seg = only_segment(tmp_path / "s.toml")
    assert (seg.media.resolve(), seg.rate, seg.in_s) == (shot / "shot010.####.dpx", 24, 0.25)
    assert shown(seg) == list(range(46, 58))


FCPXML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" frameDuration="1/24s" width="160" height="96"/>
    <asset id="r2" name="shot010" start="0s" duration="0s" hasVideo="1" format="r1">
      <media-rep kind="original-media" src="{src}"/>
    </asset>
  </resources>
  <library><event name="e"><project name="p">
    <sequence format="r1" duration="10/24s" tcStart="0s">
      <spine><asset-clip ref="r2" offset="0s" name="sh010" start="2/24s" duration="10/24s"/></spine>
    </sequence>
  </project></event></library>
</fcpxml>
"""


def test_an_fcpxml_whose_asset_is_one_frame_drafts_the_sequence(shot, tmp_path):
    fcpxml = tmp_path / "cut.fcpxml"
    fcpxml.write_text(FCPXML.format(src=(shot / "shot010.1001.dpx").as_uri()))
    r = cli("new", fcpxml, "--out", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    seg = only_segment(tmp_path / "s.toml")
    assert (seg.media.resolve(), seg.rate, seg.in_s) == (shot / "shot010.####.dpx", 24,
                                                         round(2 / 24, 6))
    assert shown(seg) == list(range(42, 52))


def test_a_timeline_clip_picks_up_the_captions_beside_its_file(tmp_path):
    import opentimelineio as otio

    plate = make_numbered(tmp_path / "plate.mp4", range(50), audio=False)
    (tmp_path / "plate.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    (tmp_path / "plate.fr.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nBonjour\n")
    rt = lambda f: otio.opentime.RationalTime(f, 25)  # noqa: E731
    ref = otio.schema.ExternalReference(target_url=plate.as_uri(),
                                        available_range=otio.opentime.TimeRange(rt(0), rt(50)))
    otio.core.serialize_json_to_file(otio.schema.Timeline(tracks=[otio.schema.Track(children=[
        otio.schema.Clip(name="plate", media_reference=ref,
                         source_range=otio.opentime.TimeRange(rt(5), rt(20)))])]),
        str(tmp_path / "cut.otio"))
    r = cli("new", tmp_path / "cut.otio", "--out", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    seg = only_segment(tmp_path / "s.toml")
    assert dict(seg.captions) == {"": tmp_path / "plate.srt", "fr": tmp_path / "plate.fr.srt"}
