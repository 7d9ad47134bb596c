"""`empathy demo --serial-seat --ble-seat`: one seat through the serial driver from a
simulated board on a real pty, one through bleak from a strap on a private BlueZ bus."""

import json
import sqlite3
import subprocess
import sys

import pytest

from empathy.wire import Flag


@pytest.mark.slow
def test_demo_with_a_serial_seat_and_a_ble_seat(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "demo", "--seats", "3",
                        "--duration", "20", "--baseline", "6", "--no-faces", "--serial-seat",
                        "--ble-seat", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text())
    assert s["hardware_seats"]["sources"]["3"].startswith("serial://")
    assert s["hardware_seats"]["sources"]["2"].startswith("ble://")
    assert s["hardware_seats"]["ble_notifications"] >= 10
    db = sqlite3.connect(next((out / "session").glob("*.session.db")))
    seat_ids = json.loads((out / "edge" / "seat_pseudonyms.json").read_text())
    for seat, pupil in ((3, True), (2, False)):  # stored unit ids are stand-ins: by seat
        rows = db.execute("select hr_bpm, pupil_mm, flags from samples where seat_id = ?",
                          (seat_ids[str(seat)],)).fetchall()
        hr = [h for h, _, f in rows if f & Flag.HR_OK]
        assert len(hr) > len(rows) / 3, (seat, len(hr), len(rows))  # after the first beats
        assert all(40 < h < 140 for h in hr)
        assert any(p for _, p, _ in rows) == pupil  # the board also sends pupil samples
