"""Captions drawn as their language writes them (host/player/captions_fonts.py, captions_draw.py,
captions_breaks.py): a kanji in a Japanese file in a Japanese font (one code point, Chinese
and Japanese letterforms), in a Chinese one in a Chinese file; Thai, Lao, Khmer and Burmese
(no spaces between words) wrapped between words by ICU's line breaker, as CJK punctuation
is kept off a line's start (UAX #14). Skipped, with the package named, where the font is not
installed (scripts/install.sh installs them for the host and dev roles: CI runs these)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from empathy.host.player.captions import read_captions
from empathy.host.player.captions_breaks import segments
from empathy.host.player.captions_draw import Painter

JAPANESE = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
CHINESE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
TRADITIONAL = Path("/usr/share/fonts/truetype/cwtex/cwming.ttf")
# kanji whose Japanese and Chinese (mainland) letterforms differ
DIFFER = "直骨写"
# and two whose Taiwan letterforms cwTeX Ming has (直's left stroke runs to its foot, 令
# ends in a vertical stroke), not WenQuanYi's mainland ones
DIFFER_TW = "直令"


def _ink(a: np.ndarray) -> np.ndarray:
    """An alpha image cropped to its ink, as float."""
    ys, xs = np.nonzero(a)
    return a[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)


def _glyph(font: Path, c: str, p: Painter) -> np.ndarray:
    """c drawn by Pillow straight from font's file, as the painter draws (size, outline)."""
    from PIL import Image, ImageDraw, ImageFont

    f = ImageFont.truetype(str(font), p.size)
    img = Image.new("L", (p.size * 3, p.size * 3), 0)
    ImageDraw.Draw(img).text((p.size, p.size * 2), c, font=f, anchor="ls", fill=255,
                             stroke_width=p.stroke, stroke_fill=255)
    return _ink(np.asarray(img))


def _drawn(p: Painter, c: str) -> np.ndarray:
    return _ink(255 - p.draw(c).inv[..., 0].astype(np.int32))


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two ink images (the smaller padded with nothing)."""
    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    pa, pb = (np.pad(x, ((0, h - x.shape[0]), (0, w - x.shape[1]))) for x in (a, b))
    return float(np.abs(pa - pb).mean())


@pytest.fixture(scope="module")
def fonts():
    for f, pkg in ((JAPANESE, "fonts-ipaexfont-gothic"), (CHINESE, "fonts-wqy-microhei")):
        if not f.is_file():
            pytest.skip(f"{f} is not installed: install {pkg}")


@pytest.mark.parametrize("language,font", [("ja", JAPANESE), ("zh-CN", CHINESE)])
def test_a_kanji_is_drawn_in_its_languages_letterforms(fonts, language, font):
    p = Painter(960, 540, language)
    other = CHINESE if font == JAPANESE else JAPANESE
    for c in DIFFER:
        drawn, own, theirs = _drawn(p, c), _glyph(font, c, p), _glyph(other, c, p)
        assert _distance(own, theirs) > 10, c  # the two forms do differ
        # the language's own font's glyph (same pixels but for the sub-pixel placing)
        assert _distance(drawn, own) < _distance(drawn, theirs) / 4, (c, language)


@pytest.mark.parametrize("language", ["zh-Hant", "zh-TW", "zh-HK", "zho-Hant"])
def test_traditional_chinese_is_drawn_in_taiwans_letterforms(fonts, language):
    """A Traditional Chinese file's ideographs in cwTeX Ming (the host install's font made
    for them), not WenQuanYi's mainland forms; Hong Kong's nearest are Taiwan's."""
    if not TRADITIONAL.is_file():
        pytest.skip(f"{TRADITIONAL} is not installed: install fonts-cwtex-ming")
    p = Painter(960, 540, language)
    for c in DIFFER_TW:
        drawn, own, theirs = _drawn(p, c), _glyph(TRADITIONAL, c, p), _glyph(CHINESE, c, p)
        assert _distance(own, theirs) > 10, c
        assert _distance(drawn, own) < _distance(drawn, theirs) / 4, (c, language)
    # and Simplified Chinese stays in WenQuanYi
    drawn = _drawn(Painter(960, 540, "zh-CN"), DIFFER_TW[0])
    assert _distance(drawn, _glyph(CHINESE, DIFFER_TW[0], p)) < 1


