"""`empathy doctor --config FILE` checks what that config asks for, for real: sensors that
are not there, an uplink nobody answers, a broker that is down, outputs and sound devices
that do not open, folders that cannot be written. Real ptys, a real host answering clock
sync over UDP, a real mosquitto, real GStreamer sinks (in the probe process)."""

import json
import os
import shutil
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
import tomli_w

from empathy.edge.model_check import REINSTALL
from empathy.host import doctor_config
from empathy.host.receive import Intake
from empathy.transports import open_receiver
from opshelp import free_port, unit_keys

ROOT = Path(__file__).resolve().parents[1]


def doctor(cfg: Path, cwd: Path):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "doctor", "--json", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=180, cwd=cwd,
                       env={**os.environ, "XDG_STATE_HOME": str(cwd / "state")})
    found: dict[str, list] = {}
    for f in json.loads(r.stdout):
        found.setdefault(f["check"], []).append(f)
    return r.returncode, found, r.stderr


@pytest.fixture
def keys(tmp_path):
    return unit_keys(tmp_path)


def edge_config(tmp_path, uplink: str, sources: list[str]) -> Path:
    cfg = tmp_path / "edge.toml"
    cfg.write_text(tomli_w.dumps({
        "unit_id": 301, "uplink": uplink, "keystore": str(tmp_path / "unit301.keys.toml"),
        "faces": False, "sync_hz": 2.0,
        "seats": [{"seat_id": 301 + i, "source": s} for i, s in enumerate(sources)]}))
    return cfg


def test_the_cinema_template_with_its_boards_missing_fails_naming_each(tmp_path, keys):
    """The issue's case: deploy/cinema/edge.toml names /dev/ttyACM0..3, none here."""
    text = (ROOT / "deploy" / "cinema" / "edge.toml").read_text()
    cfg = tmp_path / "edge.toml"
    cfg.write_text(text.replace("/etc/empathy/unit301.keys.toml",
                                str(tmp_path / "unit301.keys.toml")))
    rc, f, err = doctor(cfg, tmp_path)
    assert rc == 1
    missing = [x for k, v in f.items() if k.startswith("seat ") for x in v
               if x["status"] == "fail"]
    assert len(missing) == 4 and all("is missing" in x["detail"] for x in missing), f
    assert all(x["detail"].split()[2] in text for x in missing)
    assert "seat 301" in err and "empathy doctor:" in err


def test_present_boards_pass_and_kernel_names_are_warned(tmp_path, keys):
    master, slave = os.openpty()
    try:
        dev = os.ttyname(slave)
        cfg = edge_config(tmp_path, f"udp://127.0.0.1:{free_port()}", [f"serial://{dev}",
                                                                        "sim://seat"])
        rc, f, _ = doctor(cfg, tmp_path)
    finally:
        os.close(master), os.close(slave)
    assert f["seat 301"][0]["status"] == "warn" and "by kernel name" in f["seat 301"][0]["detail"]
    assert f["seat 302"][0]["status"] == "ok"
    # nobody answers on that UDP port: the uplink check says so, and the run fails
    assert f["clock:host"][0]["status"] == "fail" and rc == 1


def test_a_host_answering_clock_sync_gives_the_offset(tmp_path, keys):
    rx = open_receiver("udp://127.0.0.1:0")
    intake = Intake(keys.units, reply=rx.reply)
    stop = threading.Event()

    def host():
        while not stop.is_set():
            intake.feed(rx.recv_batch(0.05))

    t = threading.Thread(target=host, daemon=True)
    t.start()
    try:
        cfg = edge_config(tmp_path, f"udp://127.0.0.1:{rx.port}", ["sim://seat"])
        rc, f, err = doctor(cfg, tmp_path)
    finally:
        stop.set()
        t.join(2)
        rx.close()
    clock = f["clock:host"][0]
    assert clock["status"] == "ok" and "offset" in clock["detail"], clock
    assert rc == 0, err
    # the doctor's requests came from the unit's own sequence file: a unit started now
    # goes on beyond them instead of being refused as a replay
    seq = int((tmp_path / "state" / "empathy" / "edge" / "unit301.seq").read_text())
    assert seq > max(intake.windows.top[301], 0)


def test_mqtt_uplink_broker_down_and_up(tmp_path, keys):
    from empathy.transports.mqtt import LocalBroker

    port = free_port()
    cfg = edge_config(tmp_path, f"mqtt://127.0.0.1:{port}/screen1", ["sim://seat"])
    rc, f, _ = doctor(cfg, tmp_path)
    up = f[f"uplink mqtt://127.0.0.1:{port}/screen1"][0]
    assert rc == 1 and up["status"] == "fail" and "broker" in up["detail"]
    with LocalBroker(tmp_path / "broker", port):
        rc, f, _ = doctor(cfg, tmp_path)
    assert f[f"uplink mqtt://127.0.0.1:{port}/screen1"][0]["status"] == "ok"
    assert f["clock:host"][0]["status"] == "warn"  # the broker is up, no host behind it


