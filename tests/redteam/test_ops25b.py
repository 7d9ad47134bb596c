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
import time
from pathlib import Path

import pytest
import tomli_w

from empathy.host.doctor_files import SERVICE_STATE
from opshelp import unit_keys
from ops_rig import Host
from test_ops22 import needs_root

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


@needs_root
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
    host = Host(keys)  # answers clock sync on a thread
    intake = host.intake
    intake.windows.accept(301, 200010)  # the host has seen the unit's packets up to here
    cfg = tmp_path / "edge.toml"
    cfg.write_text(tomli_w.dumps({
        "unit_id": 301, "uplink": f"udp://127.0.0.1:{host.rx.port}", "faces": False,
        "keystore": str(tmp_path / "unit301.keys.toml"), "sync_hz": 2.0,
        "seats": [{"seat_id": 301, "source": "sim://seat"}]}))
    try:
        rc, f, err = _doctor_as_root(tmp_path, cfg)
    finally:
        host.close()
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
from empathy.transports.mqtt_login import hold_login
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
    from empathy.transports.mqtt_login import login_in_use

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


def test_the_player_says_done_at_once_whatever_fails_as_it_closes(tmp_path, caplog):
    """The player's last steps (decoder, what was queued, the output, the frame log) ran
    in one `finally` before it said it was done: one that raised skipped the rest, and
    the show's stop waited 30 s for it (systemd kills at 30 s), the output unclosed.
    Only the frame log's OSError and an output that ends badly were caught. Now each
    step runs whatever the one before did, a failure is said in one line (no traceback)
    and the stop is at once. A real GStreamer player; the output's EOS wait and the
    frame log's close raise as a wedged sink and a lost NFS mount did."""
    import numpy as np

    from empathy.host.player.outputs import VideoWriter
    from empathy.host.player.player import Clip, Player

    clip = tmp_path / "a.mp4"
    w = VideoWriter(f"file:{clip}", 160, 90, 25)
    for i in range(250):
        w.push(np.full((90, 160, 3), i % 256, np.uint8), i / 25, 1 / 25)
    assert w.close()
    p = Player(f"file:{tmp_path / 'o.mp4'}", 160, 90, 25, tmp_path / "f.csv", realtime=True)
    p.start(Clip("a", clip, None))
    def wedged(*a, **k):
        raise RuntimeError("the sink's EOS never came (bus gone)")

    def lost(*a, **k):
        raise ValueError("I/O operation on closed file")

    p._writer.close, p._log.close = wedged, lost
    time.sleep(0.5)
    t0 = time.monotonic()
    p.stop()
    done = p.wait(30)
    stop_s = time.monotonic() - t0
    said = [r for r in caplog.records if r.name.startswith("empathy.host.player")
            and r.levelname == "ERROR"]
    print({"stop_s": round(stop_s, 2), "error": p.error,
           "said": [r.getMessage() for r in said]})
    assert done and stop_s < 5, stop_s
    assert p.error and "output" in p.error and "\n" not in p.error, p.error
    assert len(said) == 2 and all(r.exc_info is None for r in said), said


LOGGER = """
import logging, sys, time
from pathlib import Path
from empathy import log
log.setup("info", json_lines=sys.argv[2] == "json", log_file=sys.argv[1])
say, full = logging.getLogger("empathy.show"), Path(sys.argv[1]).parent
for i in range(400):
    if i == 100:  # the disk fills
        with open(full / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"x" * 65536)
            except OSError:
                pass
    if i == 300:  # room again
        (full / "filler").unlink()
        time.sleep(float(sys.argv[3]))
    say.info("frame %d shown", i)
print("show went on to", i, flush=True)
"""


@needs_root
@pytest.mark.parametrize("form", ["text", "json"])
def test_log_file_on_a_full_disk_says_so_once_and_takes_records_again(tmp_path, form):
    """`empathy --log-file /var/log/empathy/host.log ...` on a disk that fills mid-show:
    logging's own handler printed '--- Logging error ---' and a traceback to stderr (the
    journal) for every record, 200 of them here. Now it says so once, drops records while
    the disk is full, and takes them again (once RETRY_S has passed) with a line that
    says how many were lost; a record the full disk cut is ended. A real process, a
    256 kB tmpfs."""
    from empathy import rotate

    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(full)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        r = subprocess.run([sys.executable, "-c", LOGGER, str(full / "host.log"), form,
                            str(rotate.RETRY_S + 0.2)], capture_output=True,
                           text=True, timeout=60)
        text = (full / "host.log").read_text()
    finally:
        subprocess.run(["umount", str(full)])
    said = {"stderr_lines": len(r.stderr.splitlines()),
            "tracebacks": r.stderr.count("Traceback"),
            "logging_errors": r.stderr.count("--- Logging error ---")}
    print(said, r.stderr[:600], [ln for ln in text.splitlines() if "lost" in ln])
    assert r.returncode == 0 and "show went on to 399" in r.stdout, r.stderr[-2000:]
    assert said["tracebacks"] == 0 and said["stderr_lines"] == 1, r.stderr[-2000:]
    assert "cannot write the log file" in r.stderr and "No space left" in r.stderr
    lines = text.splitlines()
    assert "frame 0 shown" in lines[0] and "frame 399 shown" in lines[-1], lines[-3:]
    assert any("record(s) lost" in ln for ln in lines), lines[-5:]
    if form == "json":  # every line one JSON object but the one the full disk cut
        bad = []
        for ln in lines:
            try:
                json.loads(ln)
            except ValueError:
                bad.append(ln)
        assert len(bad) <= 1, bad