def test_the_story_tables_language_is_the_files(fonts, tmp_path):
    """`captions = { ja = "subs.srt" }`: kanji alone (no kana) would be told Chinese by
    their letters; the story says Japanese, and the player draws them as a.ja.srt's."""
    from empathy.host.player.captions_draw import Burner
    from empathy.host.player.nextclip import Clip

    cue = "1\n00:00:00,000 --> 00:00:01,000\n直骨写\n"
    for name in ("subs.srt", "a.ja.srt"):
        (tmp_path / name).write_text(cue, encoding="utf-8")
    assert read_captions(tmp_path / "subs.srt").language == "zh"
    assert read_captions(tmp_path / "subs.srt", None, "ja").language == "ja"
    frames = []
    for name, language in (("subs.srt", "ja"), ("a.ja.srt", None), ("subs.srt", None)):
        burner = Burner(640, 360, lambda fault: None)
        clip = Clip("a", tmp_path / "a.mp4", None, captions=tmp_path / name,
                    captions_root=tmp_path, captions_language=language)
        burner.preload([clip])
        frames.append(burner.burn(np.zeros((360, 640, 3), np.uint8), clip, 0.5))
    assert frames[0].any() and np.array_equal(frames[0], frames[1])
    assert not np.array_equal(frames[0], frames[2])  # in Chinese letterforms


def test_a_files_language_comes_from_its_tag_else_its_text(fonts, tmp_path):
    cue = "1\n00:00:00,100 --> 00:00:01,000\n{}\n\n"
    for name, text, language in (("a.ja.srt", "写真", "ja"), ("b.srt", "写真をください", "ja"),
                                 ("c.srt", "写真", "zh"), ("d.zh-Hant.srt", "寫真", "zh-Hant"),
                                 ("e.srt", "사진 寫眞", "ko"), ("f.srt", "Hello", None)):
        (tmp_path / name).write_text(cue.format(text), encoding="utf-8")
        assert read_captions(tmp_path / name).language == language, name


# Thai, Lao, Khmer and Burmese sentences as lists of their words (written without spaces)
WORDS = {
    "th": ["คืน", "วัน", "ที่", "สิบ", "สี่", "คุณ", "อยู่", "ที่", "ไหน", "บอก", "ฉัน", "ตาม",
           "ความ", "จริง", "เดี๋ยว", "นี้", "เลย", "นะ", "เพราะ", "ตำรวจ", "กำลัง", "มา"],
    "lo": ["ພາສາ", "ລາວ", "ຂຽນ"],
    "km": ["ភាសា", "ខ្មែរ", "សរសេរ"],
    "my": ["မြန်မာ", "ဘာသာ", "စကား"],
}


def _words_in(line: str, words: list[str]) -> int:
    """How many of `words` line is, from its start; -1: it ends inside one."""
    i, k = 0, 0
    while i < len(line) and k < len(words) and line.startswith(words[k], i):
        i, k = i + len(words[k]), k + 1
    return k if i == len(line) else -1


def test_thai_wraps_between_its_words():
    if not any(f.startswith("Loma") for f in _families()):
        pytest.skip("no Thai font here: install fonts-tlwg-loma-ttf")
    cue = "".join(WORDS["th"])
    p = Painter(1280, 720, "th")
    lines = p.lines(cue)
    assert len(lines) == 2 and "".join(lines) == cue, lines  # nothing cut, nothing added
    k = _words_in(lines[0], WORDS["th"])
    assert k > 0 and _words_in(lines[1], WORDS["th"][k:]) > 0, lines  # not inside a word
    assert p.draw(cue).inv.shape[1] <= 1280 * 0.9 + 2 * p.stroke + 2


@pytest.mark.parametrize("language", ["th", "lo", "km", "my"])
def test_words_without_spaces_are_found_by_the_line_breaker(language):
    """ICU's dictionaries: each break falls between two of the sentence's words."""
    text = "".join(WORDS[language])
    found = segments(text, language)
    assert "".join(found) == text and len(found) >= 2, found
    ends = np.cumsum([len(w) for w in WORDS[language]]).tolist()
    assert set(np.cumsum([len(s) for s in found]).tolist()) <= set(ends), found


