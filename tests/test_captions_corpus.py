"""Real subtitle files (pysubs2 1.8.1's sdist: Aegisub .ass with attached fonts and images,
TTML from Apple and others beside pysubs2's .ass conversions of them) read through our
reader: every one is taken, and a TTML file and its .ass give the same cues (to the .ass's
centisecond), Apple's lyrics (times from the song's start) too."""

from __future__ import annotations

from pathlib import Path

import pytest

from empathy.host.player.captions import read_captions
from empathy.host.player.captions_corpus import CorpusMissing, extract, read_all


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    try:
        return extract(tmp_path_factory.mktemp("captions_corpus"))
    except CorpusMissing as e:
        pytest.skip(str(e))


def test_every_real_file_is_read(files):
    said = {p.name: s for p, s in read_all(files).items()}
    assert len(said) == 11
    # Aegisub's PlayResX: 0 (unset) was refused before 0 was allowed
    assert said["subtitle_with_attached_fonts_aegisub.ass"] == "1 cues"
    assert said["ttml_example_apple.ttml"] == "38 cues"
    assert not [s for s in said.values() if s.startswith("refused")], said


def test_a_ttml_file_and_its_ass_conversion_give_the_same_cues(files):
    by_name = {p.name: p for p in files}
    for stem in ("ttml_example", "ttml_example2", "ttml_example_apple"):
        a, b = (read_captions(by_name[f"{stem}{s}"]).cues for s in (".ttml", ".ass"))
        assert [c.text for c in a] == [c.text for c in b], stem
        if stem == "ttml_example_apple":
            # Apple's lyrics time each <p> from the song's start inside a <div
            # begin="19.764">, against TTML (a child counts from its parent's begin): read
            # as TTML it came twice as late (39.528 s); pysubs2 made its .ass reading it
            # Apple's way (ignore_par_time_offset), and so do we for Apple's namespace
            assert a[0].start_s == 19.764
        for x, y in zip(a, b):  # .ass keeps centiseconds: 1.375 s is written 1.38
            assert abs(x.start_s - y.start_s) <= 0.005 and abs(x.end_s - y.end_s) <= 0.005


def test_apples_lyrics_times_count_from_the_song_and_ttmls_from_the_parent(tmp_path):
    """The same <div begin="10s"><p begin="12s">: 12 s in Apple's lyrics (their namespace),
    22 s in any other TTML (a child's time counts from its parent's begin)."""
    body = ('<body><div begin="10s" end="30s"><p begin="12s" end="13.5s">Hello</p></div>'
            '</body></tt>')
    apple = 'xmlns:itunes="http://music.apple.com/lyric-ttml-internal" itunes:timing="Line"'
    for name, attrs, start in (("apple.ttml", apple, 12.0), ("plain.ttml", "", 22.0)):
        (tmp_path / name).write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<tt xmlns='
                                     f'"http://www.w3.org/ns/ttml" {attrs}>{body}')
        cues = read_captions(tmp_path / name).cues
        assert [(c.start_s, c.end_s, c.text) for c in cues] == [(start, start + 1.5, "Hello")]
