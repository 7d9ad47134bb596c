"""Why each seat's sensor is out, as its unit says (wire kind 7, `wire.FAULTS`): the
intake's book of every seat's faults now and since when, their spans over the show (the
report), onsets per code (metrics), and the events the operator's log and alerts get.

A unit repeats a seat's faults every `wire.RESEND_S` while any is set; a seat's faults not
repeated within `wire.STALE_S` are dropped (its "all clear" lost, or the unit gone: its
silence is said by unit_health). A code the table does not name is a newer unit's: kept
and shown as "fault code N (newer unit)", and counted (`newer`).
"""

from __future__ import annotations

from collections import Counter, deque
from empathy import wire

MAX_SPANS = 10_000  # ended spans kept for the report (a lead that flaps all night: the newest)
# A seat's fault events (log lines, dashboard pushes, session rows) at most this many a
# minute: a unit holding its key can change a seat's codes at its packet rate (32 codes, an
# onset and a clear each), and every one was a WARNING line. Beyond it they are counted
# (the report's spans, onsets and metrics stay whole) and said once the minute is over. A
# real sensor's faults change far less often (the edge settles a flapping lead and says
# "keeps dropping"): a lead on and off every second is 120 a minute, all said.
EVENTS_PER_MIN = 120


def _fault(code: int, since_us: int, now_us: int) -> dict:
    f = wire.describe(code)
    return {"code": code, "name": f.name, "text": f.text, "action": f.action,
            "since_s": round(max(0, now_us - since_us) / 1e6, 1)}


class FaultBook:
    def __init__(self, stale_s: float = wire.STALE_S):
        self.stale_us = int(stale_s * 1e6)
        self.seats: dict[int, dict] = {}  # seat -> {"unit", "since": {code: us}, "heard_us"}
        self.onsets: Counter = Counter()  # fault name -> times a seat's fault began
        self.newer: Counter = Counter()  # codes this host does not know -> onsets
        self.spans: deque = deque(maxlen=MAX_SPANS)  # ended: (seat, unit, code, from, to)
        self.events: list[dict] = []  # for the next check_health
        self.said: dict[int, list] = {}  # seat -> [its minute's start, unit, said, held back]

    def take(self, f: wire.SeatFaults, rx_us: int) -> None:
        """One authentic packet, its seat the unit's own (the intake checked both)."""
        was = self.seats.get(f.seat_id, {}).get("since", {})
        # a code new to this host began at least when the unit's set last changed
        begun = rx_us - f.for_s * 1_000_000
        since = {c: was.get(c, begun) for c in wire.codes_of(f.faults)}
        for c in since.keys() - was.keys():
            d = wire.describe(c)
            self.onsets[d.name] += 1
            if not wire.known(c):
                self.newer[c] += 1
            # (no "name" in an event: the show logs it as extra=, and a log record has one)
            self._say({"event": "seat_fault", "seat": f.seat_id, "unit": f.unit_id,
                       "fault": d.name, "code": c, "text": d.text, "action": d.action,
                       "since_s": round((rx_us - since[c]) / 1e6, 1)}, rx_us)
        self._end(f.seat_id, f.unit_id, was.keys() - since.keys(), was, rx_us, "cleared")
        if since:
            self.seats[f.seat_id] = {"unit": f.unit_id, "since": since, "heard_us": rx_us}
        else:
            self.seats.pop(f.seat_id, None)

    def _end(self, seat: int, unit: int, codes, since: dict, now_us: int, why: str) -> None:
        for c in sorted(codes):
            self.spans.append((seat, unit, c, since[c], now_us))
            self._say({"event": "seat_fault_cleared", "seat": seat, "unit": unit,
                       "fault": wire.describe(c).name, "why": why}, now_us)

    def _say(self, event: dict, now_us: int) -> None:
        self._said(now_us)
        w = self.said.setdefault(event["seat"], [now_us, event["unit"], 0, 0])
        if w[2] >= EVENTS_PER_MIN:
            w[3] += 1
            return
        w[2] += 1
        self.events.append(event)

    def _said(self, now_us: int) -> None:
        """Ends each seat's minute that is over, saying what it held back."""
        for seat, (start, unit, _, held) in list(self.said.items()):
            if now_us - start >= 60_000_000:
                del self.said[seat]
                if held:
                    self.events.append({"event": "seat_fault_flood", "seat": seat,
                                        "unit": unit, "held_back": held,
                                        "why": "its unit changed the seat's faults faster "
                                               f"than {EVENTS_PER_MIN} events a minute"})

    def check(self, now_us: int) -> list[dict]:
        """Events since the last check; seats whose faults were not repeated are dropped."""
        for seat, e in list(self.seats.items()):
            if now_us - e["heard_us"] > self.stale_us:
                del self.seats[seat]
                self._end(seat, e["unit"], e["since"].keys(), e["since"], now_us,
                          "not repeated by its unit")
        self._said(now_us)
        events, self.events = self.events, []
        return events

    def of(self, seat: int, now_us: int) -> list[dict]:
        """A seat's faults now, oldest first: code, name, text, action, since_s."""
        e = self.seats.get(seat)
        if e is None:
            return []
        return [_fault(c, s, now_us) for c, s in sorted(e["since"].items(), key=lambda x: x[1])]

    def counts(self) -> dict:
        """Seats with each fault now, by name (every name of the table, and "newer")."""
        out = dict.fromkeys([f.name for f in wire.FAULTS] + ["newer"], 0)
        for e in list(self.seats.values()):  # (the web thread reads while the show writes)
            for c in e["since"]:
                out[wire.describe(c).name] += 1
        return out

    def spans_of(self, t0_us: int) -> dict:
        """Seat id -> its fault spans over the show, {unit, name, text, action, from_s, to_s}
        on the show clock (to_s None: still set)."""
        rows = list(self.spans) + [(s, e["unit"], c, t, None) for s, e in self.seats.items()
                                   for c, t in e["since"].items()]
        out: dict = {}
        for seat, unit, code, a, b in sorted(rows, key=lambda r: (r[0], r[3])):
            f = wire.describe(code)
            out.setdefault(str(seat), []).append({
                "unit": unit, "name": f.name, "text": f.text, "action": f.action,
                "from_s": round((a - t0_us) / 1e6, 1),
                "to_s": None if b is None else round((b - t0_us) / 1e6, 1)})
        return out
