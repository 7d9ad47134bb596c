"""Install check against real edge units (simulated viewers) sending real UDP to the check."""

from __future__ import annotations

import io
import json
import socket
import threading
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import tomli_w

from empathy import wire
from empathy.calibration import store
from empathy.calibration.seats import listen, load_plan, seats_check
from empathy.cli import main
from empathy.config import ConfigError
from empathy.edge.runtime import EdgeConfig, EdgeUnit, SeatConfig
from empathy.keys import Keystore


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_plan(path: Path, port: int, seats: list[dict], **limits) -> Path:
    doc = {"name": "Screen 2", "listen": f"udp://127.0.0.1:{port}", "keystore": "host.keys.toml",
           "duration_s": 9.0, "limits": {"warmup_s": 5.0, **limits}, "seats": seats}
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


@pytest.fixture
def room(tmp_path):
    """Three edge units: unit 1 (seat 1) healthy, unit 2 (seat 2) with a key the host does
    not know, unit 4 (seat 4) sending at 3 Hz instead of 10. Unit 3 (seat 3) is unplugged."""
    keys = Keystore.new([1, 2, 3, 4])
    keys.save(tmp_path / "host.keys.toml")
    port = free_udp_port()
    units = []
    for unit, rate in ((1, 10.0), (2, 10.0), (4, 3.0)):
        ks = keys.for_unit(unit) if unit != 2 else Keystore.new([2]).for_unit(2)
        ks.save(tmp_path / f"unit{unit}.keys.toml")
        cfg = EdgeConfig(unit_id=unit, uplink=f"udp://127.0.0.1:{port}",
                         keystore=str(tmp_path / f"unit{unit}.keys.toml"), rate_hz=rate,
                         faces=False, baseline_s=2.0,
                         seats=[SeatConfig(unit, f"sim://seat?seed={unit}&faces=0")])
        units.append(EdgeUnit(cfg))
    threads = [threading.Thread(target=u.run, daemon=True) for u in units]
    for t in threads:
        t.start()
    yield tmp_path, port
    for u in units:
        u.stop()
    for t in threads:
        t.join(10)


def test_install_check_lists_failing_seats_and_why(room):
    tmp_path, port = room
    seats = [{"seat_id": i, "unit_id": i, "sensors": ["hr", "pupil"]} for i in (1, 2, 3, 4)]
    plan = write_plan(tmp_path / "plan.toml", port, seats)
    store.mark_seat(tmp_path / "store", 1, "v-0001")  # seat 1's viewer has a baseline
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["calibrate", "seats", "--plan", str(plan), "--out", str(tmp_path / "out"),
                   "--store", str(tmp_path / "store"), "--json"])
    doc = json.loads(buf.getvalue())
    assert rc == 1
    rows = {r["seat"]: r for r in doc["tables"]["Seats (failing first)"]}
    assert rows[1]["status"] == "ok", rows[1]["why"]
    assert rows[1]["rate_hz"] == pytest.approx(10, rel=0.2)
    assert rows[1]["firmware"] == ".".join(map(str, wire.RELEASE)) and rows[1]["hr_ok_pct"] >= 80
    assert rows[1]["viewer"] == "v-0001" and rows[4]["viewer"] == ""
    assert "none of its packets verify" in rows[2]["why"]
    assert "nothing heard from unit 3" in rows[3]["why"]
    assert "packet rate" in rows[4]["why"]
    assert doc["figures"]["seats_failed"] == [2, 3, 4] and doc["figures"]["seats_ok"] == 1
    assert doc["figures"]["packets_rejected"].get("bad_tag", 0) > 0
    page = Path(doc["report"]).read_text()
    assert "Seats (failing first)" in page and "Seats at a glance" in page

    # The room, warmed up now, against a plan for the healthy seat alone: it passes. (The
    # rate limit was judged above over 9 s; here a 3-s listen, where one 0.6-s stall of the
    # in-process unit on a loaded machine reads 80 % of plan: CI, session 26.)
    plan = load_plan(write_plan(tmp_path / "one.toml", port, seats[:1], warmup_s=0.0,
                                min_rate_pct=60.0))
    res = seats_check(plan, listen(plan, 3.0, quiet=True))
    assert res.passed, res.reasons
    assert res.figures["unplanned_seats"] == [4]  # seat 4 is heard but not planned


def test_plan_errors_name_the_line(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('name = "x"\nkeystore = "k.toml"\n[[seats]]\nseat_id = 1\nunit_id = 1\n'
                    'sensors = ["hr", "smell"]\n')
    with pytest.raises(ConfigError, match="unknown sensors"):
        load_plan(plan)
    plan.write_text('name = "x"\n[limits]\nrate_hz = "ten"\n[[seats]]\nseat_id = 1\nunit_id = 1\n')
    assert main(["calibrate", "seats", "--plan", str(plan), "--out", str(tmp_path)]) == 1
    assert "plan.toml:3: limits.rate_hz: expected float" in capsys.readouterr().err
    plan.write_text('keystore = "missing.toml"\n[[seats]]\nseat_id = 1\nunit_id = 1\n')
    assert main(["calibrate", "seats", "--plan", str(plan), "--out", str(tmp_path)]) == 1
    assert "keystore" in capsys.readouterr().err
