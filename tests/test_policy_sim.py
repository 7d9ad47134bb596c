"""Audience simulator and offline evaluation: policies on the same simulated audiences,
seeing what the host would fuse, judged against the best fixed plan and the ceiling in
hindsight; off-policy estimates against the truth."""

from dataclasses import replace

import numpy as np
import pytest

from empathy.host.audience import fuse
from empathy.host.policy import Choice, make_policy
from empathy.host.policy_cli import evaluate
from empathy.host.policy_sim import mean_ci, regret_trend
from empathy.sim import audience as sim
from empathy.sim.impact import Impact
from empathy.sim.measurement import MeasurementModel
from empathy.sim.mind import Mind, draw_crowd

from policy_sim_common import CROWDS, CROWDS_IMPACT, IMPACT, PERFECT, STORY


def test_screenings_are_reproducible_and_crowds_differ():
    a, b = sim.screenings(STORY, 40, IMPACT, seed=5), sim.screenings(STORY, 40, IMPACT, seed=5)
    path = ("arrival", "chase")
    assert [s.outcome(path).reward for s in a] == [s.outcome(path).reward for s in b]
    st = a[0].outcome(("arrival",)).state
    assert st.seats_total == 30 and 15 <= st.seats_good <= 30
    assert a[0].outcome(("arrival", "chase", "dawn")).state is None  # dawn ends the story
    # hidden traits decide what lands: some crowds take the chase better, others the hideout
    best = {s.outcome(path).reward > s.outcome(("arrival", "hideout")).reward for s in a}
    assert best == {True, False}
    # crowds that want it hopeful are the ones the dawn lands with, better than the rooftop
    # (the choice it competes in). The dawn's reward alone follows taste only weakly since
    # synchrony is the seats' shared movement (r 0.11 here; 0.62 when it was their mean
    # correlation, which a wandering, disengaged crowd lowered): a calm ending moves an
    # engaged crowd little. Against the rooftop: r 0.57 here, 0.62 on seed 7.
    shows = sim.screenings(STORY, 200, IMPACT, seed=6)
    dawn = [s.outcome(("arrival", "hideout", "dawn")).reward
            - s.outcome(("arrival", "hideout", "rooftop")).reward for s in shows]
    assert np.corrcoef([s.taste.mean() for s in shows], dawn)[0, 1] > 0.4


def test_viewers_carry_their_state_from_segment_to_segment():
    s = sim.screenings(STORY, 1, IMPACT, seed=3)[0]
    # the same segment at the same place in the show lands differently after different
    # histories (arousal and startle habituation carry over)
    assert s.outcome(("arrival", "chase", "rooftop")).reward != \
        s.outcome(("arrival", "hideout", "rooftop")).reward


def test_policies_see_what_the_host_would_fuse_not_the_truth():
    seen = sim.screenings(STORY, 30, IMPACT, seed=8)
    truth = sim.screenings(STORY, 30, IMPACT, seed=8, measure=PERFECT)
    a_seen = np.array([s.outcome(("arrival",)).state.arousal for s in seen])
    a_true = np.array([s.outcome(("arrival",)).state.arousal for s in truth])
    # a perfect sensor path gives the fused hidden state; the measured one is something else,
    # still tied to it through the edge's gain and noise
    assert not np.allclose(a_seen, a_true)
    m = MeasurementModel.load()
    assert np.corrcoef(a_seen, a_true)[0, 1] > (0.2 if m.gain > 0.1 else -1)
    # with a perfect path the state equals fusing the hidden arousal by hand
    s = truth[0]
    mind, _ = s._after(("arrival",))[1:]
    assert s.outcome(("arrival",)).state.seats_good == 30
    assert abs(s.outcome(("arrival",)).state.arousal - fuse(
        0, mind.arousal, mind.valence, [], 30).arousal) < 0.2  # window close vs segment end


