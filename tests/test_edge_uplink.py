"""An edge unit whose uplink is down says so: it logs (rate-limited), counts the packets it
could not send, exits non-zero when nothing left at all, and reports the count in its
heartbeat so the host sees it once the link is back. Real mosquitto, real edge unit."""

import json
import os
import subprocess
import sys
import time

import pytest

from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver
from empathy.transports.mqtt import LocalBroker
from opshelp import free_port

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/mosquitto"),
                                reason="mosquitto is not installed")


def edge_config(tmp_path, uplink: str) -> tuple:
    ks = Keystore.new([7])
    ks.for_unit(7).save(tmp_path / "unit7.keys.toml")
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'unit_id = 7\nuplink = "{uplink}"\nkeystore = "{tmp_path}/unit7.keys.toml"\n'
                   f'faces = false\nseq_file = "{tmp_path}/seq"\n'
                   '[[seats]]\nseat_id = 70\nsource = "sim://seat?seed=1&faces=0"\n')
    return cfg, ks


def edge(cfg, duration_s, *extra):
    return subprocess.Popen([sys.executable, "-m", "empathy.cli", "--log-json", "--log-level",
                             "info", "edge", "run", "--config", str(cfg), "--duration",
                             str(duration_s), "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_unit_whose_broker_is_down_says_so(tmp_path):
    cfg, _ = edge_config(tmp_path, f"mqtt://127.0.0.1:{free_port()}/screen1")
    p = edge(cfg, 8)  # 8 s, not 3: a loaded machine sent 13 of a 3-s run's 30 datagrams
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    stats = json.loads(out)
    assert stats["uplink"]["sent"] == 0 == stats["packets_sent"]
    assert stats["uplink"]["reached"] is False
    assert stats["uplink"]["failed"] > 20 and "broker" in stats["uplink"]["problem"]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    warned = [x for x in logs if x["logger"] == "empathy.edge.uplink"]
    # rate-limited: one line when it starts failing, not one per packet
    assert 1 <= len(warned) <= 2 and warned[0]["level"] == "warning", warned
    assert "not sent" in warned[0]["msg"]
    assert err.splitlines()[-1].startswith(
        "empathy edge run: uplink mqtt://127.0.0.1:"), err.splitlines()[-1]
    assert "none of" in err.splitlines()[-1] and "Traceback" not in err


def test_the_heartbeat_reports_failures_once_the_broker_is_back(tmp_path):
    port = free_port()
    cfg, ks = edge_config(tmp_path, f"mqtt://127.0.0.1:{port}/screen1?keepalive=1")
    broker = LocalBroker(tmp_path / "b1", port)
    rx = open_receiver(f"mqtt://127.0.0.1:{port}/screen1")
    intake = Intake(ks.units)
    unit = edge(cfg, 30)
    try:
        def pump_until(pred, limit_s):
            end = time.monotonic() + limit_s
            while not pred() and time.monotonic() < end:
                intake.feed(rx.recv_batch(0.05))
            return pred()

        beats = lambda: intake.health.heartbeats.get(7)  # noqa: E731
        assert pump_until(lambda: beats() is not None, 15)
        before = beats().uplink_fail  # a packet or two may precede the first connection
        broker.stop()  # the broker goes away for a few seconds mid-show
        time.sleep(3)
        broker = LocalBroker(tmp_path / "b2", port)
        assert pump_until(lambda: beats().uplink_fail > before + 5, 30), beats()
        down = beats().uplink_fail
        report = intake.unit_report()
        assert [r["uplink_fail"] for r in report if r["unit"] == 7] == [down]
        # and the samples flow again
        last = lambda: intake.seats[70].last.seq if 70 in intake.seats else -1  # noqa: E731
        seq = last()
        assert pump_until(lambda: last() > seq + 5, 15)
    finally:
        unit.terminate()
        out, err = unit.communicate(timeout=30)
        rx.close()
        broker.stop()
    stats = json.loads(out)
    assert unit.returncode == 0, err  # the link came back: a blip is not a failed run
    assert stats["uplink"]["failed"] >= down > before and stats["uplink"]["sent"] > 0
    assert stats["uplink"]["reached"]
    assert f"{stats['uplink']['failed']} of" in err.splitlines()[-1]


def test_a_sample_the_wire_refuses_is_skipped_and_counted_not_the_end_of_the_unit(tmp_path):
    """An estimate the wire cannot carry (a NaN arousal has no quality bit to clear, and
    0 would claim a calm seat) is not sent, is counted, and the unit goes on sending."""
    import math

    from sim_unit import two_seat_unit

    unit = two_seat_unit(tmp_path)
    broken = unit.features[0]
    real = broken.estimate
    broken.estimate = lambda t: {**real(t), "arousal": math.nan}  # a fault in seat 1's fusion
    stats = unit.run(duration_s=1.5)
    assert stats["samples_unsent"] > 0
    assert stats["packets_sent"] >= stats["samples_unsent"]  # seat 2 (and heartbeats) went on
