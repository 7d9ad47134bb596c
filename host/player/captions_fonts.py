"""Which installed font draws each character of a caption: DejaVu Sans first (the cinema's
look), then fontconfig's fallbacks for sans-serif in its own order (a Chinese/Japanese/Korean
font, a Thai one, a Devanagari one: whatever the machine has), listed once per process with
the characters each covers (fontconfig's cached charsets: one `fc-match` call, no font file
opened). A character no font has is drawn as MISSING and named by `uncovered`, so that
`story check` says so before the screening. No Pillow or numpy here: story check imports it.

A kanji is one code point with a Chinese and a Japanese letterform (and Korean, Traditional
Chinese ones): for captions in one of those languages the fonts made for it come first (a
family named in it, or one that claims it alone of the four, or a Noto/Source Han region:
JP, KR, SC, TC, HK), whatever fontconfig's own order (it puts WenQuanYi before a Japanese font
even for `:lang=ja`).
"""

from __future__ import annotations

import functools
import logging
import re
import subprocess
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("empathy.host.player.player")

PRIMARY = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # without fontconfig
PRIMARY_FAMILY = "DejaVu Sans"
MISSING = "\u25a1"  # what stands for a character no font here has
_FORMAT = "%{file}\t%{index}\t%{family[0]}\t%{weight}\t%{slant}\t%{color}\t%{fontformat}" \
          "\t%{familylang}\t%{lang}\t%{charset}\n"
_CJK = ("ja", "ko", "zh-cn", "zh-tw", "zh-hk")  # fontconfig's names: the forms that differ
_REGION = {"JP": "ja", "KR": "ko", "SC": "zh-cn", "CN": "zh-cn", "TC": "zh-tw", "TW": "zh-tw",
           "HK": "zh-hk"}
_PREFER = {"zh-hk": ("zh-hk", "zh-tw")}  # Hong Kong's forms are nearest Taiwan's
# the package with a font made for each (Korean's hanja are rare in captions: not said)
_FORMS_PACKAGE = {"ja": ("Japanese", "fonts-ipaexfont-gothic"),
                  "zh-cn": ("Simplified Chinese", "fonts-wqy-microhei"),
                  "zh-tw": ("Traditional Chinese", "fonts-cwtex-ming"),
                  "zh-hk": ("Hong Kong Chinese", "fonts-cwtex-ming")}  # Taiwan's: nearest
_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
_FORMATS = {"TrueType", "CFF"}  # what FreeType draws at any size (not bitmap strikes)
_JOINERS = {0x200C, 0x200D, 0x034F}  # zero-width (non-)joiners: not glyphs of their own
# which Debian package to name for a character none has, by block (first code point, last)
_PACKAGES = [((0x0E00, 0x0E7F), "fonts-tlwg-loma-ttf"), ((0x0900, 0x097F), "fonts-lohit-deva"),
             ((0x1100, 0x11FF), "fonts-wqy-microhei"), ((0x2E80, 0x9FFF), "fonts-wqy-microhei"),
             ((0xAC00, 0xD7AF), "fonts-wqy-microhei"), ((0xF900, 0xFAFF), "fonts-wqy-microhei"),
             ((0xFF00, 0xFFEF), "fonts-wqy-microhei"), ((0x20000, 0x3FFFF), "fonts-noto-cjk")]
_SAID = 8  # characters named in one line
# a letter of each script the host install adds a font for, and that font's package
SCRIPTS = {"Chinese": ("中", "fonts-wqy-microhei"), "Japanese": ("か", "fonts-wqy-microhei"),
           "Korean": ("한", "fonts-wqy-microhei"), "Thai": ("ก", "fonts-tlwg-loma-ttf"),
           "Devanagari": ("क", "fonts-lohit-deva")}


@dataclass(frozen=True)
class Face:
    file: str
    index: int  # the face's number in a .ttc collection
    family: str
    starts: tuple  # the code point ranges it has glyphs for: sorted starts, inclusive ends
    ends: tuple
    made_for: frozenset = frozenset()  # of _CJK: whose letterforms its ideographs have

    def has(self, cp: int) -> bool:
        i = bisect_right(self.starts, cp) - 1
        return i >= 0 and cp <= self.ends[i]


