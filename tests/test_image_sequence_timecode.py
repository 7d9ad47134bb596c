"""A sequence's start timecode read from its frames' headers (DPX's TV header, EXR's
timeCode): `story new` says it, and an EDL's source timecode maps to frames by it
(`--sequence-start` still overrides). Each header value range-checked: a corrupt one is
one line, never a traceback. (An .otio reference of every Nth frame:
test_image_sequence_step.py.)

Before: the timecode was not read (an EDL of plates stamped 01:00:00:00 was refused without
--sequence-start)."""

from __future__ import annotations

import shutil
import struct

import numpy as np
import pytest
from numbered import numbered_frame
from test_image_sequence_fast import big_endian_dpx
from test_story_new import cli
from test_story_timeline_media import EDL, only_segment, shown

from empathy.host.player.imgseq_read import header

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def bcd(tc: str) -> int:
    """hh:mm:ss:ff as the SMPTE 12M word DPX and EXR hold (hours in the top byte)."""
    word = 0
    for part in tc.replace(";", ":").split(":"):
        word = word << 8 | int(part[0]) << 4 | int(part[1])
    return word | (0x40 if ";" in tc else 0)


def plates(folder, numbers, tc_first: str | int | None, start: int = 1001):
    """folder/shot010.NNNN.dpx, big-endian 10-bit with industry headers, frame start + k
    showing numbers[k]; the first frame's TV header says tc_first (the rest count on; an
    int: that word in every frame)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, i in enumerate(numbers):
        tc = tc_first if isinstance(tc_first, int) else \
            bcd(tc_first) + k if tc_first and k < 10 else 0xFFFFFFFF
        big_endian_dpx(folder / f"shot010.{start + k:04d}.dpx",
                       numbered_frame(i).astype(np.uint16) << 2, tc)
    return folder


def test_dpx_and_exr_headers_say_their_timecode(tmp_path):
    plates(tmp_path / "a", [1], "01:00:00:00")
    plates(tmp_path / "b", [1], "10:59:58;29")
    assert header(tmp_path / "a" / "shot010.1001.dpx")[0].timecode == "01:00:00:00"
    assert header(tmp_path / "b" / "shot010.1001.dpx")[0].timecode == "10:59:58;29"
    import OpenEXR  # written by OpenEXR's own bindings

    tc = OpenEXR.TimeCode()
    tc.hours, tc.minutes, tc.seconds, tc.frame, tc.dropFrame = 1, 2, 3, 4, True
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                  "timeCode": tc}, {"RGB": np.full((4, 8, 3), 0.5, np.float16)}
                 ).write(str(tmp_path / "f.exr"))
    assert header(tmp_path / "f.exr")[0].timecode == "01:02:03;04"


def test_an_edl_of_plates_stamped_at_the_hour_maps_by_the_header_and_story_new_says_it(
        tmp_path):
    shot = plates(tmp_path / "shot010", range(40, 64), "01:00:00:00")
    r = cli("new", tmp_path, "--out", tmp_path / "folder.toml", "--fps", 24)
    assert r.returncode == 0, r.stderr
    assert "24 frames at 24 fps (--fps), timecode 01:00:00:00 at frame 1001" in r.stderr
    edl = tmp_path / "cut.edl"
    edl.write_text(EDL.format("01:00:00:04", "01:00:00:14"))
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "s.toml")
    assert r.returncode == 0, r.stderr
    assert "mapped by its header's timecode (01:00:00:00 at frame 1001)" in r.stderr
    assert shown(only_segment(tmp_path / "s.toml")) == list(range(44, 54))
    # --sequence-start overrides: the timecode of the frame the EDL names (1001), so
    # 01:00:00:04 is 6 frames on, frame 1007
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "o.toml",
            "--sequence-start", "00:59:59:22")
    assert r.returncode == 0, r.stderr
    assert shown(only_segment(tmp_path / "o.toml")) == list(range(46, 56))


@pytest.mark.parametrize("word, said", [
    (0x01AA0000, "0x01AA0000"),  # minutes AA: not BCD
    (0x25000000, "0x25000000"),  # 25 hours
    (0x01006000, "0x01006000"),  # 60 seconds
    (0x0100003F, "0x0100003F")])  # frame 3F: not BCD
def test_a_corrupt_timecode_is_ignored_and_said_in_one_line(tmp_path, word, said):
    shot = tmp_path / "shot010"
    shot.mkdir()
    for k in range(2):
        big_endian_dpx(shot / f"shot010.{1001 + k}.dpx", np.zeros((4, 8, 3), np.uint16), word)
    hd = header(shot / "shot010.1001.dpx")[0]
    assert (hd.timecode, hd.timecode_bad) == (None, said)
    r = cli("new", tmp_path, "--out", tmp_path / "s.toml", "--fps", 24)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert f"no timecode (its header's field {said} is none)" in r.stderr


def test_an_edl_on_plates_with_a_corrupt_timecode_reads_frame_numbers_as_timecode(tmp_path):
    shot = plates(tmp_path / "shot010", range(40, 52), 0x01AA0000)
    edl = tmp_path / "cut.edl"
    edl.write_text(EDL.format("00:00:41:17", "00:00:42:03"))  # frames 1001-1010 at 24 fps
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "s.toml")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "timecode field 0x01AA0000 is none, ignored: its frame numbers are read" in r.stderr
    assert shown(only_segment(tmp_path / "s.toml")) == list(range(40, 50))


def test_an_exr_timecode_corrupt_or_of_another_size_is_ignored(tmp_path):
    """OpenEXR writes the attribute; its value is then overwritten: a BCD digit of 0xF, and
    a size that is not 8 (the rest of the header still read)."""
    import OpenEXR

    tc = OpenEXR.TimeCode()
    tc.hours = 1
    f = tmp_path / "f.exr"
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                  "timeCode": tc}, {"RGB": np.full((4, 8, 3), 0.5, np.float16)}).write(str(f))
    data = f.read_bytes()
    at = data.index(b"timeCode\0timecode\0") + len(b"timeCode\0timecode\0")
    assert data[at:at + 4] == struct.pack("<i", 8)
    f.write_bytes(data[:at + 4] + struct.pack("<I", 0x01F00000) + data[at + 8:])
    hd = header(f)[0]
    assert (hd.timecode, hd.timecode_bad, hd.width) == (None, "0x01F00000", 8)
    f.write_bytes(data[:at] + struct.pack("<i", 4) + data[at + 4:at + 8] + data[at + 12:])
    assert header(f)[0].timecode is None


def test_a_header_timecode_beyond_the_timelines_rate_is_one_line(tmp_path):
    shot = plates(tmp_path / "shot010", range(12), "01:00:00:29")  # a 30 fps stamp
    edl = tmp_path / "cut.edl"
    edl.write_text(EDL.format("01:00:00:04", "01:00:00:14"))
    r = cli("new", edl, "--fps", 24, "--media-root", shot, "--out", tmp_path / "s.toml")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "header 01:00:00:29 at 24 fps" in lines[0] and "--sequence-start" in lines[0]
