"""Operations, pass 25: what a cinema's operator hits before and during the first week's
shows with `empathy doctor` on the cinema's TLS link and beside a running host or unit,
host workers on one machine, and `keys new` for one more unit (the disks:
test_ops25_disk.py). Real parts: `empathy doctor`, `empathy
host run`, `empathy edge run`, a real mosquitto (the shipped config, tests/redteam/
hardened.py, or a bare TLS listener with the certificate a case needs)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from empathy import broker_auth
from empathy.broker_auth import HOST_USER, unit_user
from empathy.host.doctor_config import check_listen
from empathy.keys import Keystore
from empathy.transports import open_sender
from empathy.transports.mqtt_broker import LocalBroker, free_port

from hardened import HardenedBroker, shipped_config
from pki import make_pki
from redteam_rig import Host, Unit, wait_for
from test_ops24 import doctor_beside_a_running_host


def _cert(folder: Path, name: str, days: tuple[float, float], names: list[str],
          ca: tuple | None = None) -> tuple:
    """A certificate valid from days[0] to days[1] (from now) naming `names`, signed by
    `ca` (its (cert, key)) or by itself: cryptography, since openssl's command line cannot
    date one in the past."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(ca[0].subject if ca else subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now + dt.timedelta(days=days[0]))
         .not_valid_after(now + dt.timedelta(days=days[1])))
    if ca:
        alt = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
               for n in names]
        b = b.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    else:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    cert = b.sign(ca[1] if ca else key, hashes.SHA256())
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert, key


def _tls_broker(folder: Path, days: tuple[float, float], names: list[str]) -> LocalBroker:
    """A bare TLS listener whose certificate is valid over `days` and names `names`."""
    folder.mkdir()
    ca = _cert(folder, "ca", (-30, 3650), [])
    _cert(folder, "server", days, names, ca)
    port = free_port()
    return LocalBroker(folder, port, f"listener {port} 127.0.0.1\ncafile {folder}/ca.crt\n"
                       f"certfile {folder}/server.crt\nkeyfile {folder}/server.key\n"
                       "allow_anonymous true\n" + ("user root\n" if os.geteuid() == 0 else ""),
                       scheme="mqtts")


def _said(findings) -> list[tuple[str, str]]:
    return [(f.status, f"{f.detail} | fix: {f.fix}") for f in findings]


def test_doctor_checks_the_cinema_s_tls_link_and_says_what_to_do(tmp_path):
    """`empathy doctor --config host.toml` on the cinema default, listen = mqtts://...:
    the check matched `mqtt` only, so an mqtts:// listen URL got no line at all (0 findings
    in each of the 8 cases below), whatever was wrong with it. Now: the password file, the
    CA file, the client certificate and key, then the broker's certificate in a real TLS
    handshake (no login), one line each with what to do; then the login, as for mqtt://.
    (Over mqtt:// a missing password file read 'start the broker'.)"""
    good = HardenedBroker(tmp_path / "broker", "ops25", [])
    other = make_pki(tmp_path / "other")  # another CA
    expired = _tls_broker(tmp_path / "expired", (-30, -1), ["127.0.0.1"])
    misnamed = _tls_broker(tmp_path / "misnamed", (-1, 400), ["cinema-host.local"])
    pki = good.pki
    url = good.user_url(HOST_USER)
    cases = {
        "good": url,
        "no ca file": url.replace(str(pki["ca.crt"]), str(tmp_path / "gone.crt")),
        "no password file": url.replace(str(good.creds[HOST_USER]), str(tmp_path / "gone")),
        "another CA": url.replace(str(pki["ca.crt"]), str(other["ca.crt"])),
        "cert and key apart": f"{url}&cert={pki['client.crt']}&key={other['client.key']}",
        "expired": expired.url("ops25", ca=tmp_path / "expired" / "ca.crt"),
        "misnamed": misnamed.url("ops25", ca=tmp_path / "misnamed" / "ca.crt"),
        "nobody listens": f"mqtts://127.0.0.1:{free_port()}/ops25?ca={pki['ca.crt']}",
    }
    try:
        got = {name: _said(check_listen(u)) for name, u in cases.items()}
    finally:
        for b in (good, expired, misnamed):
            b.stop()
    for name, said in got.items():
        print(name, said)
    tls = {name: [s for s in said if "TLS" in s[1] or "certificate" in s[1] or "ca=" in s[1]]
           for name, said in got.items()}
    # the test CA and its broker certificate last 2 days: a warning to renew each, and the
    # login works
    assert [s for s, _ in got["good"]] == ["warn", "warn", "ok"], got["good"]
    assert all("expires in 2.0 days" in said and "renew" in said for _, said in got["good"][:2])
    assert "ca=" in got["good"][0][1] and "TLS to" in got["good"][1][1], got["good"]
    for name, words in (("no ca file", "ca=/"), ("no password file", "password_file=/"),
                        ("another CA", "not signed by"),
                        ("cert and key apart", "not a pair"), ("expired", "expired"),
                        ("misnamed", "cinema-host.local"), ("nobody listens", "nothing listens")):
        fails = [said for status, said in got[name] if status == "fail"]
        assert len(fails) == 1 and not any("accepts" in said for _, said in got[name]), \
            (name, got[name])  # no login tried
        assert words in fails[0], (name, got[name])
        assert "cannot be read" in fails[0] or "file" not in name, (name, got[name])
        assert tls[name] or name in ("nobody listens", "no password file"), (name, got[name])


