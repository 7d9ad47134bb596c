"""Broker credentials: mosquitto's password format computed in Python, ACL lines, and the
`keys new --broker-dir` / `keys provision` files (tests/redteam/ runs them in mosquitto)."""

import re
import shutil
import subprocess

import pytest

from empathy import broker_auth
from empathy.cli import main


def test_hashes_are_mosquittos_own_format(tmp_path):
    hashed = broker_auth.hash_password("s3cret")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==", hashed)
    assert broker_auth.check_password("s3cret", hashed)
    assert not broker_auth.check_password("s3cres", hashed)
    assert not broker_auth.check_password("s3cret", "garbage")
    tool = shutil.which("mosquitto_passwd")
    if tool:  # a line mosquitto's own tool wrote, checked by ours
        subprocess.run([tool, "-c", "-b", str(tmp_path / "pw"), "unit7", "s3cret"], check=True)
        user, _, theirs = (tmp_path / "pw").read_text().strip().partition(":")
        assert user == "unit7" and broker_auth.check_password("s3cret", theirs)


def test_acl_lets_each_unit_publish_only_under_its_own_topics():
    text = broker_auth.acl_text("screen1", [302, 301])
    blocks, user = {}, None
    for line in text.splitlines():
        if line.startswith("user "):
            user = blocks.setdefault(line, [])
        elif line.startswith("topic "):
            user.append(line)
    host = blocks["user empathy-host"]
    assert host == ["topic read empathy/screen1/#", "topic write empathy/screen1/u/+/d"]
    assert blocks["user unit301"] == [f"topic write empathy/screen1/u/301/{leaf}"
                                      for leaf in ("s", "h", "c", "f", "status")] + [
        "topic read empathy/screen1/u/301/d"]
    unit302 = " ".join(blocks["user unit302"])
    assert "#" not in unit302 and "+" not in unit302


def test_keys_new_emits_broker_credentials_and_acl_lines(tmp_path, capsys):
    broker = tmp_path / "broker"
    args = ["keys", "new", "--keystore", str(tmp_path / "host.keys.toml"), "--broker-dir",
            str(broker), "--screen", "screen1"]
    assert main(args[:2] + ["1-2"] + args[2:]) == 0
    users = broker_auth.read_passwd(broker / "passwd")
    assert set(users) == {"empathy-host", "unit1", "unit2"}
    for user in users:
        cred = broker / f"{user}.mqtt"
        assert cred.stat().st_mode & 0o777 == 0o600
        assert broker_auth.check_password(cred.read_text().strip(), users[user])
    assert (broker / "passwd").stat().st_mode & 0o777 == 0o640
    assert "user unit2" in (broker / "acl").read_text()
    # a new unit, and unit 2 again (rotation): unit 1's and the host's passwords stay
    assert main(args[:2] + ["2", "3"] + args[2:]) == 0
    again = broker_auth.read_passwd(broker / "passwd")
    assert again["unit1"] == users["unit1"] and again["empathy-host"] == users["empathy-host"]
    assert again["unit2"] != users["unit2"] and "unit3" in again
    assert "user unit3" in (broker / "acl").read_text()
    (broker / "passwd").write_text("unit1 no colon here\n")
    assert main(args[:2] + ["4"] + args[2:]) == 1
    assert "passwd:1: not a mosquitto password line" in capsys.readouterr().err


@pytest.mark.parametrize("template,err", [
    ('unit_id = 1\nrate_hz = "fast"\n', ":2: rate_hz: expected float"),
    ("unit_id = 1\n[[seats]]\nseat_id = 65535\n", "do not fit 0..65535"),
])
def test_provision_refuses_a_bad_template_clearly(tmp_path, capsys, template, err):
    path = tmp_path / "edge.toml"
    path.write_text(template)
    rc = main(["keys", "provision", "1-2", "--template", str(path), "--out",
               str(tmp_path / "out"), "--keystore", str(tmp_path / "host.keys.toml")])
    assert rc == 1 and err in capsys.readouterr().err
    assert not (tmp_path / "host.keys.toml").exists()  # nothing half-done on the host side
