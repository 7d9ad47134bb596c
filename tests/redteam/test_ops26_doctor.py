"""Operations, pass 26: a unit started before its broker's name resolved, and `sudo empathy
doctor`'s service folder, in a mount namespace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_ops22 import needs_root

ROOT = Path(__file__).resolve().parents[2]


HOLD = """
import sys, time
from empathy.transports.mqtt_login import hold_login
from empathy.transports.mqtt_url import MqttUrl
held = hold_login(MqttUrl(sys.argv[1]))
print("held" if held is not None else "none", flush=True)
time.sleep(60)
"""
ASK = ("import sys; from empathy.transports.mqtt_login import login_in_use; "
       "print(repr(login_in_use(sys.argv[1])))")


def _in_namespace(hosts: Path, argv: list[str]) -> list[str]:
    """argv on a machine whose /etc/hosts is `hosts` (a mount namespace), as its lead."""
    return ["unshare", "-m", "sh", "-c", f'mount --bind {hosts} /etc/hosts && exec "$@"',
            "sh", *argv]


@needs_root
def test_a_unit_started_before_its_broker_s_name_resolved_holds_that_name(tmp_path):
    """A Pi's unit started before the cinema's DNS answered (`mqtt://unit-1@cinemabroker`
    did not resolve): its login lock was keyed on the name as written, the doctor's, once
    the name resolved, on the address, so `empathy doctor` found the login free, logged in
    as the unit and knocked it off the shipped broker. Now every holder also holds the name
    as written (lower-cased) beside the addresses. Real processes; the name resolves for
    the doctor only (its /etc/hosts, in a mount namespace)."""
    port = 19830 + os.getpid() % 1000
    url = f"mqtt://unit-1@CinemaBroker:{port}/screen1"
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost cinemabroker\n")
    unit = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert unit.stdout.readline().strip() == "held"
        said = [subprocess.run(_in_namespace(hosts, [sys.executable, "-c", ASK, u]),
                               capture_output=True, text=True, timeout=60).stdout.strip()
                for u in (url,)]
    finally:
        unit.kill()
        unit.wait()
    print(said)
    assert said[0] == f"\"user 'unit-1' at cinemabroker:{port}\"", said


@needs_root
def test_sudo_doctor_takes_the_state_folder_the_installed_unit_names(tmp_path):
    """A cinema with two screens on one machine installed its units with their state in
    /var/lib/empathy-screen2 (StateDirectory=, XDG_STATE_HOME=). `sudo empathy doctor`
    took the sequence numbers from the fixed /var/lib/empathy: it found none there, sent
    from 0, the host refused every clock-sync request as a replay and the doctor said the
    host was silent. Now it reads the folder from the installed unit (its XDG_STATE_HOME,
    else /var/lib/ and its StateDirectory=). `empathy doctor` in a mount namespace where
    /etc/systemd/system and /var/lib are test folders; a host's intake on UDP."""
    import tomli_w

    from opshelp import unit_keys
    from ops_rig import Host

    keys = unit_keys(tmp_path)
    svc = tmp_path / "varlib" / "empathy-screen2"
    seq = svc / "empathy" / "edge" / "unit301.seq"
    seq.parent.mkdir(parents=True)
    seq.write_text("200000")
    (tmp_path / "varlib" / "empathy").mkdir()  # the default folder, empty
    units = tmp_path / "systemd"
    units.mkdir()
    shipped = (ROOT / "deploy" / "systemd" / "empathy-edge@.service").read_text()
    (units / "empathy-edge@.service").write_text(shipped.replace(
        "/var/lib/empathy\n", "/var/lib/empathy-screen2\n").replace(
        "StateDirectory=empathy\n", "StateDirectory=empathy-screen2\n"))
    (tmp_path / "root").mkdir()
    host = Host(keys)
    host.intake.windows.accept(301, 200010)
    cfg = tmp_path / "edge.toml"
    cfg.write_text(tomli_w.dumps({
        "unit_id": 301, "uplink": f"udp://127.0.0.1:{host.rx.port}", "faces": False,
        "keystore": str(tmp_path / "unit301.keys.toml"), "sync_hz": 2.0,
        "seats": [{"seat_id": 301, "source": "sim://seat"}]}))
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_STATE_HOME",
                                                             "XDG_RUNTIME_DIR")}
    env["HOME"] = str(tmp_path / "root")
    cmd = (f"mount --bind {units} /etc/systemd/system && mount --bind {tmp_path / 'varlib'} "
           f"/var/lib && exec {sys.executable} -m empathy.cli doctor --json --config {cfg}")
    try:
        r = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True,
                           text=True, timeout=180, cwd=tmp_path, env=env)
    finally:
        host.close()
    clock = [f for f in json.loads(r.stdout or "[]") if f["check"] == "clock:host"]
    print(clock, dict(host.intake.rejected), r.stderr[-1500:])
    assert clock and clock[0]["status"] == "ok", (clock, r.stderr[-1500:])
    assert "/var/lib/empathy-screen2/empathy/edge/unit301.seq" in clock[0]["detail"], clock
    assert int(seq.read_text()) > 200010
    assert not (tmp_path / "varlib" / "empathy" / "empathy").exists()
