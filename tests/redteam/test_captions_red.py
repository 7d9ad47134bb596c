"""Red team of the captions reader and burner: a story names a captions file per clip, and a
cinema gets them from anyone. Each bad file is one CaptionsError line naming the file (and
its line where there is one), read in memory bounded by the 2 MiB cap whatever its size;
`story check` says it in one line; and a show still plays every frame, without that file's
captions, said once.
"""

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from empathy.host.player.captions import MAX_CUES, CaptionsError, read_captions
from empathy.host.player.captions_draw import MISSING, Painter, blend
from empathy.host.player.player import Clip, Player

EMPATHY = [sys.executable, "-m", "empathy.cli"]
W, H, FPS = 160, 96, 25


def _srt(n: int, text: str = "x", start: str = "00:00:00,100", end: str = "00:00:00,900"):
    return "".join(f"{i + 1}\n{start} --> {end}\n{text}\n\n" for i in range(n))


def _ass(info: str = "", styles: int = 1) -> str:
    return ("[Script Info]\nScriptType: v4.00+\n" + info + "\n[V4+ Styles]\n"
            "Format: Name, Fontname, Fontsize\n"
            + "".join(f"Style: S{i},Arial,20\n" for i in range(styles))
            + "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
              "Effect, Text\nDialogue: 0,0:00:00.10,0:00:00.90,S0,,0,0,0,,hi\n")


