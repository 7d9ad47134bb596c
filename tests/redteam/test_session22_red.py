"""Red team, session 22: what reaches the host from the network, as an outsider on the
cinema's LAN sends it, through the real host code (a real `empathy host run`, or the
dashboard's real server on a real show). The attacker speaks from 127.0.0.2 (any 127/8
address is this machine's), the operator from 127.0.0.1, so the two are different peers as
on a real network. Each test failed first; the fix is named in its story."""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from contextlib import ExitStack

import pytest
import tomli_w
import tomllib
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from empathy.host.dashboard import gate
from empathy.host.dashboard.api import Api
from empathy.host.dashboard.live import Live
from empathy.keys import Keystore
from redteam_rig import SAMPLE, Host, Unit, free_udp_port, wait_for
from test_baseline_wait import _show
from test_dashboard_stop_flood import _ws_upgrade

ATTACKER = "127.0.0.2"
TOKEN = "session-22-operator-token-" + "x" * 16


def _dashboard(tmp_path) -> tuple:
    """A show's dashboard started on a free port: (show, api, port)."""
    show, _ = _show(tmp_path)
    api = Api(show, Live(show), "127.0.0.1:0", token=TOKEN)
    api.start()
    return show, api, int(api.url.rsplit(":", 1)[1].strip("/"))


