"""`empathy doctor --config FILE`: is this machine ready for what THIS config asks for?

Where `empathy doctor` alone checks what the machine has, with a config it checks each
thing the config names, for real, and each finding names that thing:

* edge: every seat's sensor (serial board, camera, file) is there and can be opened by
  this user; BLE straps per adapter against the ~7 links a Pi's adapter holds; the uplink
  answers (the MQTT broker accepts the connection, the host answers clock sync) and the
  clock offset to the host; the keystore (its unit's key, safe permissions, readable by
  the service user); the sequence-number folder is writable; the face models load (the unit's own start
  check: host/doctor_models.py).
* host: the player's GStreamer elements; each output of the chain and its sound device
  really open (PAUSED and back, in a probe process); the listen address (port free, or
  the broker accepts); the story loads; the keystore; the session folder is writable and
  has room; the dashboard's token file.

The clock-sync check takes sequence numbers from the unit's own sequence file (run as root,
the service's, in the state folder its installed unit names, else /var/lib/empathy; it
says which), so a unit started afterwards goes on beyond them; run it before the unit's
service starts (while the unit runs, the host may refuse the unit's packets for a moment:
its replay window moved on).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from empathy.config import ConfigError
from empathy.host.doctor import (Finding, MIN_FREE_GB, check_gstreamer, check_ocio,
                                 crashed)
from empathy.host.doctor_models import check_face_models
from empathy.host.doctor_files import (check_folder, check_keystore, service_state,
                                       check_secret_file, check_session_room)
from empathy.paths import STATE_ENV
from empathy.sensors.base import file_problem, source_file

BLUETOOTH_SYS = Path("/sys/class/bluetooth")
BLE_LINKS_PER_ADAPTER = 7  # measured limit of a Pi 5's onboard adapter (docs/sensors.md)
SYNC_WAIT_S = 3.0
PROBE_TIMEOUT_S = 20


def run_config_checks(path: Path) -> list[Finding]:
    from empathy.host.config_cli import check as config_check, kind_of

    try:
        kind = kind_of(path)
        config_check(path, files=False)
    except ConfigError as e:
        return [Finding("config", "fail", p, f"fix it; `empathy config check {path}`")
                for p in e.problems]
    from empathy.config import from_toml

    if kind == "edge":
        from empathy.edge.unit_config import EdgeConfig
        return [Finding("config", "ok", f"{path}: edge unit config")] + \
            edge_checks(from_toml(EdgeConfig, path))
    from empathy.host.cli import HostConfig
    return [Finding("config", "ok", f"{path}: host config")] + \
        host_checks(from_toml(HostConfig, path))


def _guard(check, *args) -> list[Finding]:
    try:
        return check(*args)
    except Exception as e:
        return [crashed(check, e)]


# -- edge ------------------------------------------------------------------------------------
def edge_checks(cfg) -> list[Finding]:
    out = _guard(check_sources, cfg)
    out += _guard(check_keystore, Path(cfg.keystore), cfg.unit_id)
    out += _guard(check_folder, "state", _seq_path(cfg).parent, 0.0)
    out += _guard(check_face_models, cfg)
    out += _guard(check_uplink, cfg)
    return out


def _device_finding(item: str, dev: str, what: str, fix: str) -> Finding:
    p = Path(dev)
    if not p.exists():
        return Finding(item, "fail", f"{what} {dev} is missing", fix)
    if not os.access(p, os.R_OK | os.W_OK):
        return Finding(item, "fail", f"{what} {dev} is there but this user cannot open it",
                       "add the service user to the dialout/video group")
    return Finding(item, "ok", f"{what} {dev} present")


def check_sources(cfg) -> list[Finding]:
    out, ble = [], []
    for i, seat in enumerate(cfg.seats):
        item = f"seat {seat.seat_id}"
        u, played = urlsplit(seat.source), source_file(seat.source)
        if played:
            out.append(_file_finding(item, *played))
        elif u.scheme == "serial":
            dev = seat.source[len("serial://"):].partition("?")[0]
            if "://" in dev:  # a pyserial URL (rfc2217://, socket://): reachable only live
                out.append(Finding(item, "ok", f"serial URL {dev} (not checked)"))
                continue
            f = _device_finding(item, dev, "serial board", "plug the board in; "
                                "`empathy sensors scan` lists what is there")
            if f.status == "ok" and not dev.startswith("/dev/serial/by-id/"):
                f = Finding(item, "warn", f.detail + "; by kernel name, so seats can swap after "
                            "a reboot", "name it by /dev/serial/by-id/... (ls /dev/serial/by-id)")
            out.append(f)
        elif u.scheme == "camera":
            where, _, idx = f"{u.netloc}{u.path}".partition("/")
            if where == "usb" and idx.isdigit():
                out.append(_device_finding(item, f"/dev/video{idx}", "camera",
                                           "connect the camera; `ls /dev/video*`"))
            else:
                out.append(Finding(item, "ok", f"camera {seat.source} (opened at start)"))
        elif u.scheme == "ble":
            ble.append(seat.seat_id)
        else:
            out.append(Finding(item, "ok", f"{seat.source} (simulated)" if u.scheme == "sim"
                               else seat.source))
    if ble:
        out += check_ble_links(ble)
    return out


def _file_finding(item: str, what: str, path: str) -> Finding:
    why = file_problem(path)
    if not why:
        return Finding(item, "ok", f"{what} {path} present")
    return Finding(item, "fail", f"{what} {path} {why}", "check the path in the config")


def check_ble_links(seats: list[int]) -> list[Finding]:
    """The driver connects through BlueZ's default adapter: every strap of the unit on it."""
    root = BLUETOOTH_SYS
    adapters = sorted(p.name for p in root.iterdir() if ":" not in p.name) \
        if root.is_dir() else []
    if not adapters:
        return [Finding("ble", "fail", f"{len(seats)} strap(s) configured (seats "
                        f"{', '.join(map(str, seats))}) but no Bluetooth adapter",
                        "enable the adapter: `rfkill list`, `systemctl start bluetooth`")]
    n = len(seats)
    status = "fail" if n > BLE_LINKS_PER_ADAPTER else "ok"
    return [Finding(f"ble:{adapters[0]}", status,
                    f"{n} strap(s) on {adapters[0]} (a Pi's adapter holds about "
                    f"{BLE_LINKS_PER_ADAPTER} links)",
                    "" if status == "ok" else "split the straps over more units")]


