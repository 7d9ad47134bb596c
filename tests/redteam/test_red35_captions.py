"""Red team, session 35: captions' line breaks through the system's ICU (ctypes: lengths in
UTF-16 units) against hostile text, and Apple's TTML timing claimed by a file that is not
Apple's."""

from __future__ import annotations

import pytest

from empathy.host.player.captions import CaptionsError, read_captions
from empathy.host.player.captions_breaks import segments

APPLE = "http://music.apple.com/lyric-ttml-internal"


def _ttml(path, head: str = "", root: str = "", text: str = "x", begin: str = "1s") -> None:
    path.write_text(f'<?xml version="1.0"?>{head}<tt xmlns="http://www.w3.org/ns/ttml"{root}>'
                    f'<body><div begin="10s"><p begin="{begin}" end="2s">{text}</p></div>'
                    "</body></tt>")


def test_only_a_root_in_apples_namespace_is_read_apples_way(tmp_path):
    """The namespace's name anywhere in the text (a converter's comment, a cue quoting it)
    had the file read Apple's way: the <p> 10 s early, its div's begin dropped."""
    _ttml(tmp_path / "comment.ttml", head=f"<!-- converted, not {APPLE} -->")
    _ttml(tmp_path / "quoted.ttml", text=f"see {APPLE}")
    _ttml(tmp_path / "apple.ttml", root=f' xmlns:itunes="{APPLE}"')
    starts = {p: read_captions(tmp_path / p).cues[0].start_s
              for p in ("comment.ttml", "quoted.ttml", "apple.ttml")}
    assert starts == {"comment.ttml": 11.0, "quoted.ttml": 11.0, "apple.ttml": 1.0}


@pytest.mark.parametrize("begin", ["-1s", "1e12s", "99999999999999999999:00:00.000", "nan"])
def test_apple_times_out_of_range_are_one_line(tmp_path, begin):
    _ttml(tmp_path / "t.ttml", root=f' xmlns:itunes="{APPLE}"', begin=begin)
    with pytest.raises(CaptionsError) as e:
        read_captions(tmp_path / "t.ttml")
    assert str(e.value).startswith(str(tmp_path / "t.ttml")) and "\n" not in str(e.value)


@pytest.mark.parametrize("text,pieces", [
    ("ab\ud800cd \udfff x", None),   # lone surrogates: UnicodeEncodeError before
    ("a\x00b c", 2),                 # NUL: the length is given, not a C string's
    ("\u202e\u2066abc \u05d0 " * 1000, 2000),  # bidi overrides and isolates
    ("e" + "\u0301" * 10_000, 1),    # 10,000 combining marks: one cluster
    ("\U0001F468\u200d" * 5000, 1),  # an emoji ZWJ storm: 2 units a man, one cluster
    ("\U0001F600 " * 1000, 1000),    # past U+FFFF: ICU's offsets are UTF-16 units
    ("word " * 40_000, 40_000),      # a 200 kB line
])
def test_hostile_text_breaks_into_pieces_that_join_back(text, pieces):
    got = segments(text, "ja")
    assert "".join(got) == text
    assert pieces is None or len(got) == pieces