@pytest.mark.parametrize("scheme", ["mqtt", "mqtts"])
def test_doctor_never_takes_the_place_of_a_host_whose_password_is_in_its_url(tmp_path,
                                                                              scheme):
    """test_ops24's running host and `empathy doctor`, the host's password written in its
    URL (mqtt://empathy-host:PASSWORD@...) instead of a password file. Only a password file
    was held, so the doctor found nothing held, logged in as the host and took its place:
    before, over mqtt:// the host lost the broker once and samples with it; over mqtts://
    the doctor checked nothing. Now the host holds its login (user at broker) itself, an
    abstract socket any process of the machine sees, whatever the password's source."""
    folder = tmp_path / "broker"
    if scheme == "mqtts":
        broker = HardenedBroker(folder, "ops25", [1])
        query = f"?ca={broker.pki['ca.crt']}"
    else:  # the shipped config less its TLS lines (as test_ops24)
        folder.mkdir()
        port = free_port()
        for user, pw in broker_auth.add_users(folder, "ops25", [1]).items():
            broker_auth.write_credentials(folder / f"{user}.mqtt", pw)
        broker, query = LocalBroker(folder, port, re.sub(
            r"^(cafile|certfile|keyfile|tls_version) .*$", "", shipped_config(folder, port),
            flags=re.M)), ""

    def url(user: str) -> str:
        password = quote((folder / f"{user}.mqtt").read_text().strip(), safe="")
        return f"{scheme}://{user}:{password}@127.0.0.1:{broker.port}/ops25{query}"
    doctor, said = doctor_beside_a_running_host(tmp_path, url, broker)
    login = [ln for ln in said if "not checked: a host is logged in" in ln]
    assert len(login) == 1 and HOST_USER in login[0], doctor.stdout
    password = (folder / f"{HOST_USER}.mqtt").read_text().strip()
    assert password not in doctor.stdout + doctor.stderr, said
    if scheme == "mqtts":  # the TLS handshake needs no login: it is checked all the same
        assert any("TLS" in ln for ln in said), doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr, doctor.stderr