def test_hindsight_matches_playing_every_plan_by_hand():
    shows = sim.screenings(CROWDS, 12, CROWDS_IMPACT, seed=4)
    hind = sim.hindsight(CROWDS, shows)
    assert len(hind["plans"]) == 8
    for j, plan in enumerate(hind["plans"]):
        def choose(d, state, plan=plan):
            return Choice(d.id, plan[d.id], {}, "by hand")
        by_hand = [sim.play(s, choose)[0] for s in shows]
        assert np.allclose(hind["rewards"][:, j], by_hand)
    best = int(np.argmax(hind["rewards"].mean(axis=0)))
    assert hind["plan"] == hind["plans"][best]
    assert np.allclose(hind["ceiling"], hind["rewards"].max(axis=1))


@pytest.mark.slow  # 400 screenings and every plan in hindsight: 1-2 min on 2 cores
@pytest.mark.xfail(strict=True, reason="since synchrony takes out the audience's shared fall "
                   "(issue 20) Neon Rain's crowds differ more in what lands: ceiling - best "
                   "fixed 0.040 [0.036, 0.045] on Two Crowds against 0.014 [0.011, 0.017] on "
                   "the sample (seed 9), 2.8 times, not the 3 times at the interval's edges "
                   "asserted; the first assertion (dark crowds take the storm) holds")
def test_two_crowds_want_opposite_branches():
    shows = sim.screenings(CROWDS, 200, CROWDS_IMPACT, seed=9)
    hind = sim.hindsight(CROWDS, shows)
    best_each = np.argmax(hind["rewards"], axis=1)
    taste = np.array([s.taste.mean() for s in shows])
    dark = [hind["plans"][j]["which_way"] == "storm" for j in best_each]
    # the crowds that want it dark are the ones whose best plan starts with the storm. Judged
    # by the show's own reward (windowed synchrony at the state times) a quarter of the
    # bright crowds still land best with the storm: 0.92 / 0.21 here, 0.92 / 0.26 and
    # 0.91 / 0.25 on seeds 21 and 22 (measured when the simulator took the show's reward).
    dark = np.array(dark)
    assert dark[taste < -0.3].mean() > 0.8 and dark[taste > 0.3].mean() < 0.35
    # no fixed plan suits both crowds: choosing per screening gains several times what it
    # gains on the sample story, whose audiences mostly agree (0.045 vs 0.008 when measured)
    gap = mean_ci(hind["ceiling"] - hind["best_fixed"])
    sample = sim.hindsight(STORY, sim.screenings(STORY, 200, IMPACT, seed=9))
    agree = mean_ci(sample["ceiling"] - sample["best_fixed"])
    assert gap["ci95"][0] > 3 * agree["ci95"][1], (gap, agree)


class Blind:
    """A learning policy that sees a blank state: it can learn the best fixed plan at best."""

    def __init__(self, inner):
        self.inner, self.name = inner, "blind"

    def _blank(self, state):
        return replace(state, arousal=0.0, valence=0.0, synchrony=0.0, rise=0.0, spike=0.0)

    def choose(self, decision, state):
        return self.inner.choose(decision, self._blank(state))

    def learn(self, decision, state, option, reward):
        self.inner.learn(decision, self._blank(state), option, reward)


def _trained(policy, shows):
    sim.run_policy(policy, shows)
    getattr(policy, "inner", policy).freeze()
    return policy


def test_learning_beats_the_best_fixed_plan_where_crowds_differ(tmp_path):
    """Learners trained on 25 or 400 screenings, then frozen and judged on 200 audiences they
    never met, against the best fixed plan in hindsight on those very audiences (paired)."""
    train = sim.screenings(CROWDS, 400, CROWDS_IMPACT, seed=11)
    test = sim.screenings(CROWDS, 200, CROWDS_IMPACT, seed=1011)
    best = sim.hindsight(CROWDS, test)["best_fixed"]
    bandit = lambda name: make_policy("bandit", state_path=str(tmp_path / name), seed=11)  # noqa: E731
    judged = {n: sim.run_policy(_trained(bandit(f"b{n}.json"), train[:n]), test, learn=False).reward
              for n in (25, 400)}
    late = mean_ci(best - judged[400])
    assert late["ci95"][1] < 0, late  # it beats the best fixed plan in hindsight
    gain = mean_ci(judged[400] - judged[25])
    assert gain["ci95"][0] > 0, gain  # and its regret shrank with screenings
    # the same learner without the room's state cannot: the state is what it learns from
    blind = sim.run_policy(_trained(Blind(bandit("c.json")), train), test, learn=False).reward
    assert mean_ci(best - blind)["mean"] > -0.005
    assert mean_ci(judged[400] - blind)["ci95"][0] > 0


