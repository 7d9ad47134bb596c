"""Whose heart rate: an Apple Health export holds the records of every source that wrote
them (Record's sourceName: the Apple Watch, the iPhone, apps such as Polar Flow, Strava,
Garmin Connect, Withings), and apps write a workout's heart rate again beside the Watch's,
so merged, a moment's rate is there twice with two values. The Health app shows one source
at a time by the user's data source priority, which the export does not hold; read here:
one source, by default the one whose records cover the most minutes of the span (the
Watch over a day, not a strap's app that wrote an hour at a reading a second), the most
records between equals (the strap over its own workout), or --source NAME's; the sources
are said. (The device attribute can't tell sources: it holds a memory address that
differs record to record, github.com/the-momentum/open-wearables issue 578.)"""

from __future__ import annotations

from empathy.edge.signal_columns import SignalFileError

LISTED = 6  # sources named in a note or a refusal
MAX_NAME = 200  # characters of a source's name kept (real ones: tens)
MAX_SOURCES = 1000  # sources held at once (a real export: tens, one per app and device)
NO_NAME = "(no sourceName)"


def source_arg(text: str) -> str:
    """--source: a source's name, or a part of it, as the user types it."""
    import argparse

    name = text.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: give a source's name (or a part of "
                                         "it: 'Apple Watch'), as the export's notes say them")
    return name


def span_of(span) -> tuple:
    """(start, end, source) of the CLI's span: (start, end) or (start, end, source)."""
    start, end, *source = span
    return start, end, (source[0] if source else None)


def source_name(attrib) -> str:
    name = (attrib.get("sourceName") or "").strip()[:MAX_NAME]
    return name if name else NO_NAME


def known(path: str, sources: dict, name: str) -> str:
    """name, where it is a source already held or one more is room for (each holds its
    records: a file naming a million sources would hold a million series)."""
    if name not in sources and len(sources) >= MAX_SOURCES:
        raise SignalFileError(f"{path}: heart records of over {MAX_SOURCES:,} sources: not "
                              "Apple Health's export (a person's has tens)")
    return name


def _key(name: str) -> str:
    """A name as a user may type it: any case, a plain ' for iOS's ’ ('Ann’s Apple Watch')."""
    return name.replace("\u2019", "'").casefold()


def shown(name: str) -> str:
    return name if name.isprintable() else ascii(name)


def said(counts: dict[str, int], what: str) -> str:
    """'Ann’s Apple Watch (1,204), Polar Flow (3,600)', the most first."""
    order = sorted(counts, key=lambda n: (-counts[n], n))
    more = f" and {len(order) - LISTED} more" if len(order) > LISTED else ""
    return ", ".join(f"{shown(n)} ({counts[n]:,} {what})" for n in order[:LISTED]) + more


def pick(path: str, counts: dict[str, int], asked: str | None, what: str,
         cover: dict[str, int] | None = None) -> str:
    """The source read: --source's (its whole name, any case, else the one name holding
    it), else the one covering the most (cover), then with the most records, then the
    first by name."""
    if asked is None:
        return min(counts, key=lambda n: (-(cover or counts)[n], -counts[n], n))
    key = _key(asked.strip())
    hit = [n for n in counts if _key(n) == key] or [n for n in counts if key in _key(n)]
    if len(hit) != 1:
        raise SignalFileError(
            f"{path}: --source {asked[:60]!r} names {'none' if not hit else len(hit)} of the "
            f"sources of {what} there: {said({n: counts[n] for n in hit} or counts, what)}")
    return hit[0]
