"""A captions file's language read from its name as real releases write it (Plex's and
Jellyfin's naming pages, Kodi's, VLC's and mpv's): the player (`read_captions`) and `story new`
(`captions_beside`) read it the same way. The flags players take after the language (sdh, cc,
hi, forced, foreign, default) are flags, not languages; a word that is neither gives none."""

from __future__ import annotations

import subprocess
import sys

import pytest

from empathy.host.player.captions import read_captions
from empathy.host.story_new import captions_beside

CUE = "1\n00:00:00,000 --> 00:00:01,000\nHello\n"

# a file beside `film.mp4` (or the name's own clip) -> the language it gives
NAMES = [
    ("film.en.srt", "en"),
    ("film.eng.srt", "en"),             # ISO 639-2
    ("film.fre.srt", "fr"),             # ISO 639-2/B (bibliographic)
    ("film.ger.srt", "de"),
    ("film.chi.srt", "zh"),
    ("film.zho.srt", "zh"),
    ("film.en.sdh.srt", "en"),          # Plex, Jellyfin
    ("film.en.forced.srt", "en"),
    ("film.en.hi.srt", "en"),           # hearing impaired after a language: a flag
    ("film.en.cc.srt", "en"),
    ("film.en.sdh.forced.srt", "en"),
    ("film.en.default.srt", "en"),
    ("film.hi.srt", "hi"),              # alone: Hindi
    ("film.hin.srt", "hi"),
    ("film.pt-BR.srt", "pt-BR"),
    ("film.pt_BR.srt", "pt-BR"),
    ("film.zh-Hant.srt", "zh-Hant"),
    ("film.zh-TW.srt", "zh-TW"),
    ("film.zh-hk.srt", "zh-HK"),
    ("film.es-419.srt", "es-419"),      # Latin American Spanish
    ("film_ja.srt", "ja"),
    ("film.Japanese.srt", "ja"),        # Kodi: the English name
    ("film.german.srt", "de"),          # Jellyfin's own example
    ("film.Deutsch.srt", "de"),         # its own name
    ("film.[ja].ass", "ja"),
    ("film.JA.srt", "ja"),
    ("film.iw.srt", "he"),              # Hebrew's old code
    ("film.sdh.srt", None),             # a flag, no language
    ("film.forced.srt", None),
    ("film.new.srt", None),             # Newari's ISO 639-2 code, but no 639-1 one: a word
    ("film.v2.srt", None),
    ("film.final.srt", None),
    ("film.srt", None),
]


@pytest.mark.parametrize("name,language", NAMES)
def test_the_player_reads_a_files_language_from_its_name(tmp_path, name, language):
    (tmp_path / name).write_text(CUE, encoding="utf-8")
    assert read_captions(tmp_path / name).language == language, name


def test_a_release_folders_names_by_their_clip(tmp_path):
    """The player's reading without the clip: the year and title before it are not taken."""
    for name, language in [("Film.2019.en.srt", "en"), ("Film (2019).en.forced.srt", "en"),
                           ("The.Italian.Job.hi.srt", "hi"), ("2_English.srt", "en"),
                           ("Film.2019.1080p.srt", None)]:
        (tmp_path / name).write_text(CUE, encoding="utf-8")
        assert read_captions(tmp_path / name).language == language, name


def test_story_new_takes_each_language_once_and_says_its_flags(tmp_path):
    """`story new` beside film.mp4: the languages as the player reads them, one file each
    (for the deaf and hard of hearing first: open captions are for them; forced ones, a
    film's foreign lines only, last), its flags said in a comment; a name with a word that
    is no language nor flag is not the clip's (film.v2.srt, film.new.srt)."""
    from empathy.host.story import load

    d = tmp_path / "film"
    d.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:s=64x36:r=25:d=0.2", "-pix_fmt", "yuv420p", str(d / "film.mp4")],
                   check=True, timeout=60)
    files = ["film.srt", "film.en.srt", "film.en.sdh.srt", "film.en.forced.srt",
             "film.eng.forced.srt", "film.chi.srt", "film.zh-TW.srt", "film_ja.srt",
             "film.hi.srt", "film.de.forced.srt", "film.new.srt", "film.v2.srt",
             "film.final.srt", "film.sdh.srt", "film_b.srt", "filmic.en.srt"]
    for name in files:
        (d / name).write_text(CUE, encoding="utf-8")
    found = {lang: p.name for lang, p in captions_beside(d / "film.mp4")}
    assert found == {"": "film.sdh.srt", "en": "film.en.sdh.srt", "zh": "film.chi.srt",
                     "zh-TW": "film.zh-TW.srt", "ja": "film_ja.srt", "hi": "film.hi.srt",
                     "de": "film.de.forced.srt"}, found
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "new", str(d), "--out",
                        str(tmp_path / "s.toml")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    text = (tmp_path / "s.toml").read_text()
    line = next(s for s in text.splitlines() if s.startswith("captions ="))
    assert '"en" = "film/film.en.sdh.srt"' in line and '"zh-TW" = "film/film.zh-TW.srt"' in line
    assert line.endswith('  # "" sdh, "de" forced, "en" sdh (from the names)'), line
    assert set(dict(load(tmp_path / "s.toml").segments["film"].captions)) == set(found)


