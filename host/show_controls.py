"""The operator's controls of a running show (dashboard, API, OSC): force a branch, the
kill switch, the grade's strength, the policy's learning, a rehearsal's audience.

They arrive from other threads and are checked there (a wrong one is a ValueError with the
reason), then queued and applied by the show loop (`_apply_controls`, at each pump), so the
story position only ever changes in one place. Mixed into `show.Show`, whose state they act
on.
"""

from __future__ import annotations

import logging
import math
import queue
from typing import Optional

from empathy.host.policy import Choice, default_choice

log = logging.getLogger("empathy.host.show")  # the show's log, as before the split


class OperatorControls:
    def _control(self, item: tuple) -> None:
        try:
            self.controls.put_nowait(item)
        except queue.Full:
            raise ValueError("too many operator controls waiting; try again in a moment") \
                from None

    def force_branch(self, option: str, by: str = "operator") -> None:
        """Take `option` at the next decision that offers it, whatever the audience says."""
        if not any(option in d.options for d in self.story.decisions.values()):
            raise ValueError(f"{option!r} is not an option of any decision in this story")
        self._control(("force_branch", option, by))

    def kill_switch(self, on: bool = True, by: str = "operator") -> None:
        """On: the director's default cut now (undoing a branch already queued) and at every
        decision after. Off: the audience decides again."""
        self._control(("kill_switch", bool(on), by))

    def set_grade_strength(self, strength: float, by: str = "operator") -> None:
        """0 = ungraded picture, 1 = the LUT as the colourist made it (0.5 s fade)."""
        if not (isinstance(strength, (int, float)) and not isinstance(strength, bool)
                and math.isfinite(strength)
                and 0.0 <= strength <= 1.0):
            raise ValueError(f"grade strength must be a number within 0..1, got {strength!r}")
        self._control(("grade_strength", float(strength), by))

    def learning(self, action: str, by: str = "operator") -> None:
        """"freeze", "unfreeze" or "reset" what the policy has learned, if it learns."""
        if action not in ("freeze", "unfreeze", "reset"):
            raise ValueError(f"learning action must be freeze, unfreeze or reset, got {action!r}")
        if not callable(getattr(self.policy, action.removeprefix("un"), None)):
            raise ValueError(f"policy {self.policy.name!r} does not learn: nothing to {action}")
        self._control(("learning", action, by))

    def nudge_audience(self, value: float, by: str = "operator") -> None:
        """Rehearsal only: push the simulated audience calmer (-1) or more excited (+1)."""
        from empathy.host.rehearsal import audience_push

        if self.rehearsal is None:
            raise ValueError("this show is not a rehearsal: its audience is real people")
        value = audience_push(value)
        if not self.t0_us:  # their baseline must be them at rest, not pushed
            raise ValueError("the film has not started: the audience is at rest for its "
                             "baseline")
        self.controls.put(("audience", value, by))

    def _operator_choice(self, d) -> Optional[Choice]:
        if self.killed:
            return default_choice(d, "kill switch: the director's default cut", fallback=False)
        if self.forced in d.options:  # cleared once queued: a late choice leaves it forced
            option = self.forced
            return Choice(d.id, option, {o: float(o == option) for o in d.options},
                          f"forced by the operator: '{option}'")
        return None

    def _clear_forced(self, played: str) -> None:
        with self.lock:  # unless the operator has forced another option meanwhile
            if self.forced == played:
                self.forced = None

    def _forced_missed(self, d) -> None:
        """Player thread, the segment ended undecided: the default plays. An option the
        operator forced here that is not the default did not play: it stays forced for the
        next decision that offers it, and the operator is told (a health event)."""
        option = self.forced
        if option == d.default:
            self._clear_forced(option)
        elif option in d.options:  # pump() logs it
            self.report({"event": "forced_branch_fault", "decision": d.id, "option": option,
                         "played": d.default, "why": "the segment ended before the decision; "
                         "still forced at the next decision that offers it"})

    def _apply_controls(self) -> None:
        while True:
            try:
                action, value, by = self.controls.get_nowait()
            except queue.Empty:
                return
            if action == "force_branch":
                with self.lock:
                    self.forced = value
            elif action == "kill_switch":
                self.killed = value
                if value:
                    with self.lock:
                        self.forced = None
                    self._undo_queued_branch()
            elif action == "grade_strength":
                self.grade_strength = value
                lut = self.story.segments[self.current].lut
                self.player.set_grade(lut, value, fade_s=0.5)
            elif action == "audience":
                self.rehearsal.set(value)
            elif action == "learning" and value == "unfreeze":
                self.policy.freeze(False)
            elif action == "learning":
                getattr(self.policy, value)()
            entry = {"action": action, "value": value, "by": by,
                     "at_s": round((self.clock() - self.t0_us) / 1e6, 3) if self.t0_us else 0.0}
            log.info("operator control %s=%s by %s", action, value, by, extra=entry)
            self._emit("control", entry)

    def _undo_queued_branch(self) -> None:
        """Kill switch: if the segment on screen already queued a non-default branch, queue
        the default instead (the player has not switched yet, so nothing is seen)."""
        with self.lock:
            idx, f = len(self.segment_log) - 1, self.frame
        d = self._undoable(f) if self.decided_for == idx else None  # show_branches.py
        if d is not None:
            branch = self.decisions[-1]["chosen"]
            cut = default_choice(d, "kill switch: the director's default cut", fallback=False)
            if not self._offer(d, cut, f.play, self.vars_before):
                log.warning("kill switch: too late to undo %s, it is playing", branch)