def test_straps_per_adapter_against_the_pi_limit(tmp_path, monkeypatch):
    sys_bt = tmp_path / "bluetooth"
    (sys_bt / "hci0").mkdir(parents=True)
    monkeypatch.setattr(doctor_config, "BLUETOOTH_SYS", sys_bt)
    assert doctor_config.check_ble_links(list(range(7)))[0].status == "ok"
    eight = doctor_config.check_ble_links(list(range(8)))[0]
    assert eight.status == "fail" and "8 strap(s) on hci0" in eight.detail
    monkeypatch.setattr(doctor_config, "BLUETOOTH_SYS", tmp_path / "none")
    assert doctor_config.check_ble_links([1])[0].status == "fail"


def host_config(tmp_path, output, session_dir) -> Path:
    from empathy.host.sample.render import ensure

    cfg = tmp_path / "host.toml"
    cfg.write_text(tomli_w.dumps({
        "keystore": str(tmp_path / "host.keys.toml"),
        "story": str(ROOT / "host" / "sample" / "neon_rain.toml"), "media_root": str(ensure()),
        "show": {"listen": f"udp://127.0.0.1:{free_port()}", "output": output},
        "session": {"dir": str(session_dir)}}))
    return cfg


def test_a_host_output_that_cannot_open_is_said_before_the_show(tmp_path, keys):
    cfg = host_config(tmp_path, "file:/proc/empathy/show.mp4", tmp_path / "sessions")
    rc, f, err = doctor(cfg, tmp_path)
    assert rc == 1
    assert f["output file:/proc/empathy/show.mp4"][0]["status"] == "fail"
    assert f["output chain"][0]["status"] == "fail" and "78" in f["output chain"][0]["detail"]
    assert f["story"][0]["status"] == "ok" and f["session"][0]["status"] == "ok"
    # kms: opened for real; on a machine without a display it fails, and says why
    from empathy.host.doctor_config import probe_output

    kms = probe_output("kms")["video"]
    cfg = host_config(tmp_path, ["kms", f"file:{tmp_path}/fallback.mp4"], tmp_path / "s")
    rc, f, err = doctor(cfg, tmp_path)
    assert f["output kms"][0]["status"] == ("ok" if kms["ok"] else "warn"), f["output kms"]
    if not kms["ok"]:
        assert "fall back to file:" in f["output kms"][0]["fix"]
        assert f[f"output file:{tmp_path}/fallback.mp4"][0]["status"] == "ok"
    assert not list(tmp_path.glob(".empathy-probe-*"))  # the probe cleans up
    assert f["session"][0]["status"] == "ok" and "made at start" in f["session"][0]["detail"]


def test_an_unusable_session_folder_fails(tmp_path, keys):
    (tmp_path / "afile").write_text("x")
    cfg = host_config(tmp_path, "null", tmp_path / "afile" / "sessions")
    rc, f, _ = doctor(cfg, tmp_path)
    assert rc == 1 and f["session"][0]["status"] == "fail"
    assert "is not a folder" in f["session"][0]["detail"]


def test_a_token_the_host_would_refuse_fails_before_the_show(tmp_path, keys):
    """deploy/kiosk-pi5/README.md made its operator token with `head -c 18 | base64`: 24
    characters, which `host run` refuses (32 at least). doctor said "ok" for it, and for the
    metrics token it said nothing at all."""
    cfg = host_config(tmp_path, "null", tmp_path / "sessions")
    short, good = tmp_path / "operator.token", tmp_path / "metrics.token"
    for path, text in ((short, "x" * 24 + "\n"), (good, "y" * 44 + "\n")):
        path.write_text(text)
        path.chmod(0o600)
    doc = tomllib.loads(cfg.read_text())
    doc["dashboard"] = {"enabled": True, "listen": f"127.0.0.1:{free_port()}",
                        "token_file": str(short), "metrics_token_file": str(good)}
    cfg.write_text(tomli_w.dumps(doc))
    rc, f, _ = doctor(cfg, tmp_path)
    assert rc == 1
    (length,) = [x for x in f["dashboard token"] if x["status"] == "fail"]
    assert "24 characters" in length["detail"] and "32" in length["detail"], length
    assert "head -c 32 /dev/urandom" in length["fix"]
    assert {x["status"] for x in f["metrics token"]} == {"ok"}, f["metrics token"]


