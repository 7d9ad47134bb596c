"""Arc tracking: keep the audience on the screenplay's arc, telling tension from shock.

The predicted arousal after an option is the measured arousal plus the option's expected
lift; the nearer the arc's aim for that option (the story's aim_arousal, or the option
segment's own target from the screenplay), the better. A rise that held over the window is tension; a
spike that faded before the window closed was a shock. An audience that only startles
(spike larger than its sustained rise) is not being carried by the story, so pushing it
harder mostly buys more fading shocks: options that lift are penalised by that gap.
"""

from __future__ import annotations

from empathy.host.audience import AudienceState
from empathy.host.policy import Choice
from empathy.host.story import Decision

SHOCK_WEIGHT = 1.0


class ArcPolicy:
    name = "arc"

    def choose(self, decision: Decision, state: AudienceState) -> Choice:
        shock = max(0.0, state.spike - max(0.0, state.rise))
        scores = {o: -abs(state.arousal + lift - decision.aim(o))
                  - SHOCK_WEIGHT * shock * max(0.0, lift)
                  for o, lift in decision.options.items()}
        best = max(scores, key=scores.get)
        lift = decision.options[best]
        reason = (f"audience arousal {state.arousal:+.2f} ±{state.arousal_se:.2f} "
                  f"({state.seats_good}/{state.seats_total} seats); arc aims at "
                  f"{decision.aim(best):+.2f} for '{best}', and its lift ({lift:+.2f}) lands "
                  f"nearest, at {state.arousal + lift:+.2f}")
        if shock > 0.05:
            reason += (f"; a {state.spike:+.2f} spike faded against a {state.rise:+.2f} "
                       f"sustained rise: shock, not tension, so lifting options lose "
                       f"{SHOCK_WEIGHT * shock:.2f} per unit of lift")
        return Choice(decision.id, best, scores, reason)
