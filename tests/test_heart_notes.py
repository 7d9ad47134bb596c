"""The heart corpus page's notes (heart_notes, heart_passes) stay readable: no paragraph of
thousands of words, lists markdown renders as lists, and the lead on seen held-out figures
names real held-out records."""

import re

from empathy.edge.heart_corpus import RECORDS
from empathy.edge.heart_notes import SEEN, records_section, seen_lead
from empathy.edge.heart_passes import ANCHOR, TITLE, passes_section

WORDS = 250  # a paragraph or bullet longer than this goes unread (the old one: 3571)


def _notes() -> list[str]:
    return records_section() + passes_section()


def test_no_wall_of_text():
    long = [f"{line[:60]}... ({len(line.split())} words)" for line in _notes()
            if not line.startswith("|") and len(line.split()) > WORDS]
    assert not long


def test_lists_stand_apart():
    """A list opens after a blank line and closes before one: a bullet run into a
    paragraph renders as a paragraph."""
    for lines in (records_section(), passes_section()):
        for before, line in zip(lines, lines[1:]):
            if line.startswith("- "):
                assert before == "" or before.startswith("- "), line[:60]
            if before.startswith("- "):
                assert line == "" or line.startswith("- "), before[:60]


def test_link_to_the_passes_is_the_titles_anchor():
    slug = re.sub(r"[^a-z0-9 -]", "", TITLE.lower()).replace(" ", "-")
    assert ANCHOR == f"#{slug}"
    assert f"## {TITLE}" in passes_section()


def test_lead_sorts_every_held_out_record_blind_or_seen():
    held = {r.name for r in RECORDS if r.held_out}
    seen = {n for names, _ in SEEN for n in names}
    assert seen <= held, seen - held
    lead = "\n".join(seen_lead())  # the blind list, then the seen one
    blind_part = lead[lead.index("Still a blind test:"):lead.index("Seen, so no longer")]
    blind_said = re.findall(r"[\w-]+", blind_part)
    for name in held - seen:
        assert name in blind_said or name.partition("-")[2] in blind_said, name
    for name in seen:
        assert name not in blind_part


def test_the_passes_account_is_headings_parts_and_bullets():
    """heart_passes.md is prose kept as data: a stray paragraph or a bullet broken over two
    lines would render on the page as something else than the account's shape."""
    body = passes_section()[4:]
    assert body[0].startswith("### ")
    for line in body:
        assert line == "" or line.startswith(("### ", "- ")) or re.fullmatch(r"\*\*[^*]+\*\*", line), \
            line[:60]
