"""A captions file's language and flags, read from its name as releases write it and players
(Plex, Jellyfin, Kodi, VLC, mpv) read it: `Film.2019.en.srt`, `film.eng.srt` and `film.chi.srt`
(ISO 639-2, terminology and bibliographic), `film.pt-BR.srt`, `film.zh-Hant.srt`,
`film_ja.srt`, `film.Japanese.srt`, `film.[ja].ass`; after the language, the flags players
take: `sdh`, `cc`, `hi` (for the deaf and hard of hearing), `forced`/`foreign`, `default`.

The languages are ICU's (the system's libicuuc through ctypes, as the line breaker): its
ISO 639-1 codes, their ISO 639-2 codes (ICU's aliases: eng, zho, chi, fre) and their names in
English and in themselves (Deutsch, 日本語). A three-letter code of a language without a
two-letter one (`new`: Newari) is not taken: far more often a word of the name than that
language. `hi` after a language is the flag (`film.en.hi.srt`); alone, Hindi.
"""

from __future__ import annotations

import ctypes
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .captions_breaks import icu_function

# what players take after the language, each as the one word we say it by
FLAGS = {"sdh": "sdh", "cc": "sdh", "hi": "sdh", "forced": "forced", "foreign": "forced",
         "default": "default"}
_SPLIT = re.compile(r"[.\s\[\](){},]+")   # words of a name: between dots, spaces, brackets
_SUBTAG = re.compile(r"[A-Z]{2}|[A-Z][a-z]{3}|[0-9]{3}")  # pt_BR, zh_Hant: one word
_ALIASES = ("overlong", "bibliographic", "deprecated")  # ICU's reasons: eng, chi, iw
_DEFAULTED = -127  # U_USING_DEFAULT_WARNING: ICU has no name for it


@dataclass(frozen=True)
class NameTags:
    language: Optional[str]  # BCP 47, its shortest code: en, pt-BR, zh-Hant (None: none)
    flags: tuple[str, ...] = ()  # of FLAGS' values, in the name's order


def read_name(name: str, clip_stem: Optional[str] = None) -> Optional[NameTags]:
    """The language and flags `name` (a file's name) gives. clip_stem: the clip the file
    is beside; then every word after the clip's name must be a language or a flag, else
    None (another clip's file, or a version: `film.v2.srt`). Without: the last language
    before the flags, if any (None: a name giving neither)."""
    stem = Path(name).stem
    if clip_stem is not None:
        rest = stem[len(clip_stem):]
        if not stem.startswith(clip_stem) or (rest and rest[0] not in "._- ["):
            return None
        words = _words(rest.lstrip("-"))
    else:
        words = _words(stem)
    flags: list[str] = []
    i = len(words)
    while i and words[i - 1].casefold() in FLAGS and not (
            words[i - 1].casefold() == "hi" and not _before_is_language(words[:i - 1])):
        flags.insert(0, FLAGS[words[i - 1].casefold()])
        i -= 1
    language = language_of(words[i - 1]) if i else None
    if clip_stem is not None and i - (language is not None) > 0:
        return None
    if language is None and not flags and clip_stem is None:
        return None
    return NameTags(language, tuple(dict.fromkeys(flags)))


def _before_is_language(words: list[str]) -> bool:
    """Whether the last word not a flag is a language: `hi` is the flag after one."""
    rest = [w for w in words if w.casefold() not in FLAGS]
    return bool(rest) and language_of(rest[-1]) is not None


def _words(text: str) -> list[str]:
    out: list[str] = []
    for word in _SPLIT.split(text):
        for k, piece in enumerate(word.split("_")):
            if k and _SUBTAG.fullmatch(piece) and re.fullmatch("[A-Za-z]{2,3}", out[-1]):
                out[-1] += "-" + piece
            elif piece:
                out.append(piece)
    return out


def language_of(word: str) -> Optional[str]:
    """A word's language as BCP 47 with the shortest code (eng -> en, chi -> zh,
    Japanese -> ja, zh_tw -> zh-TW), or None."""
    first, *subtags = word.replace("_", "-").split("-")
    known = _languages()
    code = known.get(first.casefold()) if known else \
        first if re.fullmatch("[a-z]{2}", first) else None  # no ICU: two letters as written
    if code is None or len(subtags) > 2:
        return None
    tag = [code]
    for s in subtags:
        if re.fullmatch("[A-Za-z]{4}", s) and _named("uloc_getDisplayScript", f"und_{s.title()}"):
            tag.append(s.title())
        elif (re.fullmatch("[A-Za-z]{2}", s) and s.upper() in _regions()) or \
                re.fullmatch("[0-9]{3}", s):
            tag.append(s.upper())
        else:
            return None
    return "-".join(tag)