def _seq_path(cfg) -> Path:
    """The unit's sequence file as its service finds it. Root (sudo) has no state home set
    and a home of its own: its numbers started at 0 and the host refused them as replays."""
    from empathy.edge.sequence import seq_path

    if cfg.seq_file or os.environ.get(STATE_ENV) or os.geteuid() != 0 \
            or not service_state().is_dir():
        return seq_path(cfg)
    return seq_path(cfg, service_state())


def _made(path: Path) -> list[Path]:
    """The folders under the service's state folder that reserving `path` will make."""
    return [d for d in path.parents if service_state() in d.parents and not d.exists()]


def _give_back(path: Path, made: list[Path]) -> None:
    """Root wrote the service's sequence file (and its lock, and folders it made): they go
    back to the folder's owner, or the service could not read them at its next start."""
    state = service_state()
    if os.geteuid() != 0 or state not in path.parents:
        return
    st = state.stat()
    for p in [*made, path, path.with_name(path.name + ".lock")]:
        try:
            os.chown(p, st.st_uid, st.st_gid)
        except FileNotFoundError:
            pass


def check_uplink(cfg) -> list[Finding]:
    """The broker accepts us (MQTT) and the host answers clock sync; the clock offset."""
    from empathy.clocksync import ClockSync
    from empathy.host.doctor_mqtt import check_tls, link_files
    from empathy.transports.mqtt_login import login_in_use
    from empathy.edge.sequence import InUse, SeqReserve, packet_rate
    from empathy.keys import Keystore, KeyError_
    from empathy.transports import TransportError, open_sender, redacted

    item, scheme = f"uplink {redacted(cfg.uplink)}", urlsplit(cfg.uplink).scheme
    # a link that cannot come up is said as such, not as a silent host
    tls = link_files(item, cfg.uplink) if scheme in ("mqtt", "mqtts") else []
    if scheme == "mqtts" and not any(f.status == "fail" for f in tls):
        tls += check_tls(item, cfg.uplink)
    if any(f.status == "fail" for f in tls):
        return tls
    try:
        key = Keystore.load(cfg.keystore, "unit").units[cfg.unit_id]
    except (KeyError_, KeyError):
        return [Finding(item, "warn", "not checked: no key for this unit to sign with")]
    if scheme in ("mqtt", "mqtts") and (login := login_in_use(cfg.uplink)):
        return tls + [Finding(item, "warn", f"not checked: a unit is logged in with {login} "
                              "now (a second login would take its place on the broker)",
                              "its log says whether the host answers "
                              "(`journalctl -u empathy-edge@...`)")]
    path = _seq_path(cfg)
    made = _made(path)
    try:  # the unit's own numbers: the host would refuse them as replays when it sent them
        seqs = SeqReserve(path, packet_rate(cfg))
    except InUse as e:
        return [Finding(item, "warn", f"not checked: {e}", "its log says whether the host "
                        "answers (`journalctl -u empathy-edge@...`)")]
    try:
        tx = open_sender(cfg.uplink, cfg.unit_id)
    except (TransportError, OSError) as e:
        seqs.close(SYNC_WAIT_S)
        _give_back(path, made)
        return [Finding(item, "fail", str(e), "check the uplink URL")]
    out = tls
    try:
        if scheme in ("mqtt", "mqtts"):
            end = time.monotonic() + SYNC_WAIT_S + 2
            while not tx.client.is_connected() and time.monotonic() < end:
                time.sleep(0.05)
            if not tx.client.is_connected():
                return [Finding(item, "fail", f"the broker does not accept us: {tx.problem}",
                                "start the broker (`systemctl status mosquitto`), check host, "
                                "port and credentials")]
            out.append(Finding(item, "ok", "the broker accepts the connection"))
        sync = ClockSync(cfg.unit_id, key)
        seq, end = seqs.start, time.monotonic() + SYNC_WAIT_S
        while sync.answered < 5 and time.monotonic() < end:
            tx.send(sync.request(seq))
            seq += 1
            seqs.use(seq)
            for p in tx.recv_batch(0.2):
                sync.on_packet(p)
    finally:
        tx.close()
        seqs.close(SYNC_WAIT_S)
        _give_back(path, made)
    numbers = f"sequence numbers from {path}"
    if not sync.answered:
        status = "warn" if out else "fail"  # over MQTT the broker is up; the host may not be
        return out + [Finding("clock:host", status, f"no clock-sync reply from the host in "
                              f"{SYNC_WAIT_S:.0f} s over {cfg.uplink} ({numbers})",
                              "start the host (`empathy host run`), check that it listens "
                              "there and that its keystore has this unit's key")]
    offset_ms = (sync.clock.to_host(sync.local_us()) - sync.local_us()) / 1000
    return out + [Finding("clock:host", "ok", f"the host answers clock sync: offset "
                          f"{offset_ms:+.3f} ms, round trip {sync.rtt_us / 1000:.2f} ms "
                          f"({sync.answered} of {sync.sent} answered; {numbers})")]


