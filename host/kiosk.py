"""Kiosk: one viewer at a time, visitor after visitor (`mode = "kiosk"` in the host config).

    mode = "kiosk"
    [kiosk]
    attract = "media/attract.mp4"  # loops while nobody is there and while a new visitor's
                                   # resting baseline is taken (default: the story's first clip)
    attract_lut = ""               # optional look for it
    settle_s = 2.0                 # a strap in contact or a face in view this long: a visit
    leave_s = 8.0                  # nobody this long: the visitor has gone, the visit ends
    baseline_timeout_s = 120.0     # no fresh baseline by then: the film starts anyway (logged)
    idle_timeout_s = 60.0          # after the story's end: back to the attract loop
    report = true                  # each visit's session gets its HTML report beside it

The cycle: the attract loop plays; a visit starts when a seat has signal (a strap in
contact with a heart rate, a face or a pupil in view) for `settle_s`; the attract loop goes
on while the edge unit takes this visitor's resting baseline (it drops CALIBRATED for a new
viewer and sets it again when done: edge/features.py), then the film starts from its
first segment. The visit ends when the seat has had no signal for `leave_s` (the film cuts
back to the attract loop at once; a unit that falls silent counts as no signal once its last
sample is `leave_s` old) or `idle_timeout_s` after the story ended, and a visitor still
there then must leave before a new visit can start. Each visit is a session of its own
(recorded from the moment the visitor arrived; its report written and the store kept
within its retention, `[session]` retention_days / keep_sessions / max_mb, by a worker thread,
so the show loop never waits); the policy learns from each. Set the edge unit's
`rebaseline_after_s` no longer than `leave_s`, so that every new visit is a new baseline.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Optional

from empathy.host.baseline import BaselineWatch
from empathy.host.show import Show
from empathy.host.show_config import KioskConfig
from empathy.wire import Flag

log = logging.getLogger("empathy.host.kiosk")

ATTRACT = "attract"  # the attract loop's clip id (frame log, segments, cues)
TIMELINE_KEPT = 2 * 3600 * 2  # 2 h of audience states at 2 Hz: a visit's film, however long
VISITS_KEPT = 1000  # visits remembered for the summary and the dashboard
SEGMENTS_KEPT = 100  # attract loop rounds remembered between visits


def present(sample) -> bool:
    """Someone is in the seat: a strap in contact reading a heart, or a face or pupil."""
    f = sample.flags
    return bool((f & Flag.CONTACT and f & Flag.HR_OK) or f & (Flag.FACE_OK | Flag.PUPIL_OK))


class KioskShow(Show):
    """A Show that runs the visitor cycle around the story (see module doc)."""

    def __init__(self, story, cfg, kiosk: KioskConfig, keys, cue_key, frame_log: Path,
                 sessions: Optional[Path], retention=None, attract_media: Optional[Path] = None,
                 attract_lut: Optional[Path] = None, **kw):
        from empathy.host.player.player import Clip

        cfg.loop = False  # the story ends with the visit, never loops for the same visitor
        super().__init__(story, cfg, keys, cue_key, frame_log, **kw)
        first = story.segments[story.start]
        self.attract = Clip(ATTRACT, attract_media or first.media,
                            attract_lut if attract_media else first.lut,
                            rate=None if attract_media else first.rate,
                            colour=None if attract_media else first.colour)
        self.kiosk, self.sessions, self.retention = kiosk, sessions, retention
        self.phase = "attract"  # attract -> baseline -> film -> ended -> attract
        self.visit: Optional[dict] = None
        self.visits: deque = deque(maxlen=VISITS_KEPT)
        self.timeline = deque(maxlen=TIMELINE_KEPT)
        self.visits_total = 0
        self._since: dict[str, Optional[int]] = {"present": None, "absent": None}
        self._queued_for: Optional[int] = None  # segment_log index whose next is queued
        self._story_over = False
        self._await_empty = False  # a visit timed out with them still there: wait till they go
        self._rec = self._watch = None
        self._t_kiosk_us = self.clock()
        # A closed visit's report and the retention pass take seconds (plots, deletions):
        # one worker does them in turn so the show loop (cues, the next visitor) never waits.
        self._archive: queue.SimpleQueue = queue.SimpleQueue()
        self._archiver = threading.Thread(target=self._archive_loop, name="kiosk-archive",
                                          daemon=True)
        self._archiver.start()

    # -- the player's clips ---------------------------------------------------------------
    def _first_clip(self):
        return self.attract

    def _need_next(self, clip):
        if clip.id in self.story.segments and self.phase == "film":
            nxt = super()._need_next(clip)
            if nxt is not None:
                return nxt
            self._story_over = True  # the story's end: the show loop closes the film
        return self.attract

    def _queue_next(self) -> None:
        self._cycle(self.clock())
        with self.lock:
            if self.phase != "film" and self.timeline:
                self.timeline.clear()  # only a visit's film is learned from and reported
            if self.phase == "attract" and len(self.segment_log) > SEGMENTS_KEPT:
                # nobody for a long time: the attract loop's rounds need not be remembered
                last_queued = self._queued_for == len(self.segment_log) - 1
                self.segment_log = self.segment_log[-1:]
                self._queued_for = 0 if last_queued else None
            idx, f = len(self.segment_log) - 1, self.frame
        if f is None:
            return
        if f.clip_id in self.story.segments and self.phase == "film":
            super()._queue_next()
        elif f.clip_id == ATTRACT and self.phase != "film" and self._queued_for != idx:
            self.player.set_next(self.attract, after=f.play)  # the loop goes round
            self._queued_for = idx

    # -- the visitor cycle ------------------------------------------------------------------
    def _someone_there(self, now: int) -> bool:
        """A seat's last sample says someone is there, and it is recent: a unit that fell
        silent counts as empty after leave_s, and so ends the visit after twice that."""
        fresh_us = self.kiosk.leave_s * 1e6
        return any(t.history and now - t.last.ts_us <= fresh_us and present(t.last)
                   for t in self.intake.seats.values())

    def _cycle(self, now: int) -> None:
        there = self._someone_there(now)
        key, other = ("present", "absent") if there else ("absent", "present")
        self._since[other] = None
        if self._since[key] is None:
            self._since[key] = now
        held_s = (now - self._since[key]) / 1e6
        if self.visit is None:
            if self._await_empty and not there and held_s >= self.kiosk.leave_s:
                self._await_empty = False  # they have gone: the next one is someone else
            if there and held_s >= self.kiosk.settle_s and not self._await_empty:
                self._open_visit(self._since["present"])
            return
        if not there and held_s >= self.kiosk.leave_s:
            self._close_visit("left", self._since["absent"])
        elif self.phase == "baseline":
            waited_s = (now - self.visit["start_us"]) / 1e6
            if self._watch.pending(self.visit["seats"]) == 0:
                self._start_film(now, fallback=False)
            elif waited_s >= self.kiosk.baseline_timeout_s:
                self._start_film(now, fallback=True)
        elif self.phase == "film" and self._story_over:
            self.phase, self.visit["story_end_us"] = "ended", now
            self._event("story_ended")
        elif self.phase == "ended" and \
                (now - self.visit["story_end_us"]) / 1e6 >= self.kiosk.idle_timeout_s:
            self._await_empty = there  # still there: no new visit for the same person
            self._close_visit("idle", now)

    def _event(self, what: str, **extra) -> None:
        v = self.visit or {}
        doc = {"event": what, "visit": v.get("visit"), "session": v.get("session"),
               "at_s": round((self.clock() - self._t_kiosk_us) / 1e6, 3), **extra}
        log.info("kiosk: visit %s %s", doc["visit"], what, extra=doc)
        self._emit("visit", doc)

    def _open_visit(self, since_us: int) -> None:
        from empathy.host.session.store import Recorder

        self.visits_total += 1
        seats = {s for s, t in self.intake.seats.items() if t.history and present(t.last)}
        self.visit = {"visit": self.visits_total, "start_us": since_us, "seats": seats,
                      "session": None}
        self._watch = BaselineWatch(fresh=True, clock=self.clock)
        # What the unit sent since the visitor arrived is theirs: into this visit, no more.
        arrived = [s for t in self.intake.seats.values() for s in t.history
                   if s.ts_us >= since_us]
        self._watch.see(arrived)
        self.subscribe(self._watch)
        if self.sessions is not None:
            try:
                self._rec = Recorder(self.sessions, {"story": self.story.title, "kiosk": True,
                                                     "visit": self.visits_total},
                                     unit_report=self.intake.unit_report,
                                     on_fault=self.report, clock=self.clock)
            except (OSError, sqlite3.Error) as e:  # the visitor still gets their film
                log.error("kiosk: visit %d cannot be recorded: %s", self.visits_total, e)
                self.report({"event": "session_open_failed", "why": str(e)})
            else:
                self.visit["session"] = self._rec.id
                self._rec("samples", arrived)
                self.subscribe(self._rec)
        self.phase = "baseline"
        self._event("arrived", seats=sorted(seats))

    def _start_film(self, now: int, fallback: bool) -> None:
        self.visit.update(film_us=now, baseline_fallback=fallback)
        if fallback:
            log.warning("kiosk: visit %d: no fresh baseline after %.0f s; the film starts "
                        "anyway (measured against the last baseline or population priors)",
                        self.visit["visit"], self.kiosk.baseline_timeout_s)
        with self.lock:  # this visit's film only, from here
            self.segment_log, self.decisions = [], []
            self.timeline.clear()
            self.decided_for = self.prepared_for = None
        self.t0_us = now
        self._story_over = False
        self.story_vars = dict(self.story.variables)
        self.phase = "film"
        self.player.cut_to(self._clip(self.story.start))
        self._event("film", baseline_fallback=fallback)

    def _close_visit(self, why: str, end_us: int) -> None:
        if self.phase in ("film", "ended") and self.current != ATTRACT \
                and not self.player.wait(0):
            self.player.cut_to(self.attract)
        self._queued_for = None
        v, now = self.visit, self.clock()
        self._event("left" if why == "left" else "timed_out", why=why)
        if "film_us" in v:
            self._learn_visit()
        self._unsubscribe(self._watch)
        self._unsubscribe(self._rec)
        record = self._visit_record(v, end_us)
        self.visits.append(record)
        self.visit, self.phase = None, "attract"
        if self._rec is not None:
            self._rec.close()
            self._archive.put(self._rec.path)  # report and retention off the show loop
        self._rec = None
        log.info("kiosk: visit %d over (%s) after %.0f s", v["visit"], why,
                 (now - v["start_us"]) / 1e6, extra=record)

    def _unsubscribe(self, fn) -> None:
        if fn in self.listeners:
            self.listeners.remove(fn)

    def _visit_record(self, v: dict, end_us: int) -> dict:
        rest = [self._watch.resting_bpm(s) for s in sorted(v["seats"])]
        rest = [r for r in rest if r is not None]
        film = v.get("film_us")
        return {"visit": v["visit"], "session": v["session"],
                "start_s": round((v["start_us"] - self._t_kiosk_us) / 1e6, 2),
                "end_s": round((end_us - self._t_kiosk_us) / 1e6, 2),
                "film_start_s": round((film - self._t_kiosk_us) / 1e6, 2) if film else None,
                "baseline_s": round((film - v["start_us"]) / 1e6, 2) if film else None,
                "baseline_fallback": v.get("baseline_fallback"),
                "baseline_bpm": round(sum(rest) / len(rest), 1) if rest else None,
                "segments": [s["segment"] for s in self.segment_log if s["segment"] != ATTRACT]
                if film else [],
                "decisions": [{k: d[k] for k in ("decision", "chosen", "reason", "at_s")}
                              for d in self.decisions] if film else []}

    def _archive_loop(self) -> None:
        while (path := self._archive.get()) is not None:
            self._after_session(path)

    def _after_session(self, path: Path) -> None:
        """The visit's session: its report beside it, then the store kept in budget."""
        from empathy.host.session import retention

        if self.kiosk.report:
            try:
                from empathy.host.session.report import write

                write(path, path.parent)
            except Exception:  # a report must never stop the kiosk
                log.exception("kiosk: cannot write the report of %s", path.name)
        if self.retention is not None:
            try:
                retention.retain(path.parent, self.retention, keep=path)
            except OSError as e:  # tried again after the next visit
                log.error("kiosk: retention in %s failed: %s", path.parent, e)

    def _learn(self, final: bool = True) -> None:
        """Nothing during or at the end of the run: each visit is learned from as it ends."""

    def _learn_visit(self) -> None:
        """This visit's film is the screening a learning policy learns from."""
        Show._learn(self)

    def run(self, duration_s: float, progress=None) -> dict:
        try:
            super().run(duration_s, progress)
        finally:
            if self.visit is not None:  # the host is stopping: the visit ends here
                self._close_visit("stopped", self.clock())
            self._archive.put(None)
            self._archiver.join(60)  # the last visit's report is written before we exit
        return self.summary()

    def kiosk_state(self) -> dict:
        """For the dashboard: where the cycle is, and the visits so far."""
        v = self.visit or {}
        return {"phase": self.phase, "visit": v.get("visit"), "session": v.get("session"),
                "visits": self.visits_total,
                "last": self.visits[-1] if self.visits else None}

    def summary(self) -> dict:
        out = super().summary()
        out.update(mode="kiosk", visits=list(self.visits), visits_total=self.visits_total)
        return out
