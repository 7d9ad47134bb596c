"""Each seat's sensor-fault spans, read back from a recorded session: which stretches of
which seat's data are a sensor fault (an ECG lead off, a board unplugged: wire kind 7).

The show records the intake's fault events as `health` events (host/seat_faults.py:
`seat_fault` when a seat's unit first names a fault, with how long it had held then;
`seat_fault_cleared` when it clears or its unit stops repeating it), stamped on the show's
clock like the samples. The spans are made from them here, so a session recorded before
kind 7 (or by a host killed mid-show) reads as it was: no faults, or the faults it holds.

A span's end is when the host heard the fault clear; one its unit stopped repeating ends
when the host stopped believing it (`wire.STALE_S` after the unit's last word); one still
set when the recording stopped, or when the host stopped before a restart resumed the
session, ends there (`ended` says which). Spans of one seat's fault never overlap.
Codes' names and texts only: never a waveform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from empathy.host.session.reading import LONG_US, SessionError

NAME_MAX, TEXT_MAX = 40, 200
STILL_SET = "still set when the recording stopped"
HOST_STOPPED = "the host stopped (the session resumed after it)"


@dataclass(frozen=True)
class FaultSpan:
    seat_id: int
    fault: str  # the wire table's name: lead_off, unplugged, ... ("newer": a newer unit's)
    text: str  # what the operator read
    start_us: int  # host clock, as the samples
    end_us: Optional[int]  # None: still set when the recording stopped
    ended: str  # cleared | not repeated by its unit | STILL_SET | HOST_STOPPED

    def end_or(self, end_us: int) -> int:
        return end_us if self.end_us is None else self.end_us

    def label(self) -> str:
        return f"seat {self.seat_id} fault {self.fault}"


class FaultSpans:
    """Events in recording order (`add`), the spans out (`spans`)."""

    def __init__(self, path: Path):
        self.path = path
        self.open: dict[tuple[int, str], tuple[int, str]] = {}  # (seat, name) -> (start, text)
        self.last_end: dict[tuple[int, str], int] = {}
        self.done: list[FaultSpan] = []
        self.last_ts = 0

    def add(self, ts: int, kind: str, doc) -> None:
        if kind == "resumed":  # the host was down: what held then is not known
            for key in list(self.open):
                self._end(key, self.last_ts, HOST_STOPPED)
        elif kind == "health" and isinstance(doc, dict) and doc.get("event") in (
                "seat_fault", "seat_fault_cleared"):
            key = (self._seat(doc), self._name(doc))
            if doc["event"] == "seat_fault_cleared":
                if key in self.open:
                    self._end(key, ts, str(doc.get("why", "cleared"))[:TEXT_MAX])
            elif key not in self.open:
                since = doc.get("since_s", 0)
                if type(since) not in (int, float) or not 0 <= since <= LONG_US / 1e6 \
                        or not math.isfinite(since):
                    self._bad(doc, "since_s")
                start = max(ts - round(since * 1e6), self.last_end.get(key, 0), 0)
                self.open[key] = (start, str(doc.get("text", ""))[:TEXT_MAX])
        self.last_ts = max(self.last_ts, ts)

    def spans(self) -> list[FaultSpan]:
        """Every span, by seat then start; those still open end None (STILL_SET)."""
        rest = [FaultSpan(s, n, text, start, None, STILL_SET)
                for (s, n), (start, text) in self.open.items()]
        return sorted(self.done + rest, key=lambda f: (f.seat_id, f.start_us, f.fault))

    def _end(self, key, ts: int, why: str) -> None:
        start, text = self.open.pop(key)
        end = max(ts, start)
        self.done.append(FaultSpan(*key, text, start, end, why))
        self.last_end[key] = end

    def _seat(self, doc: dict) -> int:
        seat = doc.get("seat")
        if type(seat) is not int or not 0 <= seat <= 0xFFFF:
            self._bad(doc, "seat")
        return seat

    def _name(self, doc: dict) -> str:
        name = doc.get("fault")
        if not isinstance(name, str) or not name.isprintable() or not 0 < len(name) <= NAME_MAX:
            self._bad(doc, "fault")
        return name

    def _bad(self, doc: dict, key: str):
        raise SessionError(f"{self.path}: a {doc.get('event')} event's {key} is "
                           f"{doc.get(key)!r:.40}: not a session this host wrote")


def read(path: Path) -> list[FaultSpan]:
    """The session's fault spans, its events read one at a time."""
    from empathy.host.session import store
    from empathy.host.session.reading import event_docs

    spans = FaultSpans(path)
    with store.rows(path, "events") as (_, rows):
        for ts, kind, doc in event_docs(rows):
            spans.add(ts, kind, doc)
    return spans.spans()
