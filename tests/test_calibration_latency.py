"""Latency and clock per seat: flashes through the real player, seen by a simulated camera."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from empathy.calibration.latency import flash_times, latency_check, match, onsets
from empathy.cli import main
from empathy.clock import now_us
from empathy.sensors import base
from empathy.sensors.base import Frame


class FlashCamera:
    """A seat camera looking at the screen: captures at `fps` on its own exact schedule, sees
    what was on screen at each capture (the recorder's `ScreenTrace.at`, so a thread that
    wakes late still sees the right picture), stamps each frame with its capture time plus
    a clock error (`clock_ms`: the unit's clock mapping is off by that much) and hands it
    over `delivery_ms` later (buffers, link). `handed` keeps, per frame, how late past its
    due time the recorder actually took it: the machine's share of the delivery figure."""

    instances: list = []

    def __init__(self, url: str, query: dict, screen=None, **_):
        self.url = url
        self.period_us = int(1e6 / float(query.get("fps", 60)))
        self.clock_us = int(float(query.get("clock_ms", 0)) * 1000)
        self.delivery_us = int(float(query.get("delivery_ms", 0)) * 1000)
        self.screen = screen
        self.rng = np.random.default_rng(0)
        self.next_us = now_us()
        self.handed: list[int] = []
        FlashCamera.instances.append(self)

    def _capture(self, t_us: int) -> Frame:
        lum = self.screen.at(t_us)[2]
        img = np.clip(lum * 200 + 20 + self.rng.normal(0, 3, (8, 8)), 0, 255).astype(np.uint8)
        return Frame(t_us + self.clock_us, "eye", img)

    def read(self, timeout_s: float = 0.1):
        time.sleep(min(timeout_s, 0.005))
        now, ready = now_us(), []
        while self.next_us + self.delivery_us <= now:  # every capture due by now
            ready.append(self._capture(self.next_us))
            self.handed.append(now - (self.next_us + self.delivery_us))
            self.next_us += self.period_us
        return ready

    def close(self):
        pass


@pytest.fixture
def flashcam(monkeypatch):
    monkeypatch.setitem(base.SCHEMES, "flashcam", f"{__name__}:FlashCamera")


def run(args):
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["calibrate", "latency", *args, "--json"])
    return rc, (json.loads(buf.getvalue()) if buf.getvalue() else None)


def test_recovers_clock_error_and_delivery_latency(flashcam, tmp_path):
    FlashCamera.instances.clear()
    rc, doc = run(["--camera", "flashcam://seat?clock_ms=30&delivery_ms=120&fps=60",
                   "--seat", "7", "--flashes", "8", "--out", str(tmp_path)])
    f = doc["figures"]
    assert f["flashes_seen"] == 8, f
    # Camera samples are 16.7 ms apart: each onset is known to within that, and the median
    # of eight flashes closer.
    assert f["stamp_delay_ms"] == pytest.approx(30, abs=12), f
    # Handed over 120 ms after capture, plus how late the recorder took each frame (the
    # camera counts it: the machine's share), plus up to a frame to the first one past
    # the onset.
    late_ms = float(np.median(FlashCamera.instances[0].handed)) / 1000
    assert f["delivery_median_ms"] == pytest.approx(120 + late_ms + 8, abs=12), (f, late_ms)
    assert rc == 0, doc["reasons"]
    assert "Flashes shown and seen" in Path(doc["report"]).read_text()


def test_a_seat_with_a_bad_clock_fails(flashcam, tmp_path):
    rc, doc = run(["--camera", "flashcam://seat?clock_ms=-300&fps=30", "--seat", "8",
                   "--flashes", "5", "--out", str(tmp_path)])
    assert rc == 1
    assert doc["figures"]["stamp_delay_ms"] == pytest.approx(-300, abs=25)
    assert any("check clock sync" in r for r in doc["reasons"])


def test_onsets_and_flash_schedule():
    t = np.arange(0, 5, 0.01)
    level = np.where((t % 1.0 >= 0.5) & (t % 1.0 < 0.6), 1.0, 0.0)
    on = onsets(t, level)
    assert on == pytest.approx([0.495, 1.495, 2.495, 3.495, 4.495], abs=0.006)
    assert onsets(t, np.zeros_like(t)).size == 0  # a camera that never saw a flash
    gaps = np.diff(flash_times(20, seed=1))
    assert gaps.min() >= 0.8 and gaps.max() <= 1.4 and len(set(np.round(gaps, 3))) == 19


def test_matching_survives_a_delay_longer_than_a_flash_gap():
    shown = flash_times(12, seed=2)
    rng = np.random.default_rng(3)
    seen = np.sort(np.concatenate([shown + 1.5 + rng.normal(0, 0.01, 12),
                                   rng.uniform(0, 20, 3)]))  # plus 3 spurious onsets
    k = match(shown, seen)
    assert np.all(k >= 0)
    assert np.median(seen[k] - shown) == pytest.approx(1.5, abs=0.01)
    seen_missing = np.delete(shown + 0.05, [3, 7])
    assert (match(shown, seen_missing) < 0).sum() == 2


def test_no_camera_frames_is_a_clear_failure(tmp_path, capsys):
    frames = np.array([[0.0, 0.0, 0.05], [0.04, 0.04, 0.95]])
    res = latency_check(frames, [], 3, 10)
    assert not res.passed and "too little recorded" in res.reasons[0]
    assert main(["calibrate", "latency", "--camera", "nosuch://x", "--seat", "1",
                 "--out", str(tmp_path)]) == 1
    assert "unknown source scheme" in capsys.readouterr().err
