"""The CLI's error boundary, the issue's held-out examples as a user runs them: real
subprocesses (`edge run`, `host run`, `calibrate hr`, ...) given a missing board, a broker
that is down, an output that cannot open, a port in use, answer with a message and a
non-zero exit, never a traceback (split from tests/test_cli_errors.py, which walks every
verb)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_clean import assert_clean
from opshelp import free_port, unit_keys

ROOT = Path(__file__).resolve().parents[1]


def empathy(*args, cwd, timeout=120):
    r = subprocess.run([sys.executable, "-m", "empathy.cli", *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "XDG_STATE_HOME": str(Path(cwd) / "state")})
    return r.returncode, r.stdout, r.stderr


@pytest.fixture
def keys(tmp_path):
    unit_keys(tmp_path)
    return tmp_path


def host_config(folder: Path, listen: str, output) -> Path:
    import tomli_w

    from empathy.host.sample.render import ensure

    cfg = folder / "host.toml"
    cfg.write_text(tomli_w.dumps({
        "keystore": str(folder / "host.keys.toml"), "story": str(ROOT / "host" / "sample" /
                                                                 "neon_rain.toml"),
        "media_root": str(ensure()), "frame_log": str(folder / "frames.csv"), "duration_s": 2.0,
        "show": {"listen": listen, "output": output, "width": 320, "height": 180,
                 "fps": 10.0}, "session": {"dir": str(folder / "sessions")}}))
    return cfg


def test_calibrate_hr_with_a_missing_serial_board(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("ts_us,hr_bpm\n" + "".join(f"{i * 1000000},70\n" for i in range(30)))
    rc, out, err = empathy("calibrate", "hr", "--device", "serial:///dev/ttyACM9",
                           "--reference", ref, "--duration", 2, cwd=tmp_path)
    assert_clean(rc, out, err, "calibrate hr")
    assert err.startswith("empathy calibrate hr: serial:///dev/ttyACM9: cannot open"), err


def test_edge_run_with_an_unknown_source_scheme(keys):
    cfg = keys / "edge.toml"
    cfg.write_text(f'unit_id = 301\nkeystore = "{keys / "unit301.keys.toml"}"\nfaces = false\n'
                   '[[seats]]\nseat_id = 1\nsource = "tea://leaves"\n')
    rc, out, err = empathy("edge", "run", "--config", cfg, "--duration", 1, cwd=keys)
    assert_clean(rc, out, err, "edge run")
    assert f"empathy edge run: {cfg}:6: seats[0].source: 'tea://leaves': unknown source " \
        "scheme 'tea'" in err, err
    assert f"(fix the file; `empathy config check {cfg}` lists every problem)" in err


@pytest.mark.parametrize("keystore,says", [
    ("host.keys.toml", "holds the host's cue signing key: a unit must hold only cue_public_key"),
    ("old.keys.toml", "is from before signed screen cues (its show key is shared by every "
                      "unit): run `empathy keys cue-key")])
def test_edge_run_with_a_keystore_that_is_not_a_units(keys, keystore, says):
    """A unit given the host's keystore (it could then forge screen cues), or one from
    before signed cues (no fallback to the shared show key), stops in one line."""
    old = (keys / "unit301.keys.toml").read_text().split("cue_public_key")[0]
    (keys / "old.keys.toml").write_text(old + f'show = "{"ab" * 32}"\n')
    (keys / "old.keys.toml").chmod(0o600)
    cfg = keys / "edge.toml"
    cfg.write_text(f'unit_id = 301\nkeystore = "{keys / keystore}"\nfaces = false\n'
                   '[[seats]]\nseat_id = 1\nsource = "sim://seat"\n')
    rc, out, err = empathy("edge", "run", "--config", cfg, "--duration", 1, cwd=keys)
    assert_clean(rc, out, err, "edge run")
    assert rc != 0 and says in err, err


def test_host_run_with_the_broker_down(keys):
    cfg = host_config(keys, f"mqtt://127.0.0.1:{free_port()}/screen1", "null")
    rc, out, err = empathy("host", "run", "--config", cfg, cwd=keys)
    assert_clean(rc, out, err, "host run")
    assert "cannot reach the MQTT broker" in err and "empathy doctor" in err, err


def test_host_run_with_an_output_that_cannot_open(keys):
    cfg = host_config(keys, "udp://127.0.0.1:0", "file:/proc/empathy/show.mp4")
    rc, out, err = empathy("host", "run", "--config", cfg, cwd=keys)
    assert_clean(rc, out, err, "host run")
    assert rc == 78, (rc, err)  # EX_CONFIG: the service unit does not restart on it
    unit = (ROOT / "deploy" / "systemd" / "empathy-host.service").read_text()
    assert "RestartPreventExitStatus=78" in unit
    assert "no output could open: file:/proc/empathy/show.mp4: cannot create /proc/empathy" \
        in err, err


def test_host_run_falls_back_along_the_output_chain(keys):
    import threading
    import urllib.request

    good = keys / "fallback.mp4"
    cfg = host_config(keys, "udp://127.0.0.1:0", ["file:/proc/empathy/show.mp4", f"file:{good}"])
    port = free_port()
    (keys / "token").write_text("t0ken" * 8)  # the host refuses tokens under 32 characters
    (keys / "token").chmod(0o600)  # and token files others can read
    cfg.write_text(cfg.read_text().replace("duration_s = 2.0", "duration_s = 6.0") +
                   f'[dashboard]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
                   f'token_file = "{keys / "token"}"\n')
    alerts = []

    def watch():  # the operator's view while the show runs
        import time

        for _ in range(200):
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/state",
                                             headers={"Authorization": "Bearer " + "t0ken" * 8})
                alerts[:] = json.load(urllib.request.urlopen(req, timeout=2))["alerts"]
                if alerts:
                    return
            except OSError:
                pass
            time.sleep(0.1)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    rc, out, err = empathy("--log-json", "host", "run", "--config", cfg, cwd=keys)
    t.join(5)
    assert rc == 0, err
    assert alerts and alerts[0]["event"] == "output_fault" and alerts[0]["next"] == f"file:{good}"
    assert good.stat().st_size > 1000

    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    fault = [x for x in logs if x.get("event") == "output_fault"]
    assert fault and fault[0]["output"] == "file:/proc/empathy/show.mp4", logs
    assert fault[0]["next"] == f"file:{good}"
    # the operator sees it in the session's events too (the dashboard's alert feed)
    import sqlite3

    db = sqlite3.connect(next((keys / "sessions").glob("*.session.db")))
    kinds = [json.loads(d).get("event") for (d,) in db.execute("SELECT data FROM events")]
    assert "output_fault" in kinds, kinds


def test_lut_apply_to_an_unknown_image_format(tmp_path):
    import cv2
    import numpy as np

    (tmp_path / "l.cube").write_text("LUT_3D_SIZE 2\n" + "".join(
        f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((8, 8, 3), np.uint8))
    rc, out, err = empathy("lut", "apply", "l.cube", "in.png", "out.txt", cwd=tmp_path)
    assert_clean(rc, out, err, "lut apply")
    assert "out.txt: cannot write an image with extension '.txt'" in err
    assert not (tmp_path / "out.txt").exists()


def test_story_graph_into_a_missing_folder(tmp_path):
    rc, out, err = empathy("story", "graph", ROOT / "host" / "sample" / "neon_rain.toml",
                           "--out", tmp_path / "nope" / "g.svg", cwd=tmp_path)
    assert_clean(rc, out, err, "story graph")
    assert f"the folder {tmp_path / 'nope'} does not exist" in err, err


def test_config_check_with_port_99999(tmp_path):
    (tmp_path / "edge.toml").write_text('unit_id = 1\nuplink = "udp://127.0.0.1:99999"\n')
    rc, out, err = empathy("config", "check", "--schema-only", "edge.toml", cwd=tmp_path)
    assert_clean(rc, out, err, "config check")
    assert "edge.toml:2: uplink: 'udp://127.0.0.1:99999': port out of range" in err, err


def test_signal_hr_on_a_flat_line(tmp_path):
    (tmp_path / "flat.csv").write_text("ppg\n" + "0.5\n" * 3000)
    rc, out, err = empathy("signal", "hr", "flat.csv", "--fs", 100, "--kind", "ppg",
                           cwd=tmp_path)
    assert_clean(rc, out, err, "signal hr")
    assert rc == 3 and "no heartbeat" in err, (rc, out, err)


def test_host_run_refuses_a_story_that_fails_the_check_unless_forced(keys):
    """A fake clip and a broken LUT: `host run` says the check's lines (one each) and
    starts nothing; `--force` plays it (the broken segments fall back) and logs them."""
    import shutil
    import tomllib

    import tomli_w

    from empathy.host.sample.render import ensure

    media = keys / "media_root"
    shutil.copytree(ensure(), media, ignore=shutil.ignore_patterns(".render.lock"))
    (media / "media" / "chase.mp4").write_bytes(b"not a film " * 200)
    (media / "luts" / "teal_night.cube").write_text('TITLE "T"\nLUT_3D_SIZE 9\n0.1 0.2\n')
    cfg = host_config(keys, "udp://127.0.0.1:0", "null")
    doc = tomllib.loads(cfg.read_text())
    cfg.write_text(tomli_w.dumps({**doc, "media_root": str(media), "duration_s": 1.0}))
    rc, out, err = empathy("host", "run", "--config", cfg, cwd=keys)
    assert_clean(rc, out, err, "host run")
    lines = [ln for ln in err.splitlines() if ln.startswith("empathy host run: ")]
    assert "chase.mp4" in lines[0] and "teal_night.cube" in lines[1], err
    assert len([ln for ln in lines if "neon_rain.toml:" in ln]) == 2, err
    assert "--force" in lines[-1], err
    assert not (keys / "sessions").exists()  # nothing started
    rc, out, err = empathy("host", "run", "--config", cfg, "--force", cwd=keys)
    assert rc == 0, err
    assert err.count("playing anyway") == 2, err


def test_a_config_of_the_other_kind_is_named_as_such(keys):
    """A kiosk runs both sides on one Pi from /etc/empathy: `edge run` given the host's file
    listed a dozen "unknown key" lines (every host table) and never said it was the host's."""
    host = host_config(keys, f"udp://127.0.0.1:{free_port()}", "null")
    edge = keys / "edge.toml"
    edge.write_text(f'unit_id = 1\nkeystore = "{keys}/unit1.keys.toml"\n'
                    '[[seats]]\nseat_id = 1\nsource = "sim://seat"\n')
    for verb, cfg, says in (("edge", host, "is a host config"),
                            ("host", edge, "is an edge config")):
        rc, out, err = empathy(verb, "run", "--config", cfg, cwd=keys)
        assert rc == 1 and err.count("\n") == 1, err
        assert err.startswith(f"empathy {verb} run: {cfg} {says}"), err


def test_a_listen_port_in_use_is_named(keys):
    """`calibrate seats` while the host runs (or the reverse) on the same port said
    "[Errno 98] Address already in use"; `host run` said "Address already in use" without
    which address."""
    import socket

    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    url = f"udp://127.0.0.1:{busy.getsockname()[1]}"
    plan = keys / "room.toml"
    plan.write_text(f'name = "Screen 2"\nlisten = "{url}"\nkeystore = "host.keys.toml"\n'
                    'duration_s = 2.0\n[[seats]]\nseat_id = 1\nunit_id = 301\n')
    try:
        for argv in (("calibrate", "seats", "--plan", plan),
                     ("host", "run", "--config", host_config(keys, url, "null"))):
            rc, out, err = empathy(*argv, cwd=keys)
            assert_clean(rc, out, err, argv)
            assert f"{url}: cannot listen: another program listens there" in err, err
            assert "[Errno" not in err, err
    finally:
        busy.close()
