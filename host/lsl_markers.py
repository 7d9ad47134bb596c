"""A live LSL marker stream of the show, for LabRecorder beside a lab's own devices.

    EmpathyMarkers  type "Markers", irregular string: one sample per segment start, decision
                    (chosen option, fallback, reason, scores) and grade change, the same JSON
                    objects as the `empathy markers` stream of a session's XDF export
                    ({"kind", "text", ...}), so a live recording and an export line up.

Each marker carries the time it happened on the host clock (CLOCK_MONOTONIC, which is
LSL's `local_clock()` on Linux): a segment's first frame, a grade change's frame as shown,
a decision when it was made; never the time it was pushed.
"""

from __future__ import annotations

import socket
import threading

import pylsl

from empathy.clock import now_us
from empathy.host.session.exports.recording import Marker
from empathy.host.session.store import GradeChanges

NAME = "EmpathyMarkers"


class LslMarkers:
    """A Show observer. `source` names this host/screen (the stream's source_id prefix)."""

    def __init__(self, source: str = ""):
        source = source or f"empathy-{socket.gethostname()}"
        info = pylsl.StreamInfo(NAME, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
                                f"{source}-{NAME}")
        info.desc().append_child("channels").append_child("channel") \
            .append_child_value("label", "marker")
        info.desc().append_child_value("clock", "host CLOCK_MONOTONIC = LSL local_clock")
        self.outlet = pylsl.StreamOutlet(info)
        self.grades = GradeChanges()
        self.pushed = 0
        self._lock = threading.Lock()  # frames come from the player thread

    def __call__(self, kind: str, data) -> None:
        marker = None
        if kind == "segment":
            marker = Marker(int(data.get("start_us") or now_us()), "segment", dict(data))
        elif kind == "decision":
            marker = Marker(now_us(), "decision", dict(data))
        elif kind == "frame":
            grade = self.grades.change(data)
            if grade:
                marker = Marker(round(data.wall_s * 1e6), "grade", grade)
        if marker is not None:
            with self._lock:
                self.outlet.push_sample([marker.json()], marker.ts_us / 1e6)
                self.pushed += 1