# -- host ------------------------------------------------------------------------------------
def host_checks(cfg) -> list[Finding]:
    out = _guard(check_gstreamer)
    out = [f for f in out if not f.check.startswith("gstreamer:")]  # the chain says which
    out += _guard(check_ocio)
    out += _guard(check_outputs, cfg.show.output)
    out += _guard(check_listen, cfg.show.listen)
    out += _guard(check_story, cfg)
    out += _guard(check_keystore, Path(cfg.keystore), None)
    if cfg.session.enabled:
        out += _guard(check_folder, "session", Path(cfg.session.dir), MIN_FREE_GB)
        out += _guard(check_session_room, Path(cfg.session.dir))
    if cfg.dashboard.enabled:
        for item, path in (("dashboard token", cfg.dashboard.token_file),
                           ("metrics token", cfg.dashboard.metrics_token_file)):
            if path:
                out += _guard(check_secret_file, item, Path(path))
    return out


def probe_output(kind: str, folder: Path | None = None) -> dict:
    cmd = [sys.executable, "-m", "empathy.host.player.output_probe", kind] + \
        ([str(folder)] if folder else [])
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"video": {"ok": False, "why": f"hung for {PROBE_TIMEOUT_S} s opening it"}}
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    if not lines:
        return {"video": {"ok": False, "why": f"the probe died (exit {r.returncode})"}}
    return json.loads(lines[-1])