@pytest.mark.slow  # 1,500 screenings four times over: about 100 s on 2 cores
def test_offline_estimates_from_random_logs_match_the_truth(tmp_path):
    shows = sim.screenings(STORY, 1500, IMPACT, seed=21)
    run = sim.run_policy(make_policy("random", seed=21), shows)
    by_show = {}
    for r in run.log:
        by_show.setdefault(r["screening"], []).append(r)
    logged = list(by_show.values())
    for name in ("default", "rules", "arc"):
        truth = sim.run_policy(make_policy(name), shows).measured.mean()  # what logs hold
        est = evaluate(make_policy(name), STORY, logged)
        # within 3 standard errors of the truth, and the errors small enough to mean it
        assert est["dr_se"] < 0.015 and abs(est["dr"] - truth) < 3 * est["dr_se"], (name, est, truth)
        assert abs(est["ips"] - truth) < 0.08, (name, est, truth)
        assert 200 < est["effective_screenings"] < 600  # about a quarter of the logs agree
    same = evaluate(make_policy("random"), STORY, logged)
    assert same["ips"] == same["logged"] and same["effective_screenings"] == len(logged)


def test_the_regret_trend_tells_learning_from_noise():
    """Regret that falls by 0.05 over 500 screenings under noise of sd 0.1 reads as
    shrinking (change and slope below 0, their intervals too); flat regret does not."""
    rng = np.random.default_rng(0)
    falling = regret_trend(np.linspace(0.06, 0.01, 500) + rng.normal(0, 0.1, 500))
    assert falling["change"]["ci95"][1] < 0 and falling["slope_per_100"]["ci95"][1] < 0
    assert -0.01 * 1.5 < falling["slope_per_100"]["mean"] < -0.01 / 1.5  # 0.05 per 500
    flats = [regret_trend(0.03 + rng.normal(0, 0.1, 500)) for _ in range(40)]
    held = sum(f["slope_per_100"]["ci95"][0] <= 0 <= f["slope_per_100"]["ci95"][1] for f in flats)
    assert held >= 34  # a 95 % interval holds the true 0 about 38 times in 40
    assert regret_trend(np.zeros(3)) == {}  # too few screenings to say


def test_the_measurement_fit_recovers_a_known_sensor_path():
    """`empathy policy measure`'s fit, on seats seen through a known model."""
    from empathy.host.policy_measure import SeatRecord, fit

    known = MeasurementModel(0.8, 3.0, 0.15, 0.2, 0.6, 0.3, 0.1, 1.0)
    rng = np.random.default_rng(0)
    records = []
    for _ in range(24):
        t = np.arange(1800) / 10
        a = np.convolve(rng.normal(0, 1, 1800), np.ones(40) / 8, "same")  # slow wander
        v = np.sin(t / 7 + rng.uniform(0, 6)) * 0.5
        seen = known.start(1, rng)
        ea, ev, _ = seen.see(a[None], v[None], 0.1, rng)
        records.append(SeatRecord(a, v, ea[0], ev[0], np.ones(1800, bool)))
    got, quality = fit(records)
    assert got["gain"] == pytest.approx(0.8, rel=0.1) and got["lag_s"] == pytest.approx(3.0, abs=0.5)
    assert got["offset_sd"] == pytest.approx(0.15, rel=0.4)
    assert got["noise_sd"] == pytest.approx(0.2, rel=0.15)
    assert got["noise_rho_1s"] == pytest.approx(0.6, abs=0.1)
    assert got["valence_gain"] == pytest.approx(0.3, abs=0.05) and quality["seats"] == 24