def test_the_cinema_guides_0640_secrets_pass_and_world_readable_ones_fail(tmp_path, keys):
    """docs/guide-cinema.md installs the host keystore and the tokens `-m 640 -o root -g
    empathy` (the service reads them through its group), as the keystore loader allows; then
    runs `doctor --config`, which failed them ("mode 640": chmod 600, after which the
    service could no longer read them). Group read passes; others' read still fails."""
    cfg = host_config(tmp_path, "null", tmp_path / "sessions")
    token = tmp_path / "operator.token"
    token.write_text("z" * 44 + "\n")
    doc = tomllib.loads(cfg.read_text())
    doc["dashboard"] = {"enabled": True, "listen": f"127.0.0.1:{free_port()}",
                        "token_file": str(token)}
    cfg.write_text(tomli_w.dumps(doc))
    for path in (token, tmp_path / "host.keys.toml"):
        path.chmod(0o640)
    rc, f, _ = doctor(cfg, tmp_path)
    assert rc == 0, {k: v for k, v in f.items() if any(x["status"] == "fail" for x in v)}
    assert "keys:mode" not in f and {x["status"] for x in f["dashboard token"]} == {"ok"}
    for path in (token, tmp_path / "host.keys.toml"):
        path.chmod(0o644)
    rc, f, _ = doctor(cfg, tmp_path)
    assert rc == 1 and f["keys:mode"][0]["status"] == "fail"
    assert "fail" in {x["status"] for x in f["dashboard token"]}


def test_a_user_error_inside_a_check_is_its_one_line_not_a_bug_report(tmp_path, keys):
    """A sequence file that is a FIFO: the check raises the unit's own UserError, which
    is the user's to fix (no "report this", no exception class name)."""
    cfg = edge_config(tmp_path, f"udp://127.0.0.1:{free_port()}", ["sim://seat"])
    doc = tomllib.loads(cfg.read_text())
    os.mkfifo(tmp_path / "seq")
    cfg.write_text(tomli_w.dumps({**doc, "seq_file": str(tmp_path / "seq")}))
    rc, f, _ = doctor(cfg, tmp_path)
    [said] = f["check_uplink"]
    assert rc == 1 and said["status"] == "fail", said
    assert said["detail"].startswith(f"sequence file (seq_file) {tmp_path / 'seq'} is a FIFO"), said
    assert "report this" not in said["fix"] and "UserError" not in said["detail"], said


@pytest.mark.parametrize("kind", ["truncated", "missing"])
def test_a_bad_expression_model_is_said_as_the_unit_would_at_its_start(tmp_path, keys, kind):
    """`expression_model` naming a file cut short, or none: before, doctor loaded only the
    shipped models and said nothing; the unit then refused to start."""
    fer = (ROOT / "models" / "expression_fer_int8.tflite").read_bytes()
    (tmp_path / "cut.tflite").write_bytes(fer[:30000])
    path = tmp_path / ("cut.tflite" if kind == "truncated" else "gone.tflite")
    cfg = edge_config(tmp_path, f"udp://127.0.0.1:{free_port()}", ["sim://seat?faces=1"])
    cfg.write_text(tomli_w.dumps({**tomllib.loads(cfg.read_text()), "faces": True,
                                  "expression_model": str(path)}))
    rc, f, _ = doctor(cfg, tmp_path)
    [said] = f["face models"]
    assert rc == 1 and said["status"] == "fail", said
    assert said["detail"].startswith(f"expression_model: cannot load model {path}: "), said
    assert ("runtime refused it" if kind == "truncated" else "no such file") in said["detail"]
    assert "expression_model = \"auto\"" in said["fix"], said


def test_every_broken_face_model_is_said_where_the_unit_names_the_first(tmp_path, keys):
    """An install with two of the face tracker's models broken (one gone, one cut short)
    and an `expression_model` cut short: doctor gives one FAIL line each, so all are fixed
    in one go; the unit's start still refuses in one line, exit 1, naming the first and
    how many more. Before, doctor named only the first, as the unit does."""
    from test_doctor import RUN

    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (models / "face_landmark.tflite").unlink()
    iris = models / "iris_landmark.tflite"
    iris.write_bytes(iris.read_bytes()[:300000])
    cut = tmp_path / "cut.tflite"
    cut.write_bytes((models / "expression_fer_int8.tflite").read_bytes()[:30000])
    cfg = edge_config(tmp_path, f"udp://127.0.0.1:{free_port()}",
                      [f"video://{tmp_path / 'face.mp4'}?role=face"])
    cfg.write_text(tomli_w.dumps({**tomllib.loads(cfg.read_text()), "faces": True,
                                  "expression_model": str(cut)}))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    r = subprocess.run([sys.executable, "-c", RUN, str(models), "doctor", "--json", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=180, env=env)
    said = [(f["status"], f["detail"]) for f in json.loads(r.stdout) if f["check"] == "face models"]
    landmark = models / "face_landmark.tflite"
    assert r.returncode == 1 and [s for s, _ in said] == ["fail"] * 3, said
    assert said[0][1] == f"face camera: cannot load model {landmark}: no such file", said
    assert said[1][1].startswith(f"face camera: cannot load model {iris}: "), said
    assert said[2][1].startswith(f"expression_model: cannot load model {cut}: "), said
    unit = subprocess.run([sys.executable, "-c", RUN, str(models), "edge", "run", "--config",
                           str(cfg)], capture_output=True, text=True, timeout=180, env=env)
    assert unit.returncode == 1 and unit.stderr.splitlines() == [
        f"empathy edge run: face camera: cannot load model {landmark}: "
        "no such file (and 2 more broken: `empathy doctor --config` names each) ("
        f"{REINSTALL})"], unit.stderr