def _strings(array) -> list[str]:
    out, i = [], 0
    while array and array[i]:
        out.append(array[i].decode("ascii"))
        i += 1
    return out


@functools.lru_cache(maxsize=1)
def _regions() -> frozenset:
    try:
        get = icu_function("uloc_getISOCountries", ctypes.POINTER(ctypes.c_char_p))
    except OSError:
        return frozenset()
    return frozenset(_strings(get()))


def _named(function: str, locale: str, display: str = "en") -> Optional[str]:
    """ICU's name for locale's language (or script) in display's, or None: it has none."""
    get = icu_function(function, ctypes.c_int32, ctypes.c_char_p, ctypes.c_char_p,
                       ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int))
    buf, status = (ctypes.c_uint16 * 128)(), ctypes.c_int(0)
    n = get(locale.encode("ascii"), display.encode("ascii"), buf, 128, ctypes.byref(status))
    if status.value > 0 or status.value == _DEFAULTED or not 0 < n <= 128:
        return None
    return bytes(buf)[:2 * n].decode("utf-16-le", "replace")


@functools.lru_cache(maxsize=1)
def _languages() -> dict[str, str]:
    """Each word that names an ISO 639-1 language, case-folded, to its code: the code, its
    ISO 639-2 codes and older codes (ICU's aliases), its names in English and in itself.
    Empty without ICU."""
    try:
        codes = [c for c in _strings(icu_function(
            "uloc_getISOLanguages", ctypes.POINTER(ctypes.c_char_p))()) if len(c) == 2]
        known = {c: c for c in codes}
        known.update(_aliases(set(codes)))
        for c in codes:
            for display in ("en", c):
                name = _named("uloc_getDisplayLanguage", c, display)
                if name and name.casefold() != c:
                    known.setdefault(name.casefold(), c)
    except OSError:
        return {}
    return known


def _aliases(codes: set) -> dict[str, str]:
    """ICU's metadata: each alias of a two-letter code for one of _ALIASES' reasons."""
    P, E = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)
    open_ = icu_function("ures_openDirect", P, ctypes.c_char_p, ctypes.c_char_p, E)
    by_key = icu_function("ures_getByKey", P, P, ctypes.c_char_p, P, E)
    has_next = icu_function("ures_hasNext", ctypes.c_int8, P)
    next_ = icu_function("ures_getNextResource", P, P, P, E)
    key = icu_function("ures_getKey", ctypes.c_char_p, P)
    string = icu_function("ures_getStringByKey", ctypes.c_void_p, P, ctypes.c_char_p,
                          ctypes.POINTER(ctypes.c_int32), E)
    close = icu_function("ures_close", None, P)

    def text(res, name: bytes) -> str:
        n, status = ctypes.c_int32(0), ctypes.c_int(0)
        p = string(res, name, ctypes.byref(n), ctypes.byref(status))
        ok = p and status.value <= 0 and 0 < n.value < 64
        return ctypes.string_at(p, 2 * n.value).decode("utf-16-le", "replace") if ok else ""

    status, out, opened = ctypes.c_int(0), {}, []
    try:
        for step in (lambda: open_(None, b"metadata", ctypes.byref(status)),
                     lambda: by_key(opened[-1], b"alias", None, ctypes.byref(status)),
                     lambda: by_key(opened[-1], b"language", None, ctypes.byref(status))):
            opened.append(step())
            if status.value > 0 or not opened[-1]:
                return out
        table = opened[-1]
        while has_next(table):
            entry = next_(table, None, ctypes.byref(status))
            if status.value > 0 or not entry:
                break
            alias = (key(entry) or b"").decode("ascii", "replace")
            to = text(entry, b"replacement")
            if re.fullmatch("[a-z]{2,3}", alias) and to in codes \
                    and text(entry, b"reason") in _ALIASES:
                out[alias] = to
            close(entry)
    finally:
        for res in reversed(opened):
            if res:
                close(res)
    return out
