"""The show: receive -> fuse -> decide -> play, on the host.

One loop owns the story position. The player runs on its own threads and tells us every
frame it shows; from that we send screen cues to the edge units and decide each branch
when its measurement window closes. If no decision is ready when a segment ends (or
anything fails), the player is handed the decision's default: the screen never goes dark.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from empathy import wire
from empathy.clock import now_us
from empathy.host.audience import AudienceState, audience_state
from empathy.host.policy import Choice, decide, default_choice, make_policy
from empathy.host.receive import Intake
from empathy.host.story import Story
from empathy.transports import open_receiver

log = logging.getLogger("empathy.host.show")

CUE_HZ = 10.0
STATE_HZ = 2.0


@dataclass
class ShowConfig:
    listen: str = "udp://127.0.0.1:47100"
    output: str = "auto"  # file:PATH | window | kms | nv3d | auto
    width: int = 640
    height: int = 360
    fps: float = 25.0
    policy: str = "arc"
    loop: bool = True  # a kiosk starts the story again at its end
    min_good_fraction: float = 0.25
    cue_targets: list[str] = field(default_factory=list)  # "host:port" of edge units

    def validate(self):
        if self.width < 16 or self.height < 16 or not 1 <= self.fps <= 120:
            raise ValueError("width/height must be >= 16 and fps within 1..120")
        make_policy(self.policy)


class Show:
    def __init__(self, story: Story, cfg: ShowConfig, keys: dict[int, bytes], show_key: bytes,
                 frame_log: Path, realtime: bool = True):
        from empathy.host.player.player import Player  # GStreamer loads only for a show

        self.story, self.cfg, self.show_key = story, cfg, show_key
        self.policy = make_policy(cfg.policy)
        self.receiver = open_receiver(cfg.listen)
        # Clock-sync requests are answered through the receiver the moment they are read.
        self.intake = Intake(keys, reply=self.receiver.reply)
        self.cue_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.cue_addrs = [(h, int(p)) for h, p in (t.rsplit(":", 1) for t in cfg.cue_targets)]
        self.cue_seq = 0
        self.frame = None  # latest FrameInfo from the player thread
        self.lock = threading.Lock()
        self.segment_log: list[dict] = []  # {segment, start_us}
        self.decisions: list[dict] = []
        self.timeline: list[AudienceState] = []
        self.current = story.start
        self.pending: Optional[Choice] = None
        self.decided_for: Optional[int] = None  # index in segment_log already decided
        self.t0_us = 0
        # Observers (dashboard, session recorder, OSC, LSL...) get every event as
        # listener(kind, data). kinds: "samples" (list of SeatSample), "state" (AudienceState),
        # "segment" ({segment, at_s}), "decision" (dict as in summary), "frame" (FrameInfo,
        # player thread). A failing listener is logged and dropped, never the show.
        self.listeners: list[Callable[[str, object], None]] = []
        self.player = Player(cfg.output, cfg.width, cfg.height, cfg.fps, frame_log,
                             on_frame=self._on_frame, on_need_next=self._need_next,
                             realtime=realtime)

    def subscribe(self, listener: Callable[[str, object], None]) -> None:
        self.listeners.append(listener)

    def _emit(self, kind: str, data) -> None:
        for fn in list(self.listeners):
            try:
                fn(kind, data)
            except Exception:
                log.exception("listener %r failed on %s; removed", fn, kind)
                self.listeners.remove(fn)

    # -- player callbacks (player thread) ----------------------------------------------
    def _on_frame(self, info) -> None:
        new = None
        with self.lock:
            if not self.segment_log or info.clip_id != self.segment_log[-1]["segment"] \
                    or info.clip_t_s < self.frame.clip_t_s:
                new = {"segment": info.clip_id, "start_us": now_us(),
                       "at_s": (now_us() - self.t0_us) / 1e6}
                self.segment_log.append(new)
                self.current = info.clip_id
            self.frame = info
        if new:
            self._emit("segment", new)
        self._emit("frame", info)

    def _need_next(self, clip):
        """The segment ended with no next clip queued: use the default (fault path)."""
        seg = clip.id
        d = self.story.decision_after(seg)
        if d:
            log.warning("decision %s not ready at end of %s: default %s", d.id, seg, d.default)
            self._record(default_choice(d, "fallback: no decision before the segment ended"))
            return self._clip(d.default)
        nxt = self.story.segments[seg].next or (self.story.start if self.cfg.loop else None)
        return self._clip(nxt) if nxt else None

    # -- helpers -----------------------------------------------------------------------
    def _clip(self, seg_id: str):
        from empathy.host.player.player import Clip

        s = self.story.segments[seg_id]
        return Clip(s.id, s.media, s.lut)

    def _record(self, choice: Choice) -> None:
        entry = {"at_s": round((now_us() - self.t0_us) / 1e6, 3), "decision": choice.decision,
                 "chosen": choice.chosen, "reason": choice.reason, "scores": choice.scores,
                 "fallback": choice.fallback}
        self.decisions.append(entry)
        self._emit("decision", entry)
        log.info("decision %s -> %s: %s", choice.decision, choice.chosen, choice.reason)

    def _send_cue(self) -> None:
        f = self.frame
        if f is None or not self.cue_addrs:
            return
        cue = wire.ScreenCue(self.cue_seq, now_us() & wire.TS_MASK, f.clip_id,
                             int(f.clip_t_s * 1000), f.luminance)
        self.cue_seq += 1
        data = wire.encode_cue(cue, self.show_key)
        for addr in self.cue_addrs:
            try:
                self.cue_sock.sendto(data, addr)
            except OSError:
                pass

    def _queue_next(self) -> None:
        """Once per segment: queue its successor, deciding when the window closes."""
        with self.lock:
            idx, f = len(self.segment_log) - 1, self.frame
        if f is None or self.decided_for == idx:
            return
        seg = f.clip_id
        d = self.story.decision_after(seg)
        if d is None:
            nxt = self.story.segments[seg].next or (self.story.start if self.cfg.loop else None)
            if nxt:
                self.player.set_next(self._clip(nxt))
            self.decided_for = idx
        elif f.clip_t_s >= d.window_s[1]:
            state = audience_state(self.intake.seats, now_us(),
                                   window_s=d.window_s[1] - d.window_s[0])
            choice = decide(self.policy, d, state, self.cfg.min_good_fraction)
            self._record(choice)
            self.player.set_next(self._clip(choice.chosen))
            self.decided_for = idx

    # -- main loop ---------------------------------------------------------------------
    def pump(self, timeout_s: float = 0.02) -> None:
        """Take in whatever packets arrived; tell observers about the accepted samples."""
        accepted = self.intake.feed(self.receiver.recv_batch(timeout_s=timeout_s))
        if accepted and self.listeners:
            self._emit("samples", accepted)
        # "health": {event: unit_quiet|unit_back|sensor_quiet|sensor_back, unit, ...}
        for event in self.intake.check_health(self.receiver.take_gone()):
            log.warning("health: %s", event, extra=event)
            self._emit("health", event)

    def run(self, duration_s: float, progress: Optional[Callable[[float], None]] = None) -> dict:
        self.t0_us = now_us()
        self.player.start(self._clip(self.story.start))
        next_cue = next_state = time.monotonic()
        end = time.monotonic() + duration_s
        try:
            while time.monotonic() < end:
                self.pump(timeout_s=0.02)
                t = time.monotonic()
                if t >= next_cue:
                    self._send_cue()
                    next_cue += 1 / CUE_HZ
                if t >= next_state:
                    state = audience_state(self.intake.seats, now_us())
                    self.timeline.append(state)
                    self._emit("state", state)
                    next_state += 1 / STATE_HZ
                self._queue_next()
                if progress:
                    progress(min(duration_s, duration_s - (end - t)))
                if self.player.wait(0):
                    break  # the story ended (no loop)
        finally:
            self.player.stop()
            self.player.wait(30)
            # Packets still in flight at the end are counted, not lost.
            self.pump(timeout_s=0.2)
            self.receiver.close()
            self.cue_sock.close()
        return self.summary()

    def summary(self) -> dict:
        p = self.player
        return {
            "packets_received": self.intake.received,
            "packets_accepted": self.intake.accepted,
            "packets_rejected": dict(self.intake.rejected),
            "decisions": self.decisions,
            "segments": self.segment_log,
            "frames_rendered": p.frames_rendered,
            "frames_dropped": p.frames_dropped,
            "frames_late": p.frames_late,
            "policy": self.policy.name,
            "timeline": [asdict(s) for s in self.timeline],
        }