def _ranges(text: str) -> tuple[tuple, tuple]:
    """fontconfig's charset ('20-7e a0 ...', hex), range-checked: a bad item is skipped."""
    starts, ends = [], []
    for item in text.split():
        lo, _, hi = item.partition("-")
        try:
            a, b = int(lo, 16), int(hi or lo, 16)
        except ValueError:
            continue
        if 0 <= a <= b <= 0x10FFFF and (not ends or a > ends[-1]):
            starts.append(a)
            ends.append(b)
    return tuple(starts), tuple(ends)


def _made_for(family: str, familylang: str, langs: str) -> frozenset:
    """The languages of _CJK a font is made for: its family is named in them (IPAexゴシック),
    or it claims one alone (fontconfig reads the OS/2 code pages), or its name says the
    region (Noto Sans CJK JP, AR PL UMing TW). A family named in both Chinese scripts
    (文泉驛微米黑 and 文泉驿微米黑) is taken as Simplified: its forms are not told, and
    WenQuanYi's are the mainland's."""
    named = {x.strip() for x in familylang.split(",")} & set(_CJK)
    if "zh-cn" in named:
        named.discard("zh-tw")
    claimed = {x for x in langs.split("|") if x in _CJK}
    region = {_REGION[w] for w in re.findall(r"\b(?:JP|KR|SC|CN|TC|TW|HK)\b", family)}
    return frozenset(named | (claimed if len(claimed) == 1 else set()) | region)


def letterforms(language: str | None) -> str | None:
    """A BCP 47 tag's entry in _CJK, or None: ja, ko, zh-Hant (zh-tw), zh-HK (zh-hk), zh
    and the rest of Chinese (zh-cn); ISO 639-2's jpn, kor, zho, chi too."""
    parts = (language or "").lower().replace("_", "-").split("-")
    base = {"jpn": "ja", "kor": "ko", "zho": "zh", "chi": "zh"}.get(parts[0], parts[0])
    if base != "zh":
        return base if base in ("ja", "ko") else None
    rest = set(parts[1:])
    return "zh-hk" if rest & {"hk", "mo"} else "zh-tw" if rest & {"hant", "tw"} else "zh-cn"