def test_doctor_on_a_unit_says_what_is_wrong_with_its_tls_uplink(tmp_path):
    """`empathy doctor --config edge.toml` on a unit whose uplink is mqtts:// to a broker
    whose certificate expired yesterday. Before: the broker was awaited for mqtt:// only,
    so the doctor sent its clock-sync requests into a link that never came up and said
    'no clock-sync reply from the host in 3 s' (start the host), the wrong fix. Now the
    TLS line says the certificate expired, and when, and what to do."""
    from test_ops22 import _one_seat

    broker = _tls_broker(tmp_path / "expired", (-30, -1), ["127.0.0.1"])
    try:
        cfg = _one_seat(tmp_path, broker.url("ops25", ca=tmp_path / "expired" / "ca.crt"))
        doctor = subprocess.run([sys.executable, "-m", "empathy.cli", "doctor", "--config",
                                 str(cfg)], capture_output=True, text=True, timeout=120)
    finally:
        broker.stop()
    said = [ln for ln in doctor.stdout.splitlines() if "uplink" in ln or "clock:host" in ln]
    print(said)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stdout + doctor.stderr
    assert len(said) == 1 and "FAIL" in said[0] and "expired on" in said[0], doctor.stdout


def test_a_second_host_on_one_state_folder_is_refused_in_one_line(tmp_path):
    """Two `empathy host run` workers of one screen on one machine (each its own broker
    user, `group=hosts`), the second's config a copy of the first's: one state folder, so
    one intake.json, which each rewrote about once a second with its own tables (a worker
    restarted took up the other's replay tops and seat locks). Before: both ran, the file
    rewritten by both.
    Now a host holds its state folder while it runs (host.lock, flock): the second is
    refused at its start in one line naming the first's pid and the fix (its own
    state_dir), and the first goes on."""

    from test_ops24 import _keys_new

    folder = tmp_path / "broker"
    _keys_new(tmp_path, folder, "ops25", "1", "--host-workers", "2")
    keys = Keystore.load(tmp_path / "host.keys.toml", "host")
    broker = HardenedBroker(folder, "ops25", [])

    def url(user: str) -> str:
        return broker.user_url(user, group="hosts") if user.startswith(HOST_USER) else \
            broker.user_url(user)
    broker.creds.update({u: folder / f"{u}.mqtt"
                         for u in (HOST_USER, f"{HOST_USER}2", unit_user(1))})
    hosts = []
    for i, user in enumerate((HOST_USER, f"{HOST_USER}2")):
        (tmp_path / f"w{i}").mkdir()
        hosts.append(Host(tmp_path / f"w{i}", url(user), keys))
        hosts[-1].cfg["state_dir"] = str(tmp_path / "state")  # the copied config
    tx = open_sender(url(unit_user(1)), 1)
    unit = Unit(1, [1], keys.units[1], tx.send)
    writes, second_ran = set(), None
    try:
        hosts[0].start()
        wait_for(lambda: tx.client.is_connected(), 10, "unit 1 on the broker")
        unit.start()
        hosts[1].start(wait=False)
        wait_for(lambda: not hosts[1].alive() or "dashboard:" in hosts[1].log(), 90,
                 "the second worker's start or end")
        end = time.monotonic() + 6
        while time.monotonic() < end:  # each write is a new file (atomic rename)
            try:
                writes.add((tmp_path / "state" / "intake.json").stat().st_ino)
            except OSError:
                pass
            time.sleep(0.02)
        second_ran = hosts[1].alive()
        unit.stop()
        took = (hosts[0].stop() or {}).get("packets_accepted", 0)
    finally:
        unit.stop()
        tx.close()
        for h in hosts:
            h.stop()
        broker.stop()
    said = [ln for ln in hosts[1].log().splitlines() if "state" in ln and "pid" in ln]
    print({"second_ran": second_ran, "writes_in_6s": len(writes),
           "first_took": took, "sent": len(unit.sent)}, said)
    assert not second_ran and len(writes) <= 8, hosts[1].log()[-2000:]  # ~1 a second
    assert hosts[1].proc.returncode not in (0, None) and len(said) == 1, hosts[1].log()
    assert "state_dir" in said[0] and "Traceback" not in hosts[1].log(), said
    assert took >= len(unit.sent) - 2  # the first alone takes everything


