"""A seat's viewer baseline kept over a unit's restart (edge/viewer_state.py): taken back
only for the same viewer by the seat's own rule, and a state file that is not this unit's
own (corrupt, truncated, future-dated, another unit's or seat's) never crashes a unit or
gives it a wrong baseline. The end-to-end case (a real unit restarted mid-show) is
tests/redteam/test_ops21.py::test_a_unit_restarted_mid_show_keeps_its_viewers_baselines."""

import json
import math
import subprocess
import sys

import pytest

from empathy.edge.features import SeatFeatures
from empathy.edge.runtime import EdgeConfig, SeatConfig
from empathy.edge.viewer_state import ENTRY_KEYS, FORMAT, ViewerKeep
from empathy.keys import Keystore
from empathy.sensors.base import Beat, Health
from empathy.wire import Flag

T0 = 7_000_000_000
STRAP = "ble://C0:FF:EE:00:00:01"


def _cfg(source=STRAP, rebase=30.0, baseline=5.0, **seat):
    return EdgeConfig(unit_id=1, baseline_s=baseline, rebaseline_after_s=rebase,
                      seats=[SeatConfig(1, source, **seat)])


def _seat(cfg):
    return SeatFeatures(cfg.baseline_s, rebaseline_after_s=cfg.rebaseline_after_s)


def _viewer(f, t0, seconds, bpm):
    """A steady heart at `bpm` from t0 (a strap's beats), an estimate every 0.1 s."""
    out, t, beat, rr = [], t0, t0, 60000.0 / bpm
    f.add(Health(t0, "strap", contact=True))
    while t < t0 + int(seconds * 1e6):
        t += 100_000
        while beat <= t:
            f.add(Beat(beat, rr))
            beat += int(rr * 1000)
        out.append((t, f.estimate(t)))
    return out


def _shown(path, cfg=None, seconds=20, bpm=62):
    """A unit's seat that had a viewer for `seconds`, its file saved at the end: the time."""
    cfg = cfg or _cfg()
    f = _seat(cfg)
    t = _viewer(f, T0, seconds, bpm)[-1][0]
    ViewerKeep(path, cfg, [f]).save(t)
    return f, t


def _restarted(path, now, cfg=None):
    cfg = cfg or _cfg()
    f = _seat(cfg)
    return f, ViewerKeep(path, cfg, [f]).resume(now)


def _fresh(f):
    return all(b.n == 0 for b in f.base.values()) and f.start_us is None


def test_a_restarted_unit_goes_on_with_its_viewers_baseline(tmp_path):
    path = tmp_path / "unit1.viewers.json"
    before, t = _shown(path)
    after, resumed = _restarted(path, t + 2_000_000)
    assert resumed == [1]
    assert {k: (b.n, b.mean, b.m2) for k, b in after.base.items()} == \
        {k: (b.n, b.mean, b.m2) for k, b in before.base.items()}
    # gripped now (90 bpm against a resting 62): calibrated at once, against the old baseline
    est = _viewer(after, t + 2_000_000, 20, bpm=90)
    assert all(e["flags"] & Flag.CALIBRATED for _, e in est)
    assert abs(after.base["hr"].mean - 62) < 1.5 and after.baselines_taken == 0
    assert min(e["arousal"] for _, e in est[-50:]) > 0.7
    # a unit that starts from nothing takes the gripped viewer for their resting self
    fresh = _seat(_cfg())
    est = _viewer(fresh, t + 2_000_000, 20, bpm=90)
    assert abs(fresh.base["hr"].mean - 90) < 1.5 and abs(est[-1][1]["arousal"]) < 0.3


def test_a_restart_within_the_baseline_period_goes_on_taking_it(tmp_path):
    path = tmp_path / "unit1.viewers.json"
    cfg = _cfg(baseline=10.0)
    before, t = _shown(path, cfg, seconds=3)
    after, resumed = _restarted(path, t + 1_000_000, cfg)
    assert resumed == [1] and after.base["hr"].n == before.base["hr"].n
    est = _viewer(after, t + 1_000_000, 9, bpm=62)
    first = next(u for u, e in est if e["flags"] & Flag.CALIBRATED)
    assert abs((first - T0) / 1e6 - 10.0) < 0.3  # 10 s from the viewer's first signal
    assert after.base["hr"].n > before.base["hr"].n


