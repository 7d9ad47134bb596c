"""A simulated person's sensors under the nuisances of a real room (sim/viewer.py, offline)."""

from __future__ import annotations

import numpy as np

from empathy.edge.heart import ppg_peaks
from empathy.sensors.base import Beat, FaceCrop, Health, Pupil
from empathy.sim.faces import render_face
from empathy.sim.impact import Impact
from empathy.sim.nuisance import Activity
from empathy.sim.ppg import PulseWave
from empathy.sim.viewer import SimViewer

DT = 0.02


class Scripted:
    """Stands in for sim/nuisance.py: the activity a test wants at each moment."""

    def __init__(self, script):
        self.script = script

    def step(self, t_s, dt):
        return self.script(t_s)


def _run(v: SimViewer, seconds: float, lum=lambda t: 0.3) -> list:
    out = []
    for i in range(1, int(seconds / DT) + 1):
        t_us = i * 20_000
        v.step(t_us, DT, ("scene", i * DT, lum(i * DT)), Impact(), 0.0, out)
    return out


def test_a_loose_strap_says_so_and_its_intervals_go_wrong():
    v = SimViewer(21, 0, 0, nuisance=0)
    v.nuisance = Scripted(lambda t: Activity(strap_loose=20 <= t < 40))
    out = _run(v, 60)
    contact = [(r.ts_us / 1e6, r.contact) for r in out if isinstance(r, Health)]
    assert [c for _, c in contact] == [False, True] and 19.9 < contact[0][0] < 20.1
    beats = [(r.ts_us / 1e6, r.rr_ms) for r in out if isinstance(r, Beat)]
    good = [rr for t, rr in beats if t < 20 or t > 41]
    loose = [rr for t, rr in beats if 21 <= t < 40]
    med = np.median(good)
    assert len(loose) < 0.7 * len([t for t, _ in beats if t < 19])  # beats missed
    wrong = np.mean([abs(rr - med) > 0.3 * med for rr in loose])
    assert wrong > 0.3 and np.mean([abs(rr - med) > 0.3 * med for rr in good]) < 0.02


def test_a_viewer_who_leaves_gives_nothing_until_back():
    v = SimViewer(22, 0, 0, render=render_face, eda=True, nuisance=0)
    v.nuisance = Scripted(lambda t: Activity(away=10 <= t < 20))
    out = _run(v, 30)
    during = [r for r in out if 10.05 <= r.ts_us / 1e6 < 20 and not isinstance(r, Health)]
    assert not during
    assert [r.contact for r in out if isinstance(r, Health)] == [False, True]
    after = [r for r in out if r.ts_us / 1e6 >= 21]
    assert {Beat, Pupil, FaceCrop} <= {type(r) for r in after}


def test_a_hand_hides_the_face_and_movement_loses_the_pupil():
    v = SimViewer(23, 0, 0, render=render_face, nuisance=0)
    v.nuisance = Scripted(lambda t: Activity(occluded=5 <= t < 10, move=1.0 if 15 <= t < 20 else 0))
    out = _run(v, 25)
    faces = [r.ts_us / 1e6 for r in out if isinstance(r, FaceCrop)]
    assert not [t for t in faces if 5.05 <= t < 10] and len([t for t in faces if t < 5]) >= 45
    lost = lambda a, b: np.mean([r.confidence == 0 for r in out  # noqa: E731
                                 if isinstance(r, Pupil) and a <= r.ts_us / 1e6 < b])
    assert lost(15, 20) > lost(0, 5) + 0.2


def test_the_screen_lights_the_face():
    v = SimViewer(24, 0, 0, render=render_face, nuisance=0)
    out = _run(v, 20, lum=lambda t: 0.9 if t < 10 else 0.05)
    bright = [r.image.mean() for r in out if isinstance(r, FaceCrop) and r.ts_us < 9e6]
    dark = [r.image.mean() for r in out if isinstance(r, FaceCrop) and r.ts_us > 11e6]
    assert np.mean(dark) < 0.75 * np.mean(bright)


def test_movement_buries_the_pulse_for_the_real_beat_detector():
    def detect(move):
        rng = np.random.default_rng(5)
        w = PulseWave(100.0, rng, 0.0)
        t, beats = 0.5, []
        while t < 60:
            beats.append(t)
            w.add_beat(t, 850.0)
            t += 0.85
        x = w.render(60.0, move, move > 0, 0.0)
        found = ppg_peaks(x, 100.0).idx / 100.0
        true = np.array(beats) + w.ptt
        hits = sum(np.min(np.abs(true - f)) < 0.25 for f in found)
        return hits / len(true), len(found) / len(true)

    still, moving = detect(0.0), detect(1.0)
    assert still[0] > 0.95 and 0.95 < still[1] < 1.05
    assert moving[0] < still[0] - 0.1 or abs(moving[1] - 1) > 0.15


def test_the_edge_never_picks_the_model_trained_on_rendered_faces(tmp_path):
    from empathy.edge.expression import DEFAULT_MODEL
    from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
    from empathy.keys import Keystore

    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    cfg = EdgeConfig(unit_id=1, uplink="udp://127.0.0.1:9", keystore=str(tmp_path / "k.toml"),
                     seq_file=str(tmp_path / "seq"), sync_hz=0,
                     seats=[SeatConfig(1, "sim://seat?seed=1")])
    unit = EdgeUnit(cfg)
    try:
        assert unit.features[0].model.model.path == DEFAULT_MODEL
    finally:
        unit.close()


def test_a_shock_fires_once_however_the_screen_position_jitters():
    from empathy.sim.mind import Mind, draw_crowd

    mind, rng = Mind(draw_crowd(np.random.default_rng(1), 3)), np.random.default_rng(2)
    imp = Impact(((0.0, 0.2), (10.0, 0.2)), 0.0, (2.0,))
    fired = []
    for i in range(400):  # cues arrive late: the position steps back 60 ms now and then
        t = i * 0.02 - (0.06 if i % 7 == 0 else 0.0)
        fired.append(mind.step(0.02, "chase", t, imp, rng))
    assert sum(f > 0 for f in fired) == 1
    again = [mind.step(0.02, "chase", i * 0.02, imp, rng) for i in range(200)]  # replayed
    assert sum(f > 0 for f in again) == 1 and 0 < max(again) < max(fired)  # habituated