def test_a_bad_measurement_model_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text("[model]\ngain = 1\n")
    with pytest.raises(ValueError, match="model.lag_s must be a number"):
        MeasurementModel.load(bad)


def test_each_decision_is_taught_its_own_segments_reward():
    """A learner is taught, for every decision, the reward of the segment that decision
    chose. (The last segment's measured reward was once cached under its predecessor's key
    and taught the predecessor's reward.) With perfect, instant sensors the measured reward
    is how the segment landed, but for the edge's clipping of arousal to -1..1 (no window
    shift, and no lag for the reward to undo)."""
    shows = sim.screenings(STORY, 12, IMPACT, seed=13, measure=PERFECT, latency_s=0.0,
                           lag_s=0.0)
    got, want = [], []
    path = ("arrival", "hideout", "dawn")
    for s in shows:
        for k in (1, 2):
            fresh = sim.segment_reward(*s.window_states(path, k, "seen", 0.0),
                                       STORY.segments[path[k]].target_arousal)
            assert s.measured(path, k) == fresh, (k, path)
        assert s.measured(path, 1) != s.measured(path, 2)
        _, _, recs = sim.play(s, lambda d, st: Choice(d.id, d.default, {}, "default"))
        got += [r["reward"] for r in recs]
        want += [r["hidden_reward"] for r in recs]
    assert np.corrcoef(got, want)[0, 1] > 0.95 and np.mean(np.abs(np.subtract(got, want))) < 0.03


def test_the_last_segments_window_runs_on_after_the_film():
    """The show measures on through the credits for the reward latency (host/show.py), so the
    simulator does too: the story's last segment is judged on its whole shifted window, as
    long as a segment another one follows, reaching into the audience after the film. (Cut at
    the film's end, a 9-s latency left 1 s of a 10-s segment's window.)"""
    s = sim.screenings(STORY, 1, IMPACT, seed=13, latency_s=9.0)[0]
    path = ("arrival", "chase", "rooftop")
    mid, last = (s.window_states(path, k, "seen", 9.0) for k in (1, 2))
    assert len(last[0]) == len(mid[0]) == 20  # 10 s of states at 2 a second
    # the audience after the film carries on from where the last segment left it
    after, before = s.outcome(path + (sim.END,)).hidden, s.outcome(path).hidden
    assert after.shape[1] >= 9.0 * sim.RATE_HZ
    assert np.abs(after[:, 0] - before[:, -1]).max() < 0.2


def test_a_crowd_played_a_segment_at_once_moves_as_stepped_one_step_at_a_time():
    """`Mind.play` (the audience simulator's fast path) gives bit for bit what `Mind.step`
    (a seat's, one 50 Hz step at a time) gives: through shocks, a nudge and a new clip."""
    imp = Impact(tension=((0, 0.1), (5, 0.9), (9, 0.3)), valence=-0.4, shocks=(1.0, 2.0, 2.0))
    traits = draw_crowd(np.random.default_rng(1), 30)
    stepped, played = Mind(traits), Mind(traits)
    r1, r2 = np.random.default_rng(2), np.random.default_rng(2)
    for clip, nudge in (("a", 0.0), ("b", 0.3)):
        ts = np.arange(120) * 0.1
        rows = []
        for c in ts:
            strength = stepped.step(0.1, clip, c, imp, r1, nudge)
            rows.append((stepped.arousal, stepped.valence.copy(), strength))
        a, v, strengths = played.play(0.1, clip, ts, imp, r2, nudge)
        assert np.array_equal(a, [r[0] for r in rows]) and np.array_equal(v, [r[1] for r in rows])
        assert strengths == [r[2] for r in rows] and sum(s > 0 for s in strengths) == 2
    assert np.array_equal(stepped.x, played.x) and np.array_equal(stepped.shock, played.shock)
    assert stepped.shocks_seen == played.shocks_seen == 6
    assert r1.random() == r2.random()  # as many random numbers drawn