def test_uax14_keeps_closing_marks_and_small_kana_off_a_lines_start():
    text = "今日は「いい天気」ですね。ちょっと待って！(ok) Hello, world."
    found = segments(text, "ja")
    assert "".join(found) == text
    assert not [s for s in found if s[0] in "」。！)ょ,."], found
    assert not [s for s in found if s[-1] in "「("], found
    assert "Hello, " in found  # Latin at its spaces


def _families() -> list[str]:
    from empathy.host.player.captions_fonts import chain

    return [f.family for f in chain()]


def test_the_player_draws_a_japanese_file_in_japanese_letterforms(fonts, tmp_path):
    """The Burner (the player's) draws a file with the painter of the file's language."""
    from empathy.host.player.captions_draw import Burner, blend
    from empathy.host.player.player import Clip

    (tmp_path / "a.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\n写真を撮る\n\n",
                                    encoding="utf-8")
    clip = Clip("a", tmp_path / "a.mp4", None, captions=tmp_path / "a.srt",
                captions_root=tmp_path)
    b = Burner(320, 180, on_fault=lambda f: None)
    b.preload([clip])
    frame = b.burn(np.zeros((180, 320, 3), np.uint8), clip, 0.5)
    ja, zh = (np.zeros((180, 320, 3), np.uint8) for _ in range(2))
    for f, language in ((ja, "ja"), (zh, "zh")):
        blend(f, Painter(320, 180, language).draw("写真を撮る"))
    assert (frame == ja).all() and not (frame == zh).all()


def test_story_check_says_when_no_font_here_has_the_languages_letterforms(fonts, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from empathy.host.player.captions import problem

    cue = "1\n00:00:00,100 --> 00:00:01,000\n{}\n\n"
    (tmp_path / "a.ja.srt").write_text(cue.format("写真を撮る"), encoding="utf-8")
    (tmp_path / "a.zh-Hant.srt").write_text(cue.format("寫真"), encoding="utf-8")
    (tmp_path / "a.zh.srt").write_text(cue.format("写真"), encoding="utf-8")
    assert problem(tmp_path / "a.ja.srt", tmp_path) is None  # IPAex Gothic is here
    assert problem(tmp_path / "a.zh.srt", tmp_path) is None  # WenQuanYi
    if TRADITIONAL.is_file():
        assert problem(tmp_path / "a.zh-Hant.srt", tmp_path) is None  # cwTeX Ming
    # a host with WenQuanYi alone (installed before IPAex Gothic joined the list)
    (tmp_path / "fonts.conf").write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>/usr/share/fonts/truetype/dejavu</dir><dir>{CHINESE.parent}</dir>"
        f"<cachedir>{tmp_path}/cache</cachedir></fontconfig>")
    (tmp_path / "c.mp4").write_bytes(b"")
    (tmp_path / "s.toml").write_text('start = "s0"\n[segments.s0]\nmedia = "c.mp4"\n'
                                     'duration_s = 1\ncaptions = { ja = "a.ja.srt", '
                                     '"zh-Hant" = "a.zh-Hant.srt" }\n')
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check",
                        str(tmp_path / "s.toml")], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")})
    said = [s for s in (r.stdout + r.stderr).splitlines() if "a.ja.srt" in s]
    assert len(said) == 1 and "no Japanese font here" in said[0], r.stdout + r.stderr
    assert "install fonts-ipaexfont-gothic" in said[0] and "warning" in said[0]
    said = [s for s in (r.stdout + r.stderr).splitlines() if "a.zh-Hant.srt" in s]
    assert len(said) == 1 and "no Traditional Chinese font here" in said[0], said
    assert said[0].endswith("install fonts-cwtex-ming"), said
    # and doctor says so before any film is checked (no box: WenQuanYi has every kanji)
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "doctor", "--json"], timeout=120,
                       capture_output=True, text=True,
                       env={**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")})
    said = [f for f in json.loads(r.stdout) if f["check"] == "caption fonts"]
    assert len(said) == 1 and said[0]["status"] == "warn", said
    assert "Japanese captions' ideographs would be drawn in another language's letterforms" \
        in said[0]["detail"] and "Simplified Chinese" not in said[0]["detail"], said
    assert "fonts-ipaexfont-gothic" in said[0]["fix"].split(), said
    assert "Traditional Chinese captions' ideographs" in said[0]["detail"], said
    assert "fonts-cwtex-ming" in said[0]["fix"].split(), said
