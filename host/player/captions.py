"""Captions files beside a clip (.srt, WebVTT .vtt, .ass/.ssa, MicroDVD .sub, TTML), read through
pysubs2 with everything it gives range-checked, and refused in one line naming the file and
its line (CaptionsError). The player burns the cues in (captions_draw.py).

What a film-maker's tools write: UTF-8, or UTF-16 with its BOM (read), or CP1252 (Windows:
guessed only when UTF-8 fails, and said: `Captions.note`); CRLF; cues out of order or
overlapping (sorted; overlapping ones show together); <i>, <b>, <font> tags (dropped: the
text is drawn plain).
"""

from __future__ import annotations

import errno
import io
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from empathy.paths import read_file

from .captions_names import canonical, nearest

log = logging.getLogger("empathy.host.player.player")

FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa", ".sub": "microdvd",
           ".ttml": "ttml"}
MAX_BYTES = 2 << 20   # a feature film's .srt is ~100 KB; 2 MiB is ~1.4 s of pysubs2
MAX_LINE = 4096       # characters in one line of the file
MAX_CUES = 10_000     # a feature has ~1,500
MAX_TEXT = 500        # characters in one cue: two lines on screen hold ~90
MAX_S = 24 * 3600.0   # a cue past a day into its clip is a typo
MAX_STYLES = 1000     # .ass styles (Aegisub files hold a handful)
MAX_PLAYRES = 16384   # .ass PlayResX/PlayResY (0: unset, as Aegisub writes it)
_APPLE_LYRICS = "http://music.apple.com/lyric-ttml-internal"  # their TTML's namespace
EMPTY = "no cue to show (an empty file, or blank lines only): the clip plays without captions"
_SAID: set = set()  # (fallback note, segment) the player has logged
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_TIME = r"(?:[0-9]{1,3}:)?[0-9]{1,2}:[0-9]{2}[,.][0-9]{1,3}"  # ASCII: \d takes Arabic-Indic
_TIMING = re.compile(rf"\s*{_TIME}\s*-->\s*{_TIME}(?:\s.*)?")
# C0/C1 controls only: the joiners (U+200C/D: Persian words, emoji families), direction
# marks and isolates (U+200E/F, U+2066-9: Arabic and Hebrew punctuation) are the script's
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# a file's language told by its letters, in this order (Japanese writes ideographs too)
_LETTERS = (("ja", re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")),
            ("ko", re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")),
            ("zh", re.compile("[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003ffff]")))


class CaptionsError(ValueError):
    def __init__(self, path, line: Optional[int], message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str  # plain text, lines split by "\n"


@dataclass
class Captions:
    path: Path
    cues: list[Cue]            # by start time
    note: Optional[str] = None  # said once: how the text was decoded when it was not UTF-8
    language: Optional[str] = None  # BCP 47: its fonts' letterforms, its line breaks
    _starts: object = field(init=False, repr=False)  # numpy arrays: looked up every frame
    _ends: object = field(init=False, repr=False)

    def __post_init__(self):
        import numpy as np  # here: the host config's check imports this module, not numpy

        self._starts = np.array([c.start_s for c in self.cues], np.float64)
        self._ends = np.array([c.end_s for c in self.cues], np.float64)

    def at(self, t_s: float) -> tuple[int, ...]:
        """The cues on screen t_s into the clip (its own time, from the file's start)."""
        return tuple(((self._starts <= t_s) & (t_s < self._ends)).nonzero()[0].tolist())


def suffix_known(path: Path) -> bool:
    return path.suffix.lower() in FORMATS


def read_captions(path: Path, within: Optional[Path] = None,
                  language: Optional[str] = None) -> Captions:
    """`path`'s cues, or CaptionsError. within: the folder the file must stay inside (the
    story's), after links are followed. language: what the story's captions table names
    the file as (`{ ja = "subs.srt" }`), else told by its name or its letters."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CaptionsError(path, None, f"not a captions file we read ({', '.join(FORMATS)}): "
                                        "save it as .srt")
    data = _bytes(path, within)
    text, note = _decode(path, data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    for i, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise CaptionsError(path, i, f"a line of {len(line):,} characters (at most "
                                         f"{MAX_LINE:,}): not a captions file")
    where = _cue_lines(path, fmt, lines)
    if len(where) > MAX_CUES:
        raise CaptionsError(path, where[MAX_CUES], f"more than {MAX_CUES:,} cues")
    subs = _parse(path, fmt, text)
    if len(subs.events) > MAX_CUES:  # a TTML file's, counted only now
        raise CaptionsError(path, None, f"more than {MAX_CUES:,} cues")
    if len(where) != len(subs.events):
        where = []  # a cue pysubs2 skipped: errors then name the file only
    shown = [(e, where[i] if where else None) for i, e in enumerate(subs.events)
             if not e.is_comment]
    _check_ass(path, subs, lines)
    cues = sorted((c for c in (_cue(path, e, line) for e, line in shown) if c is not None),
                  key=lambda c: c.start_s)
    return Captions(path, cues, note, language or _language(path, cues))


def _language(path: Path, cues: list[Cue]) -> Optional[str]:
    """The file's language: its name's (a.ja.srt, a.eng.sdh.srt: captions_names.py), else
    what its letters tell (kana: Japanese; Hangul: Korean; other ideographs: Chinese)."""
    from .captions_names import read_name

    named = read_name(path.name)
    if named and named.language:
        return named.language
    text = "".join(c.text for c in cues)
    for language, letters in _LETTERS:
        if letters.search(text):
            return language
    return None


def _bytes(path: Path, within: Optional[Path]) -> bytes:
    real = path.resolve()
    if within is not None and not real.is_relative_to(Path(within).resolve()):
        raise CaptionsError(path, None, f"is outside the story's folder {within}: keep "
                                        "captions beside their clips")
    try:
        return read_file(real, MAX_BYTES)
    except OSError as e:
        if e.errno == errno.EFBIG:
            raise CaptionsError(path, None, f"more than the {MAX_BYTES >> 20} MiB a captions "
                                            "file needs") from None
        raise CaptionsError(path, None, f"cannot read: {e.strerror or e}") from None


def _decode(path: Path, data: bytes) -> tuple[str, Optional[str]]:
    """(text, note): UTF-8 or UTF-16 by their BOM, else UTF-8, else CP1252 (said)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as e:
                raise CaptionsError(path, None, f"not {codec.upper()} text after its BOM "
                                                f"(byte {e.start}): save it as UTF-8") from None
            return _textual(path, text), None
    nul = data.find(b"\x00")  # (UTF-16 holds them, but came with its BOM above)
    if nul >= 0:
        raise CaptionsError(path, data.count(b"\n", 0, nul) + 1,
                            "holds NUL bytes: a binary file, not captions")
    try:
        return _textual(path, data.decode("utf-8")), None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as e:
        raise CaptionsError(path, data.count(b"\n", 0, e.start) + 1,
                            "neither UTF-8 nor Windows-1252 text: save it as UTF-8") from None
    return _textual(path, text), "not UTF-8: read as Windows-1252 (CP1252); save it as UTF-8"


def _textual(path: Path, text: str) -> str:
    nul = text.find("\x00")
    if nul >= 0:
        raise CaptionsError(path, text.count("\n", 0, nul) + 1,
                            "holds NUL bytes: a binary file, not captions")
    return text


def _cue_lines(path: Path, fmt: str, lines: list[str]) -> list[int]:
    """The line each event starts on, in file order. A timing line pysubs2 would take as
    text (`00:00:nan`, `-00:00:01,000`: it drops the sign) is refused here."""
    if fmt in ("srt", "vtt"):
        found = []
        for i, line in enumerate(lines, 1):
            if "-->" in line:
                if not _TIMING.fullmatch(line):
                    raise CaptionsError(path, i, f"not a timing line: {line.strip()[:60]!r} "
                                                 "(HH:MM:SS,mmm --> HH:MM:SS,mmm)")
                found.append(i)
        return found
    if fmt in ("ass", "ssa"):
        return [i for i, line in enumerate(lines, 1)
                if line.startswith(("Dialogue:", "Comment:"))]
    if fmt == "microdvd":
        return [i for i, line in enumerate(lines, 1) if line.startswith("{")]
    for i, line in enumerate(lines, 1):  # TTML: XML, its cues not told by lines
        if "<!DOCTYPE" in line or "<!ENTITY" in line:  # entities: the billion laughs
            raise CaptionsError(path, i, "a DTD or entity declaration: not taken in TTML")
    return []


def _parse(path: Path, fmt: str, text: str):
    import pysubs2

    # Apple's lyrics time each <p> from the song's start, not from its <div>'s begin as TTML
    # does: read the TTML way, every line came its div's begin late (twice, in the first)
    apple = {"ignore_par_time_offset": True} if fmt == "ttml" and _apple(text) else {}
    try:
        return pysubs2.SSAFile.from_string(text, format_=fmt, **apple)
    except pysubs2.exceptions.UnknownFPSError:
        raise CaptionsError(path, 1, "a MicroDVD file needs its frame rate on its first "
                                     "line ({1}{1}25)") from None
    except Exception as e:  # pysubs2's own errors, and what its parsers let escape
        raise CaptionsError(path, None, f"not readable as {fmt}: {type(e).__name__}: "
                                        f"{str(e)[:200]}") from None


def _apple(text: str) -> bool:
    """Whether a TTML document's root declares Apple's lyrics namespace: the name anywhere
    in the text (a comment, a cue quoting it) had any TTML read Apple's way, every cue its
    div's begin early."""
    import xml.etree.ElementTree as ET

    try:
        for event, item in ET.iterparse(io.StringIO(text), events=("start-ns", "start")):
            if event == "start":
                return False  # the root's declarations come before it starts
            if item[1] == _APPLE_LYRICS:
                return True
    except ET.ParseError:
        pass  # pysubs2 says what is wrong with it
    return False


def _check_ass(path: Path, subs, lines: list[str]) -> None:
    if len(subs.styles) > MAX_STYLES:
        raise CaptionsError(path, None, f"{len(subs.styles):,} styles (at most {MAX_STYLES:,})")
    for key in ("PlayResX", "PlayResY"):
        if key in subs.info:
            v = str(subs.info[key]).strip()
            if not (re.fullmatch(r"[0-9]{1,5}", v) and int(v) <= MAX_PLAYRES):
                line = next((i for i, s in enumerate(lines, 1) if s.startswith(key)), None)
                raise CaptionsError(path, line, f"{key} {v[:20]!r} must be 0..{MAX_PLAYRES}")


def _cue(path: Path, e, line: Optional[int]) -> Optional[Cue]:
    start, end = e.start / 1000.0, e.end / 1000.0
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start <= MAX_S
            and 0 <= end <= MAX_S):
        raise CaptionsError(path, line, f"a cue at {start:g}..{end:g} s: times must be within "
                                        f"0..{MAX_S:g} s of the clip's start")
    if end < start:
        raise CaptionsError(path, line, f"a cue ends ({end:g} s) before it starts ({start:g} s)")
    text = _CONTROL.sub("", e.plaintext)
    if len(text) > MAX_TEXT:
        raise CaptionsError(path, line, f"a cue of {len(text):,} characters (at most "
                                        f"{MAX_TEXT}: two lines on screen hold ~90)")
    text = "\n".join(s.strip() for s in text.split("\n") if s.strip())
    return Cue(start, end, text) if text and end > start else None  # empty: nothing shown


def check_setting(value: str) -> None:
    """The host config's [show] captions: "story", "off" or a language (en, eng, pt_BR)."""
    if value not in ("story", "off") and canonical(str(value)) is None:
        raise ValueError(f"captions {str(value)[:20]!r}: \"story\", \"off\" or a language "
                         "tag (en, pt-BR)")


def choose(files: tuple, story_language: Optional[str], setting: str = "story"
           ) -> Optional[Path]:
    """The captions file a segment shows. setting (the screening's): "off"; "story" (the
    story's captions_language, else each segment's untagged file, else its first); or a
    language (the segment's file in it or its nearest, captions_names.nearest: en-GB for
    en, zh-Hant for zh-TW; else its untagged one, else none)."""
    want = story_language if setting == "story" else setting
    if want == "off" or not files:
        return None
    tagged = dict(files)
    if want is None:
        return tagged.get("", files[0][1])
    key = nearest(canonical(want) or want, tagged)
    return tagged[key] if key is not None else tagged.get("")


def fallback_note(files: tuple, story_language: Optional[str], setting: str = "story"
                  ) -> Optional[str]:
    """One line where the chosen language's file is another tag's of its language and
    script (`choose`): which stands in; None where it is the language's own, or none."""
    want = story_language if setting == "story" else setting
    if want in (None, "off"):
        return None
    tag = canonical(want) or want
    key = nearest(tag, dict(files))
    if key is None or key == tag:
        return None
    return (f"captions {want}: no file in it, its {key!r} one shows (the nearest: the same "
            "language and script)")


def say_once(note: Optional[str], where: str) -> None:
    """The player's log of a fallback_note, once a process for each segment."""
    if note and (note, where) not in _SAID:
        _SAID.add((note, where))
        log.warning("%s: %s", where, note)


def named_language(files: tuple, path: Optional[Path]) -> Optional[str]:
    """The language the story's captions table names `path` in (None: untagged)."""
    return next((lang for lang, p in files if p == path and lang), None)


def problem(path: Path, within: Optional[Path], language: Optional[str] = None
            ) -> Optional[tuple[str, str]]:
    """`story check`'s word on a captions file: ("error", why), ("warning", notes) or None."""
    try:
        caps = read_captions(path, within, language)
    except CaptionsError as e:
        return "error", str(e)
    said = notes(caps)
    return ("warning", f"{path}: {'; '.join(said)}") if said else None


def notes(caps: Captions) -> list[str]:
    """What a cinema is told of a file it can show (story check before the screening, the
    player's log once a reading): how it was decoded, characters no font here has (drawn as
    boxes on the night), no font for its language's letterforms, no cue."""
    from .captions_fonts import letterforms_note, uncovered_note

    texts = [c.text for c in caps.cues]
    try:
        fonts = [uncovered_note(texts), letterforms_note(caps.language, texts)]
    except OSError as e:  # not even DejaVu Sans
        fonts = [f"cannot be drawn: {e}"]
    return [n for n in (caps.note, *fonts, EMPTY if not caps.cues else None) if n]
