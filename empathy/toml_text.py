"""TOML text as every file of ours is read: tomllib, bounded in how deep a file may nest.

tomllib keeps every prefix of a dotted key (`a.b.c = 1` marks `a` and `a.b`): a key of n
parts costs n**2 memory, and a 40 KB key of 20,000 parts took 1.6 GB (200 KB: past 20 GB,
the OOM killer). It recurses once per bracket: `[[[...` a few hundred deep was a
RecursionError, an unexpected error and a crash report. No file of ours nests past a
handful; a file that does is refused as not valid TOML, on its line.
"""

from __future__ import annotations

import re
import tomllib

MAX_PARTS = 32  # parts of one dotted key (a story's deepest: segments.ID.next, 3)
# Strings and comments, whose dots are no key's; an unclosed one runs as far as it can, so
# each attempt matches and the scan stays linear.
_MULTILINE = re.compile(r'"""(?:\\[\s\S]|[^\\])*?(?:"""|\\?\Z)|\'\'\'[\s\S]*?(?:\'\'\'|\Z)')
_ONE_LINE = re.compile(r'"(?:\\.|[^"\\\n])*+"?|\'[^\'\n]*+\'?|#[^\n]*')
# A run between separators holding MAX_PARTS dots (a key is on one line): it starts only
# after a separator, so no run is scanned twice.
_DEEP_KEY = re.compile(r"(?:^|(?<=[=,{}\[\]]))[^=,{}\[\].]*(?:\.[^=,{}\[\].]*){%d}" % MAX_PARTS)


def loads(text: str) -> dict:
    """tomllib.loads(text), or TOMLDecodeError (with "at line N" where a key is too deep)."""
    masked = _MULTILINE.sub(lambda m: "s" + "\n" * m.group().count("\n"), text)
    masked = _ONE_LINE.sub("s", masked)
    deep = (n for n, line in enumerate(masked.split("\n"), 1)
            if line.count(".") >= MAX_PARTS and _DEEP_KEY.search(line))
    if (line := next(deep, None)):
        raise tomllib.TOMLDecodeError(f"a key of more than {MAX_PARTS} dotted parts, deeper "
                                      f"than any file here nests (at line {line})")
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("brackets nested deeper than any file here nests") \
            from None