def test_flags_and_languages_read_from_a_name():
    from empathy.host.player.captions_names import NameTags, read_name

    assert read_name("film.en.sdh.forced.srt") == NameTags("en", ("sdh", "forced"))
    assert read_name("film.en.hi.srt") == NameTags("en", ("sdh",))
    assert read_name("film.hi.forced.srt") == NameTags("hi", ("forced",))
    assert read_name("film.sdh.srt", "film") == NameTags(None, ("sdh",))
    assert read_name("film.srt", "film") == NameTags(None)
    assert read_name("film.v2.srt", "film") is None and read_name("film.v2.srt") is None
    assert read_name("film_b.srt", "film") is None and read_name("filmic.en.srt", "film") is None


# Chinese releases' names (fansubs): Simplified / Traditional, and bilingual files
# (the first language draws the ideographs; the other is noted)
NAMES_ZH = [
    ("film.chs.ass", "zh-Hans", ()),
    ("film.cht.ass", "zh-Hant", ()),
    ("film.sc.ass", "zh-Hans", ()),      # the language word of a name: Simplified, not Sardinian
    ("film.TC.ass", "zh-Hant", ()),
    ("film.gb.srt", "zh-Hans", ()),
    ("film.big5.srt", "zh-Hant", ()),
    ("[Group] Show - 01 [1080p].tc.ass", "zh-Hant", ()),
    ("film.chs&eng.ass", "zh-Hans", ("en",)),
    ("film.cht&jpn.ass", "zh-Hant", ("ja",)),
    ("film.简体&英文.ass", "zh-Hans", ("en",)),
    ("film.简体.srt", "zh-Hans", ()),
    ("film.繁體.srt", "zh-Hant", ()),
    ("film.繁体中文.srt", "zh-Hant", ()),
    ("film.简中.srt", "zh-Hans", ()),
    ("film.简英.ass", "zh-Hans", ("en",)),
    ("film.繁日雙語.ass", "zh-Hant", ("ja",)),
    ("film.中英.srt", "zh", ("en",)),
    ("film.JPSC.ass", "ja", ("zh-Hans",)),
    ("film.日本語.srt", "ja", ()),       # ICU's own name, as before
    ("Film.2019.TC.XviD.srt", None, ()),  # telecine, mid-name: not a language
    ("film.tc.v2.srt", None, ()),
    ("film.中文字幕组.srt", None, ()),     # a word that is not only languages
]


@pytest.mark.parametrize("name,language,also", NAMES_ZH)
def test_chinese_releases_names(tmp_path, name, language, also):
    from empathy.host.player.captions_names import read_name

    tags = read_name(name)
    assert (tags.language if tags else None) == language, name
    assert (tags.also if tags else ()) == also, name
    (tmp_path / name).write_text(CUE, encoding="utf-8")
    assert read_captions(tmp_path / name).language == language, name


def test_story_new_takes_a_chinese_releases_files(tmp_path):
    """Beside film.mp4: one file each for Simplified and Traditional, the single-language
    one before a bilingual one of the same first language, the other language noted."""
    for name in ("film.chs.ass", "film.chs&eng.ass", "film.繁日雙語.ass", "film.tc.v2.ass"):
        (tmp_path / name).write_text(CUE, encoding="utf-8")
    found = {lang: p.name for lang, p in captions_beside(tmp_path / "film.mp4")}
    assert found == {"zh-Hans": "film.chs.ass", "zh-Hant": "film.繁日雙語.ass"}, found
