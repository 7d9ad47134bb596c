"""A whole number as a user or a file writes it: ASCII digits only.

`str.isdigit()` passes '²' (int() then raises ValueError: a traceback where one line was
owed) and Arabic-Indic '٣' (int() reads it as 3, where no tool writes it), so text from a
URL's query, a LUT or an editor's EDL is matched against [0-9], never isdigit().
"""

from __future__ import annotations

import re

_WHOLE_RE = re.compile(r"[0-9]{1,9}")  # int() of 5,000 digits raised ValueError


def whole(word: str) -> int | None:
    """The word as a non-negative integer in ASCII digits (at most 9), else None."""
    return int(word) if _WHOLE_RE.fullmatch(word) else None
