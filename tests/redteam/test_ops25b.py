"""Operations, pass 25 (leftovers): `empathy doctor` run as root (sudo) beside the
service's state folder, the login a host or unit holds under another spelling of the
broker's address, the player's stop when its last step fails, and `--log-file` on a full
disk. Real parts: `empathy doctor` (in a mount namespace where /var/lib is a test folder),
a host's intake answering clock sync over UDP, a real mosquitto, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import tomli_w

from empathy.host.doctor_files import SERVICE_STATE
from empathy.host.receive import Intake
from empathy.transports import open_receiver
from opshelp import unit_keys

ROOT = Path(__file__).resolve().parents[2]
SERVICE_UID = 65534  # `nobody`: the folder's owner stands for the service user


def _doctor_as_root(tmp: Path, cfg: Path) -> tuple[int, dict, str]:
    """`sudo empathy doctor --json --config FILE`: root's environment (no XDG_STATE_HOME,
    root's home), on a machine whose /var/lib holds the service's state folder (a mount
    namespace puts tmp/varlib there; nothing outside the test changes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_STATE_HOME",
                                                             "XDG_RUNTIME_DIR")}
    env["HOME"] = str(tmp / "root")
    cmd = (f"mount --bind {tmp / 'varlib'} /var/lib && exec {sys.executable} -m empathy.cli "
           f"doctor --json --config {cfg}")
    r = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True,
                       timeout=180, cwd=tmp, env=env)
    found: dict[str, list] = {}
    for f in json.loads(r.stdout or "[]"):
        found.setdefault(f["check"], []).append(f)
    return r.returncode, found, r.stderr


def test_doctor_as_root_takes_the_service_s_sequence_numbers(tmp_path):
    """`sudo empathy doctor --config /etc/empathy/edge-seat1.toml` on a UDP unit: root's
    state folder held no sequence file, so its clock-sync requests went out from 0, the
    host (which had the unit's numbers up to 200,000) refused every one as a replay, and
    the doctor said 'no clock-sync reply from the host' of a host that was fine. Now, run
    as root, it takes the numbers from the service's state folder (/var/lib/empathy, the
    units' XDG_STATE_HOME), says which file, and leaves that file the service's own."""
    keys = unit_keys(tmp_path)
    svc = tmp_path / "varlib" / "empathy"
    seq = svc / "empathy" / "edge" / "unit301.seq"
    seq.parent.mkdir(parents=True)
    seq.write_text("200000")  # the unit's reserve after a few days of shows
    for d in (svc, svc / "empathy", seq.parent, seq):
        os.chown(d, SERVICE_UID, SERVICE_UID)
    (tmp_path / "root").mkdir()
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(keys.units, reply=rx.reply)
    intake.windows.accept(301, 200010)  # the host has seen the unit's packets up to here
    stop = threading.Event()

    def host():
        while not stop.is_set():
            intake.feed(rx.recv_batch(0.05))

    t = threading.Thread(target=host, daemon=True)
    t.start()
    cfg = tmp_path / "edge.toml"
    cfg.write_text(tomli_w.dumps({
        "unit_id": 301, "uplink": f"udp://127.0.0.1:{rx.port}", "faces": False,
        "keystore": str(tmp_path / "unit301.keys.toml"), "sync_hz": 2.0,
        "seats": [{"seat_id": 301, "source": "sim://seat"}]}))
    try:
        rc, f, err = _doctor_as_root(tmp_path, cfg)
    finally:
        stop.set()
        t.join(2)
        rx.close()
    clock = f["clock:host"][0]
    print(clock, dict(intake.rejected))
    assert clock["status"] == "ok" and "offset" in clock["detail"], (clock, err[-2000:])
    assert "/var/lib/empathy/empathy/edge/unit301.seq" in clock["detail"], clock
    assert int(seq.read_text()) > 200010  # a unit started now goes on past the doctor's
    for p in (seq, seq.with_name("unit301.seq.lock")):
        assert (p.stat().st_uid, p.stat().st_gid) == (SERVICE_UID, SERVICE_UID), p
    assert not (tmp_path / "root" / ".local").exists()  # nothing of root's own
    unit = (ROOT / "deploy" / "systemd" / "empathy-edge@.service").read_text()
    assert f"Environment=XDG_STATE_HOME={SERVICE_STATE}\n" in unit  # the folder it reads


HOLD = """
import sys, time
from empathy.transports.mqtt_host import hold_login
from empathy.transports.mqtt_url import MqttUrl
held = hold_login(MqttUrl(sys.argv[1]))
print("held" if held is not None else "none", flush=True)
time.sleep(60)
"""


def test_the_login_is_one_whatever_the_broker_s_address_is_spelled(tmp_path):
    """A unit's uplink says mqtt://unit-1@localhost:PORT, the operator types 127.0.0.1
    (or ::1, or LocalHost) for the doctor: the login lock was keyed on the host name as
    written, so the doctor found it free, logged in as the unit and took its place on the
    shipped broker. Now the lock is keyed on the address(es) the name resolves to (every
    loopback address one machine), the port and the user. A real process holds it."""
    from empathy.transports.mqtt_host import login_in_use

    port = 18830 + os.getpid() % 1000
    url = "mqtt://unit-1@{}:%d/screen1" % port
    unit = subprocess.Popen([sys.executable, "-c", HOLD, url.format("localhost")],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert unit.stdout.readline().strip() == "held"
        said = {h: login_in_use(url.format(h)) for h in
                ("localhost", "LocalHost", "127.0.0.1", "[::1]", "127.0.0.2")}
        other = [login_in_use(url.format("127.0.0.1").replace("unit-1", "unit-2")),
                 login_in_use(url.format("127.0.0.1").replace(str(port), str(port + 1))),
                 login_in_use(url.format("192.0.2.7"))]
    finally:
        unit.kill()
        unit.wait()
    print(said, other)
    assert all(said.values()), said
    assert other == ["", "", ""]  # another user, port or broker is another login
    assert login_in_use(url.format("127.0.0.1")) == ""  # let go at the unit's death
