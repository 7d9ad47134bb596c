"""The story's captions table and the screening's choice in the codes people write: keys as
file names carry them (`eng`, `pt_BR`, `iw`, `chs`) and the chosen language are both read as
ICU's canonical tags (host/player/captions_names.py `canonical`), and a choice meets the
nearest key of the same language and script (ICU's likely subtags: `en` takes `en-GB` where
that is all; `zh-TW` takes `zh-Hant` or `zh-HK`, never Simplified `zh-CN`/`zh-Hans`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from empathy.host.player.captions import choose, fallback_note
from empathy.host.player.captions_names import canonical

CUE = "1\n00:00:00,000 --> 00:00:01,000\nHello\n"

# a story key or a screening's choice -> its canonical tag (None: not a language)
TAGS = [("en", "en"), ("EN", "en"), ("eng", "en"), ("zh_TW", "zh-TW"), ("zh-tw", "zh-TW"),
        ("iw", "he"), ("chi", "zh"), ("zho-Hant", "zh-Hant"), ("pt_BR", "pt-BR"),
        ("es-419", "es-419"), ("yue", "yue"), ("fil", "fil"),   # no two-letter code: kept
        ("chs", "zh-Hans"), ("cht", "zh-Hant"), ("big5", "zh-Hant"), ("简体", "zh-Hans"),
        ("繁體", "zh-Hant"),
        ("sc", "sc"),    # a tag: Sardinian (in a file's name, Simplified Chinese)
        ("tc", None), ("gb", None), ("x y", None), ("", None), ("en-ZZZZZZZZZ", None), ("en-x", None)]


@pytest.mark.parametrize("tag,want", TAGS)
def test_a_key_or_choice_is_read_as_its_canonical_tag(tag, want):
    assert canonical(tag) == want, tag


def _files(*keys):
    return tuple((k, Path(f"{k or 'plain'}.srt")) for k in keys)


# (the story's keys, the language chosen) -> the key shown (None: no file)
CHOICES = [
    (("en-GB",), "en", "en-GB"),             # all there is: a region-less choice takes it
    (("en", "en-GB"), "en-GB", "en-GB"),
    (("en", "en-GB"), "en-US", "en"),        # a region-less key before another region's
    (("en", "en-GB"), "en", "en"),
    (("en-GB", "en-US"), "en", "en-US"),     # the language's likely region first
    (("en-GB", "en-AU"), "en", "en-GB"),     # else the table's order
    (("zh-CN", "zh-HK"), "zh-TW", "zh-HK"),  # Traditional: never the Simplified file
    (("zh-HK", "zh-Hant"), "zh-TW", "zh-Hant"),
    (("zh", "zh-CN", "zh-Hans"), "zh-TW", None),
    (("zh", "zh-CN", "zh-Hans", ""), "zh-TW", ""),  # the untagged file, as for any language
    (("zh-TW",), "zh", None),                # zh is Simplified (ICU: zh-Hans-CN)
    (("zh-CN",), "zh", "zh-CN"),
    (("zh-Hant",), "zh-HK", "zh-Hant"),
    (("sr-Latn",), "sr", None),              # Serbian: Cyrillic unless it says Latin
    (("en",), "eng", "en"),                  # the choice in a file name's code
    (("zh-TW",), "zh_TW", "zh-TW"),
    (("he",), "iw", "he"),
    (("pt-PT",), "pt-BR", "pt-PT"),
    (("fr",), "en", None),
]


@pytest.mark.parametrize("keys,want,shown", CHOICES)
def test_a_choice_meets_the_nearest_key_of_its_language_and_script(keys, want, shown):
    files = _files(*keys)
    got = choose(files, None, want)
    assert got == (dict(files)[shown] if shown is not None else None), (keys, want, got)
    note = fallback_note(files, None, want)
    if shown and shown != canonical(want):
        assert note is not None and want in note and repr(shown) in note, note
    else:
        assert note is None, note


def _story(tmp_path: Path, table: str, top: str = "") -> Path:
    for name in ("a.srt", "b.srt", "c.srt"):
        (tmp_path / name).write_text(CUE, encoding="utf-8")
    (tmp_path / "c.mp4").write_bytes(b"")
    p = tmp_path / "s.toml"
    p.write_text(f'start = "s0"\n{top}[segments.s0]\nmedia = "c.mp4"\nduration_s = 1\n'
                 f"captions = {table}\n", encoding="utf-8")
    return p


def test_the_story_reads_its_table_in_file_name_codes(tmp_path):
    """Keys as copied from file names, and captions_language in another spelling of one:
    before, `captions_language = "en"` against `eng` was refused (no segment has it)."""
    from empathy.host.story import load

    story = load(_story(tmp_path, '{ eng = "a.srt", "pt_BR" = "b.srt", cht = "c.srt" }',
                        'captions_language = "en"\n'))
    assert [k for k, _ in story.segments["s0"].captions] == ["en", "pt-BR", "zh-Hant"]
    assert story.captions_language == "en"
    story = load(_story(tmp_path, '{ "en-GB" = "a.srt" }', 'captions_language = "eng"\n'))
    assert choose(story.segments["s0"].captions, story.captions_language) == tmp_path / "a.srt"


def _check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_story_check_names_two_keys_of_one_language(tmp_path):
    r = _check(_story(tmp_path, '{ en = "a.srt", fr = "b.srt", eng = "c.srt" }'))
    said = [s for s in (r.stdout + r.stderr).splitlines() if "'eng'" in s]
    assert r.returncode == 1 and len(said) == 1, r.stdout + r.stderr
    assert "'en'" in said[0] and "both en" in said[0] and "Traceback" not in r.stderr


def test_story_check_says_which_file_stands_in_for_the_chosen_language(tmp_path):
    r = _check(_story(tmp_path, '{ "zh-HK" = "a.srt", "zh-CN" = "b.srt" }',
                      'captions_language = "zh-TW"\n'))
    said = [s for s in (r.stdout + r.stderr).splitlines() if "zh-TW" in s]
    assert len(said) == 1, r.stdout + r.stderr  # (c.mp4 is no video: an error of its own)
    assert "'zh-HK'" in said[0] and "warning" in said[0], said
    # Simplified alone is no stand-in: the story names a language no segment shows
    r = _check(_story(tmp_path, '{ "zh-CN" = "b.srt" }', 'captions_language = "zh-TW"\n'))
    assert "no segment has captions in it" in r.stdout + r.stderr


def test_the_screenings_choice_in_a_file_names_code_and_the_players_word(caplog):
    """[show] captions = "eng" is a language (was refused: not a tag); "tc" is not. The
    player logs a stand-in once for each segment, however often the clip is built."""
    from empathy.host.player.captions import check_setting, say_once

    for ok in ("eng", "zh_TW", "chs", "en", "off", "story"):
        check_setting(ok)
    for bad in ("tc", "gb", "x y"):
        with pytest.raises(ValueError, match="a language tag"):
            check_setting(bad)
    files = _files("zh-HK", "zh-CN")
    with caplog.at_level("WARNING", "empathy.host.player.player"):
        for _ in range(3):
            say_once(fallback_note(files, "zh-TW"), "segment 'a'")
        say_once(fallback_note(files, "zh-HK"), "segment 'a'")  # its own: nothing to say
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"segment 'a': {fallback_note(files, 'zh-TW')}"], said
