"""The heart corpus page's history of issue 19's passes: what each change was tuned on, what
it did to which record, which held-out figures were seen, and what was tried and not kept
(the audit trail of what the held-out figures are worth). The account itself is prose, so it
lives in heart_passes.md beside this module (a new pass is one more heading at its end);
edge/heart_validation.py writes it at the end of the page."""

from __future__ import annotations

from pathlib import Path

TITLE = "How the detectors got here: issue 19's passes"
ANCHOR = "#how-the-detectors-got-here-issue-19s-passes"  # the title's link on GitHub
ACCOUNT = Path(__file__).with_name("heart_passes.md")


def passes_section() -> list[str]:
    """The account as markdown under its title: a heading per pass, a bold line per part, a
    bullet per change (the file's leading comment for editors is left out)."""
    text = ACCOUNT.read_text(encoding="utf-8")
    if text.startswith("<!--"):
        text = text[text.index("-->") + 3:]
    lines = [f"## {TITLE}", "",
             "Oldest first: what was seen before the fourth pass, then pass by pass (the eighth "
             "is not in this account). Each bullet is one change or one finding: what it was "
             "tuned on, its figures, what it did to the held-out records; 'Tried, not kept' "
             "marks what was not kept.", ""]
    return lines + text.strip("\n").split("\n") + [""]
