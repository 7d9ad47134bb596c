"""Rules: thresholds with hysteresis, the way a projectionist would run it by hand.

Above `high` the audience is overwhelmed: calm it (the option with the lowest lift). Below
`low` it is drifting: lift it (the highest lift). In between, keep doing what the last
decision did, so an audience hovering at a threshold doesn't make the film lurch back and
forth; before anything has been decided, in between means the director's default.
"""

from __future__ import annotations

from empathy.host.audience import AudienceState
from empathy.host.policy import Choice, default_choice
from empathy.host.story import Decision


class RulesPolicy:
    name = "rules"

    def __init__(self, low: float = 0.2, high: float = 0.6):
        if not low < high:
            raise ValueError(f"rules: low ({low}) must be below high ({high})")
        self.low, self.high = low, high
        self.mode = None  # "calm" | "lift" | None: what the last crossing asked for

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        a = state.arousal
        was = self.mode
        if a > self.high:
            self.mode = "calm"
        elif a < self.low:
            self.mode = "lift"
        where = (f"audience arousal {a:+.2f} ({state.seats_good}/{state.seats_total} seats) "
                 f"against thresholds {self.low:+.2f}/{self.high:+.2f}")
        if self.mode is None:
            return default_choice(decision, f"{where}: in between, nothing crossed yet: "
                                            f"default '{decision.default}'", fallback=False)
        sign = -1.0 if self.mode == "calm" else 1.0
        scores = {o: sign * lift for o, lift in decision.options.items()}
        best = max(scores, key=scores.get)
        why = ("above high: calm it" if a > self.high else "below low: lift it" if a < self.low
               else f"in between: holding '{was}' (hysteresis)")
        return Choice(decision.id, best, scores,
                      f"{where}; {why} with '{best}' (lift {decision.options[best]:+.2f})")