def test_stamps_a_little_ahead_of_the_clock_are_kept(tmp_path):
    """A heart sensor corrected for its lag (calibrate hr, lag_ms < 0) stamps its beats
    ahead of the unit's clock: the file is written so that it reads back."""
    cfg, f = _cfg(), _seat(_cfg())
    t = _viewer(f, T0, 20, 62)[-1][0]
    ViewerKeep(tmp_path / "v.json", cfg, [f]).save(f.last_signal_us - 800_000)
    assert _restarted(tmp_path / "v.json", t + 2_000_000)[1] == [1]


def test_the_file_holds_summary_statistics_only(tmp_path):
    """Privacy: per seat a baseline's count, mean and spread, and three times; never a beat,
    an RR interval or a waveform (and only its owner may read it)."""
    path = tmp_path / "unit1.viewers.json"
    _shown(path, seconds=20, bpm=62)
    doc = json.loads(path.read_text())
    (entry,) = doc["seats"].values()
    assert set(entry) == ENTRY_KEYS
    assert all(len(v) == 3 and all(isinstance(x, (int, float)) for x in v)
               for v in entry["base"].values())
    assert str(round(60000.0 / 62, 2)) not in path.read_text()  # no RR interval
    assert len(path.read_text()) < 1000 and path.stat().st_mode & 0o077 == 0


def test_a_viewer_who_cannot_be_taken_back_is_not_kept(tmp_path):
    """Gone rebaseline_after_s or more, or a seat with one baseline per start: written as
    no seat (the next save after a viewer leaves drops their figures)."""
    for cfg, saved_after_s in ((_cfg(rebase=10.0), 10.0), (_cfg(rebase=0.0), 0.1)):
        f = _seat(cfg)
        t = _viewer(f, T0, 20, 62)[-1][0]
        ViewerKeep(tmp_path / "v.json", cfg, [f]).save(t + int(saved_after_s * 1e6))
        assert json.loads((tmp_path / "v.json").read_text())["seats"] == {}


@pytest.mark.parametrize("gap_s, cfg", [
    (31.0, _cfg()),  # the seat's own rule: a new viewer
    (2.0, _cfg(rebase=0.0)),  # one baseline per start
    (2.0, _cfg("ble://C0:FF:EE:00:00:02")),  # another sensor: another seat's viewer
    (2.0, _cfg(viewer="kiosk-visitor-8")),  # another viewer's calibration named
    (2.0, _cfg("sim://seat?seed=1")),  # a simulated viewer is born with each open
])
def test_another_viewer_starts_fresh(tmp_path, caplog, gap_s, cfg):
    path = tmp_path / "unit1.viewers.json"
    _, t = _shown(path)
    caplog.set_level("INFO", "empathy.edge")
    after, resumed = _restarted(path, t + int(gap_s * 1e6), cfg)
    assert resumed == [] and _fresh(after)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def _set(*keys, to):
    def change(doc):
        d = doc
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = to
    return change


