"""Captions in the world's scripts, drawn with real fonts (host/player/captions_draw.py): each
real sentence's letters come out as their own glyphs, not as the box a font draws for a
character it lacks (.notdef: the same image for every such character, so two different
letters drawn alike are boxes). Skipped, with the package named, where the font is not
installed (scripts/install.sh installs them for the host and dev roles: CI runs these).
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest

from empathy.host.player.captions_draw import MISSING, Painter

# (script, a real caption, a character only that script's font has, the Debian package)
SENTENCES = [
    ("Chinese", "你昨天晚上在哪里？我一直在家。", "4f60", "fonts-wqy-microhei"),
    ("Japanese", "昨夜はどこにいたの？ずっと家にいたよ。", "3069", "fonts-wqy-microhei"),
    ("Korean", "어젯밤에 어디 있었어요? 집에 있었어요.", "c5b4", "fonts-wqy-microhei"),
    ("Thai", "เมื่อคืนคุณอยู่ที่ไหน", "0e2d", "fonts-tlwg-loma-ttf"),
    ("Devanagari", "कल रात तुम कहाँ थे?", "0915", "fonts-lohit-deva"),
    ("Arabic", "أين كنت الليلة الماضية؟", "0623", "fonts-dejavu-core"),
    ("Hebrew", "איפה היית ב-14 בלילה? ב-Paris", "05d0", "fonts-dejavu-core"),
    ("Vietnamese", unicodedata.normalize("NFD", "Tối qua anh ở đâu?"), "1ed1",
     "fonts-dejavu-core"),
]


def _installed(hexcode: str) -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", f":charset={hexcode}", "file"], capture_output=True,
                         text=True, timeout=30).stdout
    return bool(out.strip())


@pytest.fixture(scope="module")
def painter():
    return Painter(1920, 1080)


def _image(painter, text: str) -> bytes:
    o = painter.draw(text)
    assert o is not None, text
    return o.inv.shape, o.inv.tobytes()


@pytest.mark.parametrize("script,text,hexcode,package", SENTENCES, ids=[s[0] for s in SENTENCES])
def test_each_letter_is_its_own_glyph(painter, script, text, hexcode, package):
    if not _installed(hexcode):
        pytest.skip(f"no font here has {script} (U+{hexcode.upper()}): install {package}")
    lines = painter.lines(text)
    assert MISSING not in "".join(lines), lines
    assert 1 <= len(lines) <= 2
    letters = sorted({c for c in text if unicodedata.category(c).startswith("L")})
    drawn = {c: _image(painter, c) for c in letters}
    box = _image(painter, MISSING)
    alike = [c for c in letters if drawn[c] == box]
    assert not alike, f"{script}: drawn as the box: {alike}"
    # .notdef is one image whatever the character: distinct letters must differ
    assert len(set(drawn.values())) == len(letters), f"{script}: letters drawn alike"
    o = painter.draw(text)
    assert o.inv.min() == 0 and o.inv.shape[0] < 1080 // 5


def test_chinese_wraps_between_characters_not_before_closing_punctuation(painter):
    if not _installed("4f60"):
        pytest.skip("no font here has Chinese: install fonts-wqy-microhei")
    cue = "我不知道你在说什么，我整个晚上都在家里看电视，哪儿也没去。你为什么不相信我？"
    lines = painter.lines(cue)
    assert len(lines) == 2 and "".join(lines) == cue  # no spaces added, none lost
    assert not lines[1].startswith(("，", "。", "？"))
    o = painter.draw(cue)
    assert o.inv.shape[1] <= 1920 * 0.9 + 4 * painter.stroke + 2  # the outline: both sides


def test_a_right_to_left_line_puts_the_other_fonts_run_in_bidi_order(painter):
    from empathy.host.player.captions_draw import _visual
    from empathy.host.player.captions_fonts import runs

    if not _installed("4f60"):
        pytest.skip("no font here has Chinese: install fonts-wqy-microhei")
    # read right to left: שלום, then 你好, then עולם: drawn left to right the other way
    # round, a space between each (the space after a word goes where the line runs on)
    assert [t for _, t, _ in _visual(runs("שלום 你好 עולם"), True)] == \
        ["עולם", " ", "你好", " ", "שלום"]
    # in a left-to-right line, Hebrew with its digits is one right-to-left run
    assert [(t, rtl) for _, t, rtl in _visual(runs("Hello 你好 שלום 14"), False)
            if t.strip()] == [("Hello", False), ("你好", False), ("שלום 14", True)]
    assert painter.draw("שלום 你好 עולם").inv.min() == 0


def test_story_check_names_the_characters_no_font_has(tmp_path):
    import sys

    (tmp_path / "c.mp4").write_bytes(b"")  # story check's verdict on the clip is not ours
    (tmp_path / "a.srt").write_text("1\n00:00:00,100 --> 00:00:01,000\n"
                                    "你好 \U0010fffd \U0010fffc \U0010fffd\n\n")
    story = tmp_path / "s.toml"
    story.write_text('start = "s0"\n[segments.s0]\nmedia = "c.mp4"\nduration_s = 1\n'
                     'captions = "a.srt"\n')
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", str(story)],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    said = [s for s in out.splitlines() if "a.srt" in s]
    assert "Traceback" not in out and len(said) == 1, out
    assert "no font here has" in said[0] and "U+10FFFD" in said[0] and "U+10FFFC" in said[0]
    assert said[0].count("U+10FFFD") == 1 and "warning" in said[0]
    if _installed("4f60"):
        assert "U+4F60" not in said[0]


def test_a_host_with_dejavu_alone_is_told_which_packages_draw_the_rest(tmp_path):
    """fontconfig pointed at DejaVu alone (a host installed before the fallback fonts):
    doctor names the scripts and packages, story check the characters, the player boxes."""
    import json
    import os
    import sys

    if not shutil.which("fc-match"):
        pytest.skip("fontconfig is not installed: install fontconfig")
    (tmp_path / "fonts.conf").write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path}/cache</cachedir>"
        "</fontconfig>")
    env = {**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")}
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "doctor", "--json"], env=env,
                       capture_output=True, text=True, timeout=120)
    said = [f for f in json.loads(r.stdout) if f["check"] == "caption fonts"]
    assert len(said) == 1 and said[0]["status"] == "warn", said
    assert "Chinese, Japanese, Korean, Thai, Devanagari" in said[0]["detail"]
    assert said[0]["fix"].endswith("fonts-lohit-deva fonts-tlwg-loma-ttf fonts-wqy-microhei")
    (tmp_path / "c.mp4").write_bytes(b"")
    (tmp_path / "a.srt").write_text("1\n00:00:00,100 --> 00:00:01,000\n你好 สวัสดี\n\n")
    (tmp_path / "s.toml").write_text('start = "s0"\n[segments.s0]\nmedia = "c.mp4"\n'
                                     'duration_s = 1\ncaptions = "a.srt"\n')
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check",
                        str(tmp_path / "s.toml")], env=env, capture_output=True, text=True,
                       timeout=120)
    line = [s for s in (r.stdout + r.stderr).splitlines() if "a.srt" in s]
    assert len(line) == 1 and "你 (U+4F60)" in line[0] and "ส (U+0E2A)" in line[0], line
    assert "install fonts-wqy-microhei, fonts-tlwg-loma-ttf" in line[0]
    r = subprocess.run([sys.executable, "-c", "from empathy.host.player.captions_draw import "
                        "Painter; print(Painter(640, 360).lines('你好 Paris')[0])"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == f"{MISSING}{MISSING} Paris", r.stderr


def test_joiners_and_marks_a_script_needs_are_kept(tmp_path):
    """Persian writes some words with a zero-width non-joiner (U+200C: 'می‌خواهم', I want),
    emoji families are joined by U+200D, and Arabic/Hebrew subtitles use the direction
    marks U+200E/U+200F to put punctuation on the right side: read as written."""
    from empathy.host.player.captions import read_captions

    lines = ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
             "\U0001f468\u200d\U0001f469\u200d\U0001f467",
             "\u05e9\u05dc\u05d5\u05dd!\u200f"]
    f = tmp_path / "a.srt"
    f.write_text("".join(f"{i}\n00:00:0{i},000 --> 00:00:0{i},900\n{t}\n\n"
                         for i, t in enumerate(lines, 1)), encoding="utf-8")
    assert [c.text for c in read_captions(f).cues] == lines


def test_a_timing_line_in_other_digits_is_refused_in_one_line(tmp_path):
    from empathy.host.player.captions import CaptionsError, read_captions

    f = tmp_path / "a.srt"
    f.write_text("1\n00:00:0\u0661,000 --> 00:00:02,000\nx\n\n", encoding="utf-8")
    with pytest.raises(CaptionsError, match="timing line"):
        read_captions(f)
