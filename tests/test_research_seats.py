"""Research devices as seats, end to end: a real edge unit reads an LSL ECG stream, a
BrainFlow board (BrainFlow's playback board playing a recorded ECG), a Polar H10's raw
ECG (measurement-data service on a private BlueZ bus) and our serial board with a GSR front
end, and a real host takes in their heart rate over UDP. The rigs are the demo's
(`empathy demo --serial-seat --lsl-seat --brainflow-seat --ecg-seat`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import tomli_w

from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.sim.rigs import DemoRigs
from empathy.transports import open_receiver
from empathy.wire import Flag

pytestmark = pytest.mark.timeout(300)
LSL, BRAINFLOW, H10, BOARD = 1, 2, 3, 4


def test_lsl_brainflow_and_h10_seats_give_heart_rate_to_the_host(tmp_path):
    keys = Keystore.new([7])
    keys.for_unit(7).save(tmp_path / "u7.keys.toml")
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(keys.units)
    rigs = DemoRigs(tmp_path / "rigs", BOARD, None, seed=4, lsl_seat=LSL,
                    brainflow_seat=BRAINFLOW, ecg_seat=H10, brainflow_s=240,
                    nuisance=0)  # the device paths under test, not a loose strap
    cfg = {"unit_id": 7, "uplink": f"udp://127.0.0.1:{rx.port}",
           "keystore": str(tmp_path / "u7.keys.toml"), "rate_hz": 10.0, "baseline_s": 5.0,
           "faces": False, "seq_file": str(tmp_path / "u7.seq"),
           "seats": [{"seat_id": 100 + s, "source": rigs.sources[s]}
                     for s in (LSL, BRAINFLOW, H10, BOARD)]}
    (tmp_path / "u7.toml").write_text(tomli_w.dumps(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                             str(tmp_path / "u7.toml"), "--duration", "40", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # 40 s, not 25 (tried): each seat's heart rate settles within ~12 s, but after a 25-s run
    # the clock-sync tests that follow in the same pytest process read round trips of 1-4 ms
    # instead of ~0.5 ms and once failed their 1 ms bound; at 40 s they do not (cause open)
    hr: dict[int, list[float]] = {100 + s: [] for s in (LSL, BRAINFLOW, H10)}
    worn: list[float] = []  # the H10 wearer's heart as the unit ran (it rises off its rest)
    try:
        end = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < end:
            for sample in intake.feed(rx.recv_batch(0.1)):
                if sample.flags & Flag.HR_OK:
                    hr.setdefault(sample.seat_id, []).append(sample.hr_bpm)
            worn.append(rigs.wearers[H10].person.heart.hr_bpm)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        stats = rigs.stats()
        rigs.close()
    assert proc.returncode == 0, err[-2000:]
    stats_out = json.loads(out)
    assert stats_out["packets_sent"] > 300
    # the board's GSR front end: skin conductance joined the seat's arousal, and the unit
    # says how much it counted and how sure it was (the wire's sample has no room for it)
    eda = stats_out["eda"][str(100 + BOARD)]
    assert eda["quality"] > 0.9 and 0 < eda["share"] < 1 and 1 < eda["tonic_us"] < 15
    assert 0 < eda["arousal_confidence"] <= 1 and {"scr_per_min", "z"} <= set(eda)
    assert stats["ecg_frames"] > 20  # the H10 streamed its ECG
    for s in (LSL, BRAINFLOW, H10):
        got = hr[100 + s]
        assert len(got) >= 20, (s, rigs.sources[s], len(got))
        late = sorted(got[-20:])[10]  # the median of the last two seconds
        # the H10's wearer lives on while the unit runs (a simulated viewer whose heart
        # wanders off its rest: 80.6 bpm read for a rest of 73.7 once); the recordings don't
        want = float(np.median(worn[-100:])) if s == H10 else rigs.rest_bpm[s]
        assert late == pytest.approx(want, abs=6), (s, rigs.sources[s], got[-20:], want)


@pytest.mark.slow
def test_demo_with_lsl_brainflow_and_h10_ecg_seats(tmp_path):
    """`empathy demo --lsl-seat --brainflow-seat --ecg-seat`: the whole show with three
    research-device seats; each records heart rate in the session."""
    import sqlite3

    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "demo", "--seats", "4",
                        "--duration", "25", "--baseline", "15", "--no-faces", "--lsl-seat",
                        "--brainflow-seat", "--ecg-seat", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text())
    src = s["hardware_seats"]["sources"]
    assert src["4"].startswith("ble://") and src["4"].endswith("?ecg=1")
    assert src["3"].startswith("brainflow://") and src["2"].startswith("lsl://")
    assert s["hardware_seats"]["ecg_frames"] > 20
    db = sqlite3.connect(next((out / "session").glob("*.session.db")))
    seat_ids = json.loads((out / "edge" / "seat_pseudonyms.json").read_text())
    for unit in (2, 3, 4):  # stored unit ids are stand-ins: by the seat's pseudonym
        rows = db.execute("select hr_bpm, flags from samples where seat_id = ?",
                          (seat_ids[str(unit)],)).fetchall()
        assert rows, unit
        hr = [h for h, f in rows if f & Flag.HR_OK]
        assert len(hr) > len(rows) / 3, (unit, len(hr), len(rows))
        assert all(40 < h < 140 for h in hr)