def test_keys_new_for_one_more_unit_keeps_the_broker_s_screen(tmp_path):
    """A week in, the operator adds unit 3 to screen1's broker: `empathy keys new 3
    --keystore ... --broker-dir /etc/mosquitto/empathy`, without --screen (it defaults to
    'main'). Before: the ACL was rewritten for 'main', so at mosquitto's next reload the
    host and units 1-2 of screen1 could neither read nor publish (their topics are
    empathy/screen1/...), with rc 0 and nothing said. Now the screen the folder's ACL
    serves is kept when none is given, and another one named is refused in one line with
    nothing written."""
    from test_ops24 import _keys_new

    folder = tmp_path / "broker"
    _keys_new(tmp_path, folder, "screen1", "1-2")
    done = subprocess.run([sys.executable, "-m", "empathy.cli", "keys", "new", "3",
                           "--keystore", str(tmp_path / "host.keys.toml"), "--broker-dir",
                           str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    acl = (folder / "acl").read_text()
    print(acl)
    assert "empathy/main/" not in acl and "topic write empathy/screen1/u/3/s" in acl, acl
    assert "topic write empathy/screen1/u/1/s" in acl, acl
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    keys_before = (tmp_path / "host.keys.toml").read_bytes()
    done = subprocess.run([sys.executable, "-m", "empathy.cli", "keys", "new", "4",
                           "--keystore", str(tmp_path / "host.keys.toml"), "--broker-dir",
                           str(folder), "--screen", "screen2"], capture_output=True, text=True,
                          timeout=60)
    print(done.stderr)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "'screen1'" in done.stderr and "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert (tmp_path / "host.keys.toml").read_bytes() == keys_before  # no key made either


def test_doctor_never_takes_a_running_unit_s_place_on_the_broker(tmp_path):
    """`sudo empathy doctor --config /etc/empathy/edge-seat1.toml` while the unit's service
    runs: the service keeps its sequence file under XDG_STATE_HOME=/var/lib/empathy (its
    systemd unit says so), the operator's shell has no such variable, so the doctor found
    no unit holding a sequence file (its own was root's), logged in as the unit and took
    its place on the shipped broker (one connection per user). Now a unit holds its login
    (user at broker) as the host does, whatever its state folder, and the doctor leaves
    it alone. Real parts: `empathy edge run` over mqtts:// to the shipped broker, the
    host's intake in this process."""
    from empathy.host.receive import Intake
    from empathy.transports import open_receiver

    from test_ops22 import _one_seat

    broker = HardenedBroker(tmp_path / "broker", "ops25", [1])
    ks = Keystore.new([1])
    cfg = _one_seat(tmp_path, broker.user_url(unit_user(1)))
    cfg.write_text(cfg.read_text().replace(f'seq_file = "{tmp_path}/seq"\n', ""))
    ks.for_unit(1).save(tmp_path / "k.toml")
    rx = open_receiver(broker.user_url(HOST_USER))
    intake = Intake(ks.units, reply=rx.reply)
    svc, op = ({**os.environ, "XDG_STATE_HOME": str(tmp_path / p)} for p in ("svc", "op"))
    try:
        unit = subprocess.Popen([sys.executable, "-m", "empathy.cli", "edge", "run",
                                 "--config", str(cfg), "--duration", "14"], env=svc,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        end = time.monotonic() + 60  # till the unit is logged in and sending (not a fixed
        while not intake.accepted and time.monotonic() < end:  # 6 s: slower under load)
            intake.feed(rx.recv_batch(0.05))
        doctor = subprocess.Popen([sys.executable, "-m", "empathy.cli", "doctor", "--config",
                                   str(cfg)], env=op, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        while unit.poll() is None:
            intake.feed(rx.recv_batch(0.05))
        intake.feed(rx.recv_batch(0.3))
        said = doctor.communicate(timeout=60)[0]
        out = unit.communicate(timeout=10)[0]
    finally:
        rx.close()
        broker.stop()
    report = intake.unit_report()[0]
    line = [ln for ln in said.splitlines() if "uplink" in ln]
    print({"loss": report["loss"], "accepted": intake.accepted,
           "rejected": dict(intake.rejected)}, line)
    assert "Traceback" not in out + said and intake.accepted > 150, out[-2000:]
    assert report["loss"] < 0.01, report
    assert any("not checked: a unit is logged in with" in ln for ln in line), said
