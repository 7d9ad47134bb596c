"""LSL outlets, so a lab records our streams beside its own EEG/eye tracker with
LabRecorder, on one clock.

Our `ts_us` is CLOCK_MONOTONIC, which is also LSL's `local_clock()` on Linux, so samples
carry their true measurement time (ts_us / 1e6), not the time we pushed them.

    EmpathyAudience  type "Arousal", 7 float channels at 2 Hz: arousal, arousal_se, valence,
                     valence_se, seats_good, seats_total, synchrony
    EmpathySeats     type "EmpathySeat", irregular, one sample per seat sample: seat_id,
                     unit_id, seq, hr_bpm, rmssd_ms, pupil_mm, arousal, valence, expression,
                     expression_conf, flags (double, so ids and flags stay exact); only
                     with `seats=True` (`[lsl] seats = true`): per-seat biometrics, open
                     to anyone on the network (docs/privacy.md)
    EmpathyEvents    type "Markers", irregular string: JSON of each segment, decision and
                     operator control ({"kind": ..., ...})
"""

from __future__ import annotations

import json
import socket

import pylsl

from empathy.host.show import STATE_HZ

AUDIENCE = ("arousal", "arousal_se", "valence", "valence_se", "seats_good", "seats_total",
            "synchrony")
SEAT = ("seat_id", "unit_id", "seq", "hr_bpm", "rmssd_ms", "pupil_mm", "arousal", "valence",
        "expression", "expression_conf", "flags")


def _info(name: str, kind: str, channels, rate: float, fmt, source: str) -> pylsl.StreamInfo:
    info = pylsl.StreamInfo(name, kind, len(channels), rate, fmt, f"{source}-{name}")
    chans = info.desc().append_child("channels")
    for c in channels:
        chans.append_child("channel").append_child_value("label", c)
    return info


class LslOutlet:
    """A Show observer publishing the LSL streams. `source` names this host/screen;
    `seats` adds the per-seat stream (off unless asked for)."""

    def __init__(self, source: str = "", seats: bool = False):
        source = source or f"empathy-{socket.gethostname()}"
        self.audience = pylsl.StreamOutlet(_info("EmpathyAudience", "Arousal", AUDIENCE,
                                                 STATE_HZ, pylsl.cf_float32, source))
        self.seats = pylsl.StreamOutlet(_info("EmpathySeats", "EmpathySeat", SEAT,
                                              pylsl.IRREGULAR_RATE, pylsl.cf_double64,
                                              source)) if seats else None
        self.events = pylsl.StreamOutlet(_info("EmpathyEvents", "Markers", ("event",),
                                               pylsl.IRREGULAR_RATE, pylsl.cf_string, source))

    def __call__(self, kind: str, data) -> None:
        if kind == "samples" and self.seats:
            for s in data:
                self.seats.push_sample([float(getattr(s, c)) for c in SEAT], s.ts_us / 1e6)
        elif kind == "state":
            self.audience.push_sample([float(getattr(data, c)) for c in AUDIENCE],
                                      data.ts_us / 1e6)
        elif kind in ("segment", "decision", "control"):
            self.events.push_sample([json.dumps({"kind": kind, **data}, default=str)])
