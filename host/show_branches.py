"""Where the story goes next: the show's branch decisions, mixed into `show.Show`.

Once per segment the show loop queues its successor (`_queue_next`): the next segment, or,
when the decision's measurement window closes, the option the operator forced or the
policy chose from the audience. The player takes it only while that segment is still on
screen (`_offer`); if the segment ends first, the player asks for its fallback
(`_need_next`, on the player thread) and the decision's default plays. Only what plays is
recorded and changes the story's variables. The show loop also tells the position keeper
where the show is (`_keep_position`), for a host restarted mid-show (show_position.py).
"""

from __future__ import annotations

import logging
import time
from typing import Optional

from empathy.host.audience import audience_state
from empathy.host.policy import Choice, decide, default_choice

log = logging.getLogger("empathy.host.show")  # the show's log, as before the split


class StoryBranches:
    _behind_for: Optional[int] = None  # the segment (segment_log index) _prepare_behind served

    # -- the player's fallback (player thread) ---------------------------------------
    def _need_next(self, clip):
        """The segment ended with no next clip queued: use the default (fault path). Or the
        clip queued next cannot play: a chosen branch gives way to its decision's default."""
        instead = self._failed_branch(clip)
        if instead is not None:
            return instead
        seg = clip.id
        d = self.story.decision_after(seg)
        if d:
            log.warning("decision %s not ready at end of %s: default %s", d.id, seg, d.default)
            d = d.offer(self.story_vars)
            # Its window closed this long ago on the film's clock: the latency it ended with.
            self._record(default_choice(d, "fallback: no decision before the segment ended"),
                         self.story.segments[seg].duration_s - d.window_s[1])
            self._forced_missed(d)
            self.story_vars = d.take(d.default, self.story_vars)
            return self._clip(d.default)
        nxt = self._next_segment(seg)
        return self._clip(nxt) if nxt else None

    def _failed_branch(self, clip):
        """`clip` is not the one on screen, so it is the one queued next, and it failed before
        its first frame. If it is the branch the last decision chose and not its default, the
        default plays instead, and the story forgets the branch (as the kill switch's undo);
        else None: what follows it plays, as for a segment that ended."""
        with self.lock:
            f = self.frame
        d = self._undoable(f, clip.id)
        if d is None:
            return None
        log.warning("decision %s: %s cannot play, the default %s plays instead", d.id, clip.id,
                    d.default)
        self._record(default_choice(d, f"fallback: {clip.id} could not play"))
        self.story_vars = d.take(d.default, self.vars_before)
        return self._clip(d.default)

    def _undoable(self, f, chosen: Optional[str] = None):
        """The decision after frame `f`'s segment, offered as it was before its last choice,
        when that choice was a branch, not the default (and is `chosen`, not on screen,
        when given); else None. A branch that cannot play (`_failed_branch`) and the kill
        switch (`_undo_queued_branch`) put the default in its place on these options, the
        story as if the branch had never been chosen."""
        d = self.story.decision_after(f.clip_id) if f and f.clip_id != chosen else None
        last = self.decisions[-1] if self.decisions else None
        if not d or not last or last["decision"] != d.id or last["chosen"] == d.default \
                or chosen not in (None, last["chosen"]):
            return None
        return d.offer(self.vars_before)

    def _prepare_behind(self, d, idx: int) -> None:
        """The default's prepared clip cannot play: should the segment end undecided, what
        follows the default plays (`_need_next`), so that pre-rolls too, beside the options.
        Else it started only at the switch, the last picture frozen meanwhile."""
        if self._behind_for == idx or not self.player.failed(self._clip(d.default)):
            return
        self._behind_for = idx
        after = self.story.decision_after(d.default)
        behind = after.default if after else self._next_segment(d.default)
        if behind:
            self.player.prepare([self._clip(o) for o in d.offer(self.story_vars).options]
                                + [self._clip(behind)])

    def _next_segment(self, seg: str) -> Optional[str]:
        """What follows a segment with no decision: its `next`, the start for a loop, or
        nothing (the story's end)."""
        return self.story.segments[seg].next or (self.story.start if self.cfg.loop else None)

    # -- the show loop's choice, once per segment -------------------------------------
    def _queue_next(self) -> None:
        """Once per segment: queue its successor, deciding when the window closes. The player
        refuses it if the segment has ended meanwhile: `_need_next` has followed it then."""
        with self.lock:
            idx, f = len(self.segment_log) - 1, self.frame
        if f is None or self.decided_for == idx:
            return
        seg = f.clip_id
        if seg == self.story.start:
            self.story_vars = dict(self.story.variables)  # a new pass through the story
        d = self.story.decision_after(seg)
        if d is None:
            nxt = self._next_segment(seg)
            if nxt:
                self.player.set_next(self._clip(nxt), after=f.play)
            self.decided_for = idx
        elif self.prepared_for != idx:
            # Every option the decision may pick starts decoding now, so whichever is chosen
            # starts on the exact next frame after this segment.
            self.player.prepare([self._clip(o) for o in d.offer(self.story_vars).options])
            self.prepared_for = idx
        elif f.clip_t_s < d.window_s[1]:
            self._prepare_behind(d, idx)
        else:
            started = time.monotonic()
            d = d.offer(self.story_vars)  # only the options the story's conditions allow
            choice = self._operator_choice(d)
            if choice is None:
                state = audience_state(self.intake.seats, self.clock(),
                                       window_s=d.window_s[1] - d.window_s[0],
                                       entitled=self.intake.owners.entitled)
                choice = decide(self.policy, d, state, self.cfg.min_good_fraction)
            # From the window's close on the film's clock (how late this loop saw it) to now.
            latency_s = f.clip_t_s - d.window_s[1] + time.monotonic() - started
            if not self._offer(d, choice, f.play, self.story_vars, latency_s):
                # the fallback's default is what plays, and what the decisions say
                log.warning("decision %s: %s came too late, %s had ended", d.id, choice.chosen,
                            seg)
            self.decided_for = idx

    # -- the player's clips, and the decisions' record ----------------------------------
    def _first_clip(self):
        # a restarted host: the segment the audience was watching, from its start
        return self._clip(self.resumed.segment if self.resumed else self.story.start)

    def _clip(self, seg_id: str):
        from empathy.host.player.captions import (choose, fallback_note, named_language,
                                                  say_once)
        from empathy.host.player.player import Clip

        s = self.story.segments[seg_id]
        subs = choose(s.captions, self.story.captions_language, self.cfg.captions)
        say_once(fallback_note(s.captions, self.story.captions_language, self.cfg.captions),
                 f"segment {s.id!r}")
        return Clip(s.id, s.media, s.lut, self.grade_strength, s.in_s, s.out_s, subs,
                    self.story.media_root or self.story.path.parent, s.rate, s.colour,
                    named_language(s.captions, subs))

    def _offer(self, d, choice: Choice, after: int, vars_from: dict,
               latency_s: Optional[float] = None) -> bool:
        """Offer `choice` (of decision `d`, as offered on `vars_from`) to follow play `after`.
        Only if the player accepts it is it recorded, a force it met used up, and its
        `sets` taken on `vars_from` (kept in `vars_before` for a kill switch that undoes
        it before it plays); refused, nothing changes (`_need_next` followed that play)."""
        at_us = self.clock()  # (before set_next: see _record)
        if not self.player.set_next(self._clip(choice.chosen), after=after):
            return False
        self._record(choice, latency_s, at_us)
        self._clear_forced(choice.chosen)
        self.vars_before = vars_from
        self.story_vars = d.take(choice.chosen, vars_from)
        return True

    def _record(self, choice: Choice, latency_s: Optional[float] = None,
                at_us: Optional[int] = None) -> None:
        """`at_us`: when it was decided (default now): a choice recorded after set_next
        accepted it must carry the time before, or the player may already have switched and
        learning would match it to the segment after the one it chose."""
        at_us = self.clock() if at_us is None else at_us
        entry = {"at_s": round((at_us - self.t0_us) / 1e6, 3), "decision": choice.decision,
                 "chosen": choice.chosen, "reason": choice.reason, "scores": choice.scores,
                 "fallback": choice.fallback, "propensity": choice.propensity,
                 "inputs": choice.inputs}
        if latency_s is not None:  # window close -> choice made (the metrics' histogram)
            entry["latency_s"] = round(latency_s, 4)
        self.decisions.append(entry)
        self._emit("decision", entry)
        # With --log-json the whole record (inputs, scores, propensity) is in the log line.
        log.info("decision %s -> %s: %s", choice.decision, choice.chosen, choice.reason,
                 extra=entry)

    # -- where the show is, for a restarted host (show_position.py) ----------------------
    def _film_over(self) -> None:
        """The story's end, or the show's duration: a start after this is a new show. A
        player that failed keeps it: the restart tries that segment again (3 times)."""
        if self.keeper and not self.player.error:
            self.keeper.finish()

    def _keep_position(self, force: bool = False) -> None:
        """Tell the keeper where the show is: at once for a new segment or decision, else
        every few seconds (show_position.py)."""
        if self.keeper is None:
            return
        with self.lock:
            f, segs, vars_ = self.frame, self.segment_log[self._noted[0]:], self._vars_on_screen
        steps = [f"{d['decision']}={d['chosen']}" for d in self.decisions[self._noted[1]:]]
        steps += [s["segment"] for s in segs]
        self._noted = (self._noted[0] + len(segs), len(self.decisions))
        if f is None and not force:
            return
        pos = self.keeper.pos
        shown = self._frames_before + (f.index + 1 if f else 0)
        self.keeper.note(f.clip_id if f else pos.segment, f.clip_t_s if f else pos.offset_s,
                         vars_, steps, time.monotonic(), force=force or bool(steps),
                         shown_s=shown / self.cfg.fps)
