"""The operator's controls, as the API (HTTP or WebSocket) takes them from a client."""

from __future__ import annotations

import json


def parse_json(text: str | bytes):
    """JSON from a client, or ValueError (also for nesting deep enough to blow the stack)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class ControlError(ValueError):
    pass


def apply_control(show, doc: dict, by: str) -> None:
    """One operator control from the API (HTTP or WebSocket); raises ControlError."""
    if not isinstance(doc, dict):
        raise ControlError("a control is a JSON object with an \"action\"")
    action = doc.get("action")
    try:
        if action == "force_branch":
            show.force_branch(str(doc.get("option", "")), by=by)
        elif action == "kill_switch":
            on = doc.get("on", True)
            if not isinstance(on, bool):  # bool("false") is True
                raise ControlError(f"kill_switch's \"on\" must be true or false, got {on!r:.40}")
            show.kill_switch(on, by=by)
        elif action == "grade_strength":
            show.set_grade_strength(doc.get("strength"), by=by)
        elif action in ("freeze_learning", "unfreeze_learning", "reset_learning"):
            show.learning(action.split("_")[0], by=by)
        elif action == "audience":  # a rehearsal's simulated audience, calmer or excited
            show.nudge_audience(doc.get("push"), by=by)
        else:
            raise ControlError(f"unknown action {action!r} (known: force_branch, kill_switch, "
                               "grade_strength, freeze_learning, unfreeze_learning, "
                               "reset_learning, audience)")
    except ValueError as e:
        raise ControlError(str(e)) from None
