"""Operations, pass 24: what a cinema's operator hits with host workers, `empathy doctor`
and units restarted on a failing card. Real processes: `empathy host run`, `empathy doctor`
and `empathy edge run`, a real mosquitto with the shipped config (tests/redteam/hardened.py)."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time

from empathy import broker_auth, wire
from empathy.broker_auth import HOST_USER, unit_user
from empathy.clock import now_us
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver, open_sender
from empathy.transports.mqtt_broker import LocalBroker, free_port

from hardened import HardenedBroker, shipped_config
from redteam_rig import Host, Unit, free_udp_port, udp_send, wait_for
from test_ops22 import _card, _edge_run, _one_seat, needs_root

LOST = "lost the MQTT broker"  # the host's line at each connection it loses


def _keys_new(tmp, folder, screen: str, units: str, *extra: str) -> None:
    """`empathy keys new` as an operator runs it, broker credentials into `folder`."""
    done = subprocess.run([sys.executable, "-m", "empathy.cli", "keys", "new", units,
                           "--keystore", str(tmp / "host.keys.toml"), "--broker-dir",
                           str(folder), "--screen", screen, *extra],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _two_workers(tmp, users: tuple[str, str], run_s: float = 8.0) -> dict:
    """Two `empathy host run` workers sharing one screen (`group=hosts`) through the shipped
    broker, logged in as `users`; one unit at 10 Hz. Their reconnections and what the pair
    took of what the unit sent."""
    folder = tmp / "broker"
    _keys_new(tmp, folder, "ops24", "1", *(["--host-workers", "2"] if users[0] != users[1]
                                           else []))
    keys = Keystore.load(tmp / "host.keys.toml", "host")
    broker = HardenedBroker(folder, "ops24", [])

    def url(user: str) -> str:
        return (f"mqtts://{user}@127.0.0.1:{broker.port}/ops24?ca={broker.pki['ca.crt']}"
                f"&password_file={folder / f'{user}.mqtt'}&group=hosts&keepalive=2")
    hosts = []
    for i, user in enumerate(users):
        (tmp / f"w{i}").mkdir()
        hosts.append(Host(tmp / f"w{i}", url(user), keys))
    tx = open_sender(url(unit_user(1)).replace("&group=hosts", ""), 1)
    unit = Unit(1, [1], keys.units[1], tx.send)
    try:
        for h in hosts:
            h.start()
        wait_for(lambda: tx.client.is_connected(), 10, "unit 1 on the broker")
        time.sleep(1.0)  # both workers subscribed, and whatever they do to each other began
        lost0 = [h.log().count(LOST) for h in hosts]
        unit.start()
        time.sleep(run_s)
        unit.stop()
        time.sleep(1.0)  # the last packets through
        lost = [h.log().count(LOST) - n for h, n in zip(hosts, lost0)]
        took = [(h.stop() or {}).get("packets_accepted", 0) for h in hosts]
    finally:
        unit.stop()
        tx.close()
        for h in hosts:
            h.stop()
        broker.stop()
    return {"reconnects": lost, "sent": len(unit.sent), "taken": took,
            "logs": [h.log() for h in hosts]}


def test_two_host_workers_each_with_its_own_broker_user_never_knock_each_other_off(tmp_path):
    """Host workers sharing a screen's load (`group=hosts`) on the shipped broker, which
    names a connection by its user (`use_username_as_clientid`): with one host user, each
    worker's login took the other's place, and each came back a second later to take its
    place in turn. Now `empathy keys new --broker-dir --host-workers 2` gives each worker
    its own user (empathy-host, empathy-host2), which the shipped broker and ACL accept:
    no reconnection, and the pair takes every packet the unit sent."""
    got = _two_workers(tmp_path, (HOST_USER, f"{HOST_USER}2"))
    print({k: v for k, v in got.items() if k != "logs"})
    assert got["reconnects"] == [0, 0], got["logs"]
    assert sum(got["taken"]) >= got["sent"] - 2, got  # the last in flight at the stop


def test_two_host_workers_sharing_one_broker_user_are_told_why_they_fight(tmp_path):
    """The same pair on one host user (a config from before `--host-workers`): they still
    take each other's place (4-5 reconnections each in 8 s), but each now says why, once,
    within its first seconds: before, only 'lost the MQTT broker ... reconnecting' each
    second, which reads as a network fault."""
    got = _two_workers(tmp_path, (HOST_USER, HOST_USER))  # each knocked off every ~2 s
    print({k: v for k, v in got.items() if k != "logs"})
    for log in got["logs"]:
        said = [ln for ln in log.splitlines() if "takes its place" in ln]
        assert len(said) == 1 and "--host-workers" in said[0] and HOST_USER in said[0], log
    # the second to start, on the same machine, is told at its start too
    said = [ln for log in got["logs"] for ln in log.splitlines()
            if "another host process logs in with" in ln]
    assert len(said) == 1 and "--host-workers" in said[0], said


def doctor_beside_a_running_host(tmp_path, url, broker):
    """`empathy doctor --config host.toml` run while a host (url(HOST_USER)) takes a unit's
    packets over `broker`; asserts the host never lost the broker and took every packet
    but the last two. Gives the doctor's run and its listen lines."""
    keys = Keystore.new([1])
    host = Host(tmp_path, url(HOST_USER), keys)
    tx = open_sender(url(unit_user(1)), 1)
    unit = Unit(1, [1], keys.units[1], tx.send)
    try:
        host.start()
        wait_for(lambda: tx.client.is_connected(), 10, "unit 1 on the broker")
        unit.start()
        time.sleep(2.0)
        lost0 = host.log().count(LOST)
        doctor = subprocess.run([sys.executable, "-m", "empathy.cli", "doctor", "--config",
                                 str(tmp_path / "host.toml")], capture_output=True, text=True,
                                timeout=120)
        time.sleep(3.0)  # a knocked-off host's second away, and its packets since
        unit.stop()
        time.sleep(1.0)
        lost = host.log().count(LOST) - lost0
        taken = (host.stop() or {}).get("packets_accepted", 0)
    finally:
        unit.stop()
        tx.close()
        host.stop()
        broker.stop()
    said = [ln for ln in doctor.stdout.splitlines() if " listen " in ln]
    print({"reconnects": lost, "sent": len(unit.sent), "taken": taken}, said)
    assert lost == 0 and taken >= len(unit.sent) - 2, host.log()[-3000:]
    return doctor, said