HOSTILE = {
    "truncated": lambda text: text[: len(text) // 2],
    "not text": lambda text: "\udcff\x00garbage",
    "a list": lambda text: "[]",
    "future saved": _set("saved_us", to=10**15),
    "future signal": _set("seats", "1", "last_signal_us", to=10**15),
    "start after signal": _set("seats", "1", "start_us", to=10**15),
    "another unit's": _set("unit_id", to=2),
    "format 3": _set("format", to=3),
    "seat id not a number": lambda text: text.replace('"1": {', '"x": {'),
    "nested past the stack": lambda text: "[" * 200_000,
    "too large": lambda text: text + " " * (2 << 20),
    "seat id of 5000 digits": lambda text: text.replace('"1": {', '"' + "1" * 5000 + '": {'),
    "hr at 500 bpm": _set("seats", "1", "base", "hr", to=[100, 500.0, 10.0]),
    "hr NaN": _set("seats", "1", "base", "hr", to=[100, math.nan, 10.0]),
    "negative spread": _set("seats", "1", "base", "hr", to=[100, 62.0, -1.0]),
    "huge spread": _set("seats", "1", "base", "hr", to=[100, 62.0, 1e12]),
    "n a bool": _set("seats", "1", "base", "hr", to=[True, 62.0, 1.0]),
    "n huge": _set("seats", "1", "base", "hr", to=[10**30, 62.0, 1.0]),
    "n 0 with a mean": _set("seats", "1", "base", "hr", to=[0, 62.0, 0.0]),
    "a signal missing": lambda doc: doc["seats"]["1"]["base"].pop("pupil"),
    "beats in it": _set("seats", "1", "rr_ms", to=[967.7, 970.1]),
    "key a number": _set("seats", "1", "key", to=7),
    "first a string": _set("seats", "1", "first", to="yes"),
    "device an address": _set("seats", "1", "device", to="ble:C0:FF:EE:00:00:01"),
    "device a number": _set("seats", "1", "device", to=7),
    "device missing": lambda doc: doc["seats"]["1"].pop("device"),
}


TEXT = ("truncated", "not text", "a list", "seat id not a number", "nested past the stack",
        "too large", "seat id of 5000 digits")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_state_file_is_ignored_with_one_warning(tmp_path, caplog, name):
    path = tmp_path / "unit1.viewers.json"
    _, t = _shown(path)
    text, change = path.read_text(), HOSTILE[name]
    if name in TEXT:
        path.write_bytes(change(text).encode("utf-8", "surrogateescape"))
    else:
        doc = json.loads(text)
        change(doc)
        path.write_text(json.dumps(doc))
    caplog.set_level("INFO", "empathy.edge")
    after, resumed = _restarted(path, t + 2_000_000)
    assert resumed == [] and _fresh(after)
    said = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 1 and str(path) in said[0].getMessage(), caplog.text


def test_another_boots_file_starts_fresh_without_a_warning(tmp_path, caplog):
    """The monotonic clock starts again at a reboot: the file's times mean nothing then."""
    path = tmp_path / "unit1.viewers.json"
    _, t = _shown(path)
    _set("boot", to="00000000-0000-0000-0000-000000000000")(doc := json.loads(path.read_text()))
    path.write_text(json.dumps(doc))
    caplog.set_level("INFO", "empathy.edge")
    after, resumed = _restarted(path, t + 2_000_000)
    assert resumed == [] and _fresh(after) and "another boot" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_folder_that_cannot_be_written_costs_one_warning(tmp_path, caplog):
    (tmp_path / "a file").write_text("")
    path = tmp_path / "a file" / "unit1.viewers.json"
    f = _seat(_cfg())
    keep = ViewerKeep(path, _cfg(), [f])
    t = _viewer(f, T0, 6, 62)[-1][0]
    keep.save(t)
    keep.save(t + 10_000_000)
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "unit1.viewers.json").mkdir()  # a folder where the file should be
    assert ViewerKeep(tmp_path / "dir" / "unit1.viewers.json", _cfg(), [f]).resume(t) == []


def test_a_unit_started_on_a_broken_file_runs(tmp_path):
    """`empathy edge run` with garbage where its viewer baselines are: it runs and says so
    in one line, then writes its own."""
    Keystore.new([1]).for_unit(1).save(tmp_path / "k.toml")
    (tmp_path / "unit1.viewers.json").write_bytes(b'{"format": 1, "unit_id": 1, "bo\xff')
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 1\nuplink = "udp://127.0.0.1:9"\nkeystore = "{tmp_path}/k.toml"\n'
                   f'faces = false\nsync_hz = 0\nseq_file = "{tmp_path}/unit1.seq"\n'
                   '[[seats]]\nseat_id = 1\nsource = "sim://seat?seed=1&faces=0"\n')
    p = subprocess.run([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                        str(cfg), "--duration", "2", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-800:]
    said = [ln for ln in p.stderr.splitlines() if "viewers.json" in ln]
    assert len(said) == 1 and "ignored" in said[0], p.stderr[-800:]
    assert json.loads((tmp_path / "unit1.viewers.json").read_text())["format"] == FORMAT
