"""How a unit writes its viewer baselines (edge/viewer_state.py): only when the seats' entries
changed (an SD card wears by its writes), off the unit's loop with never more than the newest
text waiting, one warning for a folder that cannot be written, and the last save written when
the unit stops. A stalled card under a running unit: tests/test_unit_slow_disk.py."""

from __future__ import annotations

import json
import threading

from empathy.edge.features import SeatFeatures
from empathy.edge.runtime import EdgeConfig, SeatConfig
from empathy.edge.viewer_state import LatestWriter, ViewerKeep
from empathy.sensors.base import Beat

T0 = 7_000_000_000


def _unit(path, source="ble://C0:FF:EE:00:00:01"):
    cfg = EdgeConfig(unit_id=1, baseline_s=5.0, seats=[SeatConfig(1, source)])
    f = SeatFeatures(cfg.baseline_s, rebaseline_after_s=cfg.rebaseline_after_s)
    return f, ViewerKeep(path, cfg, [f])


def _beats(f, t0_s, t1_s, rr_ms=1000.0):
    for t in range(int(t0_s), int(t1_s)):
        f.add(Beat(T0 + t * 1_000_000, rr_ms))
        f.estimate(T0 + t * 1_000_000 + 1000)


def test_a_file_is_written_only_when_the_seats_changed(tmp_path):
    path = tmp_path / "unit1.viewers.json"
    f, keep = _unit(path)
    every_10_s = [T0 + s * 1_000_000 for s in range(10, 3600, 10)]  # an hour of saves
    stamps = set()  # each write stamps the file with its save's time
    for now in every_10_s:
        if now <= T0 + 600_000_000:  # a viewer for 10 minutes, then nobody
            _beats(f, (now - T0) / 1e6 - 10, (now - T0) / 1e6)
        keep.save(now)
        stamps.add(json.loads(path.read_text())["saved_us"])
    # while the viewer is there their last signal moves (a restart needs it within 10 s),
    # then once more as they are dropped (30 s gone): nothing through the empty 49 minutes
    assert 55 <= len(stamps) <= 62, len(stamps)
    assert json.loads(path.read_text())["seats"] == {}


def test_a_unit_with_no_live_seat_writes_once(tmp_path):
    path = tmp_path / "unit1.viewers.json"
    f, keep = _unit(path, "sim://seat?seed=1")
    _beats(f, 0, 60)
    stamps = set()
    for s in range(10, 3600, 10):
        keep.save(T0 + s * 1_000_000)
        stamps.add(json.loads(path.read_text())["saved_us"])
    assert stamps == {T0 + 10_000_000} and json.loads(path.read_text())["seats"] == {}


def test_only_the_newest_text_waits_for_a_stalled_write(tmp_path):
    """While a write hangs (the card stalled), later texts replace each other: one waits,
    the newest, and it is written once the card answers."""
    stalled, written = threading.Event(), []

    def write(text):
        written.append(text)
        if text == "first":
            stalled.wait(10)

    w = LatestWriter(write, "test")
    w.put("first")
    while not written:
        threading.Event().wait(0.01)
    for i in range(1000):
        w.put(f"text {i}")
    stalled.set()
    assert w.close(10)
    assert written == ["first", "text 999"]


def test_a_folder_that_cannot_be_written_costs_one_warning_off_the_loop(tmp_path, caplog):
    (tmp_path / "a file").write_text("")
    f, keep = _unit(tmp_path / "a file" / "unit1.viewers.json")
    for s in range(10, 100, 10):
        _beats(f, s - 10, s)
        keep.save_later(T0 + s * 1_000_000)
    keep.close(T0 + 100_000_000)
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "cannot keep viewer baselines" in warned[0].getMessage()


def test_the_last_save_is_written_when_the_unit_stops(tmp_path):
    path = tmp_path / "unit1.viewers.json"
    f, keep = _unit(path)
    _beats(f, 0, 20)
    keep.save_later(T0 + 20_000_000)
    _beats(f, 20, 25)
    keep.close(T0 + 25_000_000)  # returns once written
    doc = json.loads(path.read_text())
    assert doc["saved_us"] == T0 + 25_000_000
    assert doc["seats"]["1"]["last_signal_us"] == T0 + 24_000_000
