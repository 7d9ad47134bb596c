"""Viewer light response: grey levels through the real player, pupil recorded, model fitted."""

from __future__ import annotations

import io
import json
import time
import tomllib
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import empathy.sim.seat as sim_seat
from empathy.calibration.light import LEVELS, STEP_S, grey_clips, light_calibrate
from empathy.calibration.screen import ScreenTrace, play_and_record
from empathy.cli import main
from empathy.host.player.decode import Decoder
from empathy.edge.pupil import light_drive
from empathy.sensors.base import Pupil
from empathy.sim.seat import SimSource, Viewer


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The grey sequence through the real player as fast as it decodes (file output)."""
    d = tmp_path_factory.mktemp("light")
    frames, _ = play_and_record(grey_clips(d), f"file:{d / 'screen.mp4'}", None, d,
                                realtime=False)
    return frames


def viewer_pupil(frames, base_mm, gain_mm, tau_s, seed, rate_hz=60.0):
    """Our own simulated eye, of the fit's own family (what it must recover exactly): a
    first-order reflex to the log of what the player showed (edge.pupil.light_drive, on its
    presentation times), sensor noise, blinks reported as lost samples."""
    rng = np.random.default_rng(seed)
    t_show, lum = frames[:, 1], light_drive(frames[:, 2])
    dt = 0.001
    fine = np.arange(0, t_show[-1] + 1 / 25, dt)
    seen = np.empty_like(fine)
    acc = lum[0]
    for i, t in enumerate(fine):  # exact exponential step response per ms
        acc += (1 - np.exp(-dt / tau_s)) * (lum[np.searchsorted(t_show, t, "right") - 1] - acc)
        seen[i] = acc
    out, blink_until = [], -1.0
    for t in np.arange(0, fine[-1], 1 / rate_hz):
        if t > blink_until and rng.random() < 0.3 / rate_hz:
            blink_until = t + rng.uniform(0.1, 0.25)
        mm = base_mm - gain_mm * seen[int(t / dt)] + rng.normal(0, 0.04)
        lost = t < blink_until
        out.append(Pupil(int(t * 1e6), 0.0 if lost else mm, 0.0 if lost else 0.95))
    return out


@pytest.mark.parametrize("base,gain,tau,seed", [(6.0, 2.0, 0.40, 1), (5.2, 1.4, 0.65, 2),
                                                 (4.6, 2.6, 0.25, 3)])
def test_fit_recovers_viewer_within_10_percent(played, base, gain, tau, seed):
    frames = played[:, [1, 1, 2]]  # time axis: presentation time (not paced to the wall)
    pupils = viewer_pupil(played, base, gain, tau, seed)
    res = light_calibrate(frames, pupils, "v-sim", len(LEVELS) * STEP_S)
    f = res.figures
    assert res.passed, res.reasons
    assert f["gain_mm"] == pytest.approx(gain, rel=0.10)
    assert f["tau_s"] == pytest.approx(tau, rel=0.10)
    assert f["base_mm"] == pytest.approx(base, rel=0.10)
    assert f["blinks"] > 0 and f["r2"] > 0.95


def test_the_widest_pupil_is_kept(played):
    """The sequence drives the pupil across its range: an eye that arrives wide from a dark
    room (3 mm more, fading over 1.5 s) loses no sample for being far from the recording's
    median (the cleaner's outlier test cut 27, the widest, all in the first second)."""
    def arriving_wide(p):
        extra = 3.0 * np.exp(-p.ts_us / 1e6 / 1.5) if p.confidence else 0.0
        return Pupil(p.ts_us, p.diameter_mm + extra, p.confidence)

    plain = viewer_pupil(played, 5.2, 1.4, 0.65, seed=2)
    f = [light_calibrate(played[:, [1, 1, 2]], ps, "v-sim", len(LEVELS) * STEP_S).figures
         for ps in (plain, [arriving_wide(p) for p in plain])]
    assert f[1]["valid_pupil_pct"] == f[0]["valid_pupil_pct"]


def test_levels_keep_their_length_when_decoders_start_slowly(tmp_path, monkeypatch):
    """On a busy machine a clip's decoder (a niced thread) took 0.1-0.5 s to start, and
    each level stayed on screen that much longer (steps of 1.60-2.08 s for 1.52 s): the
    next clip now starts decoding while the one before plays."""
    decode = Decoder._decode

    def slow_start(self):
        time.sleep(0.4)
        decode(self)

    monkeypatch.setattr(Decoder, "_decode", slow_start)
    clips = grey_clips(tmp_path, (0.1, 0.9, 0.1), 1.5)
    frames, _ = play_and_record(clips, f"file:{tmp_path / 'screen.mp4'}", None, tmp_path)
    # 0.4 s held at each of the two changes was 20 frames more (a clip pre-rolls for 1.5 s;
    # at load 20 one of 1 s did not always); 10 is slack for frames late under load
    assert 114 <= len(frames) <= 124
    assert np.all(np.diff(frames[:, 1]) > 0)


def test_a_simulated_viewer_is_the_same_whatever_the_player_took_to_start(monkeypatch):
    """A seeded viewer watching a screen trace sits down with its first frame: the player's
    start-up (0.1 s quiet, 2 s busy) no longer decides where the sequence meets their
    blinks, glances and adaptation (replayed: R² 0.84-0.93, gain 1.9-3.6 mm by it alone)."""
    clock = [0]
    monkeypatch.setattr(sim_seat, "now_us", lambda: clock[0])
    seen = []
    for delay_us in (100_000, 1_500_000):
        clock[0] = 10**9
        trace = ScreenTrace()
        src = SimSource("sim://seat?seed=3&faces=0", {"seed": "3"}, screen=trace)
        first_us, got = clock[0] + delay_us, []
        for k in range(50):  # two levels, 1 s each, at 25 fps
            trace.add((first_us + k * 40_000) / 1e6, 0.1 if k < 25 else 0.9)
        while clock[0] < first_us + 2_000_000:
            clock[0] += 20_000
            got += src.read(0)
        seen.append([(r.ts_us - first_us, r.diameter_mm) for r in got if isinstance(r, Pupil)])
    assert len(seen[0]) > 40 and seen[0] == seen[1]


def test_player_measures_what_reached_the_screen(played):
    lum = played[:, 2]
    assert len(played) == pytest.approx(len(LEVELS) * STEP_S * 25, abs=len(LEVELS))
    steps = [float(np.median(lum[i * 62 + 5:(i + 1) * 62 - 5])) for i in range(len(LEVELS))]
    # Video range (16..235) round trip: the measured level is near, not equal to, the request.
    assert steps == pytest.approx(list(LEVELS), abs=0.03)
    assert np.all(np.diff(played[:, 1]) > 0)


def test_a_viewer_whose_pupil_does_not_answer_fails(played):
    pupils = viewer_pupil(played, 5.0, 0.0, 0.4, seed=4)
    res = light_calibrate(played[:, [1, 1, 2]], pupils, "v-x", len(LEVELS) * STEP_S)
    assert not res.passed
    assert any("light gain" in r or "fit R²" in r for r in res.reasons)


def test_no_eye_data_is_a_clear_failure(played):
    res = light_calibrate(played, [], "v-x", len(LEVELS) * STEP_S)
    assert not res.passed and "too little recorded" in res.reasons[0]


def test_cli_live_player_and_simulated_viewer(tmp_path):
    """End to end in real time: the player paces frames, sim:// sees the measured light as
    of each of its 20 ms ticks (the recorder's ScreenTrace), however late it is read."""
    seed = 3
    truth = Viewer.draw(np.random.default_rng(seed))  # the simulated viewer's hidden traits
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["calibrate", "light", "--eye", f"sim://seat?seed={seed}&faces=0",
                   "--viewer", "v-0003", "--store", str(tmp_path / "store"),
                   "--out", str(tmp_path / "out"), "--json"])
    doc = json.loads(buf.getvalue())
    assert rc == 0, doc["reasons"]
    # The simulated eye is not the fit's first-order line: its settled size follows a
    # log-like curve of luminance, it constricts fast and redilates slowly (docs/simulation.md),
    # and short steps leave redilation unfinished. The fit is the best line through that:
    # below the settled slope, between the two speeds. Exact recovery of an eye of the fit's
    # own family is the test above. The default 2.5-s steps: at 1.5 s this slow redilator
    # reads 0.59 of its slope on the log of the light (0.70 on the code value), 0.77 at 2.5.
    # The fit is judged by what it recovers against the viewer's truth (below), and by the
    # product's own R² check (0.8: rc 0 above). Load used to move it (R² 0.93 quiet, 0.83-0.87
    # busy; gain 2.17-3.91 against 2.29-3.81): levels held longer at each clip change, the
    # widest pupil cut as an outlier, and the player's start-up sliding the sequence along
    # the simulated viewer's blinks (session 28): then R² 0.930-0.933, gain 2.52-2.55 mm with
    # one lag. With a latency and constriction/redilation lags of their own: R² 0.987-0.989,
    # gain 2.67-2.69 mm (bounds 2.29-3.81), tau 1.38-1.40 s (0.57-2.80), at load 16.
    f = doc["figures"]
    assert f["r2"] >= 0.8
    slope = truth.body.light_slope_mm(LEVELS, light_drive(np.array(LEVELS)))
    assert 0.6 * slope <= f["gain_mm"] <= slope
    fast, slow = truth.body.reflex_lags_s()
    assert fast <= f["tau_s"] <= slow
    stored = tomllib.loads((tmp_path / "store" / "viewers" / "v-0003.toml").read_text())
    assert stored["light"]["gain_mm"] == doc["figures"]["gain_mm"]
    assert stored["light"]["scale"] == "log10"  # what the gain multiplies, for the edge
    assert (tmp_path / "out" / "light_screen.mp4").stat().st_size > 0
    assert "Light-response fit" in Path(doc["report"]).read_text()
