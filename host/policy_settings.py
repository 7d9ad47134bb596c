"""What a config or a command line names of the policies, without loading them (numpy, the
audience model): their names and the measured reward's latency (`[show] policy` and
`reward_latency_s`, `--policy` choices). The registry is host/policy.py's."""

from __future__ import annotations

POLICY_NAMES = ("default", "rules", "arc", "bandit", "random")

# Where a segment's reward is measured: what the show sees of the audience answers a scene
# seconds after it plays. The body answers first (a skin-conductance response starts 1-3 s
# after its stimulus and rises for 1-3 s more: Dawson, Schell & Filion 2007, Handbook of
# Psychophysiology ch. 7; Boucsein 2012, Electrodermal Activity; the cardiac response to an
# emotional picture peaks 3-6 s after its onset: Bradley, Codispoti, Cuthbert & Lang 2001,
# Emotion 1(3)); then the edge's estimate, which aligns every signal on the heart's and
# declares that it shows the body 9 s before it is sent (`edge.latency.ESTIMATE_LATENCY_S`,
# docs/evaluation.md), and whose windows smooth a rise over seconds. The reward reads that
# smoothed rise as a first-order lag of the declared latency and undoes it
# (`audience.measured_segment_reward`); what is left to shift the window by is the part a
# lag does not model: 3 s, chosen on the policy simulator's tuning seeds 100-104 among 0,
# 3 and 6 s with the lag undone (docs/story.md "The measured reward after the chase"; 6 s,
# chosen among 4-9 s before the lag was undone, left a crowd's state before the segment in
# its window). The host's `[show] reward_latency_s` sets it.
REWARD_LATENCY_S = 3.0
MAX_REWARD_LATENCY_S = 15.0


def check_name(name: str) -> None:
    if name not in POLICY_NAMES:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICY_NAMES)})")
