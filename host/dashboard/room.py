"""The room as the operator sees it: rows of seats from the host config's `[seatmap]`, each
seat's status, and the dead seats named by row and number ("C7").

Rows are drawn in the order the seat map lists them, the first nearest the screen, each
left to right as the audience faces the screen. Without rows in the seat map (a kiosk,
the demo) the seats heard are laid out in a grid, ordered by unit then seat, about twice
as wide as deep. Seats heard (or given to a unit) that no row places get a row of their
own, "?", so no seat is ever hidden from the operator.

A seat is good by the audience fusion's own rule (`audience.has_signal`), so the
dashboard's dead seats, its "x/y seats with signal" and the metrics' empathy_seats_good
always agree.
"""

from __future__ import annotations

import math
from typing import Optional

from empathy import wire
from empathy.host.audience import STALE_US, has_signal
from empathy.host.seatmap import SeatMapConfig

UNPLACED = "?"
# Why a seat is not good, worst first: what the operator should check.
STATUSES = ("never_heard", "silent", "no_contact", "no_signal", "good")


def seat_status(last: Optional[wire.SeatSample], now_us: int) -> str:
    if last is None:
        return "never_heard"
    if now_us - last.ts_us > STALE_US:
        return "silent"
    if has_signal(last, now_us):
        return "good"
    return "no_signal" if last.flags & wire.Flag.CONTACT else "no_contact"


def grid_columns(n: int) -> int:
    """Seats per row for a room without a seat map: landscape, as a screen is."""
    return max(4, min(30, math.ceil(math.sqrt(2 * n))))


class Room:
    def __init__(self, seatmap: Optional[SeatMapConfig] = None):
        self.seatmap = seatmap or SeatMapConfig()
        self.owner = self.seatmap.owners()
        self.placed = {s: (r.name, r.numbers[i] if r.numbers else i + 1)
                       for r in self.seatmap.rows for i, s in enumerate(r.seats)}

    @property
    def configured(self) -> bool:
        return bool(self.seatmap.rows)

    def layout(self, heard: dict[int, int]) -> list[dict]:
        """Rows of {"name", "seats", "numbers"}; `heard`: seat id -> its unit."""
        if self.configured:
            rows = [{"name": r.name, "seats": list(r.seats),
                     "numbers": list(r.numbers) or list(range(1, len(r.seats) + 1))}
                    for r in self.seatmap.rows]
            loose = sorted((set(heard) | set(self.owner)) - set(self.placed),
                           key=lambda s: (self.owner.get(s, heard.get(s, 0)), s))
            if loose:
                rows.append({"name": UNPLACED, "seats": loose, "numbers": loose})
            return rows
        units = {**heard, **self.owner}
        seats = sorted(units, key=lambda s: (units[s], s))
        cols = grid_columns(len(seats))
        return [{"name": "", "seats": seats[i:i + cols], "numbers": seats[i:i + cols]}
                for i in range(0, len(seats), cols)]

    def label(self, seat: int) -> str:
        if seat in self.placed:
            row, number = self.placed[seat]
            return f"{row}{number}"
        return f"seat {seat}"

    def report(self, last: dict[int, wire.SeatSample], now_us: int) -> dict:
        """The room now, from each seat's latest sample (seat id -> SeatSample).

        `dead`: seats never heard, silent, or in contact with no signal (hardware to check);
        `no_contact`: seats whose sensor feels nobody (an empty seat, or a sensor off the
        viewer). Both list {seat, label, row, number, unit, status, silent_s}."""
        rows = self.layout({s: x.unit_id for s, x in last.items()})
        counts = dict.fromkeys(STATUSES, 0)
        dead, loose = [], []
        for row in rows:
            row["status"] = []
            for seat in row["seats"]:
                sample = last.get(seat)
                status = seat_status(sample, now_us)
                row["status"].append(status)
                counts[status] += 1
                if status == "good":
                    continue
                row_name, number = self.placed.get(seat, (None, None))
                (loose if status == "no_contact" else dead).append({
                    "seat": seat, "label": self.label(seat), "row": row_name,
                    "number": number, "status": status,
                    "unit": self.owner.get(seat, sample.unit_id if sample else None),
                    "silent_s": round((now_us - sample.ts_us) / 1e6, 1) if sample else None})
        return {"configured": self.configured, "rows": rows, "counts": counts,
                "seats_total": sum(counts.values()), "seats_good": counts["good"],
                "dead": dead, "no_contact": loose}
