"""A restarted unit takes a seat's viewer back only if the seat reads the device that viewer
wore (edge/viewer_state.py). A cinema seat's strap found by name (`ble://?name=Polar`) has
one seat key whoever wears which strap: the unit restarted within rebaseline_after_s and
now reading another strap (the next viewer's, a swapped one) took the old viewer's
baseline back. Real path: simulated Polar H10s on the private BlueZ bus worn by simulated
viewers, `empathy edge run` through bleak, a host intake on a UDP port, the unit's own
state file."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from empathy.edge.runtime import EdgeConfig, SeatConfig
from empathy.keys import Keystore
from empathy.sim.strap import BluezSim
from empathy.wire import Flag
from redteam.ops_rig import Host, straps, unit_config

pytestmark = [pytest.mark.timeout(240), pytest.mark.realtime]
SEEDS = (9, 14)  # wearers resting at 54 and 96 bpm
BY_NAME = "ble://?name=Polar&scan_s=1"
# the cinema template's 300 s; a baseline of 8 s: of 4 s, a seat whose strap's first rates
# came late under load took fewer than 10 (of 16 estimates) and read against the priors
TIMES = {"baseline_s": 8.0, "rebaseline_after_s": 300.0}


def _run(cfg, host: Host, ready, limit_s: float = 60.0) -> tuple[dict, str]:
    """`empathy edge run` (its log at info: what the seat decided) till `ready(host)`, then
    stopped as an operator stops it (SIGTERM): its stats and log. (A fixed span ran out
    before the seat had what the test reads from it on a loaded machine.)"""
    out, err = cfg.with_suffix(".out"), cfg.with_suffix(".err")
    with open(out, "w") as o, open(err, "w") as e:
        p = subprocess.Popen([sys.executable, "-m", "empathy.cli", "--log-level", "info",
                              "edge", "run", "--config", str(cfg), "--duration", str(limit_s),
                              "--json"], stdout=o, stderr=e, text=True)
        try:
            while p.poll() is None and not ready(host):
                time.sleep(0.1)
            p.terminate()
            p.wait(60)
        finally:
            p.kill()
    said = err.read_text()
    assert p.returncode == 0 and "Traceback" not in said, said[-1500:]
    return json.loads(out.read_text().strip().splitlines()[-1]), said


def _arousal(host: Host, since_us: float) -> np.ndarray:
    track = host.intake.seats.get(1)
    got = [s.arousal for s in (track.history if track else [])
           if s.ts_us > since_us and s.flags & Flag.CALIBRATED]
    return np.array(got)


@pytest.mark.parametrize("swapped", [True, False], ids=["another strap", "the same strap"])
def test_a_restarted_unit_takes_a_baseline_back_only_from_the_same_strap(tmp_path, swapped):
    """Viewer 1 (resting 54 bpm) is read by name till the seat's baseline is taken; the
    unit stops (an operator's restart, a crash) and starts again at once. With the strap
    swapped meanwhile for another of the same model worn by viewer 2 (resting 96 bpm), the
    restarted seat took viewer 1's baseline back: viewer 2 sitting still read as aroused.
    Now it starts a fresh baseline for viewer 2; with the same strap on viewer 1 it still
    takes theirs back. The state file names no strap's address."""
    keys = Keystore.new([1])
    state = tmp_path / "unit1.viewers.json"
    with BluezSim() as bz:
        one, two = straps(bz, SEEDS)
        two.strap.leave()
        host = Host(keys)
        try:
            cfg = unit_config(tmp_path, keys, 1, host.rx.port, {1: BY_NAME}, **TIMES)
            # till the seat's baseline is taken and a second more is sent
            first, _ = _run(cfg, host, lambda h: len(_arousal(h, 0)) > 10)
            assert first["baselines"] == {"1": 1} and first["baselines_resumed"] == []
            before = json.loads(state.read_text())["seats"]["1"]
            if swapped:
                one.strap.leave()
                two.strap.come_back()
            restart_us = host.intake.seats[1].history[-1].ts_us
            # connected, and 20 estimates against a baseline (a fresh one: after 8 s)
            second, err = _run(cfg, host, lambda h: len(_arousal(h, restart_us)) > 20)
        finally:
            host.close()
    kept = state.read_text()
    assert one.strap.address not in kept and two.strap.address not in kept
    for a in (one.strap.address, two.strap.address):
        assert a.replace(":", "").lower() not in kept.lower()
    seat = json.loads(kept)["seats"]["1"]
    hr_n, hr_mean, _ = seat["base"]["hr"]
    assert hr_n >= 10, seat["base"]  # the viewer's own, not the population's priors
    assert len(_arousal(host, restart_us)) > 20
    # Whose baseline the seat holds (the file: n, mean, m2) is what decides, not the arousal
    # read against it: a viewer's rate wanders ~2 bpm in 20 s, and against their own
    # baseline one at rest read -0.38 to +0.51 under load (-0.53 with a 4-s one failed the
    # |median| < 0.5 this asked); with the swap's defect put back (viewer 2 at 96 bpm read
    # against viewer 1's 54) the median was 0.0, and the file's 54.1 failed the check below.
    if swapped:
        assert second["baselines_resumed"] == [], err[-1500:]
        assert "another device" in err, err[-1500:]
        assert seat["start_us"] > restart_us and seat["base"] != before["base"]
        assert abs(hr_mean - two.rate()) < 10 and abs(hr_mean - one.rate()) > 30, \
            (hr_mean, two.rate(), one.rate())
    else:
        assert second["baselines_resumed"] == [1], err[-1500:]
        assert "the device of before the restart" in err, err[-1500:]
        assert seat["start_us"] == before["start_us"] and seat["base"] == before["base"]
        assert abs(hr_mean - one.rate()) < 10, (hr_mean, one.rate())


def _boards_seat(tmp_path, board, seconds: float, held=None):
    """A seat of a unit reading `board` (a SimBoard on its pty, the firmware's loop in a
    thread) through the serial:// driver for `seconds`, the unit's state file saved at the
    end, after taking back what it held (named: its source names its board). The seat."""
    import threading
    import time

    from empathy.clock import now_us
    from empathy.edge.features import SeatFeatures
    from empathy.edge.viewer_state import ViewerKeep
    from empathy.sensors.base import open_source

    cfg = EdgeConfig(unit_id=1, baseline_s=4.0, rebaseline_after_s=300.0,
                     seats=[SeatConfig(1, f"serial://{board.link}")])
    stop = threading.Event()

    def firmware():
        while not stop.is_set():
            board.step()
            time.sleep(0.005)

    t = threading.Thread(target=firmware, daemon=True)
    t.start()
    src = open_source(cfg.seats[0].source)
    f = SeatFeatures(cfg.baseline_s, rebaseline_after_s=cfg.rebaseline_after_s)
    keep = ViewerKeep(tmp_path / "unit1.viewers.json", cfg, [f])
    keep.resume(now_us(), [src.names_device])
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for r in src.read(0.1):
                f.add(r)
            f.estimate(now_us())
    finally:
        src.close()
        stop.set()
        t.join(2)
    keep.save(now_us())
    return f


@pytest.mark.parametrize("swapped", [True, False], ids=["another board", "the same board"])
def test_a_board_swapped_on_its_port_over_a_restart_is_a_new_viewer(tmp_path, caplog,
                                                                     swapped):
    """/dev/ttyACM0 is whichever board is plugged into it: the port's path (the seat key)
    can't tell two boards apart, the board's HELLO can (its id, sent at power-on and every
    5 s). A board swapped while the unit was down starts a fresh viewer; the same board
    gives its viewer back, once its HELLO is read."""
    from empathy.sim.board import SimBoard

    link = tmp_path / "ttyACM-seat1"
    first = SimBoard(link, seed=5, board_id=0xEE01)
    before = _boards_seat(tmp_path, first, 7.0)
    assert before.worn == "board:0000ee01" and before.last_signal_us is not None
    kept = json.loads((tmp_path / "unit1.viewers.json").read_text())
    assert "ee01" not in json.dumps(kept) and kept["seats"]["1"]["device"]
    if swapped:
        first.close()
        board = SimBoard(link, seed=6, board_id=0xEE02)
    else:  # still running: its next HELLO comes up to 5 s into the run, after its PPG
        board = first
    caplog.set_level("INFO", "empathy.edge")
    try:
        after = _boards_seat(tmp_path, board, 6.0)
    finally:
        board.close()
    assert after.worn == ("board:0000ee02" if swapped else "board:0000ee01")
    said = caplog.text
    if swapped:
        assert not after.resumed and "another device" in said, said
        assert after.start_us > before.last_signal_us  # its own signal, its own baseline
    else:
        assert after.resumed and "the device of before the restart" in said, said
        assert after.start_us == before.start_us  # the baseline goes on


T0 = 7_000_000_000
STRAP_A, STRAP_B = "ble:C0:FF:EE:00:21:00", "ble:C0:FF:EE:00:21:01"


def _seat_of(cfg):
    from empathy.edge.features import SeatFeatures

    return SeatFeatures(cfg.baseline_s, rebaseline_after_s=cfg.rebaseline_after_s)


def _worn(f, device: str, t0: int, seconds: float, bpm: float = 62.0) -> int:
    """`device` read from t0 on a steady heart at `bpm`; the time it ended."""
    from empathy.sensors.base import Beat, Device

    f.add(Device(t0, "strap", device))
    t, rr = t0, 60000.0 / bpm
    while t < t0 + seconds * 1e6:
        t += int(rr * 1000)
        f.add(Beat(t, rr))
        f.estimate(t)
    return t


def _by_name(seats=1):
    return EdgeConfig(unit_id=1, baseline_s=4.0, rebaseline_after_s=300.0,
                      seats=[SeatConfig(i + 1, "ble://?name=Polar") for i in range(seats)])


def test_a_file_from_before_devices_were_named_still_loads(tmp_path, caplog):
    """Format 1 (no device, the boot id as it is): read without a warning; a seat whose
    source names its device can't tell whose baseline it holds and starts fresh, a seat
    whose source names none (a camera's, whose viewer is whoever sits) goes on as before."""
    from empathy.edge.viewer_state import ViewerKeep, boot_id

    path, cfg = tmp_path / "unit1.viewers.json", _by_name()
    f = _seat_of(cfg)
    t = _worn(f, STRAP_A, T0, 12)
    ViewerKeep(path, cfg, [f]).save(t)
    doc = json.loads(path.read_text())
    doc.update(format=1, boot=boot_id())
    doc["seats"]["1"].pop("device")
    path.write_text(json.dumps(doc))
    caplog.set_level("INFO", "empathy.edge")
    for named in (False, True):
        g = _seat_of(cfg)
        ViewerKeep(path, cfg, [g]).resume(t + 2_000_000, [named])
        _worn(g, STRAP_A, t + 2_000_000, 6)
        assert g.resumed is not named, named
    assert "kept without the device it read" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text


def test_a_viewer_held_till_the_strap_is_read_is_kept_over_another_restart(tmp_path):
    """A unit restarted twice before its strap answers (a crash loop, a scan of 10 s): the
    held viewer stays in the file, and the third start still gives them back. The file
    keeps the strap as a keyed hash only."""
    from empathy.edge.viewer_state import ViewerKeep

    path, cfg = tmp_path / "unit1.viewers.json", _by_name(2)
    seats = [_seat_of(cfg), _seat_of(cfg)]
    t = max(_worn(seats[0], STRAP_A, T0, 12), _worn(seats[1], STRAP_B, T0, 12, 90.0))
    ViewerKeep(path, cfg, seats).save(t)
    for restart in (1, 2):  # nothing read: the file is kept as it was
        held = [_seat_of(cfg), _seat_of(cfg)]
        keep = ViewerKeep(path, cfg, held)
        keep.resume(t + restart * 1_000_000, [True, True])
        keep.save(t + restart * 1_000_000 + 500_000)
    text = path.read_text()
    assert all(s.split(":", 1)[1].replace(":", "").lower() not in text.replace(":", "").lower()
               for s in (STRAP_A, STRAP_B))
    last = [_seat_of(cfg), _seat_of(cfg)]
    ViewerKeep(path, cfg, last).resume(t + 3_000_000, [True, True])
    _worn(last[0], STRAP_A, t + 3_000_000, 3)  # seat 1 its own strap
    _worn(last[1], STRAP_A, t + 3_000_000, 3)  # seat 2 seat 1's: not seat 2's viewer
    assert last[0].resumed and abs(last[0].base["hr"].mean - 62) < 1
    assert not last[1].resumed and last[1].base["hr"].n < seats[1].base["hr"].n


def test_a_calibrated_viewer_s_baseline_is_not_given_to_the_next_strap_s_wearer(tmp_path):
    """A seat configured with a viewer's stored baseline (`viewer = ...`, calibrate
    baseline: CALIBRATED from the first reading) hands it on only to its first viewer;
    a swap within a run drops it. Over a restart it came back with the seat's profile: the
    unit restarted while another strap was put on read the new wearer against the
    calibrated viewer's resting 62 bpm. Another device read now drops it as a swap does."""
    from empathy.edge.features import SeatFeatures
    from empathy.edge.fusion import Baseline
    from empathy.edge.profile import SeatProfile
    from empathy.edge.viewer_state import ViewerKeep
    from empathy.wire import Flag as F

    path, cfg = tmp_path / "unit1.viewers.json", _by_name()
    stored = SeatProfile(baseline={"hr": Baseline(70.0, 10.0, 600, 62.0, 600 * 4.0)})

    def seat():
        return SeatFeatures(cfg.baseline_s, profile=stored,
                            rebaseline_after_s=cfg.rebaseline_after_s)

    first = seat()
    t = _worn(first, STRAP_A, T0, 12)
    assert first.mine is first.profile  # the configured viewer, calibrated
    ViewerKeep(path, cfg, [first]).save(t)
    for device, theirs in ((STRAP_A, True), (STRAP_B, False)):
        after = seat()
        ViewerKeep(path, cfg, [after]).resume(t + 2_000_000, [True])
        end = _worn(after, device, t + 2_000_000, 2, bpm=96.0)
        calibrated = bool(after.estimate(end)["flags"] & F.CALIBRATED)
        assert (after.mine is after.profile) is theirs and calibrated is theirs, device
