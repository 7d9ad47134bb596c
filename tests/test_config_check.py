"""`empathy config check` and the deployment profiles: every profile validates, every kind
of mistake is refused with file:line and why, the systemd units pass systemd-analyze, and
the cinema's mosquitto.conf runs a real mosquitto."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from empathy.config import ConfigError
from empathy.host.config_cli import check as config_check
from empathy.keys import Keystore

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PROFILES = sorted(DEPLOY.glob("*/*.toml"))
SAMPLE = ROOT / "host" / "sample" / "neon_rain.toml"


def check(*args):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "config", "check", *args],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_every_deployment_profile_validates():
    assert {p.parent.name for p in PROFILES} == {"kiosk-pi5", "jetson", "cinema"}
    rc, out, err = check("--schema-only", "--json", *map(str, PROFILES))
    assert rc == 0, err + out
    kinds = {Path(r["file"]).parent.name + "/" + Path(r["file"]).name: r for r in json.loads(out)}
    assert kinds["kiosk-pi5/host.toml"]["output"] == "kms"
    assert kinds["jetson/host.toml"]["output"] == "nv3d"
    assert kinds["cinema/host.toml"]["listen"].startswith("mqtts://")  # TLS, authenticated
    assert kinds["cinema/edge.toml"]["uplink"].startswith("mqtts://")
    assert all(r["kind"] == p.stem for p, r in zip(PROFILES, json.loads(out)))


@pytest.mark.parametrize("text, message", [
    ('story = "s.toml"\nspeed = 3\n', r":2: speed: unknown key"),
    ('story = "s.toml"\n[show]\nfps = "fast"\n', r":3: show.fps: expected float"),
    ('story = "s.toml"\n[show]\nlisten = "carrier-pigeon://x"\n',
     r":3: show.listen: 'carrier-pigeon://x': unknown transport 'carrier-pigeon'"),
    ('story = "s.toml"\n[show]\noutput = "hologram"\n', r":3: show.output: unknown output"),
    ('story = "s.toml"\n[show]\noutput = ["kms", 3]\n', r":3: show.output: expected str or"),
    ('story = "s.toml"\n[dashboard]\nlisten = "8080"\n', r":3: dashboard.listen: .*host:port"),
    ('story = "s.toml"\n[osc]\ntargets = ["lights"]\n', r":3: osc.targets.*'lights'"),
    ('story = "s.toml"\n[show]\npolicy = "coin"\n', r":3: show.policy: unknown policy 'coin'"),
    ('unit_id = 1\n[[seats]]\nseat_id = 1\nsource = "tea://leaves"\n',
     r":4: seats\[0\].source: 'tea://leaves': unknown source scheme"),
    ('unit_id = 70000\n', r":1: unit_id: 70000 out of range 0..65535"),
    ('unit_id = 1\nuplink = "udp://h:99999"\n', r":2: uplink: .*port out of range"),
    ('unit_id = 1\nrate_hz = 0.0\n', r":2: rate_hz: 0 out of range 0.1..100"),
    ('unit_id = 1\nsync_hz = 50\n', r":2: sync_hz: 50 out of range 0.05..20 \(or 0 = off\)"),
    ('unit_id = 1\nrate_hz = nan\n', r":2: rate_hz: nan is not a finite number"),
    ('story = "s.toml"\n[show]\ncue_targets = ["a:1", "b:0"]\n',
     r":3: show.cue_targets\[1\]: 'b:0' must be host:port"),
    # '²' passes str.isdigit(): the line said "invalid literal for int()" (session 32's review)
    ('story = "s.toml"\n[show]\ncue_targets = ["a:\u00b2"]\n',
     r":3: show.cue_targets\[0\]: 'a:\u00b2' must be host:port"),
    ('story = \n', r":1: not valid TOML"),
    ('title = "what am I"\n', r"neither a host config"),
])
def test_mistakes_are_refused_with_where_and_why(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        config_check(f, files=False)
    assert re.search(message, str(e.value)) and str(f) in str(e.value), str(e.value)


def test_every_problem_in_a_file_is_reported_each_on_its_line(tmp_path):
    f = tmp_path / "edge.toml"
    f.write_text('unit_id = 99999\n'                        # 1
                 'uplink = "udp://cinema-host:70000"\n'     # 2
                 'rate_hz = 500.0\n'                        # 3
                 'colour = "blue"\n'                        # 4
                 '[[seats]]\n'                              # 5
                 'seat_id = 1\n'                            # 6
                 'source = "serial:///dev/ttyACM0"\n'       # 7
                 '[[seats]]\n'                              # 8
                 'seat_id = -4\n'                           # 9
                 'source = "tea://leaves"\n'                # 10
                 'speed = 3\n')                             # 11
    with pytest.raises(ConfigError) as e:
        config_check(f, files=False)
    lines = {int(p.split(":")[1]) for p in e.value.problems}
    assert lines == {1, 2, 3, 4, 9, 10, 11}, e.value.problems
    rc, out, err = check("--schema-only", str(f))
    assert rc == 1 and err.count(f"{f}:") == 7 and "7 problem(s) in 1 of 1 file(s)" in err
    rc, out, err = check("--schema-only", "--json", str(f))
    assert len(json.loads(out)[0]["problems"]) == 7


def test_the_cli_says_what_is_wrong_on_stderr(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('story = "s.toml"\nspeed = 3\n')
    rc, out, err = check("--schema-only", str(f))
    assert rc == 1 and out == "" and f"{f}:2: speed: unknown key" in err


def test_files_a_config_names_are_checked(tmp_path):
    from empathy.host.sample.render import ensure

    cfg = {"story": str(SAMPLE), "media_root": str(ensure()),
           "keystore": str(tmp_path / "host.keys.toml")}
    f = tmp_path / "host.toml"
    f.write_text(tomli_w.dumps(cfg))
    with pytest.raises(ConfigError, match=r":\d+: keystore: .*: no such file"):
        config_check(f)
    Keystore.new([1]).save(tmp_path / "host.keys.toml")
    assert config_check(f)["story"] == str(SAMPLE)
    f.write_text(tomli_w.dumps({**cfg, "story": str(tmp_path / "missing.toml")}))
    with pytest.raises(ConfigError, match="story"):
        config_check(f)
    # several files: each reported, exit 1 if any fails
    rc, out, err = check("--json", str(f), str(PROFILES[0]))
    assert rc == 1 and [r["ok"] for r in json.loads(out)] == [False, False]
    # a kiosk's attract clip and look: each on its own line, as every other key
    f.write_text(tomli_w.dumps({**cfg, "mode": "kiosk", "kiosk": {
        "attract": "media/nope.mp4", "attract_lut": "luts/nope.cube"}}))
    with pytest.raises(ConfigError) as e:
        config_check(f)
    lines = str(e.value).splitlines()
    at = {k: n for n, ln in enumerate(f.read_text().splitlines(), 1) for k in ("attract ",
                                                                             "attract_lut")
          if ln.startswith(k)}
    assert any(ln.startswith(f"{f}:{at['attract ']}: kiosk.attract: ") for ln in lines), lines
    assert any(ln.startswith(f"{f}:{at['attract_lut']}: kiosk.attract_lut: ") for ln in lines)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_units_verify(tmp_path):
    empathy = Path(sys.executable).with_name("empathy")
    units = [DEPLOY / "systemd" / "empathy-host.service",
             DEPLOY / "systemd" / "empathy-edge@.service"]
    for unit in units:
        text = unit.read_text()
        assert "Restart=always" in text and "KillSignal=SIGTERM" in text
        # the commands are real CLI verbs of this build
        for cmd in re.findall(r"^ExecStart(?:Pre)?=(\S+) (.*)$", text, re.M):
            assert cmd[0] == "/opt/empathy/.venv/bin/empathy"
            assert re.search(r"(host run|edge run|config check) --config|config check /etc",
                             cmd[1]), cmd
        (tmp_path / unit.name).write_text(text.replace("/opt/empathy/.venv/bin/empathy",
                                                       str(empathy)))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "empathy-host.service",
                        "empathy-edge@seat1.service"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60,
                       env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    assert r.returncode == 0, r.stderr
    dropin = (DEPLOY / "cinema" / "empathy-host.service.d" / "mosquitto.conf").read_text()
    assert "Wants=mosquitto.service" in dropin and "After=mosquitto.service" in dropin


# The shipped deploy/cinema/mosquitto.conf (TLS, password file, ACL, size limits) is run
# for real, attacked and shown to refuse, in tests/redteam/test_mqtt_attacks.py.


def test_a_replay_seats_file_is_checked_as_doctor_checks_it(tmp_path):
    Keystore.new([4]).for_unit(4).save(tmp_path / "unit4.keys.toml")
    rec = tmp_path / "seat41.emrec"
    f = tmp_path / "edge.toml"
    f.write_text(f'unit_id = 4\nkeystore = "{tmp_path}/unit4.keys.toml"\n'
                 '[[seats]]\nseat_id = 40\nsource = "sim://seat"\n'
                 f'[[seats]]\nseat_id = 41\nsource = "replay://{rec}?speed=0"\n')
    rc, out, err = check(str(f))
    assert rc == 1 and out == "", err
    assert err.splitlines()[0] == (f"{f}:8: seats[1].source: seat 41: replay file {rec} is "
                                   "missing"), err
    rec.mkdir()  # a folder is no recording either
    with pytest.raises(ConfigError, match=f"seat 41: replay file {rec} is not a file"):
        config_check(f)
    rec.rmdir()
    rec.write_bytes(b"")
    assert config_check(f)["seats"] == [40, 41]