def _dial(port: int, stack: ExitStack, send: bytes = b"") -> socket.socket:
    s = stack.enter_context(socket.socket())
    s.bind((ATTACKER, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    if send:
        s.sendall(send)
    return s


def _closed(s: socket.socket) -> bool:
    s.settimeout(0.5)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def _operator_live(url: str) -> dict:
    with ws_client.connect(url.replace("http://", "ws://") + "api/v1/live",
                           open_timeout=5) as ws:
        ws.send(json.dumps({"type": "auth", "token": TOKEN}))
        return json.loads(ws.recv(timeout=5))


def test_websockets_that_never_authenticate_cannot_lock_the_operator_out(tmp_path, monkeypatch):
    """Every WebSocket counted against the 32 the dashboard holds, authenticated or not:
    32 upgrades that never sent a token (each held AUTH_WAIT_S, 5 s, and opened again)
    answered the operator's own live view 503 'too many live connections' for as long as
    the attacker cared. Now only authenticated ones count against those 32, and one peer
    may keep at most MAX_PENDING_PER_PEER waiting; a connection with no whole request in
    HEADER_WAIT_S is closed."""
    monkeypatch.setattr(gate, "HEADER_WAIT_S", 1.0)
    show, api, port = _dashboard(tmp_path)
    try:
        with ExitStack() as stack:
            answers = []
            for _ in range(40):
                try:
                    s = _dial(port, stack, _ws_upgrade("127.0.0.1", port, None))
                    answers.append(s.recv(64)[:12])
                except ConnectionError:
                    answers.append(b"reset")  # over the peer's connections
            assert _operator_live(api.url) == {"type": "auth", "ok": True}
            assert answers.count(b"HTTP/1.1 101") <= gate.MAX_PENDING_PER_PEER, answers
            half = [_dial(port, stack, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: ")
                    for _ in range(3)]
            # closed by the dashboard's loop HEADER_WAIT_S after each came (a loop slowed
            # by a loaded machine may be late: 0.5 s was the margin); held, never
            wait_for(lambda: all(_closed(s) for s in half), 10 * gate.HEADER_WAIT_S,
                     "the half-sent requests' connections closed")
    finally:
        api.close()
        show.receiver.close()


def _short_story(tmp_path) -> str:
    """The sample story with 2-s segments: the player opens a clip every 2 s."""
    story = tomllib.loads(SAMPLE.read_text())
    story["screenplay"] = str(SAMPLE.parent / story["screenplay"])
    for seg in story["segments"].values():
        seg["duration_s"] = 2.0
    for d in story["decisions"].values():
        d["window_s"] = [0.3, 1.5]
    path = tmp_path / "short.toml"
    path.write_text(tomli_w.dumps(story))
    return path


def test_half_sent_requests_cannot_take_the_players_file_descriptors(tmp_path):
    """The dashboard runs in the show's process and aiohttp waits for ever for a request's
    headers: 300 connections from one machine, each a request line and half a header,
    held the host's descriptors (1,024 under systemd; 256 then, so 300 sufficed) and the
    player could open no clip: 'Could not open file ... arrival.mp4', 'clip unplayable',
    a media_fault every segment, asyncio's 'socket.accept() out of system resource'
    traceback many times a second, and the operator could not reach the dashboard. Now one
    peer holds at most MAX_PER_PEER connections (all together MAX_CONNECTIONS). Here 512
    and 600: a refused connection holds its descriptor until the loop's next turn, and
    asyncio accepts up to the listen backlog (128) in one turn, so 256 (the host's own ~100,
    16 held, 128 in one accept) ran out under the whole suite's load."""
    port = free_udp_port()
    host = Host(tmp_path, f"udp://127.0.0.1:{port}", Keystore.new([1]), token=TOKEN,
                story=_short_story(tmp_path)).start()
    try:
        resource.prlimit(host.proc.pid, resource.RLIMIT_NOFILE, (512, 512))
        dash = int(host.url.rsplit(":", 1)[1].strip("/"))
        mark = len(host.log())
        with ExitStack() as stack:
            for _ in range(600):
                try:
                    _dial(dash, stack, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: ")
                except OSError:
                    pass  # refused or reset at once: what the cap does
            time.sleep(4.5)  # two segments' clips opened under the attack
            status, _, _ = host.request("/api/v1/state", TOKEN)
            assert status == 200
        log = host.log()[mark:]
        assert "Could not open file" not in log and "Too many open files" not in log, log[-2000:]
        assert "refused a connection from 127.0.0.2" in log
        assert host.alive()
    finally:
        host.stop()


DROPIN = SAMPLE.parents[2] / "deploy" / "cinema" / "empathy-host.service.d" / "mosquitto.conf"


def test_a_broker_restarted_mid_show_costs_the_show_a_second_not_the_film(tmp_path):
    """The cinema's drop-in said `Requires=mosquitto.service`, and systemd restarts a unit
    that Requires= another whenever that one is restarted (systemd.unit(5)): a broker
    restart (its package upgraded, `systemctl restart mosquitto`) restarted the host, a new
    session and the film from its first frame. The host's MQTT receiver reconnects by itself:
    here a real mosquitto is killed and started again twice mid-show, and the same host
    process hears the unit again within 3 s each time, its film running on. Now the drop-in
    only orders the start (Wants= and After=)."""
    from empathy.transports import open_sender
    from empathy.transports.mqtt_broker import LocalBroker

    units = [line.split("=", 1)[1].split() for line in DROPIN.read_text().splitlines()
             if line.split("=", 1)[0] in ("Requires", "BindsTo", "PartOf", "Requisite")]
    assert not any("mosquitto.service" in u for u in units), DROPIN.read_text()
    keys = Keystore.new([1])
    broker = LocalBroker(tmp_path / "broker0")
    url = broker.url("red22", keepalive=2)
    host = Host(tmp_path, url, keys).start()
    epochs = iter(range(1, 1000))
    tx = open_sender(url, 1, lambda: keys.units[1], lambda: next(epochs))
    unit = Unit(1, [1, 2], keys.units[1], tx.send).start()
    fresh = lambda s: s["seats"] and all(x["age_s"] < 0.5 for x in s["seats"])  # noqa: E731
    try:
        host.wait_state(fresh, 30, "the unit heard")
        pid, t_before = host.proc.pid, host.state()["t_s"]
        for i in (1, 2):
            broker.proc.kill()
            broker.stop()
            broker = LocalBroker(tmp_path / f"broker{i}", port=broker.port)
            host.wait_state(fresh, 3, f"the unit heard after broker restart {i}")
        assert host.alive() and host.proc.pid == pid and host.state()["t_s"] > t_before
    finally:
        unit.stop()
        tx.close()
        host.stop()
        broker.stop()


def test_a_story_cannot_read_a_secret_into_the_log_through_its_lut(tmp_path):
    """A story may name any file as a segment's LUT (absolute paths and ../ are allowed, for
    media kept elsewhere). The .cube parser quoted the first word of the line it could not
    read, up to 40 characters: a story whose LUT was /etc/empathy/operator.token had
    `story check` (and `host run`, into the journal) print the operator's token as 'unknown
    keyword ...'. A word longer than any keyword or number is no longer echoed."""
    import subprocess
    import sys

    from empathy.host.sample.render import ensure

    secret = "S3cr3t" + "k" * 36
    token = tmp_path / "operator.token"
    token.write_text(secret + "\n")
    numbers = tmp_path / "rows.cube"
    numbers.write_text(f"LUT_3D_SIZE 2\n0 {secret} 0\n" + "0 0 0\n" * 7)
    story = tomllib.loads(SAMPLE.read_text())
    story["screenplay"] = str(SAMPLE.parent / story["screenplay"])
    story["segments"]["arrival"]["lut"] = str(token)
    story["segments"]["chase"]["lut"] = str(numbers)
    path = tmp_path / "story.toml"
    path.write_text(tomli_w.dumps(story))
    r = subprocess.run([sys.executable, "-m", "empathy.cli", "story", "check", str(path),
                        "--media-root", str(ensure())], capture_output=True, text=True,
                       timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and f"{token}:1:" in out and f"{numbers}:2:" in out, out
    assert "S3cr3t" not in out and out.count("a 42-character word") == 2, out


def test_a_broker_that_drops_and_refuses_the_host_is_said_once_each(tmp_path, caplog):
    """The host's MQTT receiver said nothing of its own link: a broker that went away, or
    came back refusing the host (its password changed, an ACL edited), left the log silent
    while the receiver retried every second; the operator saw every unit go quiet and no
    cause. Now the loss, each new reason a reconnection fails and the return are one line
    each, however many retries between."""
    import logging

    from empathy.transports.mqtt_broker import LocalBroker
    from empathy.transports.mqtt_host import Receiver

    caplog.set_level(logging.INFO, "empathy.transports.mqtt")
    broker = LocalBroker(tmp_path / "open")
    port = broker.port
    rx = Receiver(broker.url("red22", keepalive=2))
    try:
        broker.stop()
        (tmp_path / "passwd").write_text("")
        closed = LocalBroker(tmp_path / "closed", port=port, config=(
            f"listener {port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {tmp_path / 'passwd'}\n" + ("user root\n" if os.geteuid() == 0 else "")))
        time.sleep(3.5)  # three retries refused
        closed.stop()
        broker = LocalBroker(tmp_path / "again", port=port)
        wait_for(lambda: "back after" in caplog.text, 10, "the receiver back")
        said = [r.getMessage() for r in caplog.records if r.name == "empathy.transports.mqtt"]
        assert sum("lost the MQTT broker" in m for m in said) == 1, said
        assert sum("not authorized" in m for m in said) == 1, said
        assert sum("back after" in m for m in said) == 1, said
    finally:
        rx.close()
        broker.stop()


def test_a_token_that_is_not_utf8_is_refused_not_a_traceback(tmp_path, caplog):
    """aiohttp reads a header's bytes that are not UTF-8 as lone surrogates, and the token
    check encoded them strictly: 'Authorization: Bearer \\xff\\xfe' answered 500 and put
    aiohttp's ERROR 'Error handling request' with its traceback in the host's log, once per
    request from anyone, past the refusals' rate limit; a WebSocket's auth message whose
    token held a '\\udcff' escape did the same. Now each is a 401 (4401) refusal."""
    import logging

    caplog.set_level(logging.INFO)
    show, api, port = _dashboard(tmp_path)
    try:
        with ExitStack() as stack:
            for path in (b"/api/v1/state", b"/metrics"):
                s = _dial(port, stack, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: Bearer \xff\xfe\x80\r\nConnection: close\r\n\r\n")
                assert s.recv(64).startswith(b"HTTP/1.1 401"), path
        with ws_client.connect(api.url.replace("http://", "ws://") + "api/v1/live",
                               open_timeout=5) as ws:
            ws.send('{"type": "auth", "token": "\\udcff"}')
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.code == 4401
    finally:
        api.close()
        show.receiver.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_a_heartbeat_s_battery_and_sync_loss_no_unit_has_are_refused(tmp_path):
    """A heartbeat's battery (percent, 255 = mains) and sync loss (permille) went to the
    dashboard, the metrics and the session as sent: a unit's firmware bug showed '200 %'
    and a sync loss of 6553.5 %. Like its estimate lag, a heartbeat holding one is refused
    (bad_field); the unit's samples still count it alive. The edge clamps both as it
    encodes (a kernel's battery capacity can read over 100)."""
    import struct

    from empathy import wire
    from empathy.clock import now_us
    from empathy.host.receive import Intake

    key = Keystore.new([1]).units[1]
    intake = Intake({1: key}, fresh_s=0)

    def heartbeat(seq: int, battery: int, loss: int) -> bytes:
        ts = now_us()
        body = struct.pack(">BHIHIBBBBBHqiIIH", (wire.VERSION << 4) | wire.KIND_HEALTH, 1, seq,
                           ts >> 32 & 0xFFFF, ts & 0xFFFFFFFF, 1, 2, 3, 1, battery, loss, 0, 0,
                           900, 0, 0)
        return body + wire.tag(key, body)

    intake.feed([heartbeat(1, 200, 0), heartbeat(2, 50, 65535), heartbeat(3, 100, 1000),
                 heartbeat(4, wire.BATTERY_MAINS, 0)])
    assert intake.rejected == {"bad_field": 2}, intake.rejected
    assert intake.unit_report()[0]["battery"] == wire.BATTERY_MAINS
    sent = wire.decode_health(wire.encode_health(wire.Health(1, 5, 0, battery=104,
                                                             loss_permille=1400), key), {1: key})
    assert (sent.battery, sent.loss_permille) == (100, 1000)
