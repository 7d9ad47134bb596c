"""Live view of a show: a Show observer that keeps what the dashboard and the API serve.

The show thread and the player thread write here through `__call__`; the web server
thread reads `snapshot()` and `events_since()`. One lock, and every read makes a copy.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict

from empathy import wire
from empathy.clock import now_us
from empathy.host.audience import STALE_US
from empathy.host.dashboard.room import Room
from empathy.host.rehearsal import branch_coverage

API_VERSION = 1
CURVE_POINTS = 600  # 5 min of audience state at 2 Hz
QUALITY_BITS = (wire.Flag.HR_OK, wire.Flag.HRV_OK, wire.Flag.PUPIL_OK, wire.Flag.FACE_OK)


class Live:
    def __init__(self, show, room: Room | None = None):
        self.show, self.story = show, show.story
        self.room = room or Room()  # rows and seat numbers: the host config's [seatmap]
        self.lock = threading.Lock()
        self.seats: dict[int, wire.SeatSample] = {}
        self.state = None
        self.curve: deque = deque(maxlen=CURVE_POINTS)
        self.frame = None
        self.decision: dict | None = None
        self.log: deque = deque(maxlen=200)  # (n, kind, data): segment/decision/control
        self.n = 0

    # -- observer (show and player threads) ---------------------------------------------
    def __call__(self, kind: str, data) -> None:
        if kind == "frame":
            self.frame = data  # one attribute write: no lock needed at 25 Hz
            return
        with self.lock:
            if kind == "samples":
                for s in data:
                    self.seats[s.seat_id] = s
            elif kind == "state":
                self.state = data
                seg = self.story.segments.get(self.show.current)
                self.curve.append((round(self._t_s(data.ts_us), 2), round(data.arousal, 3),
                                   seg.target_arousal if seg else None))
            else:
                if kind == "decision":
                    self.decision = data
                self.n += 1
                self.log.append((self.n, kind, data))

    def _t_s(self, ts_us: int) -> float:
        return (ts_us - self.show.t0_us) / 1e6 if self.show.t0_us else 0.0

    # -- readers (web thread) -----------------------------------------------------------
    def events_since(self, n: int) -> list[dict]:
        with self.lock:
            return [{"n": i, "kind": k, "data": d} for i, k, d in self.log if i > n]

    def snapshot(self) -> dict:
        t = now_us()
        show, frame = self.show, self.frame
        with self.lock:
            book = show.intake.faults  # why a seat's sensor is out, as its unit says
            seats = [{**self._seat(s, t), "faults": book.of(s.seat_id, t)}
                     for s in sorted(self.seats.values(), key=lambda s: s.seat_id)]
            latest = dict(self.seats)
            seats_of: dict[int, list] = {}
            for s in self.seats.values():
                seats_of.setdefault(s.unit_id, []).append(s)
            state = asdict(self.state) if self.state else None
            curve = list(self.curve)
            decision = dict(self.decision) if self.decision else None
            controls = [d for _, k, d in self.log if k == "control"][-20:]
            alerts = [d for _, k, d in self.log if k == "health"
                      and d.get("event", "").endswith("_fault")][-20:]
        return {
            "api": API_VERSION,
            "t_s": round(self._t_s(t), 2),
            "story": self.story.title,
            "segment": self._segment(frame),
            "next_decision": self._next_decision(frame, state),
            "last_decision": decision,
            "grade": {"lut": frame.lut, "strength": frame.strength} if frame else None,
            "audience": state,
            "curve": curve,
            "seats": seats,
            "room": self.room.report(latest, t),
            "units": [self._unit(u, seats_of.get(u["unit"], []), t)
                      for u in show.intake.unit_report(t)],
            "operator": {"forced": show.forced, "killed": show.killed,
                         "grade_strength": show.grade_strength, "policy": show.policy.name,
                         "controls": controls},
            "alerts": alerts,  # output/media/LUT faults, newest last
            "packets": {"received": show.intake.received, "accepted": show.intake.accepted,
                        "rejected": show.link.rejected(), "dropped": show.link.dropped(),
                        "contained": dict.copy(show.contained)},
            # A kiosk: attract / baseline / film / ended, and the visit in progress.
            "kiosk": show.kiosk_state() if hasattr(show, "kiosk_state") else None,
            # A rehearsal: the push on the simulated audience and the branches walked so far.
            "rehearsal": ({"push": show.rehearsal.value,
                           "branches": branch_coverage(self.story, list(show.decisions))}
                          if show.rehearsal else None),
        }

    def _segment(self, frame) -> dict | None:
        if frame is None:
            return None
        seg = self.story.segments.get(frame.clip_id)
        return {"id": frame.clip_id, "t_s": round(frame.clip_t_s, 2),
                "duration_s": seg.duration_s if seg else None,
                "target_arousal": seg.target_arousal if seg else None}

    def _next_decision(self, frame, state: dict | None) -> dict | None:
        d = self.story.decision_after(frame.clip_id) if frame else None
        if d is None:
            return None
        arousal = state["arousal"] if state else 0.0
        # What the arc predicts for each option now; the policy's own scores arrive with
        # the decision itself (last_decision).
        options = {o: {"lift": lift, "predicted_arousal": round(arousal + lift, 3),
                       "distance_to_aim": round(abs(arousal + lift - d.aim_arousal), 3)}
                   for o, lift in d.options.items()}
        return {"id": d.id, "closes_in_s": round(max(0.0, d.window_s[1] - frame.clip_t_s), 2),
                "aim_arousal": d.aim_arousal, "default": d.default, "options": options,
                "decided": bool(self.decision and self.decision["decision"] == d.id
                                and self.show.decided_for == len(self.show.segment_log) - 1)}

    @staticmethod
    def _seat(s: wire.SeatSample, t: int) -> dict:
        good = sum(bool(s.flags & b) for b in QUALITY_BITS) / len(QUALITY_BITS)
        age = (t - s.ts_us) / 1e6
        return {"seat": s.seat_id, "unit": s.unit_id, "arousal": round(s.arousal, 3),
                "valence": round(s.valence, 3), "hr_bpm": round(s.hr_bpm, 1),
                "quality": 0.0 if age * 1e6 > STALE_US else round(good, 2),
                "contact": bool(s.flags & wire.Flag.CONTACT), "age_s": round(age, 2)}

    @staticmethod
    def _unit(r: dict, seats: list, t: int) -> dict:
        """The intake's report on one unit (loss, heartbeat) plus its seats' contact."""
        battery = r.get("battery")
        return {"unit": r["unit"], "seats": sorted(s.seat_id for s in seats),
                "silent_s": r["silent_s"], "loss_pct": round(100.0 * r["loss"], 2),
                # restarts and silences it came back from (its seats unmeasured), and its
                # packets refused as replays (a second process sending as it)
                "restarts": r["restarts"], "gaps": r["gaps"], "gap_s": r["gap_s"],
                "replayed": r["replayed"],
                "contact": all(s.flags & wire.Flag.CONTACT for s in seats),
                "battery_pct": None if battery in (None, wire.BATTERY_MAINS) else battery,
                "mains": battery == wire.BATTERY_MAINS, "firmware": r.get("firmware"),
                # against the host's release: same, older (update the unit), newer
                "release": r.get("release"),
                # Clock sync's estimate of the unit clock's offset from ours, from its
                # heartbeat; none yet means the unit has not reported one.
                "clock_offset_ms": round(r["offset_us"] / 1000, 3) if "offset_us" in r else None,
                # packets the unit could not send (its uplink was down), from its heartbeat
                "uplink_fail": r.get("uplink_fail"),
                # how late its arousal is on the body, as the unit declares (the reward
                # undoes it); none: not declared, the edge's default is assumed
                "estimate_lag_s": (r["estimate_lag_ms"] / 1000 if r.get("estimate_lag_ms")
                                   else None),
                "wire_version": wire.VERSION}
