"""Where a caption's line may break: ICU's line breaker (UAX #14, with its dictionaries for the
scripts written without spaces: Thai, Lao, Khmer, Burmese), through ctypes on the system's
libicuuc (libicu72 on Debian 12: libxml2, and so GStreamer, needs it). Chinese and Japanese
break between characters, but never before a closing mark (nor, in Japanese, a small kana or
ー), nor after an opening one; the rest at spaces.

Without ICU (a machine without libicu) lines break at spaces only, said once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import re

log = logging.getLogger("empathy.host.player.player")

_LINE = 2     # UBRK_LINE
_DONE = -1    # UBRK_DONE
_WORDS = re.compile(r"\S+\s*|\s+")


@functools.lru_cache(maxsize=1)
def _library():
    """(the system's libicuuc, its symbols' suffix), or None, said once. ICU suffixes its
    symbols with its major version (ubrk_open_72) unless built without."""
    name = ctypes.util.find_library("icuuc")
    try:
        lib = ctypes.CDLL(name or "libicuuc.so")
    except OSError as e:
        log.warning("captions: ICU is not here (%s): lines break at spaces only, Thai and "
                    "Chinese not at all; a file's name gives only a two-letter language "
                    "(install libicu72)", e)
        return None
    return lib, name.rsplit(".so.", 1)[-1].split(".")[0] if name and ".so." in name else ""


def icu_function(symbol: str, restype, *args):
    """ICU's C function `symbol`, typed. OSError: ICU is not here, or has no such symbol."""
    found = _library()
    if found is None:
        raise OSError("ICU is not here")
    lib, major = found
    for s in (f"{symbol}_{major}", symbol):
        f = getattr(lib, s, None)
        if f is not None:
            f.restype, f.argtypes = restype, list(args)
            return f
    raise OSError(f"ICU has no {symbol}")


@functools.lru_cache(maxsize=1)
def _icu():
    """(ubrk_open, ubrk_next, ubrk_close), or None."""
    try:
        return (icu_function("ubrk_open", ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                             ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int)),
                icu_function("ubrk_next", ctypes.c_int32, ctypes.c_void_p),
                icu_function("ubrk_close", None, ctypes.c_void_p))
    except OSError as e:
        if _library() is not None:
            log.warning("captions: %s: lines break at spaces only (install libicu72)", e)
        return None


def segments(text: str, language: str | None = None) -> list[str]:
    """text cut where a line may break (each piece keeps the spaces after it): pieces
    joined give text back. language: a BCP 47 tag (Japanese's rules are its own)."""
    icu = _icu()
    if icu is None or not text:
        return _WORDS.findall(text)
    ubrk_open, ubrk_next, ubrk_close = icu
    utf16 = text.encode("utf-16-le", "surrogatepass")  # (a lone one: one unit, as ICU takes it)
    status = ctypes.c_int(0)
    locale = (language or "").replace("-", "_")
    if locale.lower().split("_")[0] in ("ja", "jpn"):
        locale += "@lb=strict"  # kinsoku as Japanese subtitles keep it: no small kana first
    it = ubrk_open(_LINE, locale.encode("ascii", "replace"), utf16, len(utf16) // 2,
                   ctypes.byref(status))
    if status.value > 0 or not it:  # U_FAILURE: ICU's data missing
        return _WORDS.findall(text)
    try:
        ends = []
        while (end := ubrk_next(it)) != _DONE:
            ends.append(end)
    finally:
        ubrk_close(it)
    # ICU counts UTF-16 units: a character past U+FFFF is two
    index, units = {0: 0}, 0
    for i, c in enumerate(text, 1):
        units += 2 if ord(c) > 0xFFFF else 1
        index[units] = i
    cuts = [0] + [index[e] for e in ends if e in index and e < units] + [len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
