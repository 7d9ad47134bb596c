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

Chinese releases' own words (fansubs): `chs`/`sc`/`gb` Simplified, `cht`/`tc`/`big5`
Traditional, `简体`, `繁體`, `简中`, and bilingual files (`chs&eng`, `简英`, `繁日雙語`, `JPSC`:
the first language draws the ideographs, the others are noted). The short ones, `sc`, `tc`
and `gb`, are Chinese only as a file name's language word: as a story key or a screening's
choice (`canonical`: BCP 47 tags) `sc` is Sardinian and `tc`/`gb` no language.

A story key or a screening's choice is read by `canonical` (`eng` -> `en`, `zh_TW` ->
`zh-TW`, `iw` -> `he`, `chs` -> `zh-Hans`, ICU's form of the rest: `yue`), and a choice meets
the `nearest` key of its language and script (ICU's likely subtags).
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
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")  # BCP 47: en, pt-BR, zh-Hant
# Chinese releases' words; _SHORT ones only in a file's name (elsewhere: other words, Sardinian)
_FANSUB = {"chs": ("zh-Hans",), "cht": ("zh-Hant",), "big5": ("zh-Hant",),
           "jpsc": ("ja", "zh-Hans"), "jptc": ("ja", "zh-Hant"), "scjp": ("zh-Hans", "ja"),
           "tcjp": ("zh-Hant", "ja")}
_SHORT = {"sc": ("zh-Hans",), "tc": ("zh-Hant",), "gb": ("zh-Hans",)}
# a Chinese name of its languages (简体, 繁中, 简英, 繁日雙語): each character one, the rest filler
_HAN = {"简": "zh-Hans", "簡": "zh-Hans", "繁": "zh-Hant", "中": "zh", "英": "en", "日": "ja",
        "韩": "ko", "韓": "ko"}
_HAN_FILLER = re.compile("双语|雙語|[体體文语語]")


@dataclass(frozen=True)
class NameTags:
    language: Optional[str]  # BCP 47, its shortest code: en, pt-BR, zh-Hant (None: none)
    flags: tuple[str, ...] = ()  # of FLAGS' values, in the name's order
    also: tuple[str, ...] = ()  # a bilingual file's other languages (chs&eng: en)


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
    languages = languages_of(words[i - 1]) if i else ()
    if clip_stem is not None and i - bool(languages) > 0:
        return None
    if not languages and not flags and clip_stem is None:
        return None
    return NameTags(languages[0] if languages else None, tuple(dict.fromkeys(flags)),
                    languages[1:])


def _before_is_language(words: list[str]) -> bool:
    """Whether the last word not a flag is a language: `hi` is the flag after one."""
    rest = [w for w in words if w.casefold() not in FLAGS]
    return bool(rest) and bool(languages_of(rest[-1]))


def _words(text: str) -> list[str]:
    out: list[str] = []
    for word in _SPLIT.split(text):
        for k, piece in enumerate(word.split("_")):
            if k and _SUBTAG.fullmatch(piece) and re.fullmatch("[A-Za-z]{2,3}", out[-1]):
                out[-1] += "-" + piece
            elif piece:
                out.append(piece)
    return out


def languages_of(word: str, names: bool = True) -> tuple[str, ...]:
    """A word's languages, the first drawing the ideographs: one (`en`, `chs`, `简体`) or a
    bilingual file's (`chs&eng`, `简英`, `JPSC`); () where a part is none. names: a file
    name's language word, where `sc`, `tc`, `gb` are Chinese."""
    out: list[str] = []
    for part in re.split("[&+]", word):
        got = (_SHORT.get(part.casefold()) if names else None) or _FANSUB.get(part.casefold())
        one = None if got else language_of(part)
        got = got or ((one,) if one else _han(part))
        if not got:
            return ()
        out += got
    return tuple(dict.fromkeys(out))


def _han(word: str) -> tuple[str, ...]:
    """简体 -> zh-Hans, 繁体中文 -> zh-Hant, 中英 -> (zh, en); () for any other word."""
    chars = _HAN_FILLER.sub("", word)
    if not 0 < len(chars) <= 3 or any(c not in _HAN for c in chars):
        return ()
    out = [_HAN[c] for c in chars]
    # 中 after 简/繁 is their name's "Chinese" (简中: Simplified Chinese), not a second one
    return tuple(dict.fromkeys(x for k, x in enumerate(out)
                               if not (x == "zh" and k and out[k - 1].startswith("zh-"))))


def canonical(tag: str) -> Optional[str]:
    """A story key's or a screening's language as its canonical tag: a code as names give
    it (eng -> en, zh_TW -> zh-TW, iw -> he, chs -> zh-Hans; not sc/tc/gb, see above), else
    ICU's form of a tag of a language it knows without a two-letter code (yue, fil); None:
    not a language."""
    found = languages_of(tag, names=False) if tag else ()
    if found:
        return found[0]
    if not LANGUAGE.fullmatch(tag):
        return None
    try:
        name = _locale("uloc_forLanguageTag", tag)
        tagged = name and _locale("uloc_toLanguageTag", _locale("uloc_canonicalize", name))
    except OSError:
        return tag  # no ICU: as written
    known = tagged and _named("uloc_getDisplayLanguage", tagged.split("-")[0])
    return tagged if known else None


def nearest(want: str, keys) -> Optional[str]:
    """Of `keys` (canonical tags), the one shown for a screening in `want` (canonical): the
    same; else one of its language and script (ICU's likely subtags: en is en-Latn-US,
    zh-TW zh-Hant-TW, zh zh-Hans-CN: Traditional never meets Simplified), its likely region
    first (zh-Hant for zh-TW, en-US for en), then one naming no region, then the first."""
    keys = [k for k in keys if k]
    if want in keys:
        return want
    w = _likely(want)
    ranked = [(0 if m == w else 1 if not _region(k) else 2, i, k) for i, k in enumerate(keys)
              if w and (m := _likely(k)) and m[:2] == w[:2]]
    return min(ranked)[-1] if ranked else None


def _region(tag: str) -> bool:
    return any(re.fullmatch("[A-Z]{2}|[0-9]{3}", s) for s in tag.split("-")[1:])


@functools.lru_cache(maxsize=256)
def _likely(tag: str) -> tuple:
    """(language, script, region) as ICU's likely subtags fill them in; () without ICU or
    for a language it does not know."""
    try:
        name = _locale("uloc_forLanguageTag", tag)  # "": ICU's default locale's would come
        parts = _locale("uloc_addLikelySubtags", name).split("_") if name else []
    except OSError:
        return ()
    script = next((p for p in parts[1:] if len(p) == 4), "")
    region = next((p for p in parts[1:] if p.isupper() or p.isdigit()), "")
    return (parts[0], script, region) if script else ()


def _locale(function: str, text: str) -> str:
    """ICU's locale functions of one string (forLanguageTag, canonicalize, addLikelySubtags,
    toLanguageTag): their result, "" where ICU refuses it. OSError: no ICU."""
    args = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32]
    extra = {"uloc_forLanguageTag": [ctypes.POINTER(ctypes.c_int32)],
             "uloc_toLanguageTag": [ctypes.c_int8]}.get(function, [])
    f = icu_function(function, ctypes.c_int32, *args, *extra, ctypes.POINTER(ctypes.c_int))
    buf, status, parsed = ctypes.create_string_buffer(160), ctypes.c_int(0), ctypes.c_int32(-1)
    more = [ctypes.byref(parsed)] if function == "uloc_forLanguageTag" else \
        [1] if extra else []  # the length it took (a tag read in part is refused); strict
    n = f(text.encode("ascii", "replace"), buf, 160, *more, ctypes.byref(status))
    whole = parsed.value in (-1, len(text))
    return buf.value.decode("ascii") if status.value <= 0 and 0 < n < 160 and whole else ""


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
