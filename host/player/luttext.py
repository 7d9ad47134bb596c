"""Text shared by the LUT readers (.3dl, .spi1d/.spi3d, .csp, and the format sniffing):
lines read one at a time with a bound on their length, and whole numbers in ASCII digits.

A story names its LUT file, so the text is anyone's: `str.splitlines()` made a str of every
line at once (200 MB of newlines took 1.8 GB), a 200 MB line was split into 100 million
words before its count was checked (1.4 GB, 19 CPU-s), and `str.isdigit()` passes '²' (then
int() raised ValueError, a traceback) and Arabic-Indic '٣' (read as 3, where OpenColorIO
refuses the file).
"""

from __future__ import annotations

import re
from pathlib import Path

from empathy.whole import whole  # noqa: F401 (the readers take it from here)

from .cube import CubeError

MAX_LINE = 4096  # characters: a .3dl mesh line of 65 codes or a .spi3d row needs ~400
# a line's end with the blank lines and indent after it, in one match (a match per blank
# line took minutes for 200 MB of newlines); CR-only files (old Mac tools) too
_EOL_RE = re.compile(r"[\r\n][ \t\r\n]*")


def text_lines(text: str, path: str | Path, limit: int = MAX_LINE):
    """(line number, line) of each line, made one at a time; a line longer than `limit`
    is refused before anything copies or splits it."""
    pos, ln, n = 0, 1, len(text)
    while pos < n:
        m = _EOL_RE.search(text, pos)
        end = m.start() if m else n
        if end - pos > limit:
            raise CubeError(path, ln, f"line of {end - pos} characters: longer than any "
                            f"line of a valid LUT ({limit}); is this the right file?")
        yield ln, text[pos:end]
        if not m:
            return
        a, pos = m.span()
        ln += text.count("\n", a, pos) + text.count("\r", a, pos) - text.count("\r\n", a, pos)