def _bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words its refusal says)."""
    big = d / "big.srt"
    with open(big, "wb") as f:  # 200 MB, sparse: its size is all that is looked at
        f.truncate(200 << 20)
    made = {"200 MB": (big, "more than the 2 MiB")}
    for name, fname, body, words in [
        ("10 MB line", "line.srt", b"1\n00:00:00,100 --> 00:00:00,900\n" + b"x" * (10 << 20),
         "more than the 2 MiB"),
        ("5,000-character line", "wide.srt", _srt(1, "y" * 5000), ":3: a line of 5,000"),
        ("1,000,000 cues", "million.srt", _srt(1_000_000), "more than the 2 MiB"),
        ("too many cues", "many.srt", _srt(MAX_CUES + 1), f"more than {MAX_CUES:,} cues"),
        ("negative", "neg.srt", _srt(1, start="-00:00:01,000"), ":2: not a timing line"),
        ("99 hours", "late.srt", _srt(1, start="99:00:00,000", end="99:00:01,000"),
         ":2: a cue at 356400"),
        ("end before start", "back.srt", _srt(1, start="00:00:05,000", end="00:00:01,000"),
         ":2: a cue ends (1 s) before it starts (5 s)"),
        ("NaN", "nan.srt", _srt(1, end="00:00:nan"), ":2: not a timing line"),
        ("NaN in a .vtt", "nan.vtt", "WEBVTT\n\n00:00.000 --> inf\nx\n", ":3: not a timing"),
        ("5,000-character cue", "long.srt", _srt(1, "\n".join(["z" * 99] * 50)),
         ":2: a cue of 4,999 characters"),
        ("binary", "bin.srt", bytes(range(256)) * 64, "holds NUL bytes"),
        ("huge PlayRes", "res.ass", _ass("PlayResX: 99999999\n"), ":3: PlayResX '99999999'"),
        ("styles", "styles.ass", _ass(styles=5000), "5,000 styles"),
        ("TTML entities", "lol.ttml", '<?xml version="1.0"?>\n<!DOCTYPE tt [<!ENTITY a "aa">]>'
         '\n<tt/>\n', ":2: a DTD or entity"),
        ("MicroDVD without fps", "nofps.sub", "{10}{20}hi\n", ":1: a MicroDVD file needs"),
    ]:
        (d / fname).write_bytes(body if isinstance(body, bytes) else body.encode())
        made[name] = (d / fname, words)
    outside = d.parent / "elsewhere.srt"
    outside.write_text(_srt(1))
    (d / "zero.srt").symlink_to("/dev/zero")
    (d / "up.srt").symlink_to(outside)
    made["/dev/zero"] = (d / "zero.srt", "outside the story's folder")
    made["outside"] = (d / "up.srt", "outside the story's folder")
    return made


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    d = tmp_path_factory.mktemp("captions_red") / "film"
    d.mkdir()
    return d, _bad_files(d)


def test_each_bad_file_is_one_line_in_bounded_memory(bad):
    folder, files = bad
    for name, (path, words) in files.items():
        tracemalloc.start()
        with pytest.raises(CaptionsError) as e:
            read_captions(path, folder)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        msg = str(e.value)
        assert "\n" not in msg and msg.startswith(str(path)) and len(msg) < 300, (name, msg)
        assert words in msg, (name, msg)
        assert peak < 64 << 20, (name, peak)  # whatever the file's size


def test_a_device_is_refused_as_one(tmp_path):
    link = tmp_path / "z.srt"
    link.symlink_to("/dev/zero")
    with pytest.raises(CaptionsError, match="it is a device, not a file"):
        read_captions(link)  # no folder to stay in: still never read


def test_the_show_plays_every_frame_without_the_bad_files_captions_each_said_once(
        bad, tmp_path):
    folder, files = bad
    clip = tmp_path / "c.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    f"color=c=gray:s={W}x{H}:r={FPS}:d=0.2", "-pix_fmt", "yuv420p", str(clip)],
                   check=True, timeout=60)
    clips = [Clip(f"s{i}", clip, None, 1.0, 0.0, None, path, folder)
             for i, (path, _) in enumerate(files.values())]
    chain = iter(clips[1:] + clips)  # each file's clip twice: said once all the same
    p = Player(f"file:{tmp_path}/o.mp4", W, H, FPS, tmp_path / "f.csv", realtime=False,
               audio=False, on_need_next=lambda _: next(chain, None))
    p.preload(clips)
    p.start(clips[0])
    assert p.wait(60) and p.error is None
    assert p.frames_rendered == 5 * 2 * len(clips)
    said = []
    while not p.faults.empty():
        said.append(p.faults.get())
    assert sorted(f["file"] for f in said) == sorted(str(f) for f, _ in files.values())
    assert all(f["event"] == "captions_fault" and "\n" not in f["why"] for f in said)


def test_story_check_says_each_in_one_line(bad, tmp_path):
    folder, files = bad
    (folder / "c.mp4").write_bytes(b"")  # story check's verdict on the clip is not ours
    story = tmp_path / "s.toml"
    segs = "".join(f'[segments.s{i}]\nmedia = "c.mp4"\nduration_s = 1\ncaptions = "{p.name}"\n'
                   + (f'next = "s{i + 1}"\n' if i + 1 < len(files) else "")
                   for i, (p, _) in enumerate(files.values()))
    story.write_text(f'start = "s0"\nmedia_root = "{folder}"\n{segs}')
    r = subprocess.run([*EMPATHY, "story", "check", str(story)], capture_output=True,
                       text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "Traceback" not in out
    for path, words in files.values():
        lines = [s for s in out.splitlines() if f"{path}" in s and "captions" in s]
        assert len(lines) == 1 and words in lines[0], (path, lines)


def test_text_no_font_has_is_drawn_as_boxes_and_rtl_in_reading_order():
    p = Painter(1920, 1080)
    # private use, plane 16: no font draws it; emoji and Hebrew: DejaVu has them
    assert p.lines("\U0010fffd 😀 שלום") == [f"{MISSING} 😀 שלום"]
    o = p.draw("中文 😀 שלום مرحبا \U0010fffd")
    assert o is not None and o.inv.min() == 0  # drawn, opaque where the letters are
    assert np.all(o.inv.shape[0] < 1080 // 6)


@pytest.mark.parametrize("text", [
    "e" + "\u0301" * 400,                      # marks stacked by the hundred: 5,000 px tall
    "\u0915\u094d" * 200,                      # a Devanagari conjunct that never ends
    "中" * 500, "\u200d" * 500, "\ufe0f" * 500,  # no break, joiners, selectors alone
    "\u202e" + "שלום abc " * 60,               # a bidi override and 500 characters
])
def test_a_hostile_cue_fits_the_frame(text):
    p = Painter(640, 360)
    o = p.draw(text)
    frame = np.zeros((360, 640, 3), np.uint8)
    if o is not None:
        assert o.y >= 0 and o.y + o.inv.shape[0] <= 360 and o.inv.shape[1] <= 640
        blend(frame, o)  # the play thread's every frame: a shape that does not fit raised