def test_empathy_doctor_never_takes_a_running_host_s_place_on_the_broker(tmp_path):
    """`empathy doctor --config host.toml` in the interval, the show running, its link a
    plain mqtt:// one to the shipped broker (its TLS lines left out): the doctor logged in
    as the host to check the broker takes it, so the broker (one connection per user) gave
    it the host's place. Before: the host lost the broker once and 10 of 100 samples at
    10 Hz while it logged in again. Now a host holds its password file (flock) while it
    runs and the doctor, finding it held, says so instead of logging in: no reconnection,
    no sample lost."""
    folder, port = tmp_path / "broker", free_port()
    folder.mkdir()
    for user, pw in broker_auth.add_users(folder, "ops24", [1]).items():
        broker_auth.write_credentials(folder / f"{user}.mqtt", pw)
    plain = re.sub(r"^(cafile|certfile|keyfile|tls_version) .*$", "",
                   shipped_config(folder, port), flags=re.M)
    broker = LocalBroker(folder, port, plain)
    url = lambda user: (f"mqtt://{user}@127.0.0.1:{port}/ops24?"  # noqa: E731
                        f"password_file={folder / f'{user}.mqtt'}")
    doctor, said = doctor_beside_a_running_host(tmp_path, url, broker)
    assert len(said) == 1 and "not checked: a host is logged in with" in said[0], doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr, doctor.stderr


