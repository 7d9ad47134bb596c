"""`empathy keys provision` end to end: bundles for three units, the real mosquitto started
with the shipped config and the generated password file and ACL, a provisioned unit
(`empathy edge run` on its bundle's config) heard by the host through TLS, and a wrong
unit refused by the broker."""

import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import paho.mqtt.client as mqtt

from empathy import broker_auth
from empathy.config import loads
from empathy.host.cli import HostConfig
from empathy.host.receive import Intake
from empathy.keys import Keystore
from empathy.transports import open_receiver
from empathy.transports.mqtt_broker import LocalBroker, free_port

from hardened import shipped_config
from pki import make_pki

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "cinema" / "edge.toml"


def _template(tmp: Path, port: int) -> Path:
    """The shipped cinema template, pointed at this test's broker, with simulated seats."""
    text = TEMPLATE.read_text()
    text = re.sub(r"^uplink = .*$", f'uplink = "mqtts://unit301@127.0.0.1:{port}/screen1"',
                  text, flags=re.M)
    text = re.sub(r'source = "serial://[^"]+"', 'source = "sim://seat"', text)
    assert "sim://seat" in text and "127.0.0.1" in text
    path = tmp / "edge-template.toml"
    path.write_text(text.replace("baseline_s = 60.0", "baseline_s = 2.0"))
    return path


def test_provisioned_units_publish_and_a_wrong_unit_is_refused(tmp_path):
    pki = make_pki(tmp_path / "pki")
    port = free_port()
    out = tmp_path / "provision"
    cli = [sys.executable, "-m", "empathy.cli", "keys", "provision", "301-303",
           "--template", str(_template(tmp_path, port)), "--out", str(out),
           "--keystore", str(tmp_path / "host.keys.toml"), "--first-seat", "11",
           "--unit-path", str(out / "unit{unit}"), "--ca", str(pki["ca.crt"]), "--json"]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    host_side = out / "host"
    # every unit's bundle: its own key and the public cue key only, 0600; its seats; its password
    keys = Keystore.load(tmp_path / "host.keys.toml", "host")
    assert sorted(keys.units) == [301, 302, 303]
    for i, unit in enumerate((301, 302, 303)):
        bundle = out / f"unit{unit}"
        own = Keystore.load(bundle / f"unit{unit}.keys.toml", "unit")
        assert own.units == {unit: keys.units[unit]} and own.cue_signing == b""
        assert own.cue_public == keys.public_cue_key()
        for secret in (bundle / f"unit{unit}.keys.toml", bundle / f"unit{unit}.mqtt"):
            assert secret.stat().st_mode & 0o777 == 0o600
        cfg = tomllib.loads((bundle / "edge.toml").read_text())
        assert cfg["unit_id"] == unit
        assert [s["seat_id"] for s in cfg["seats"]] == [11 + 4 * i + k for k in range(4)]
        assert cfg["uplink"].startswith(f"mqtts://unit{unit}@127.0.0.1:{port}/screen1?")
    users = broker_auth.read_passwd(host_side / "passwd")
    assert set(users) == {"empathy-host", "unit301", "unit302", "unit303"}
    host_pw = (host_side / "empathy-host.mqtt").read_text().strip()
    assert broker_auth.check_password(host_pw, users["empathy-host"])
    seatmap = loads(HostConfig, 'story = "x"\n' + (host_side / "seatmap.toml").read_text()).seatmap
    assert seatmap.owners()[11] == 301 and seatmap.owners()[22] == 303 and not seatmap.lock_unknown

    # the broker: shipped config, generated password file and ACL, test certificates
    for name in ("ca.crt", "server.crt", "server.key"):
        (host_side / name).write_bytes(pki[name].read_bytes())
    with LocalBroker(host_side, port, shipped_config(host_side, port), scheme="mqtts"):
        url = (f"mqtts://empathy-host@127.0.0.1:{port}/screen1?ca={pki['ca.crt']}"
               f"&password_file={host_side / 'empathy-host.mqtt'}")
        rx = open_receiver(url)
        intake = Intake(keys.units, reply=rx.reply, seatmap=seatmap)
        edge = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run", "--config",
                                 str(out / "unit301" / "edge.toml"), "--duration", "6"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wrong = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            wrong.username_pw_set("unit302", (out / "unit302" / "unit302.mqtt").read_text().strip())
            wrong.tls_set(ca_certs=str(pki["ca.crt"]))
            acks = {}
            wrong.on_publish = lambda c, u, mid, rc, p: acks.__setitem__(mid, rc)
            wrong.connect("127.0.0.1", port)
            wrong.loop_start()
            end = time.monotonic() + 20
            while time.monotonic() < end and len({s.seat_id for s in intake.seats.values()
                                                  if s.history}) < 4:
                intake.feed(rx.recv_batch(0.05))
            # unit 302 speaking on unit 301's topic: the broker says no
            info = wrong.publish("empathy/screen1/u/301/s", b"\x10" + b"\x01\x2d" + bytes(29), 1)
            info.wait_for_publish(5)
            assert acks[info.mid] == "Not authorized"
            wrong.disconnect()
            wrong.loop_stop()
        finally:
            edge.wait(30)
            rx.close()
        assert edge.returncode == 0, edge.stderr.read()[-2000:]
    heard = {s: t.unit_id for s, t in intake.seats.items() if t.history}
    assert heard == {11: 301, 12: 301, 13: 301, 14: 301}
    assert not intake.rejected.get("foreign_seat") and not intake.rejected.get("unlisted_seat")
