"""`empathy story new` and the start timecode cameras and editors stamp in a clip's file.

An EDL's source in/out points are the source file's timecode: a clip stamped 01:00:00:00
(an edit's master) or with the time of day (a camera's, 14:23:10:05) has its first frame
there, not at 00:00:00:00. Real files made by ffmpeg with `-timecode` (a MOV's and an MP4's
tmcd track, an MXF's timecode component), read back by our own code, not ffmpeg's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from empathy.host.story import load

pytestmark = [pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg"),
              pytest.mark.timeout(300)]


def _clip(path: Path, rate: str, timecode: str | None, codec: str = "libx264",
          tag: str | None = None) -> Path:
    """`tag`: a TIMECODE tag written as given (ffmpeg's -timecode takes only a timecode)."""
    tc = ["-timecode", timecode] if timecode else ["-metadata", f"timecode={tag}"] if tag else []
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size=160x120:rate={rate}", "-t", "4", "-c:v", codec,
                    "-pix_fmt", "yuv420p", *tc, str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def rushes(tmp_path_factory):
    d = tmp_path_factory.mktemp("rushes")
    _clip(d / "master.mov", "25", "01:00:00:00")
    _clip(d / "camera.mp4", "25", "14:23:10:05")
    _clip(d / "none.mp4", "25", None)
    _clip(d / "graded.mkv", "25", "20:00:00:00")  # Matroska: a TIMECODE tag
    _clip(d / "ntsc.mov", "30000/1001", "01:00:00;02")
    try:
        _clip(d / "deck.mxf", "25", "10:00:00:00", codec="mpeg2video")
    except subprocess.CalledProcessError:
        pass  # an ffmpeg built without the MXF muxer: the MXF event is left out below
    return d


def _new(source: Path, out: Path, *args):
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", str(source),
                           "--out", str(out), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _edl(events: list[tuple[str, ...]], drop: bool = False) -> str:
    """An EDL as an editor's export: (clip, source in, source out, record in, record out)."""
    lines = ["TITLE: tc", f"FCM: {'' if drop else 'NON-'}DROP FRAME", ""]
    for n, (name, *codes) in enumerate(events, 1):
        lines += [f"{n:03d}  AX       V     C        {' '.join(codes)}",
                  f"* FROM CLIP NAME: {name}"]
    return "\n".join(lines) + "\n"


def _ranges(out: Path) -> list[tuple[str, float, float]]:
    return [(s.media.name, s.in_s, s.out_s) for s in load(out, check_files=False)
            .segments.values()]


def test_an_edl_s_source_timecode_counts_from_each_file_s_own_start(rushes, tmp_path):
    events = [("master.mov", "01:00:01:00", "01:00:02:00", "00:00:00:00", "00:00:01:00"),
              ("camera.mp4", "14:23:11:05", "14:23:13:05", "00:00:01:00", "00:00:03:00"),
              ("none.mp4", "00:00:00:10", "00:00:01:10", "00:00:03:00", "00:00:04:00"),
              ("graded.mkv", "20:00:03:00", "20:00:03:12", "00:00:04:00", "00:00:04:12")]
    if (rushes / "deck.mxf").exists():
        events.append(("deck.mxf", "10:00:02:00", "10:00:03:00", "00:00:04:12", "00:00:05:12"))
    edl = tmp_path / "cut.edl"
    edl.write_text(_edl(events))
    r = _new(edl, tmp_path / "s.toml", "--fps", 25, "--media-root", rushes)
    assert r.returncode == 0, r.stderr
    want = [("master.mov", 1.0, 2.0), ("camera.mp4", 1.0, 3.0), ("none.mp4", 0.4, 1.4),
            ("graded.mkv", 3.0, 3.48), ("deck.mxf", 2.0, 3.0)][:len(events)]
    assert _ranges(tmp_path / "s.toml") == want, r.stderr
    said = [ln for ln in r.stderr.splitlines() if "no start timecode" in ln]
    assert len(said) == 1 and "none.mp4" in said[0] and "master.mov" not in said[0], r.stderr


def test_drop_frame_start_timecode_at_29_97(rushes, tmp_path):
    edl = tmp_path / "df.edl"
    # 01:00:00;02 is the file's first frame; 01:00:01;02 is 30 frames later
    edl.write_text(_edl([("ntsc.mov", "01:00:01;02", "01:00:02;02", "00:00:00;00",
                          "00:00:01;00")], drop=True))
    r = _new(edl, tmp_path / "s.toml", "--fps", 29.97, "--media-root", rushes)
    assert r.returncode == 0, r.stderr
    [(name, in_s, out_s)] = _ranges(tmp_path / "s.toml")
    assert (name, in_s, out_s) == ("ntsc.mov", round(30 * 1001 / 30000, 6),
                                   round(60 * 1001 / 30000, 6)), r.stderr


def test_an_event_past_its_clip_is_one_line_naming_both_timecodes(rushes, tmp_path):
    edl = tmp_path / "late.edl"
    edl.write_text(_edl([("master.mov", "01:00:10:00", "01:00:11:00", "00:00:00:00",
                          "00:00:01:00")]))
    r = _new(edl, tmp_path / "s.toml", "--fps", 25, "--media-root", rushes)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, lines
    assert all(w in lines[0] for w in ("master.mov", "01:00:10:00", "01:00:00:00")), lines
    assert not (tmp_path / "s.toml").exists()


def test_an_otio_clip_with_no_available_range_counts_from_its_file_s_timecode(rushes, tmp_path):
    import opentimelineio as otio  # (its core only: the plugin manifest, which the adapters
    # load, crashed the long-lived test worker twice: tests/otio_timeline.py)

    ref = otio.schema.ExternalReference(target_url=(rushes / "camera.mp4").as_uri())
    at = otio.opentime.TimeRange(otio.opentime.from_timecode("14:23:12:05", 25),
                                 otio.opentime.RationalTime(25, 25))
    clip = otio.schema.Clip(name="camera", media_reference=ref, source_range=at)
    otio.core.serialize_json_to_file(otio.schema.Timeline(tracks=[otio.schema.Track(children=[clip])]),
                                str(tmp_path / "cut.otio"))
    r = _new(tmp_path / "cut.otio", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    assert _ranges(tmp_path / "s.toml") == [("camera.mp4", 2.0, 3.0)], r.stderr


def test_a_timecode_track_past_24_hours_is_refused_in_one_line(rushes, tmp_path):
    import struct

    data = (rushes / "master.mov").read_bytes()
    counter = struct.pack(">I", 90000)  # the tmcd sample: 01:00:00:00 is frame 90,000 at 25
    assert data.count(counter) == 1
    (tmp_path / "broken.mov").write_bytes(data.replace(counter, struct.pack(">I", 25 * 86400)))
    edl = tmp_path / "cut.edl"
    edl.write_text(_edl([("broken.mov", "01:00:01:00", "01:00:02:00", "00:00:00:00",
                          "00:00:01:00")]))
    r = _new(edl, tmp_path / "s.toml", "--fps", 25, "--media-root", tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "past 24 hours" in lines[0], lines
    assert "broken.mov" in lines[0] and not (tmp_path / "s.toml").exists()


@pytest.mark.parametrize("tag", ["٢٠:٠٠:٠٠:٠٠", "2²:00:00:00", "20:00:00:٠٠"])
def test_a_matroska_timecode_tag_in_other_digits_is_refused_in_one_line(tmp_path, tag):
    """A TIMECODE tag holding Arabic-Indic digits or '²' (ffmpeg -metadata writes what it is
    given): before, GStreamer's escapes of its bytes were stripped into ASCII digits
    ('0302262:00:00:00'), nothing matched, and the clip counted from 00:00:00:00 with only
    'no start timecode' said: an EDL's source in points (20:00:03:00) then fell far past it.
    Now the tag is read as written, in ASCII digits only, and refused naming the file."""
    _clip(tmp_path / "odd.mkv", "25", None, tag=tag)
    edl = tmp_path / "cut.edl"
    edl.write_text(_edl([("odd.mkv", "20:00:03:00", "20:00:03:12", "00:00:00:00",
                          "00:00:00:12")]))
    r = _new(edl, tmp_path / "s.toml", "--fps", 25, "--media-root", tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, lines
    assert "odd.mkv" in lines[0] and f"TIMECODE tag {tag!r}" in lines[0], lines
    assert "ASCII digits" in lines[0] and not (tmp_path / "s.toml").exists()


def test_a_clip_named_in_the_edl_finds_its_own_file_before_a_longer_named_one(rushes, tmp_path):
    # speed_effects.edl (a real Avid EDL) names both 'Z694_54 (LAY5)' and
    # 'Z694_54 (LAY5) (48.00 FPS)': the second sorts first, and was taken for both
    shutil.copy(rushes / "master.mov", tmp_path / "Z694_54 (LAY5).mov")
    shutil.copy(rushes / "none.mp4", tmp_path / "Z694_54 (LAY5) (48.00 FPS).mov")
    edl = tmp_path / "cut.edl"
    edl.write_text(_edl([("Z694_54 (LAY5)", "01:00:01:00", "01:00:02:00", "00:00:00:00",
                          "00:00:01:00")]))
    r = _new(edl, tmp_path / "s.toml", "--fps", 25, "--media-root", tmp_path)
    assert r.returncode == 0, r.stderr
    assert _ranges(tmp_path / "s.toml") == [("Z694_54 (LAY5).mov", 1.0, 2.0)], r.stderr


XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4"><sequence id="s1"><name>s</name><duration>25</duration>
<rate><timebase>25</timebase><ntsc>FALSE</ntsc></rate><media><video><track>
<clipitem id="c1"><name>master</name><duration>100</duration>
<rate><timebase>25</timebase><ntsc>FALSE</ntsc></rate>
<start>0</start><end>25</end><in>25</in><out>50</out>
<file id="f1"><name>master.mov</name><pathurl>{url}</pathurl>
<rate><timebase>25</timebase><ntsc>FALSE</ntsc></rate>{timecode}</file>
</clipitem></track></video></media></sequence></xmeml>
"""
TC = "<timecode><rate><timebase>25</timebase></rate><string>01:00:00:00</string></timecode>"


@pytest.mark.parametrize("timecode", ["", TC])
def test_fcp7_xml_in_points_count_from_the_file_s_first_frame(rushes, tmp_path, timecode):
    """FCP 7 XML's <in> is frames from the file's first, with or without its <timecode>:
    the file's own stamp (01:00:00:00 here) is not subtracted again."""
    xml = tmp_path / "cut.xml"
    xml.write_text(XML.format(url=(rushes / "master.mov").as_uri(), timecode=timecode))
    r = _new(xml, tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    assert _ranges(tmp_path / "s.toml") == [("master.mov", 1.0, 2.0)], r.stderr