def check_outputs(output) -> list[Finding]:
    from empathy.host.player.outputs import outputs_of, parse_output

    out, opened = [], None
    chain = outputs_of(output)
    for o in chain:
        kind, path = parse_output(o)
        folder = None
        if path is not None:  # the player makes a missing folder: probe where it would
            folder = path.parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
        res = probe_output(kind, folder)
        works = all(r.get("ok") for r in res.values())
        if kind == "null":
            out.append(Finding(f"output {o}", "warn", "null output: frames are shown nowhere"))
        for part, r in res.items():
            item = f"output {o}" if part == "video" else f"sound ({o})"
            if r.get("ok"):
                if kind != "null" or part != "video":
                    out.append(Finding(item, "ok", f"opens ({', '.join(r.get('sinks', []))})"))
            else:
                # A later output of the chain standing in makes this one a warning.
                out.append(Finding(item, "fail", f"cannot open: {r.get('why')}",
                                   "check the display/sound device and the user's groups "
                                   "(video, render, audio)"))
        if works:
            opened = o
            break
    if opened and opened != chain[0]:
        for f in out:
            if f.status == "fail":
                f.status = "warn"
                f.fix += f"; the show would fall back to {opened}"
    if opened is None and chain:
        out.append(Finding("output chain", "fail", "no output of the chain opens: the host "
                           "would exit (status 78)", "fix one, or add a fallback: "
                           "output = [\"kms\", \"file:PATH\"]"))
    return out


def check_listen(url: str, rcvbuf_bytes: int | None = None) -> list[Finding]:
    from empathy.transports import TransportError, open_receiver, redacted, udp

    item = f"listen {redacted(url)}"
    u = urlsplit(url)
    if u.scheme == "udp":
        asked = rcvbuf_bytes or udp.RCVBUF_BYTES
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            granted = udp.granted_rcvbuf(s, asked)
            try:
                s.bind((u.hostname or "127.0.0.1", 47100 if u.port is None else u.port))
            except OSError as e:
                return [Finding(item, "warn", f"cannot bind: {e.strerror} (is a host already "
                                "running?)", "stop the other host, or choose another port")]
        buffer = (Finding(f"{item} buffer", "ok", f"receive buffer {granted >> 10} KiB")
                  if granted >= asked else
                  Finding(f"{item} buffer", "warn", f"receive buffer {granted >> 10} KiB of "
                          f"the {asked >> 10} KiB asked: packets from a large room are lost "
                          "while the host is busy", udp.SYSCTL_FIX))
        return [Finding(item, "ok", "port free"), buffer]
    if u.scheme in ("mqtt", "mqtts"):
        from empathy.host.doctor_mqtt import check_tls, link_files
        from empathy.transports.mqtt_login import login_in_use

        try:
            tls = link_files(item, url)
            if u.scheme == "mqtts" and not any(f.status == "fail" for f in tls):
                tls += check_tls(item, url)
            if any(f.status == "fail" for f in tls):
                return tls  # no login can work: the line says why
            if (login := login_in_use(url)):  # the shipped broker would hand us its place
                return tls + [Finding(item, "warn", f"not checked: a host is logged in with "
                                      f"{login} now (a second login would take its place on "
                                      "the broker)", "its log says whether the broker takes it")]
            open_receiver(url).close()
        except (TransportError, OSError) as e:
            return [Finding(item, "fail", str(e), "start the broker "
                            "(`systemctl status mosquitto`), check host, port and credentials")]
        return tls + [Finding(item, "ok", "the broker accepts the host's connection and "
                              "subscriptions")]
    if u.scheme == "serial":
        return [_device_finding(item, url[len("serial://"):].partition("?")[0],
                                "serial port", "plug in the unit's cable")]
    return []


def check_story(cfg) -> list[Finding]:
    from empathy.host.story import StoryError, load

    try:
        story = load(Path(cfg.story), cfg.media_root or None)
    except StoryError as e:
        return [Finding("story", "fail", str(e), f"`empathy story check {cfg.story}`")]
    return [Finding("story", "ok", f"{cfg.story}: {len(story.segments)} segments, media "
                    "present")]