@needs_root
def test_a_unit_restarted_on_a_read_only_card_is_not_counted_as_losing_packets(tmp_path):
    """test_ops23's unit on a card read-only from its start (its sequence file last written
    a minute ago), run 8 s and restarted (as systemd does), the host answering its clock
    sync: each start goes past every number the unit can have sent since the file was
    written, and the host took the numbers skipped for lost packets. Before: its `loss`
    read 0.59-0.63 with every packet delivered on loopback. Now the host tells a restart
    from loss (a jump past 1.5 times what the unit's rate can use in its silence) and the
    unit on such a card starts past twice its rate bound since the write: loss 0."""
    ks = Keystore.new([1])
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(ks.units, reply=rx.reply)
    try:
        with _card(tmp_path) as card:
            (card / "unit1.seq").write_text("5000")
            os.utime(card / "unit1.seq", (time.time() - 60, time.time() - 60))
            subprocess.run(["mount", "-o", "remount,ro", str(card)], check=True)
            cfg = _one_seat(tmp_path, f"udp://127.0.0.1:{rx.port}")
            cfg.write_text(cfg.read_text().replace(f"{tmp_path}/seq", f"{card}/unit1.seq"))
            ks.for_unit(1).save(tmp_path / "k.toml")  # the host's key for it
            for _ in range(2):  # the first run, then systemd's restart of it
                unit = _edge_run(cfg, 8)
                while unit.poll() is None:
                    intake.feed(rx.recv_batch(0.05))
                out = unit.communicate(timeout=10)[0]
                assert unit.returncode == 0 and "Traceback" not in out, out
            intake.feed(rx.recv_batch(0.2))
    finally:
        rx.close()
    loss = intake.unit_report()[0]["loss"]
    print({"loss": loss, "accepted": intake.accepted, "top": int(intake.windows.top[1])})
    assert intake.accepted > 150 and not intake.rejected, intake.rejected
    assert loss < 0.02, loss


def _heartbeat(unit: int, seq: int, key: bytes, offset_us: int, drift_ppb: int) -> bytes:
    """A heartbeat as a unit's own firmware might pack it: any value of the wire's fields
    (wire.encode_health clamps what it is given)."""
    ts = now_us()
    body = struct.pack(">BHIHIBBBBBHqiIIH", (wire.VERSION << 4) | wire.KIND_HEALTH, unit, seq,
                       ts >> 32 & 0xFFFF, ts & 0xFFFFFFFF, 1, 2, 3, 1, 255, 0, offset_us,
                       drift_ppb, 900, 0, 150)
    return body + wire.tag(key, body)


def test_a_unit_s_clock_offset_and_drift_at_the_wire_s_extremes_move_nothing_on_the_host(
        tmp_path):
    """A broken or hostile unit 2 sends heartbeats whose clock offset (int64 µs) and drift
    (int32 ppb) span the wire's whole range, to a running `empathy host run`; an honest
    unit 1 sends its seats meanwhile. The host's timing never reads them (samples carry
    host-clock stamps, sync replies the host's own clock): they are a unit's report, on
    the dashboard, in /metrics and in the session. Before: an offset of +-2**63 us (292,000
    years; two monotonic clocks never differ by more than the machines' uptimes) was taken
    and shown, clock offset -9.2e15 ms. Now an offset beyond the 48-bit host clock's span
    (8.9 years) is refused where it enters (`bad_field`), the rest of the range is shown
    as the unit's claim, and the host, its dashboard and unit 1 go on."""
    keys = Keystore.new([1, 2])
    port = free_udp_port()
    host = Host(tmp_path, f"udp://127.0.0.1:{port}", keys).start()
    send = udp_send(port)
    unit = Unit(1, [1], keys.units[1], send).start()
    top, edge = (1 << 63) - 1, wire.TS_MASK
    cases = [(-top - 1, 0), (top, 0), (edge + 1, 0), (-edge - 1, 0),  # refused
             (edge, (1 << 31) - 1), (-edge, -(1 << 31)), (0, 0)]  # shown
    try:
        host.wait_state(lambda s: s["seats"], 30, "unit 1's seat")
        for seq, (offset, drift) in enumerate(cases):
            send(_heartbeat(2, seq, keys.units[2], offset, drift))
            time.sleep(0.3)
            if seq >= 4:
                got = host.wait_state(lambda s: any(u["unit"] == 2 and u["clock_offset_ms"]
                                                    == round(offset / 1000, 3)
                                                    for u in s["units"]), 10, f"offset {offset}")
        status, _, metrics = host.request("/metrics")
        unit.stop()
    finally:
        unit.stop()
        summary = host.stop()
    print(got["packets"]["rejected"], summary and summary.get("packets_accepted"))
    assert got["packets"]["rejected"].get("bad_field") == 4, got["packets"]
    assert status == 200 and b"empathy_unit_clock_offset_seconds" in metrics
    assert all(s["age_s"] < 1.0 for s in got["seats"]), got["seats"]
    assert "Traceback" not in host.log(), host.log()[-3000:]
