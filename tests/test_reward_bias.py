"""The reward the show measures must not credit an option for where the audience stood
before it: after the chase of the sample story the edge's late estimate still reads the
crowd hot, and, uncorrected, "arousal near the target" credited the hotter-targeted
option in proportion to the arousal the policy saw at the decision, whatever the crowd
did (docs/story.md "The measured reward after the chase").

Simulated audiences on the policy simulator's tuning seeds (100, 101; reported figures
come from seed 0); the show's own reward window and lag correction (`policy`'s defaults,
`audience.measured_segment_reward`)."""

from pathlib import Path

import numpy as np

from empathy.bench.reward_diagnosis import contrasts
from empathy.host.policy import REWARD_LATENCY_S, estimate_lag_s
from empathy.host.story import load
from empathy.sim import SAMPLE_IMPACT
from empathy.sim.impact import story_impacts

STORY = load(Path(__file__).resolve().parents[1] / "host" / "sample" / "neon_rain.toml",
             check_files=False)
IMPACT = story_impacts(STORY, SAMPLE_IMPACT)
AFTER_CHASE = "arrival/chase"


def _after_chase(lag_s: float, latency_s: float, term: str = "arousal") -> tuple[float, float]:
    """Over seeds 100 and 101 (20 audiences each), at the decision after the chase: the
    mean slope of the term's error (its measured contrast between the two options less its
    hidden one) on the audience arousal the policy saw, and the mean correlation of the
    measured contrast with the hidden one."""
    got = [contrasts(STORY, IMPACT, seed, 20, lag_s, latency_s, term=term)[AFTER_CHASE]
           for seed in (100, 101)]
    return (float(np.mean([c["error_slope"] for c in got])),
            float(np.mean([c["measured_vs_hidden_r"] for c in got])))


def test_the_measured_arousal_term_does_not_follow_the_room_at_the_decision():
    # The show's reward before (uncorrected, 6-s window): slope -0.30, r 0.47 here; the lag
    # undone with the 6-s window: -0.36, 0.45; the 3-s window uncorrected: -0.52, 0.29.
    # The show's reward now (the lag undone, 3-s window): -0.12, 0.72.
    slope, r = _after_chase(estimate_lag_s(), REWARD_LATENCY_S)
    assert slope > -0.2, f"the measured contrast's error follows the decision's arousal ({slope})"
    assert r > 0.65, f"the measured contrast follows the hidden one with r {r} only"


def test_the_measured_synchrony_term_does_not_run_against_the_hidden_one(monkeypatch):
    """Through the edge's lag a hot crowd cooling after the chase reads as a shared,
    near-linear fall, which synchrony's detrending takes out whole: the measured synchrony
    contrast ran against the hidden one and fell with the room's arousal at the decision.
    With each seat's lag undone (`audience.lag_undone_trace`) it does neither as much."""
    from empathy.host import audience

    # Each seat's lag undone, slopes over UNLAG_SPAN_S (15 s): slope -0.14, r -0.19 here.
    slope, r = _after_chase(estimate_lag_s(), REWARD_LATENCY_S, term="synchrony")
    assert slope > -0.2, f"the measured synchrony's error follows the decision's arousal ({slope})"
    assert r > -0.35, f"the measured synchrony contrast runs against the hidden one (r {r})"
    # Not undone (the reward before): slope -0.30, r -0.52.
    monkeypatch.setattr(audience, "UNLAG_SPAN_S", 0.0)
    slope, r = _after_chase(estimate_lag_s(), REWARD_LATENCY_S, term="synchrony")
    assert slope < -0.2 and r < -0.35, (slope, r)


def test_the_measured_reward_undoes_a_first_order_lag():
    """An audience that sits at 0.6 through a segment, read through an estimate that lags it
    as a first-order lag of the declared latency: whether the crowd came in cold (-0.2) or
    hot (0.9), the window's reward is the one the body earned; uncorrected, where the crowd
    came from decided it."""
    from empathy.host.audience import measured_segment_reward, segment_reward

    lag_s, ts = estimate_lag_s(), np.arange(0.0, 10.01, 0.5)
    sync = np.full(len(ts), 0.5)
    body = segment_reward(np.full(len(ts), 0.6), sync, 0.6)
    for before in (-0.2, 0.9):
        seen = 0.6 + (before - 0.6) * np.exp(-ts / lag_s)
        assert abs(measured_segment_reward(ts, seen, sync, 0.6, lag_s) - body) < 0.02
        assert abs(segment_reward(seen, sync, 0.6) - body) > 0.08  # 0.23 cold, 0.09 hot
    # Too short a window to tell its ends apart: nothing to undo.
    assert measured_segment_reward(ts[:4], seen[:4], sync[:4], 0.6, lag_s) == \
        segment_reward(seen[:4], sync[:4], 0.6)
