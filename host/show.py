"""The show: receive -> fuse -> decide -> play, on the host.

One loop owns the story position. The player runs on its own threads and tells us every
frame it shows; from that we send screen cues to the edge units and decide each branch
when its measurement window closes. If no decision is ready when a segment ends (or
anything fails), the player is handed the decision's default: the screen never goes dark.
How each branch is chosen and queued: show_branches.py; the operator's controls:
show_controls.py.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

from empathy import wire
from empathy.clock import now_us
from empathy.host.audience import STATE_HZ, AudienceState, audience_state
from empathy.host.cue_send import CueSender
from empathy.host.link_counters import LinkCounters
from empathy.host.policy import estimate_lag_s, learn_from_show, show_policy
from empathy.host.receive import Intake
from empathy.host.show_branches import StoryBranches
from empathy.host.show_config import ShowConfig
from empathy.host.show_controls import OperatorControls
from empathy.host.story import Story
from empathy.discovery import announce_if_lan
from empathy.host.seatmap import SeatMapConfig
from empathy.log import RateLimited
from empathy.transports import open_receiver

log = logging.getLogger("empathy.host.show")
QUEUE_LIMIT = 1000  # operator controls and observers' faults waiting for the show loop

CUE_HZ = 10.0


class Show(StoryBranches, OperatorControls):
    def __init__(self, story: Story, cfg: ShowConfig, keys: dict[int, bytes], cue_key: bytes,
                 frame_log: Path, realtime: bool = True, seatmap: Optional[SeatMapConfig] = None,
                 state_dir: Optional[Path] = None, frame_log_rotation=None,
                 clock: Callable[[], int] = now_us, keeper=None, resumed=None):
        """clock: the show's time in µs, as the samples' timestamps (a long-run simulation
        passes its own, with realtime=False); screen cues always carry the real host clock.
        keeper: writes where the show is (show_position.Keeper); resumed: the Position a
        restarted host goes on from (its segment plays first, on its variables)."""
        from empathy.host.player.player import Player  # GStreamer loads only for a show

        self.story, self.cfg, self.clock = story, cfg, clock
        self.policy = show_policy(cfg.policy, story)  # a learner's state is per story
        self.receiver = open_receiver(cfg.listen)
        # units with uplink "auto" find us, by an announcement signed with the cue key
        self.announcement = announce_if_lan(cfg.listen, cue_key, v1=cfg.announce_v1)
        # Clock-sync requests are answered through the receiver the moment they are read.
        # With a state folder, replay windows and seat locks survive a restart.
        self.intake = Intake(keys, reply=self.receiver.reply, seatmap=seatmap,
                             state_dir=state_dir, clock=clock)
        # Anything that escapes the intake or an observer is contained here: counted by
        # where it happened, logged (rate-limited), and the show goes on.
        self.contained: Counter = Counter()
        self._say = RateLimited(log)
        self.link = LinkCounters(self.intake, self.receiver)  # refused and dropped packets
        self.cues = CueSender(cfg.cue_targets)
        self.cue_signer = wire.CueSigner(cue_key)  # cue_key: the keystore's cue_signing_key
        self.cue_seq = 0
        self.frame = None  # latest FrameInfo from the player thread
        self.lock = threading.Lock()
        self.segment_log: list[dict] = []  # {segment, start_us}
        self.decisions: list[dict] = []
        self.timeline: list[AudienceState] = []
        self._default_lag_s = estimate_lag_s()  # for units that declare none
        self.current = story.start
        self.decided_for: Optional[int] = None  # index in segment_log already decided
        self.prepared_for: Optional[int] = None  # index in segment_log whose options pre-roll
        self.keeper, self.resumed = keeper, resumed
        self._frames_before = 0  # the film its earlier runs showed (run: show_position.py)
        # what the story remembers of choices made
        self.story_vars = dict(resumed.vars if resumed else story.variables)
        self._vars_on_screen = self.story_vars  # ...as the segment on screen began
        self._noted = (0, 0)  # segments and decisions the keeper has written
        self.vars_before = self.story_vars  # ...before the last decision's choice was taken
        self.t0_us = 0
        self._segment_pts_s = 0.0  # the output time of the segment on screen's first frame
        self._last_frame_us: Optional[int] = None  # when the last frame went on screen
        self._measured_until_us: Optional[int] = None  # the credits' end (the last reward's)
        # Observers (dashboard, session recorder, OSC, LSL...) get every event as
        # listener(kind, data). kinds: "samples" (list of SeatSample), "state" (AudienceState),
        # "segment" ({segment, at_s}), "decision" (dict as in summary), "frame" (FrameInfo,
        # player thread), "control" ({action, value, by, at_s}: an operator control that
        # took effect). A failing listener is logged and dropped, never the show.
        self.listeners: list[Callable[[str, object], None]] = []
        # Operator controls arrive from other threads (dashboard, API) and are applied by
        # the show loop, so the story position only ever changes in one place.
        self.controls: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self.faults: queue.Queue = queue.Queue(QUEUE_LIMIT)  # report(): observers' faults
        self.forced: Optional[str] = None  # option the operator wants at its next decision
        self.killed = False  # kill switch: the director's default cut from now on
        self.grade_strength = 1.0
        self.rehearsal = None  # a rehearsal's push on a simulated audience (host/rehearsal.py)
        self.ending = threading.Event()  # stop(): end the show at the next loop turn
        self.player = Player(cfg.output, cfg.width, cfg.height, cfg.fps, frame_log,
                             on_frame=self._on_frame, on_need_next=self._need_next,
                             realtime=realtime, frame_log_rotation=frame_log_rotation,
                             clock=lambda: time.time() + (self.clock() - now_us()) / 1e6)
        # every grade the story can call for, read before the lights go down
        self.player.preload([self._clip(sid) for sid in story.segments])

    def subscribe(self, listener: Callable[[str, object], None]) -> None:
        self.listeners.append(listener)

    def _emit(self, kind: str, data) -> None:
        for fn in list(self.listeners):
            try:
                fn(kind, data)
            except Exception:
                log.exception("listener %r failed on %s; removed", fn, kind)
                self.listeners.remove(fn)

    def report(self, event: dict) -> None:
        """Any thread: a fault to tell the operator (a "health" event at the next pump)."""
        try:
            self.faults.put_nowait(event)
        except queue.Full:
            self.contained["faults_dropped"] += 1

    # -- player callbacks (player thread) ----------------------------------------------
    def _on_frame(self, info) -> None:
        new, t = None, self.clock()
        with self.lock:
            self._last_frame_us = t
            if not self.segment_log or info.play != self.frame.play:  # a clip (re)started
                new = {"segment": info.clip_id, "start_us": t, "at_s": (t - self.t0_us) / 1e6}
                self.segment_log.append(new)
                self.current, self._segment_pts_s = info.clip_id, info.pts_s
                self._vars_on_screen = self.story_vars
            self.frame = info
        if new:
            self._emit("segment", new)
            if abs(info.strength - self.grade_strength) > 0.01:
                # Queued before the operator changed the grade strength: bring it in line.
                self.player.set_grade(self.story.segments[info.clip_id].lut,
                                      self.grade_strength, fade_s=0.5)
        self._emit("frame", info)

    # -- screen cues -------------------------------------------------------------------
    def use_keystore(self, ks) -> None:
        """The host keystore changed: sign cues with its cue key (`keys cue-key` rotated it)."""
        signer = wire.CueSigner(ks.cue_signing)
        if signer.public != self.cue_signer.public:
            self.cue_signer = signer
            if self.announcement:  # units that start with the new keystore find us
                self.announcement.sign(ks.cue_signing)
            log.info("screen cues: new cue key in use")

    def _send_cue(self) -> None:
        f = self.frame
        if f is None or not self.cues.addrs:
            return
        cue = wire.ScreenCue(self.cue_seq, now_us() & wire.TS_MASK, f.clip_id,
                             int(f.clip_t_s * 1000), f.luminance)
        self.cue_seq += 1
        self.cues.send(wire.encode_cue(cue, self.cue_signer))

    # -- main loop ---------------------------------------------------------------------
    def stop(self) -> None:
        """End the show cleanly (service stop): run() returns its summary."""
        self.ending.set()

    def pump(self, timeout_s: float = 0.02) -> None:
        """Take in whatever packets arrived; tell observers about the accepted samples.
        Operator controls waiting in the queue are applied here too. Nothing a network
        peer sends gets out of here: a failure is contained, counted and logged."""
        self._apply_controls()
        try:
            accepted = self.intake.feed(self.receiver.recv_batch(timeout_s=timeout_s))
        except Exception:
            accepted = self._contain("intake")
        if accepted and self.listeners:
            self._emit("samples", accepted)
        # "health": {event: unit_quiet|unit_back|sensor_quiet|sensor_back|unit_logins|
        # unit_twice|unit_behind|seat_moved|unit_release|unit_updated, unit, ...} and the player's {event: media_fault|
        # lut_fault, ...}
        faults = []
        for q in (self.player.faults, self.faults):
            while not q.empty():
                faults.append(q.get_nowait())
        try:
            events = self.intake.check_health(self.receiver.take_gone()) + self.link.drops_event()
        except Exception:
            events = self._contain("health")
        for event in events + faults:
            log.warning("health: %s", event, extra=event)
            self._emit("health", event)

    def _contain(self, where: str) -> list:
        self.contained[where] += 1
        self._say(logging.ERROR, "contained a failure in the %s (%d so far); the show goes on",
                  where, self.contained[where], exc_info=True)
        return []

    def run(self, duration_s: float, progress: Optional[Callable[[float], None]] = None) -> dict:
        self.t0_us = self.clock()
        if not self.ending.is_set():  # stopped before the film (a demo's Ctrl-C): none plays
            self.player.start(self._first_clip())
        next_cue = next_state = self.clock() / 1e6
        # The show lasts duration_s of film (frames shown), however long the player takes to
        # start; the wall-clock cap only guards against a player that never shows anything.
        # A resumed show plays what is left of it: the limit is the show's, not each run's
        # (each restart granted the whole limit again: tests/redteam/test_ops27_resume.py)
        self._frames_before = round(self.resumed.shown_s * self.cfg.fps) if self.resumed else 0
        frames_due = int(round(duration_s * self.cfg.fps)) - self._frames_before
        if frames_due <= 0:
            log.info("show: its duration_s (%g s) of film was shown before the restart: over",
                     duration_s)
        hard_end = time.monotonic() + max(0, frames_due) / self.cfg.fps + 30 \
            + self.cfg.reward_latency_s
        credits_end = None  # the story has ended: show seconds until the audience is let go
        self._keep_position(force=True)  # a --fresh start forgets the old position now
        try:
            while time.monotonic() < hard_end and not self.ending.is_set():
                self.pump(timeout_s=0.02)
                self._keep_position()
                t = self.clock() / 1e6
                if t >= next_cue and credits_end is None:
                    self._send_cue()
                    next_cue += 1 / CUE_HZ
                if t >= next_state:
                    self._take_state()
                    next_state += 1 / STATE_HZ
                    self._learn(final=False)  # rewards whose window has just closed
                if credits_end is not None:
                    if t >= credits_end:
                        # The 2 Hz grid may have left the last window's final half second
                        # unread: one state at its very end closes it.
                        if not self.timeline or self.timeline[-1].ts_us < self.clock() - 50_000:
                            self._take_state()
                        self._measured_until_us = self._closing_state_us(int(credits_end * 1e6))
                        break
                    continue
                self._queue_next()
                shown = self.frame.index + 1 if self.frame else 0
                if progress:
                    progress(min(duration_s, (self._frames_before + shown) / self.cfg.fps))
                if shown >= frames_due:
                    self._film_over()
                    break
                if self.player.wait(0):
                    # The story ended (no loop). The audience is still in its seats (the
                    # credits): measure on for the reward latency, so the last segment is
                    # judged on its whole shifted window, not on the part before the end.
                    credits_end = self._film_end_s(t) + self.cfg.reward_latency_s
                    self._film_over()
        finally:
            self.player.stop()
            self.player.wait(30)
            # Packets still in flight at the end are counted, not lost.
            self.pump(timeout_s=0.2)
            try:
                self.intake.save_state()
            except OSError as e:
                log.error("cannot save the intake's state: %s", e)
            self.receiver.close()
            if self.keeper:
                self.keeper.close()
            if self.announcement:
                self.announcement.close()
            self.cues.close()
        self._learn()
        return self.summary()

    def _film_end_s(self, now_s: float) -> float:
        """When the film left the screen, on the show clock: its last segment's start plus
        the output time its frames took (the screen's own schedule, however late this loop
        noticed the end: a loaded host noticed it later, and the credits ran on longer);
        now, for a player not in real time (its frames keep no schedule)."""
        with self.lock:
            f, seg = self.frame, self.segment_log[-1] if self.segment_log else None
        if f is None or seg is None or not self.player.realtime:
            return now_s
        return seg["start_us"] / 1e6 + f.pts_s - self._segment_pts_s + 1 / self.cfg.fps

    def _closing_state_us(self, end_us: int) -> int:
        """The first state at or after the credits' end (the one that closes the last
        reward's window), or that end if none was taken after it."""
        i = bisect.bisect_left(self.timeline, end_us, key=lambda s: s.ts_us)
        return self.timeline[i].ts_us if i < len(self.timeline) else end_us

    def _take_state(self) -> None:
        state = audience_state(self.intake.seats, self.clock(),
                               entitled=self.intake.owners.entitled,
                               lag_of=self._estimate_lag_s)
        self.timeline.append(state)
        self._emit("state", state)

    def _estimate_lag_s(self, unit: int) -> float:
        """The lag a unit's estimate declared (the edge's default where it declared none):
        what the measured reward undoes for its seats (`audience.audience_state`)."""
        return self.intake.estimate_lag_s(unit, self._default_lag_s)

    def _learn(self, final: bool = True) -> None:
        """Each audience-driven decision gets its reward (how the segment it chose landed) in
        its record once that segment's measurement window has closed, a few seconds into
        what plays next, and a learning policy learns and saves; at the end of the show
        (`final`) what is left is judged on the window so far. Never fails the show."""
        waiting = [d["at_s"] for d in self.decisions if "reward" not in d and d.get("inputs")]
        if not waiting:
            return
        try:
            # Only states after the earliest decision still waiting can judge it.
            since = bisect.bisect_left(self.timeline, self.t0_us + int(min(waiting) * 1e6),
                                       key=lambda s: s.ts_us)
            # after the story's end: judged up to the state that closed the credits
            end_us = self._measured_until_us if final and self._measured_until_us \
                else self.clock()
            learn_from_show(self.policy, self.story, self.decisions, self.segment_log,
                            [asdict(s) for s in itertools.islice(self.timeline, since, None)],
                            self.t0_us, (end_us - self.t0_us) / 1e6, self.cfg.reward_latency_s,
                            final)
        except Exception:
            log.exception("policy %s could not learn from this screening", self.policy.name)

    def summary(self) -> dict:
        p = self.player
        return {
            "packets_received": self.intake.received,
            "packets_accepted": self.intake.accepted,
            "packets_rejected": self.link.rejected(),
            "packets_dropped": self.link.dropped(),
            "contained": dict(self.contained),
            "decisions": self.decisions,
            "segments": self.segment_log,
            "frames_rendered": p.frames_rendered,
            "frames_dropped": p.frames_dropped,
            "frames_late": p.frames_late,
            # when the last frame left the screen, on the show clock as the segments' at_s
            # (frames_rendered / fps is film seconds: less after late frames or a freeze)
            "shown_until_s": None if self._last_frame_us is None else
            (self._last_frame_us - self.t0_us) / 1e6 + 1 / self.cfg.fps,
            "switches": list(p.switches),  # decision -> first frame timing per switch
            "policy": self.policy.name,
            **({"show": self.keeper.pos.show} if self.keeper else {}),
            **({"resumed": {"segment": self.resumed.segment,
                            "was_at_s": self.resumed.offset_s}} if self.resumed else {}),
            "timeline": [asdict(s) for s in self.timeline],
            # each seat's sensor faults as its unit said them, on the show clock
            "seat_faults": self.intake.faults.spans_of(self.t0_us),
        }
