"""The install check names a seat's sensor fault as its unit says it (wire kind 7): a real
edge unit reading two simulated serial boards on real ptys, one board unplugged and one
ECG seat with its lead off, and `empathy calibrate seats` listening over real UDP."""

import io
import json
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from empathy.cli import main
from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.keys import Keystore
from test_calibration_seats import free_udp_port, write_plan

UNPLUGGED, LEAD_OFF = 5, 6


def _wait(what: str, ok, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while not ok():
        assert time.monotonic() < end, f"waited {timeout_s:.0f} s for {what}"
        time.sleep(0.05)


@pytest.mark.realtime  # two boards on ptys and a unit in real time (a 6-s listen)
def test_the_install_check_says_which_fault_and_what_to_do(tmp_path):
    from empathy.sim.board import ECG_FS_HZ, SimAD8232, SimBoard

    t = np.arange(10 * ECG_FS_HZ) / ECG_FS_HZ
    boards = [SimBoard(tmp_path / "ttyACM0", seed=1),
              SimBoard(tmp_path / "ttyACM1", ecg=SimAD8232(np.sin(2 * np.pi * 1.2 * t) ** 15,
                                                           off=[(0.0, 1e9)]))]
    stop = threading.Event()

    def step():
        while not stop.is_set():
            for b in boards:
                b.step()
            time.sleep(0.005)

    keys = Keystore.new([1])
    keys.save(tmp_path / "host.keys.toml")
    keys.for_unit(1).save(tmp_path / "unit1.keys.toml")
    port = free_udp_port()
    unit = EdgeUnit(EdgeConfig(
        unit_id=1, uplink=f"udp://127.0.0.1:{port}", keystore=str(tmp_path / "unit1.keys.toml"),
        faces=False, baseline_s=1.0,
        seats=[SeatConfig(UNPLUGGED, f"serial://{boards[0].link}"),
               SeatConfig(LEAD_OFF, f"serial://{boards[1].link}")]))
    threads = [threading.Thread(target=step, daemon=True),
               threading.Thread(target=unit.run, daemon=True)]
    for th in threads:
        th.start()
    try:
        _wait("the finger board's first readings", lambda: unit.last_reading[0] > 0)
        boards[0].unplug()
        _wait("the unit to know both faults", lambda: unit.faults.stats() == {
            str(UNPLUGGED): ["unplugged"], str(LEAD_OFF): ["lead_off"]})
        seats = [{"seat_id": s, "unit_id": 1, "sensors": ["hr"]} for s in (UNPLUGGED, LEAD_OFF)]
        plan = write_plan(tmp_path / "plan.toml", port, seats, warmup_s=1.0)
        buf = io.StringIO()
        with redirect_stdout(buf):
            rc = main(["calibrate", "seats", "--plan", str(plan), "--out",
                       str(tmp_path / "out"), "--duration", "6", "--json"])
    finally:
        unit.stop()
        stop.set()
        for th in threads:
            th.join(10)
        for b in boards:
            b.close()
    doc = json.loads(buf.getvalue())
    assert rc == 1
    rows = {r["seat"]: r for r in doc["tables"]["Seats (failing first)"]}
    # Before: "sensor contact 0 % is below the limit 95 (sensor off the skin)" for both.
    # The unit repeats a set fault every 5 s: heard within the 6-s listen, held since
    # before it began, so for (nearly) all of it
    assert list(rows[UNPLUGGED]["faults"]) == ["unplugged"], rows[UNPLUGGED]
    assert list(rows[LEAD_OFF]["faults"]) == ["lead_off"], rows[LEAD_OFF]
    for seat in rows.values():
        assert 0 < next(iter(seat["faults"].values())) <= 6.0
    assert rows[UNPLUGGED]["why"].startswith(f"seat {UNPLUGGED}: sensor unplugged for ")
    assert "plug the sensor's cable back in" in rows[UNPLUGGED]["why"]
    why = rows[LEAD_OFF]["why"]
    assert why.startswith(f"seat {LEAD_OFF}: ECG lead off for ") and \
        "moisten the electrodes and re-seat the snaps" in why, why
    assert "sensor off the skin" not in why and "(ECG lead off)" in why, why
    assert any("ECG lead off" in r for r in doc["reasons"])
    page = Path(doc["report"]).read_text()
    assert "<th>faults</th>" in page and "<td>lead_off " in page and "<td>unplugged " in page


def test_a_fault_in_the_warm_up_is_listed_and_one_after_it_fails_the_seat():
    """The judging alone, on what a listen keeps: the host's FaultBook taking the unit's
    fault packets (lead off, then all clear) beside 10 s of good samples."""
    from empathy import wire
    from empathy.calibration.seats import Heard, InstallLimits, InstallPlan, SeatPlan, seats_check
    from empathy.host.seat_faults import FaultBook

    t0, s = 5_000_000_000, 1_000_000
    good = int(wire.Flag.HR_OK | wire.Flag.CONTACT)
    plan = InstallPlan(seats=[SeatPlan(1, 1, ["hr"])], limits=InstallLimits(warmup_s=2.0))

    def judged(off_s: float, on_s: float, held_before_s: int = 0) -> dict:
        book = FaultBook()
        book.take(wire.SeatFaults(1, 1, 1, wire.mask_of(["lead_off"]), held_before_s),
                  t0 + int(off_s * s))
        book.take(wire.SeatFaults(1, 2, 1, 0), t0 + int(on_s * s))
        heard = Heard(10.0, units={1: {"unit": 1, "loss": 0.0, "firmware": "0.1.0"}},
                      faults=book.spans_of(t0))
        heard.samples[1] = [(t0 + i * s // 10, wire.SeatSample(1, 1, i, t0 + i * s // 10,
                                                                hr_bpm=70.0, flags=good))
                            for i in range(100)]
        (row,) = seats_check(plan, heard).tables["Seats (failing first)"]
        return row

    row = judged(0.5, 1.5)  # a lead put on during the warm-up: listed, no failure
    assert (row["status"], row["faults"], row["why"]) == ("ok", {"lead_off": 1.0}, "")
    row = judged(3.0, 4.5)
    assert row["status"] == "FAIL" and row["faults"] == {"lead_off": 1.5}
    assert row["why"] == ("seat 1: ECG lead off for 1.5 of 10 s: moisten the electrodes and "
                          "re-seat the snaps")
    row = judged(1.0, 3.0, held_before_s=60)  # held since before the listen: from its start
    assert row["status"] == "FAIL" and row["faults"] == {"lead_off": 3.0}