def _fontconfig() -> list[Face]:
    """fontconfig's sans-serif fallbacks, best first: upright, not bold, outline, not colour
    (Pillow draws colour emoji only at their bitmap's size), one face per family."""
    try:
        out = subprocess.run(["fc-match", "-s", "-f", _FORMAT, "sans-serif:style=Regular"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("captions: fontconfig cannot list the fonts (%s): only %s is used "
                    "(install fontconfig)", e, PRIMARY)
        return []
    faces, families = [], set()
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) != 10 or not f[1].isdigit() or not f[3].isdigit() or not f[4].isdigit():
            continue
        if (f[2] in families or int(f[3]) > 100 or int(f[4]) != 0 or f[5] == "True"
                or f[6] not in _FORMATS or not Path(f[0]).is_file()):
            continue
        families.add(f[2])
        faces.append(Face(f[0], int(f[1]), f[2], *_ranges(f[9]), _made_for(f[2], f[7], f[8])))
    return faces


def _primary_by_cmap() -> Face:
    from fontTools.ttLib import TTFont

    with TTFont(str(PRIMARY), lazy=True) as tt:
        cps = sorted(tt["cmap"].getBestCmap())
    return Face(str(PRIMARY), 0, PRIMARY_FAMILY, tuple(cps), tuple(cps))


def chain(language: str | None = None) -> tuple[Face, ...]:
    """The fonts captions in `language` (BCP 47) are drawn with, in the order they are
    tried. OSError: none."""
    return _chain(letterforms(language))


@functools.lru_cache(maxsize=len(_CJK) + 1)
def _chain(forms: str | None) -> tuple[Face, ...]:
    if forms is not None:  # the fonts made for it first, after DejaVu (sorted() keeps order)
        want = _PREFER.get(forms, (forms,))
        faces = _chain(None)
        return faces[:1] + tuple(sorted(faces[1:], key=lambda f: next(
            (k for k, x in enumerate(want) if x in f.made_for), len(want))))
    faces = _fontconfig()
    first = [f for f in faces if f.family == PRIMARY_FAMILY]
    if not first:
        if not PRIMARY.is_file():
            raise OSError(f"{PRIMARY} is missing (install fonts-dejavu-core)")
        first = [_primary_by_cmap()]
    return tuple(first + [f for f in faces if f.family != PRIMARY_FAMILY])


def _ignorable(cp: int) -> bool:
    return cp in _JOINERS or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def _clusters(text: str):
    """A base character with the marks, joiners and variation selectors that follow it."""
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and (unicodedata.category(text[j]).startswith("M")
                                 or _ignorable(ord(text[j])) or _ignorable(ord(text[j - 1]))):
            j += 1
        yield text[i:j]
        i = j


@functools.lru_cache(maxsize=4096)
def face_for(cluster: str, forms: str | None = None) -> int:
    """The first font in _chain(forms) with every character of cluster (its base alone,
    else), or -1: none has its base."""
    faces = _chain(forms)
    cps = [ord(c) for c in cluster if not _ignorable(ord(c))] or [ord(cluster[0])]
    for i, f in enumerate(faces):
        if all(f.has(cp) for cp in cps):
            return i
    return next((i for i, f in enumerate(faces) if f.has(cps[0])), -1)


def runs(text: str, language: str | None = None) -> list[tuple[int, str]]:
    """text cut into (font's place in chain(language), its run); a cluster no font has is
    MISSING. A space or punctuation stays in the run before it where that font has it, so
    that '你好，世界' is one run, not five."""
    out: list[tuple[int, str]] = []
    forms = letterforms(language)
    for cl in _clusters(text):
        i = face_for(cl, forms)
        if i < 0:
            i, cl = face_for(MISSING, forms), MISSING
        if out and i != out[-1][0] and not unicodedata.category(cl[0]).startswith(("L", "M")):
            if all(_chain(forms)[out[-1][0]].has(ord(c)) for c in cl
                   if not _ignorable(ord(c))):
                i = out[-1][0]
        if out and out[-1][0] == i:
            out[-1] = (i, out[-1][1] + cl)
        else:
            out.append((i, cl))
    return out


def uncovered(texts) -> list[str]:
    """The characters of texts no font here has, in order of first use (controls, format
    characters, spaces and joiners are not drawn: never said)."""
    seen: dict[str, None] = {}
    for text in texts:
        for c in text:
            kind = unicodedata.category(c)
            if c not in seen and kind not in ("Cc", "Cf") and kind[0] != "Z" \
                    and not _ignorable(ord(c)) and face_for(c) < 0:
                seen[c] = None
    return list(seen)


def unscripted() -> dict[str, str]:
    """The scripts of SCRIPTS no font here draws, each with the package that would.
    OSError: not even DejaVu Sans."""
    return {name: pkg for name, (letter, pkg) in SCRIPTS.items() if face_for(letter) < 0}


def unformed() -> dict[str, str]:
    """The letterforms the host install adds a font for (Japanese, Simplified and Traditional
    Chinese) that no font here is made for, each with its package: their ideographs come out in another
    language's forms. OSError: not even DejaVu Sans."""
    return {name: package for forms, (name, package) in _FORMS_PACKAGE.items()
            if forms in ("ja", "zh-cn", "zh-tw") and not any(forms in f.made_for for f in _chain(None))}


def uncovered_note(texts) -> str | None:
    """One line for a cinema: which characters, and which package to install."""
    missing = uncovered(texts)
    if not missing:
        return None
    said = ", ".join(f"{c} (U+{ord(c):04X})" for c in missing[:_SAID])
    more = f" and {len(missing) - _SAID} more" if len(missing) > _SAID else ""
    packages = dict.fromkeys(p for c in missing for (lo, hi), p in _PACKAGES
                             if lo <= ord(c) <= hi)
    fix = ", ".join(packages) if packages else \
        "a font that has them (fonts-noto-core covers most scripts)"
    return (f"uses characters no font here has, drawn as {MISSING}: {said}{more}; "
            f"install {fix}")


def letterforms_note(language: str | None, texts) -> str | None:
    """One line for a cinema where captions in `language` have ideographs and no font here
    is made for it: they are drawn in another language's letterforms."""
    forms = letterforms(language)
    if forms not in _FORMS_PACKAGE or not any(_IDEOGRAPH.search(t) for t in texts):
        return None
    want = _PREFER.get(forms, (forms,))
    if any(x in f.made_for for f in _chain(None) for x in want):
        return None
    name, package = _FORMS_PACKAGE[forms]
    return (f"no {name} font here: its ideographs are drawn in another language's "
            f"letterforms; install {package}")
